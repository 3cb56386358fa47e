#include "portal/html_sanitizer.h"

#include <catch2/catch.hpp>

using sealpost::portal::sanitize_html;

namespace {
bool has(const std::string& hay, const char* needle) {
  return hay.find(needle) != std::string::npos;
}
}  // namespace

TEST_CASE("scripts are removed with their content") {
  auto out = sanitize_html(
      "<p>Hallo</p><script>alert('x')</script><SCRIPT src=//evil.example/a.js></SCRIPT>");
  CHECK(has(out, "<p>Hallo</p>"));
  CHECK_FALSE(has(out, "script"));
  CHECK_FALSE(has(out, "SCRIPT"));
  CHECK_FALSE(has(out, "alert"));
  CHECK_FALSE(has(out, "evil.example"));
}

TEST_CASE("event handlers are removed") {
  auto out = sanitize_html(
      "<div onclick=\"steal()\" onmouseover='x()'>Text</div><img src=x onerror=alert(1)>"
      "<body onload=go()>b</body><svg onload=alert(1)></svg>");
  CHECK(has(out, "<div>Text</div>"));
  CHECK_FALSE(has(out, "onclick"));
  CHECK_FALSE(has(out, "onerror"));
  CHECK_FALSE(has(out, "onload"));
  CHECK_FALSE(has(out, "alert"));
  CHECK_FALSE(has(out, "svg"));
}

TEST_CASE("javascript: and other non-web links are removed, web links kept inert") {
  auto out = sanitize_html(
      "<a href=\"javascript:alert(1)\">a</a><a href=\" JaVa&#x09;ScRiPt:alert(2)\">b</a>"
      "<a href=\"data:text/html;base64,PHNjcmlwdD4=\">c</a><a href=\"vbscript:x\">d</a>"
      "<a href=\"https://praxis.example/info\">e</a><a href=\"mailto:dr@praxis.example\">f</a>"
      "<a href=\"/auth/send\">g</a>");
  CHECK_FALSE(has(out, "javascript"));
  CHECK_FALSE(has(out, "ScRiPt"));
  CHECK_FALSE(has(out, "data:"));
  CHECK_FALSE(has(out, "vbscript"));
  CHECK_FALSE(has(out, "/auth/send"));  // relative links would hit the portal itself
  CHECK(has(out, "href=\"https://praxis.example/info\""));
  CHECK(has(out, "href=\"mailto:dr@praxis.example\""));
  CHECK(has(out, "rel=\"noopener noreferrer nofollow\""));
}

TEST_CASE("CSS with url() and style elements are removed") {
  auto out = sanitize_html(
      "<style>body{background:url(https://track.example/p.gif)}</style>"
      "<p style=\"background-image:url('https://track.example/q.gif')\">x</p>"
      "<div style=\"width:expression(alert(1))\">y</div>");
  CHECK_FALSE(has(out, "url("));
  CHECK_FALSE(has(out, "track.example"));
  CHECK_FALSE(has(out, "style"));
  CHECK_FALSE(has(out, "expression"));
  CHECK(has(out, "<p>x</p>"));
}

TEST_CASE("remote images, frames, forms and objects are removed") {
  auto out = sanitize_html(
      "<img src=\"https://track.example/pixel.gif\" width=1><iframe "
      "src=\"https://evil.example\"></iframe>"
      "<form action=\"https://evil.example/phish\"><input name=pw><button>Login</button></form>"
      "<object data=x></object><embed src=y><link rel=stylesheet href=https://evil.example/c.css>"
      "<meta http-equiv=refresh content=\"0;url=https://evil.example\"><base "
      "href=https://evil.example/>"
      "<video src=https://evil.example/v.mp4></video><p>ok</p>");
  for (const char* bad : {"img", "iframe", "form", "input", "button", "object", "embed", "link",
                          "meta", "base", "video", "evil.example", "track.example"})
    CHECK_FALSE(has(out, bad));
  CHECK(has(out, "<p>ok</p>"));
}

TEST_CASE("text is escaped and structure kept") {
  auto out =
      sanitize_html("<table><tr><td colspan=2 class=x>a &lt;b&gt; &amp; \"c\"</td></tr></table>");
  CHECK(has(out, "<td colspan=\"2\">a &lt;b&gt; &amp; &quot;c&quot;</td>"));
  CHECK_FALSE(has(out, "class"));
}

TEST_CASE("pathological nesting is bounded") {
  std::string deep;
  for (int i = 0; i < 50000; ++i) deep += "<div>";
  auto out = sanitize_html(deep + "x");
  CHECK(has(out, "x"));
  std::string wide;
  for (int i = 0; i < 5000; ++i) wide += "<b><i>";
  auto out2 = sanitize_html(wide + "y");
  CHECK(has(out2, "y"));
}

TEST_CASE("markup is kept to kMaxHtmlDepth levels, the text at any depth") {
  auto count = [](const std::string& s, const std::string& what) {
    std::size_t n = 0;
    for (auto at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
    return n;
  };
  std::string deep;
  for (int i = 0; i < 300; ++i) deep += "<div>";
  const auto out = sanitize_html(deep + "tief unten");
  CHECK(has(out, "tief unten"));
  const auto open = count(out, "<div>");
  CHECK(open <
        static_cast<std::size_t>(sealpost::portal::kMaxHtmlDepth));  // nothing kept below the limit
  CHECK(open >
        static_cast<std::size_t>(sealpost::portal::kMaxHtmlDepth - 8));  // html/body wrappers aside
  CHECK(count(out, "</div>") == open);
}
