#include "seal/scrub/html_scrub.h"

#include <gumbo.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <vector>

#include "seal/scrub/css_scrub.h"

namespace sealpost::scrub {
namespace {

struct GumboOutputFree {
  void operator()(GumboOutput* o) const { gumbo_destroy_output(&kGumboDefaultOptions, o); }
};

struct Edit {
  std::size_t begin, end;  // byte range of the original input
  std::string replacement;
  int count;  // remote references this edit removes
};

constexpr int kMaxDepth = 400;  // gumbo itself caps nesting far below this in practice

bool istarts_with(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  return true;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && istarts_with(a, b);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (std::isspace(static_cast<unsigned char>(s.front())) || s.front() == '"' ||
                        s.front() == '\''))
    s.remove_prefix(1);
  while (!s.empty() && (std::isspace(static_cast<unsigned char>(s.back())) || s.back() == '"' ||
                        s.back() == '\''))
    s.remove_suffix(1);
  return s;
}

// Text for an HTML text or attribute context: what was decoded is re-encoded.
std::string escape_text(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else if (c == '&')
      out += "&amp;";
    else if (c == '"')
      out += "&quot;";
    else
      out += c;
  }
  return out;
}

// A document loaded into a frame or object runs on its own: even a data:
// URL there can fetch. Only cid:, fragments and empty stay.
bool is_inert_document_reference(std::string_view url) {
  const std::string_view u = trim(url);
  return is_local_reference(u) && !istarts_with(u, "data:");
}

// Attributes that make a browser fetch on load, on any element.
bool is_fetching_attribute(std::string_view name) {
  for (std::string_view f : {"src", "srcset", "imagesrcset", "background", "poster", "lowsrc",
                             "dynsrc", "data", "codebase", "archive", "manifest", "ping", "icon"})
    if (name == f) return true;
  return false;
}

class Collector {
 public:
  explicit Collector(std::string_view input) : input_(input) {}

  void visit(const GumboNode* node, int depth) {
    if (node->type != GUMBO_NODE_ELEMENT && node->type != GUMBO_NODE_TEMPLATE) return;
    if (depth > kMaxDepth) return;
    const GumboElement& el = node->v.element;
    if (element(node, el)) return;  // the whole element went
    if (el.tag == GUMBO_TAG_STYLE) style_element(el);
    for (unsigned i = 0; i < el.children.length; ++i)
      visit(static_cast<const GumboNode*>(el.children.data[i]), depth + 1);
  }

  std::vector<Edit> edits;

 private:
  // Offset of a piece that points into the input, or npos for synthetic nodes.
  std::size_t offset_of(const GumboStringPiece& p) const {
    if (!p.data || p.length == 0 || p.data < input_.data() ||
        p.data + p.length > input_.data() + input_.size())
      return std::string_view::npos;
    return static_cast<std::size_t>(p.data - input_.data());
  }

  // End offset of everything the element's source covers (end tag, or the
  // last descendant when there is none); npos when nothing is in the input.
  std::size_t element_end(const GumboNode* node, int depth) const {
    std::size_t end = std::string_view::npos;
    const auto take = [&](const GumboStringPiece& p) {
      const std::size_t at = offset_of(p);
      if (at != std::string_view::npos && (end == std::string_view::npos || at + p.length > end))
        end = at + p.length;
    };
    if (node->type == GUMBO_NODE_ELEMENT || node->type == GUMBO_NODE_TEMPLATE) {
      const GumboElement& el = node->v.element;
      take(el.original_tag);
      take(el.original_end_tag);
      if (depth < kMaxDepth)
        for (unsigned i = 0; i < el.children.length; ++i) {
          const std::size_t e =
              element_end(static_cast<const GumboNode*>(el.children.data[i]), depth + 1);
          if (e != std::string_view::npos && (end == std::string_view::npos || e > end)) end = e;
        }
    } else if (node->type != GUMBO_NODE_DOCUMENT) {
      take(node->v.text.original_text);
    }
    return end;
  }

  // True when the element and its content were removed as a whole.
  bool element(const GumboNode* node, const GumboElement& el) {
    const bool svg = el.tag_namespace == GUMBO_NAMESPACE_SVG;
    switch (el.tag) {
      case GUMBO_TAG_SCRIPT:
        // Script (HTML or SVG) can fetch anything; mail has no use for it.
        drop_element(node, el);
        return true;
      case GUMBO_TAG_LINK:  // stylesheets, prefetch, dns-prefetch, preload: all fetch
      case GUMBO_TAG_BASE:  // would turn every relative reference remote
        drop_tag(el, "");
        return false;
      case GUMBO_TAG_META: {
        const GumboAttribute* eq = gumbo_get_attribute(&el.attributes, "http-equiv");
        if (eq && (iequals(trim(eq->value), "refresh") || iequals(trim(eq->value), "link"))) {
          drop_tag(el, "");
          return false;
        }
        break;
      }
      case GUMBO_TAG_IMG:
      case GUMBO_TAG_IFRAME:
      case GUMBO_TAG_FRAME:
      case GUMBO_TAG_OBJECT:
      case GUMBO_TAG_EMBED:
      case GUMBO_TAG_APPLET:
      case GUMBO_TAG_SOURCE:
        if (!svg && remote_source(el)) {
          const GumboAttribute* alt = gumbo_get_attribute(&el.attributes, "alt");
          drop_tag(el, el.tag == GUMBO_TAG_IMG && alt ? escape_text(alt->value) : "");
          return false;
        }
        break;
      default:
        break;
    }
    for (unsigned i = 0; i < el.attributes.length; ++i)
      attribute(*static_cast<const GumboAttribute*>(el.attributes.data[i]), el);
    return false;
  }

  bool remote_source(const GumboElement& el) const {
    const bool document = el.tag != GUMBO_TAG_IMG && el.tag != GUMBO_TAG_SOURCE;
    for (const char* name : {"src", "data", "code"}) {
      const GumboAttribute* a = gumbo_get_attribute(&el.attributes, name);
      if (!a) continue;
      if (document ? !is_inert_document_reference(a->value) : !is_local_reference(a->value))
        return true;
    }
    return false;
  }

  void attribute(const GumboAttribute& a, const GumboElement& el) {
    const std::string_view name(a.name);
    const bool svg = el.tag_namespace == GUMBO_NAMESPACE_SVG;
    if (name == "style") {
      const CssScrubResult css = scrub_css(a.value);
      if (css.removed > 0) replace_attribute_value(a, css.css, css.removed);
      return;
    }
    bool drop = false;
    if (is_fetching_attribute(name) || (name == "href" && svg && el.tag != GUMBO_TAG_A)) {
      // In SVG, href / xlink:href on <image>, <use>, <feImage>, <pattern>
      // ... loads; only <a href> is a link.
      const bool frame = el.tag == GUMBO_TAG_IFRAME || el.tag == GUMBO_TAG_FRAME ||
                         el.tag == GUMBO_TAG_OBJECT || el.tag == GUMBO_TAG_EMBED;
      drop = frame ? !is_inert_document_reference(a.value) : !is_local_reference(a.value);
    } else {
      // Event handlers run script; srcdoc is a whole document fetching on
      // its own; SVG presentation attributes are CSS (fill="url(...)").
      drop = (name.size() > 2 && istarts_with(name, "on")) || name == "srcdoc" ||
             (svg && css_fetches(a.value));
    }
    if (drop) drop_attribute(a);
  }

  // <style> text. HTML <style> is raw text: scrubbed in place. SVG <style>
  // is XML-ish: entities and CDATA are decoded first, and if anything fetches
  // the decoded, scrubbed sheet replaces the whole content, escaped.
  void style_element(const GumboElement& el) {
    std::string decoded;
    std::size_t begin = std::string_view::npos, end = 0;
    bool raw_is_decoded = el.tag_namespace == GUMBO_NAMESPACE_HTML;
    for (unsigned i = 0; i < el.children.length; ++i) {
      auto* child = static_cast<const GumboNode*>(el.children.data[i]);
      if (child->type != GUMBO_NODE_TEXT && child->type != GUMBO_NODE_CDATA &&
          child->type != GUMBO_NODE_WHITESPACE) {
        raw_is_decoded = false;
        continue;
      }
      const GumboStringPiece& raw = child->v.text.original_text;
      const std::size_t at = offset_of(raw);
      if (at == std::string_view::npos) continue;
      begin = std::min(begin, at);
      end = std::max(end, at + raw.length);
      decoded += child->v.text.text;
    }
    if (begin == std::string_view::npos || !css_fetches(decoded)) return;
    if (raw_is_decoded) {
      const CssScrubResult css = scrub_css(input_.substr(begin, end - begin));
      if (css.removed > 0) edits.push_back({begin, end, css.css, css.removed});
      return;
    }
    const CssScrubResult css = scrub_css(decoded);
    edits.push_back({begin, end, escape_text(css.css), std::max(css.removed, 1)});
  }

  void drop_element(const GumboNode* node, const GumboElement& el) {
    const std::size_t at = offset_of(el.original_tag);
    const std::size_t end = element_end(node, 0);
    if (at == std::string_view::npos || end == std::string_view::npos) return;
    edits.push_back({at, end, "", 1});
  }

  void drop_tag(const GumboElement& el, std::string replacement) {
    const std::size_t at = offset_of(el.original_tag);
    if (at == std::string_view::npos) return;
    edits.push_back({at, at + el.original_tag.length, std::move(replacement), 1});
  }

  void drop_attribute(const GumboAttribute& a) {
    const std::size_t begin = offset_of(a.original_name);
    if (begin == std::string_view::npos) return;
    const std::size_t vbegin = offset_of(a.original_value);
    const std::size_t end = vbegin == std::string_view::npos ? begin + a.original_name.length
                                                             : vbegin + a.original_value.length;
    edits.push_back({begin, end, "", 1});
  }

  void replace_attribute_value(const GumboAttribute& a, const std::string& css, int n) {
    const std::size_t at = offset_of(a.original_value);
    if (at == std::string_view::npos) return;
    // Gumbo gave the decoded value: re-encode it in double quotes.
    edits.push_back({at, at + a.original_value.length, "\"" + escape_text(css) + "\"", n});
  }

  std::string_view input_;
};

}  // namespace

bool is_local_reference(std::string_view url) {
  const std::string_view u = trim(url);
  return u.empty() || u.front() == '#' || istarts_with(u, "cid:") || istarts_with(u, "data:");
}

HtmlScrubResult scrub_html(std::string_view html) {
  std::unique_ptr<GumboOutput, GumboOutputFree> doc(
      gumbo_parse_with_options(&kGumboDefaultOptions, html.data(), html.size()));
  HtmlScrubResult result;
  if (!doc) {
    result.html.assign(html);
    return result;
  }
  Collector collector(html);
  collector.visit(doc->root, 0);
  auto& edits = collector.edits;
  // Apply front to back; an edit inside an already replaced range (an
  // attribute of a dropped tag) is covered by the outer edit and skipped.
  std::sort(edits.begin(), edits.end(), [](const Edit& a, const Edit& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end > b.end;
  });
  std::size_t pos = 0;
  for (const Edit& e : edits) {
    if (e.begin < pos) continue;
    result.html.append(html.substr(pos, e.begin - pos));
    result.html.append(e.replacement);
    pos = e.end;
    result.remote_removed += e.count;
  }
  result.html.append(html.substr(pos));
  return result;
}

}  // namespace sealpost::scrub
