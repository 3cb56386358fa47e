// Fuzzes the portal's request handling without sockets: the first byte picks
// a parser (or the whole PortalApp), the rest is its input. Each must return
// (no crash, no hang) and keep its output within the input's bounds.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "portal/html_sanitizer.h"
#include "portal/http_parsing.h"
#include "portal/portal_app.h"
#include "portal/second_factor.h"

using namespace sealpost;
using namespace sealpost::portal;

namespace {

// One portal over a throw-away store with a passphrase pickup and an
// authenticated session, so fuzzed requests reach the read/download/reply code.
struct AppFixture {
  std::string dir;
  std::unique_ptr<pickup::PickupStore> store;
  NullAuditSink audit;
  std::unique_ptr<PortalApp> app;
  std::string link_path;
  std::string session;

  AppFixture() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "portal-fuzz-XXXXXX").string();
    dir = ::mkdtemp(tmpl.data());
    store = std::move(pickup::PickupStore::open(std::filesystem::path(dir) / "pickup")).value();
    PickupRequest req;
    req.recipient = "patient@example.org";
    req.sender = "dr@praxis.example";
    req.auth_method = "passphrase";
    req.passphrase_hash = pickup::hash_passphrase("fuzz").value();
    const std::string mime =
        "From: a@b.example\r\nSubject: s\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; "
        "boundary=b\r\n\r\n--b\r\nContent-Type: text/html\r\n\r\n<p onclick=x>hi</p>\r\n--b\r\n"
        "Content-Type: application/pdf\r\nContent-Disposition: attachment; filename=a.pdf\r\n\r\n"
        "PDF\r\n--b--\r\n";
    auto d = std::move(store->deposit(req, mime, std::time(nullptr))).value();
    PortalSettings s;
    s.max_attempts = 1 << 30;  // fuzzed wrong answers must not lock the fixture
    s.client_failures_per_hour = 1 << 30;
    auto no_mail = [](const std::string&, const std::string&, const std::string&) -> Result<void> {
      return {};
    };
    auto no_sms = [](const std::string&, const std::string&) -> Result<void> { return {}; };
    app = std::make_unique<PortalApp>(s, *store, audit, no_mail, no_sms);
    link_path = "/p/" + d.id + "/" + pickup::encode_link_secret(d.secret);
    HttpRequest open{"GET", link_path, "127.0.0.1", "", "", "", "", ""};
    HttpResponse r = app->handle(open);
    for (const auto& [k, v] : r.headers)
      if (k == "Set-Cookie") session = v.substr(0, v.find(';'));
    HttpRequest auth{"GET", "/auth", "127.0.0.1", session, "", "", "", ""};
    r = app->handle(auth);
    constexpr std::string_view kMarker = "name=\"csrf\" value=\"";
    const auto at = r.body.find(kMarker) + kMarker.size();
    const std::string csrf = r.body.substr(at, r.body.find('"', at) - at);
    HttpRequest verify{"POST",
                       "/auth/verify",
                       "127.0.0.1",
                       session,
                       "application/x-www-form-urlencoded",
                       "",
                       "",
                       "csrf=" + csrf + "&secret=fuzz"};
    r = app->handle(verify);
    for (const auto& [k, v] : r.headers)  // the session moves to a new token here
      if (k == "Set-Cookie") session = v.substr(0, v.find(';'));
    HttpRequest read{"GET", "/read", "127.0.0.1", session, "", "", "", ""};
    if (app->handle(read).status != 200) __builtin_trap();  // the fixture must be authenticated
  }
  ~AppFixture() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

// Input: method, target, cookie ("SESSION" = the fixture's), content type,
// Accept-Language and X-Forwarded-For on their own lines, then the body.
void fuzz_app(std::string_view in) {
  static AppFixture fx;
  HttpRequest req;
  req.peer = "127.0.0.1";
  std::string* fields[] = {&req.method,       &req.target,          &req.cookie,
                           &req.content_type, &req.accept_language, &req.forwarded_for};
  for (std::string* f : fields) {
    const std::size_t eol = in.find('\n');
    *f = std::string(in.substr(0, eol));
    in = eol == std::string_view::npos ? std::string_view() : in.substr(eol + 1);
  }
  if (req.cookie == "SESSION") req.cookie = fx.session;
  if (req.target == "LINK") req.target = fx.link_path;
  req.body = std::string(in);
  HttpResponse r = fx.app->handle(req);
  bool csp = false;
  for (const auto& [k, v] : r.headers) {
    if (k.find_first_of("\r\n") != std::string::npos ||
        v.find_first_of("\r\n") != std::string::npos)
      __builtin_trap();
    csp = csp || k == "Content-Security-Policy";
  }
  if (!csp || r.status < 200 || r.status > 599) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  static const std::vector<Cidr> proxies{*Cidr::parse("127.0.0.0/8"), *Cidr::parse("::1/128")};
  switch (data[0] % 8) {
    case 0: {
      Route r = route(in);
      if (r.pickup_id.size() + r.secret.size() > in.size()) __builtin_trap();
      break;
    }
    case 1:
      (void)cookie_value(in, "sp_session");
      break;
    case 2:
      (void)parse_form(in);
      break;
    case 3: {
      // "content-type\n\nbody": the header line and the body both come from the input.
      const std::size_t split = in.find("\n\n");
      const std::string_view ct = split == std::string_view::npos ? in : in.substr(0, split);
      const std::string_view body =
          split == std::string_view::npos ? std::string_view() : in.substr(split + 2);
      if (auto parts = parse_multipart(ct, body)) {
        std::size_t total = 0;
        for (const auto& p : *parts) total += p.data.size();
        if (total > body.size()) __builtin_trap();
      }
      break;
    }
    case 4: {
      const std::string lang = choose_language(in);
      if (lang != "de" && lang != "en") __builtin_trap();
      (void)client_address("127.0.0.1", in, proxies);
      break;
    }
    case 5: {
      const std::string d = attachment_disposition(in);
      if (d.find_first_of("\r\n") != std::string::npos) __builtin_trap();
      break;
    }
    case 6: {
      const std::string out = sanitize_html(in);
      if (out.find("<script") != std::string::npos || out.find("<img") != std::string::npos)
        __builtin_trap();
      break;
    }
    case 7:
      fuzz_app(in);
      break;
  }
  return 0;
}
