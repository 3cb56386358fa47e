#include "seal/scrub/html_scrub.h"

#include <catch2/catch.hpp>

#include "seal/scrub/css_scrub.h"

using sealpost::scrub::css_fetches;
using sealpost::scrub::is_local_reference;
using sealpost::scrub::scrub_css;
using sealpost::scrub::scrub_html;

namespace {

bool mentions(const std::string& s, const std::string& needle) {
  return s.find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE("local references are cid:, data:, fragments and empty") {
  CHECK(is_local_reference("cid:a@b"));
  CHECK(is_local_reference(" 'DATA:image/png;base64,xx' "));
  CHECK(is_local_reference("#top"));
  CHECK(is_local_reference(""));
  CHECK_FALSE(is_local_reference("https://x.example/p.gif"));
  CHECK_FALSE(is_local_reference("//x.example/p.gif"));
  CHECK_FALSE(is_local_reference("relative.png"));  // fail closed: resolves against someone's base
}

TEST_CASE("CSS: a fetching declaration goes whole; cid: stays; @import goes") {
  auto r = scrub_css("a{background:URL( \"http://trk/x\" );color:red} b{x:url(cid:y)}");
  CHECK(r.css == "a{color:red} b{x:url(cid:y)}");
  CHECK(r.removed == 1);
  r = scrub_css("@import 'https://trk/s.css'; p{color:red}");
  CHECK(r.css == " p{color:red}");
  CHECK(r.removed == 1);
  r = scrub_css("x{y:url(https://trk/unterminated");
  CHECK(r.css == "x{");
  CHECK(r.removed == 1);
  const std::string clean = "p { color: red; background: url(cid:logo) } /* url(http://t) */";
  CHECK(scrub_css(clean).css == clean);
  CHECK(scrub_css(clean).removed == 0);
}

TEST_CASE("CSS escapes are decoded before matching") {
  // \75 is 'u', \69 is 'i': browsers read url( and @import.
  for (const char* css :
       {"p{background:\\75 rl(https://trk/p.gif)}", "p{background:u\\72l(https://trk/p)}",
        "p{background:\\55 RL('https://trk/p')}", "@\\69mport 'https://trk/s.css';",
        "@\\49 MPORT url(https://trk/s.css);", "p{background:url(htt\\70://trk/p)}",
        "p{background:url(\"\\68ttps://trk/p\")}"}) {
    INFO(css);
    CHECK(css_fetches(css));
    auto r = scrub_css(css);
    CHECK(r.removed >= 1);
    CHECK_FALSE(mentions(r.css, "trk"));
  }
  // A comment between the name and '(' makes no function: nothing is fetched.
  CHECK_FALSE(css_fetches("p{x:url/**/(https://trk/p)}"));
}

TEST_CASE("CSS image-set, src(), var() and friends fetch") {
  for (const char* css :
       {"p{background-image:image-set('https://trk/a.png' 1x, 'https://trk/b.png' 2x)}",
        "p{background-image:-webkit-image-set(\"https://trk/a.png\" 1x)}",
        "p{background-image:image-set(url(https://trk/a.png) 1x)}",
        "p{background:image('https://trk/a.png')}",
        "p{background:cross-fade('https://trk/a', red)}", "p{background:url(var(--x))}",
        "p{--x:url(https://trk/a)}", "p{background:image-set(var(--x) 1x)}",
        "@font-face{src:src('https://trk/f.woff')}", "p{width:expression(fetch('x'))}",
        "p{background:url(https://trk/a b)}"}) {
    INFO(css);
    CHECK(css_fetches(css));
    auto r = scrub_css(css);
    CHECK(r.removed >= 1);
    CHECK_FALSE(css_fetches(r.css));
  }
  CHECK_FALSE(css_fetches("p{content:'https://trk/not-a-fetch'; font-family:\"Arial\"}"));
  CHECK_FALSE(css_fetches("p{background-image:image-set('cid:a' 1x, url(data:image/png,x) 2x)}"));
}

TEST_CASE("CSS: a rule whose prelude fetches goes with its block; nested blocks work") {
  auto r = scrub_css("@media screen{p{color:red;background:url(https://trk/x)} a{b:c}} q{d:e}");
  CHECK(r.css == "@media screen{p{color:red;} a{b:c}} q{d:e}");
  r = scrub_css("@namespace url(https://trk/ns) {p{x:y}} q{d:e}");
  CHECK(r.css == " q{d:e}");
  // Deep nesting needs no recursion.
  std::string deep(100000, '{');
  deep += "x:url(https://trk/p)";
  CHECK_FALSE(css_fetches(scrub_css(deep).css));
}

TEST_CASE("remote image becomes its escaped alt text, local images stay") {
  auto r = scrub_html("<p>a<img src='https://trk/p.gif' alt='Logo <&>'>b<img src=\"cid:x\"></p>");
  CHECK(r.html == "<p>aLogo &lt;&amp;&gt;b<img src=\"cid:x\"></p>");
  CHECK(r.remote_removed == 1);
}

TEST_CASE("links, remote frames, background and srcset go; untouched HTML is byte-identical") {
  const std::string clean = "<html><body><p class=x>Hallo &amp; tsch&uuml;ss</p></body></html>";
  auto same = scrub_html(clean);
  CHECK(same.html == clean);
  CHECK(same.remote_removed == 0);
  auto r = scrub_html(
      "<link rel=preload href=https://trk/f><body background=http://trk/b>"
      "<img srcset='https://trk/a 2x' src='cid:a'><iframe src=https://trk/f></iframe>"
      "<div style='color:red;background:url(https://trk/q)'>x</div>");
  CHECK_FALSE(mentions(r.html, "trk"));
  CHECK(mentions(r.html, "src='cid:a'"));
  CHECK(mentions(r.html, "color:red"));
  CHECK(r.remote_removed == 5);
}

TEST_CASE("HTML bypasses found in review are closed") {
  const char* cases[] = {
      // CSS escapes in a style attribute and a <style> block
      "<p style='background:\\75 rl(https://trk/a)'>x</p>",
      "<style>@\\69mport 'https://trk/s.css';</style>",
      "<style>p{background-image:image-set('https://trk/a.png' 1x)}</style>",
      "<style>p{background-image:-webkit-image-set('https://trk/a.png' 1x)}</style>",
      // SVG: CDATA and entity-encoded url in <style>, presentation attributes, hrefs
      "<svg><style><![CDATA[rect{fill:url(https://trk/a#g)}]]></style><rect/></svg>",
      "<svg><style>rect{fill:url(&#104;ttps://trk/a#g)}</style><rect/></svg>",
      "<svg><rect fill='url(https://trk/a#g)'/></svg>",
      "<svg><image xlink:href='https://trk/a.png'/></svg>",
      "<svg><use href='https://trk/sprite.svg#a'/></svg>",
      // scripts, refresh, base, srcdoc, data: documents, event handlers, ping
      "<script src='https://trk/s.js'></script>",
      "<script>new Image().src='https://trk/p'</script>",
      "<svg><script href='https://trk/s.js'/></svg>",
      "<meta http-equiv=refresh content='0;url=https://trk/r'>",
      "<meta http-equiv='Refresh' content=\"5; URL='https://trk/r'\">",
      "<base href='https://trk/'><img src=p.gif>",
      "<iframe srcdoc=\"<img src='https://trk/p'>\"></iframe>",
      "<iframe src=\"data:text/html,<img src='https://trk/p'>\"></iframe>",
      "<body onload=\"fetch('https://trk/p')\">",
      "<a href='https://example.org/' ping='https://trk/ping'>link</a>",
      "<video poster='https://trk/p.png'></video><audio src='https://trk/a.mp3'></audio>",
      "<input type=image src='https://trk/i.png'>",
  };
  for (const char* html : cases) {
    INFO(html);
    auto r = scrub_html(html);
    CHECK(r.remote_removed >= 1);
    CHECK_FALSE(mentions(r.html, "trk"));
  }
  // A plain link is the reader's own click: it stays.
  auto link = scrub_html("<a href='https://example.org/info'>Info</a>");
  CHECK(link.remote_removed == 0);
  // Entities in a rewritten style attribute are re-encoded, not let loose.
  auto amp = scrub_html("<p style=\"font-family:'a&amp;b';background:url(https://trk/x)\">y</p>");
  CHECK(mentions(amp.html, "a&amp;b"));
  CHECK_FALSE(mentions(amp.html, "trk/x"));
}
