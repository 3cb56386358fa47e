#include "portal/html_sanitizer.h"

#include <gumbo.h>

#include <algorithm>
#include <memory>
#include <vector>

namespace sealpost::portal {
namespace {

constexpr int kMaxDepth = kMaxHtmlDepth;  // deeper nesting is flattened: bounded recursion
constexpr long kMaxTags = 20000;

struct OutputDeleter {
  void operator()(GumboOutput* o) const { gumbo_destroy_output(&kGumboDefaultOptions, o); }
};

// Kept as elements (attributes are filtered separately).
bool allowed_tag(GumboTag t) {
  switch (t) {
    case GUMBO_TAG_P:
    case GUMBO_TAG_BR:
    case GUMBO_TAG_DIV:
    case GUMBO_TAG_SPAN:
    case GUMBO_TAG_B:
    case GUMBO_TAG_STRONG:
    case GUMBO_TAG_I:
    case GUMBO_TAG_EM:
    case GUMBO_TAG_U:
    case GUMBO_TAG_S:
    case GUMBO_TAG_UL:
    case GUMBO_TAG_OL:
    case GUMBO_TAG_LI:
    case GUMBO_TAG_BLOCKQUOTE:
    case GUMBO_TAG_PRE:
    case GUMBO_TAG_CODE:
    case GUMBO_TAG_H1:
    case GUMBO_TAG_H2:
    case GUMBO_TAG_H3:
    case GUMBO_TAG_H4:
    case GUMBO_TAG_H5:
    case GUMBO_TAG_H6:
    case GUMBO_TAG_TABLE:
    case GUMBO_TAG_THEAD:
    case GUMBO_TAG_TBODY:
    case GUMBO_TAG_TFOOT:
    case GUMBO_TAG_TR:
    case GUMBO_TAG_TD:
    case GUMBO_TAG_TH:
    case GUMBO_TAG_HR:
    case GUMBO_TAG_A:
    case GUMBO_TAG_SUB:
    case GUMBO_TAG_SUP:
    case GUMBO_TAG_SMALL:
    case GUMBO_TAG_DL:
    case GUMBO_TAG_DT:
    case GUMBO_TAG_DD:
    case GUMBO_TAG_CAPTION:
      return true;
    default:
      return false;
  }
}

// Dropped together with everything inside them.
bool dropped_subtree(GumboTag t) {
  switch (t) {
    case GUMBO_TAG_SCRIPT:
    case GUMBO_TAG_STYLE:
    case GUMBO_TAG_HEAD:
    case GUMBO_TAG_TITLE:
    case GUMBO_TAG_TEMPLATE:
    case GUMBO_TAG_NOSCRIPT:
    case GUMBO_TAG_IFRAME:
    case GUMBO_TAG_FRAME:
    case GUMBO_TAG_FRAMESET:
    case GUMBO_TAG_OBJECT:
    case GUMBO_TAG_EMBED:
    case GUMBO_TAG_APPLET:
    case GUMBO_TAG_SVG:
    case GUMBO_TAG_MATH:
    case GUMBO_TAG_META:
    case GUMBO_TAG_LINK:
    case GUMBO_TAG_BASE:
    case GUMBO_TAG_FORM:
    case GUMBO_TAG_INPUT:
    case GUMBO_TAG_BUTTON:
    case GUMBO_TAG_SELECT:
    case GUMBO_TAG_TEXTAREA:
    case GUMBO_TAG_OPTION:
    case GUMBO_TAG_AUDIO:
    case GUMBO_TAG_VIDEO:
    case GUMBO_TAG_SOURCE:
    case GUMBO_TAG_TRACK:
    case GUMBO_TAG_CANVAS:
    case GUMBO_TAG_IMG:
    case GUMBO_TAG_IMAGE:
    case GUMBO_TAG_MAP:
    case GUMBO_TAG_AREA:
    case GUMBO_TAG_PARAM:
    case GUMBO_TAG_BGSOUND:
      return true;
    default:
      return false;
  }
}

std::string lower_trimmed_scheme(std::string_view url) {
  // Browsers ignore leading spaces/controls and tabs/newlines inside schemes
  // ("java\tscript:"), so strip them the same way before looking.
  std::string s;
  for (unsigned char c : url) {
    if (c <= 0x20) continue;
    if (c == ':') break;
    s += static_cast<char>(std::tolower(c));
    if (s.size() > 16) break;
  }
  return s;
}

bool safe_href(std::string_view url) {
  if (url.find(':') == std::string_view::npos) return false;  // relative: would hit the portal
  const std::string scheme = lower_trimmed_scheme(url);
  return scheme == "http" || scheme == "https" || scheme == "mailto";
}

void serialize(const GumboNode* node, std::string& out, int depth);

// Text of a subtree, walked with an explicit stack: used past the depth limit
// so absurd nesting still shows its words without deep recursion.
void append_text(const GumboNode* root, std::string& out) {
  std::vector<const GumboNode*> stack{root};
  while (!stack.empty()) {
    const GumboNode* n = stack.back();
    stack.pop_back();
    if (n->type == GUMBO_NODE_TEXT || n->type == GUMBO_NODE_WHITESPACE ||
        n->type == GUMBO_NODE_CDATA) {
      out += html_escape(n->v.text.text);
    } else if (n->type == GUMBO_NODE_ELEMENT && !dropped_subtree(n->v.element.tag)) {
      const GumboVector& c = n->v.element.children;
      for (unsigned i = c.length; i > 0; --i)
        stack.push_back(static_cast<const GumboNode*>(c.data[i - 1]));
    }
  }
}

void serialize_children(const GumboVector& children, std::string& out, int depth) {
  for (unsigned i = 0; i < children.length; ++i)
    serialize(static_cast<const GumboNode*>(children.data[i]), out, depth + 1);
}

void serialize(const GumboNode* node, std::string& out, int depth) {
  switch (node->type) {
    case GUMBO_NODE_TEXT:
    case GUMBO_NODE_WHITESPACE:
    case GUMBO_NODE_CDATA:
      out += html_escape(node->v.text.text);
      return;
    case GUMBO_NODE_COMMENT:
    case GUMBO_NODE_TEMPLATE:
      return;
    case GUMBO_NODE_DOCUMENT:
      serialize_children(node->v.document.children, out, depth);
      return;
    case GUMBO_NODE_ELEMENT:
      break;
  }
  const GumboElement& el = node->v.element;
  if (el.tag_namespace != GUMBO_NAMESPACE_HTML || dropped_subtree(el.tag)) return;
  const bool keep = allowed_tag(el.tag) && depth < kMaxDepth;
  if (depth >= kMaxDepth * 2) return append_text(node, out);  // never overflow the stack
  if (!keep) {
    serialize_children(el.children, out, depth);  // unknown wrappers (html, body, font...) vanish
    return;
  }
  const char* name = gumbo_normalized_tagname(el.tag);
  out += '<';
  out += name;
  for (unsigned i = 0; i < el.attributes.length; ++i) {
    const auto* a = static_cast<const GumboAttribute*>(el.attributes.data[i]);
    const std::string_view an = a->name;
    const bool ok = (el.tag == GUMBO_TAG_A && an == "href" && safe_href(a->value)) ||
                    ((el.tag == GUMBO_TAG_TD || el.tag == GUMBO_TAG_TH) &&
                     (an == "colspan" || an == "rowspan"));
    if (!ok) continue;  // on*, style, src, srcset, class, id, formaction, ...
    out += ' ';
    out += an;
    out += "=\"" + html_escape(a->value) + "\"";
  }
  if (el.tag == GUMBO_TAG_A) out += " rel=\"noopener noreferrer nofollow\"";
  out += '>';
  if (el.tag == GUMBO_TAG_BR || el.tag == GUMBO_TAG_HR) return;  // void elements
  serialize_children(el.children, out, depth);
  out += "</";
  out += name;
  out += '>';
}

}  // namespace

std::string sanitize_html(std::string_view html) {
  html = html.substr(0, kMaxHtmlInput);
  // gumbo frees its tree recursively; a flood of open tags could exhaust the
  // stack there, so such bodies are shown as escaped source text instead.
  if (std::count(html.begin(), html.end(), '<') > kMaxTags)
    return "<pre>" + html_escape(html) + "</pre>";
  GumboOptions options = kGumboDefaultOptions;
  options.max_errors = 1000;  // parse errors are normal in mail; do not collect millions
  std::unique_ptr<GumboOutput, OutputDeleter> output(
      gumbo_parse_with_options(&options, html.data(), html.size()));
  if (!output) return {};
  std::string out;
  serialize(output->root, out, 0);
  return out;
}

}  // namespace sealpost::portal
