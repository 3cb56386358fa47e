#include "portal/http_parsing.h"

#include <catch2/catch.hpp>

using namespace sealpost;
using namespace sealpost::portal;

TEST_CASE("routes are exact") {
  auto r = route("/p/abcdefghijklmnopqrstuvwxyz/SECRET?x=1");
  CHECK(r.kind == RouteKind::Link);
  CHECK(r.pickup_id == "abcdefghijklmnopqrstuvwxyz");
  CHECK(r.secret == "SECRET");
  CHECK(route("/att/3").kind == RouteKind::Attachment);
  CHECK(route("/att/3").index == 3);
  CHECK(route("/att/-1").kind == RouteKind::NotFound);
  CHECK(route("/att/99999").kind == RouteKind::NotFound);
  CHECK(route("/read/").kind == RouteKind::NotFound);
  CHECK(route("/p/a/b/c").kind == RouteKind::NotFound);
  CHECK(route("//read").kind == RouteKind::NotFound);
  CHECK(route("http://evil/read").kind == RouteKind::NotFound);
  CHECK(route("/auth/verify").kind == RouteKind::Verify);
  CHECK(route(std::string(600, '/')).kind == RouteKind::NotFound);
}

TEST_CASE("cookies, forms and languages") {
  CHECK(cookie_value("a=1; sp_session=tok; b=2", "sp_session") ==
        std::optional<std::string>("tok"));
  CHECK_FALSE(cookie_value("xsp_session=tok", "sp_session"));
  auto f = parse_form("csrf=a%2Bb&code=1234+5678");
  REQUIRE(f);
  CHECK((*f)["csrf"] == "a+b");
  CHECK((*f)["code"] == "1234 5678");
  CHECK_FALSE(parse_form("a=1&a=2"));
  CHECK_FALSE(parse_form("a=%zz"));
  CHECK_FALSE(parse_form("a=%2"));
  CHECK_FALSE(parse_form("a=1&b=2&c=3", 2));
  CHECK(choose_language("de-DE,de;q=0.9,en;q=0.8") == "de");
  CHECK(choose_language("fr-FR, en;q=0.5, de;q=0.4") == "en");
  CHECK(choose_language("en;q=0.2, de-AT;q=0.7") == "de");
  CHECK(choose_language("") == "en");
  CHECK(choose_language("xx, de;q=abc") == "en");
}

TEST_CASE("multipart form data within limits") {
  const std::string body =
      "--XyZ\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\ntok\r\n"
      "--XyZ\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a b.pdf\"\r\n"
      "Content-Type: application/pdf\r\n\r\n%PDF\r\n--not-the-boundary\r\n\r\n"
      "--XyZ--\r\n";
  auto parts = parse_multipart("multipart/form-data; boundary=XyZ", body);
  REQUIRE(parts);
  REQUIRE(parts->size() == 2);
  CHECK((*parts)[0].name == "csrf");
  CHECK((*parts)[0].data == "tok");
  CHECK((*parts)[1].filename == "a b.pdf");
  CHECK((*parts)[1].content_type == "application/pdf");
  CHECK((*parts)[1].data == "%PDF\r\n--not-the-boundary\r\n");

  CHECK_FALSE(parse_multipart("multipart/form-data; boundary=XyZ", body.substr(0, 60)));
  CHECK_FALSE(parse_multipart("text/plain; boundary=XyZ", body));
  CHECK_FALSE(parse_multipart("multipart/form-data", body));
  CHECK_FALSE(parse_multipart("multipart/form-data; boundary=XyZ", body, MultipartLimits{1, 2048}));
  CHECK_FALSE(parse_multipart("multipart/form-data; boundary=\"XyZ", body));
}

TEST_CASE("X-Forwarded-For is believed only from trusted proxies") {
  std::vector<Cidr> proxies{*Cidr::parse("10.0.0.0/8")};
  CHECK(client_address("192.0.2.1", "203.0.113.5", proxies) == "192.0.2.1");
  CHECK(client_address("10.1.1.1", "203.0.113.5", proxies) == "203.0.113.5");
  CHECK(client_address("10.1.1.1", "198.51.100.7, 203.0.113.5, 10.2.2.2", proxies) ==
        "203.0.113.5");
  CHECK(client_address("10.1.1.1", "garbage", proxies) == "10.1.1.1");
  CHECK(client_address("10.1.1.1", "", proxies) == "10.1.1.1");
}

TEST_CASE("a long client-written X-Forwarded-For cannot push the proxy's entry out") {
  std::vector<Cidr> proxies{*Cidr::parse("10.0.0.0/8")};
  std::string spoofed;
  for (int i = 0; i < 200; ++i) spoofed += "198.51.100." + std::to_string(i % 250) + ", ";
  CHECK(client_address("10.1.1.1", spoofed + "203.0.113.5", proxies) == "203.0.113.5");
  // More than 32 trusted hops: nobody can be named, the peer stands.
  std::string trusted_chain = "203.0.113.5";
  for (int i = 0; i < 40; ++i) trusted_chain += ", 10.0.0." + std::to_string(i + 1);
  CHECK(client_address("10.1.1.1", trusted_chain, proxies) == "10.1.1.1");
}

TEST_CASE("X-Forwarded-For lines join in order, so the proxy's line is the right end") {
  std::vector<Cidr> proxies{*Cidr::parse("127.0.0.0/8")};
  const std::string joined = join_header_lines({"198.51.100.7", "203.0.113.5"});
  CHECK(joined == "198.51.100.7, 203.0.113.5");
  CHECK(client_address("127.0.0.1", joined, proxies) == "203.0.113.5");
  CHECK(join_header_lines({}).empty());
}

TEST_CASE("attachment dispositions are safe for any filename") {
  CHECK(attachment_disposition("Befund Müller.pdf") ==
        "attachment; filename=\"Befund_M__ller.pdf\"; filename*=UTF-8''Befund%20M%C3%BCller.pdf");
  auto evil = attachment_disposition("a\"\r\nSet-Cookie: x=y.pdf");
  CHECK(evil.find('\r') == std::string::npos);
  CHECK(evil.find('\n') == std::string::npos);
  CHECK(evil.find("\"\r") == std::string::npos);
  CHECK(attachment_disposition("") ==
        "attachment; filename=\"attachment\"; filename*=UTF-8''attachment");
}
