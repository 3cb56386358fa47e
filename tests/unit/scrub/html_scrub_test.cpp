#include "seal/scrub/html_scrub.h"

#include <catch2/catch.hpp>

using sealpost::scrub::is_local_reference;
using sealpost::scrub::neutralise_css_urls;
using sealpost::scrub::scrub_html;

TEST_CASE("local references are cid:, data:, fragments and empty") {
  CHECK(is_local_reference("cid:a@b"));
  CHECK(is_local_reference(" 'DATA:image/png;base64,xx' "));
  CHECK(is_local_reference("#top"));
  CHECK(is_local_reference(""));
  CHECK_FALSE(is_local_reference("https://x.example/p.gif"));
  CHECK_FALSE(is_local_reference("//x.example/p.gif"));
  CHECK_FALSE(is_local_reference("relative.png"));  // fail closed: resolves against someone's base
}

TEST_CASE("CSS url() to remote targets becomes none; cid: stays; @import defused") {
  int n = 0;
  CHECK(neutralise_css_urls("a{background:URL( \"http://t/x\" )} b{x:url(cid:y)}", n) ==
        "a{background:none} b{x:url(cid:y)}");
  CHECK(n == 1);
  n = 0;
  CHECK(neutralise_css_urls("@import 'https://t/s.css';", n).find("@import") == std::string::npos);
  CHECK(n == 1);
  n = 0;
  CHECK(neutralise_css_urls("x{y:url(https://t/unterminated", n) == "x{y:none");
  CHECK(n == 1);
}

TEST_CASE("remote image becomes its escaped alt text, local images stay") {
  auto r = scrub_html("<p>a<img src='https://t/p.gif' alt='Logo <&>'>b<img src=\"cid:x\"></p>");
  CHECK(r.html == "<p>aLogo &lt;&amp;&gt;b<img src=\"cid:x\"></p>");
  CHECK(r.remote_removed == 1);
}

TEST_CASE("links, remote frames, background and srcset go; untouched HTML is byte-identical") {
  const std::string clean = "<html><body><p class=x>Hallo &amp; tsch&uuml;ss</p></body></html>";
  auto same = scrub_html(clean);
  CHECK(same.html == clean);
  CHECK(same.remote_removed == 0);
  auto r = scrub_html(
      "<link rel=preload href=https://t/f><body background=http://t/b>"
      "<img srcset='https://t/a 2x' src='cid:a'><iframe src=https://t/f></iframe>"
      "<div style='color:red;background:url(https://t/q)'>x</div>");
  CHECK(r.html.find("t/") == std::string::npos);
  CHECK(r.html.find("src='cid:a'") != std::string::npos);
  CHECK(r.html.find("color:red") != std::string::npos);
  CHECK(r.remote_removed == 5);
}
