#include "seal/scrub/html_scrub.h"

#include <gumbo.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <vector>

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

bool istarts_with(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  return true;
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

std::string escape_text(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else if (c == '&')
      out += "&amp;";
    else
      out += c;
  }
  return out;
}

class Collector {
 public:
  explicit Collector(std::string_view input) : input_(input) {}

  void visit(const GumboNode* node, int depth) {
    if (node->type != GUMBO_NODE_ELEMENT && node->type != GUMBO_NODE_TEMPLATE) return;
    if (depth > 400) return;  // gumbo itself caps nesting far below this in practice
    const GumboElement& el = node->v.element;
    element(el);
    for (unsigned i = 0; i < el.children.length; ++i) {
      auto* child = static_cast<const GumboNode*>(el.children.data[i]);
      if (el.tag == GUMBO_TAG_STYLE && child->type == GUMBO_NODE_TEXT) style_text(child);
      visit(child, depth + 1);
    }
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

  void element(const GumboElement& el) {
    const bool remote_src = [&] {
      for (const char* name : {"src", "data", "href"}) {
        const GumboAttribute* a = gumbo_get_attribute(&el.attributes, name);
        if (a && !is_local_reference(a->value)) return true;
      }
      return false;
    }();
    switch (el.tag) {
      case GUMBO_TAG_LINK:  // stylesheets, prefetch, dns-prefetch, preload: all fetch
        return drop_tag(el, "");
      case GUMBO_TAG_IMG:
      case GUMBO_TAG_IFRAME:
      case GUMBO_TAG_OBJECT:
      case GUMBO_TAG_EMBED:
      case GUMBO_TAG_SOURCE:
      case GUMBO_TAG_VIDEO:
      case GUMBO_TAG_AUDIO:
        if (remote_src && el.tag != GUMBO_TAG_VIDEO && el.tag != GUMBO_TAG_AUDIO) {
          const GumboAttribute* alt = gumbo_get_attribute(&el.attributes, "alt");
          return drop_tag(el, el.tag == GUMBO_TAG_IMG && alt ? escape_text(alt->value) : "");
        }
        break;
      default:
        break;
    }
    for (unsigned i = 0; i < el.attributes.length; ++i)
      attribute(*static_cast<const GumboAttribute*>(el.attributes.data[i]), el.tag);
  }

  void attribute(const GumboAttribute& a, GumboTag tag) {
    const std::string_view name(a.name);
    const bool fetching = name == "background" || name == "srcset" || name == "poster" ||
                          (name == "src" && tag != GUMBO_TAG_SCRIPT) ||
                          (name == "href" && tag == GUMBO_TAG_IMAGE);
    if (fetching && !is_local_reference(a.value)) {
      drop_attribute(a);
    } else if (name == "style") {
      int n = 0;
      std::string css = neutralise_css_urls(a.value, n);
      if (n > 0) replace_attribute_value(a, css, n);
    }
  }

  void style_text(const GumboNode* text) {
    const GumboStringPiece& raw = text->v.text.original_text;
    const std::size_t at = offset_of(raw);
    if (at == std::string_view::npos) return;
    int n = 0;
    std::string css = neutralise_css_urls(std::string_view(raw.data, raw.length), n);
    if (n == 0) return;
    edits.push_back({at, at + raw.length, std::move(css), n});
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
    // Re-quote with double quotes; the neutralised CSS has none of its own
    // that would end the attribute because url(...) contents were dropped.
    std::string quoted = "\"";
    for (char c : css) quoted += c == '"' ? std::string("&quot;") : std::string(1, c);
    quoted += '"';
    edits.push_back({at, at + a.original_value.length, std::move(quoted), n});
  }

  std::string_view input_;
};

}  // namespace

bool is_local_reference(std::string_view url) {
  const std::string_view u = trim(url);
  return u.empty() || u.front() == '#' || istarts_with(u, "cid:") || istarts_with(u, "data:");
}

std::string neutralise_css_urls(std::string_view css, int& removed) {
  std::string out;
  out.reserve(css.size());
  std::size_t pos = 0;
  while (pos < css.size()) {
    const std::size_t hit = [&] {
      for (std::size_t i = pos; i + 4 <= css.size(); ++i)
        if (istarts_with(css.substr(i), "url(")) return i;
      return std::string_view::npos;
    }();
    if (hit == std::string_view::npos) break;
    const std::size_t close = css.find(')', hit + 4);
    const std::size_t end = close == std::string_view::npos ? css.size() : close + 1;
    out.append(css.substr(pos, hit - pos));
    const std::string_view target =
        css.substr(hit + 4, (close == std::string_view::npos ? css.size() : close) - hit - 4);
    if (is_local_reference(target)) {
      out.append(css.substr(hit, end - hit));
    } else {
      out.append("none");
      ++removed;
    }
    pos = end;
  }
  out.append(css.substr(std::min(pos, css.size())));
  // @import loads a stylesheet even without url(): fail closed by dropping the keyword.
  for (std::size_t i = out.find('@'); i != std::string::npos; i = out.find('@', i + 1)) {
    if (istarts_with(std::string_view(out).substr(i), "@import")) {
      out.replace(i, 7, "/*i*/");
      ++removed;
    }
  }
  return out;
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
