#include "seal/scrub/ooxml_authors.h"

#include <array>
#include <cctype>

namespace sealpost::scrub {
namespace {

struct Replacement {
  std::string_view local_name;  // attribute (or element, for text) without prefix
  std::string_view value;
};

struct Rules {
  std::array<Replacement, 6> attributes;
  std::string_view author_element_text;  // non-empty: <author>TEXT</author> becomes this
};

constexpr Rules kWord{{{{"author", "Author"},
                        {"initials", "A"},
                        {"userId", "Author"},
                        {"providerId", "None"},
                        {{}, {}},
                        {{}, {}}}},
                      {}};
constexpr Rules kExcelComments{{}, "Author"};
constexpr Rules kExcelPeople{{{{"displayName", "Author"},
                               {"userId", "Author"},
                               {"providerId", "None"},
                               {"userName", "Author"},
                               {{}, {}},
                               {{}, {}}}},
                             {}};
constexpr Rules kPowerPoint{{{{"name", "Author"},
                              {"initials", "A"},
                              {"userId", "Author"},
                              {"providerId", "None"},
                              {{}, {}},
                              {{}, {}}}},
                            {}};

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

const Rules* rules_for(std::string_view name) {
  if (!ends_with(name, ".xml")) return nullptr;
  if (name.starts_with("word/")) return &kWord;  // document, comments*, people, headers ...
  if (name.starts_with("xl/comments")) return &kExcelComments;
  if (name.starts_with("xl/persons/") || name.starts_with("xl/revisions/")) return &kExcelPeople;
  if (name == "ppt/commentAuthors.xml" || name == "ppt/authors.xml") return &kPowerPoint;
  return nullptr;
}

bool is_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == ':' || c == '_' || c == '-' ||
         c == '.' || static_cast<unsigned char>(c) >= 0x80;
}

std::string_view local(std::string_view qname) {
  const auto colon = qname.rfind(':');
  return colon == std::string_view::npos ? qname : qname.substr(colon + 1);
}

}  // namespace

bool ooxml_part_may_name_people(std::string_view part_name) {
  return rules_for(part_name) != nullptr;
}

int neutralise_ooxml_authors(std::string_view part_name, std::string_view xml, std::string& out) {
  out.clear();
  const Rules* rules = rules_for(part_name);
  if (!rules) {
    out.assign(xml);
    return 0;
  }
  out.reserve(xml.size());
  int changed = 0;
  std::size_t pos = 0;
  const auto copy_through = [&](std::string_view end_marker, std::size_t from) {
    const auto end = xml.find(end_marker, from);
    const std::size_t stop = end == std::string_view::npos ? xml.size() : end + end_marker.size();
    out.append(xml.substr(pos, stop - pos));
    pos = stop;
  };
  while (pos < xml.size()) {
    const auto lt = xml.find('<', pos);
    if (lt == std::string_view::npos) {
      out.append(xml.substr(pos));
      break;
    }
    out.append(xml.substr(pos, lt - pos));
    pos = lt;
    const std::string_view rest = xml.substr(lt);
    if (rest.starts_with("<!--")) {
      copy_through("-->", lt + 4);
      continue;
    }
    if (rest.starts_with("<![CDATA[")) {
      copy_through("]]>", lt + 9);
      continue;
    }
    if (rest.starts_with("<?") || rest.starts_with("<!") || rest.starts_with("</")) {
      copy_through(">", lt + 1);
      continue;
    }
    // A start tag: name, then attributes name="value" / name='value'.
    std::size_t i = lt + 1;
    while (i < xml.size() && is_name_char(xml[i])) ++i;
    const std::string_view element = local(xml.substr(lt + 1, i - lt - 1));
    bool self_closing = false;
    for (;;) {
      while (i < xml.size() && std::isspace(static_cast<unsigned char>(xml[i]))) ++i;
      if (i >= xml.size()) break;
      if (xml[i] == '>') {
        ++i;
        break;
      }
      if (xml[i] == '/') {
        self_closing = true;
        ++i;
        continue;
      }
      const std::size_t name_begin = i;
      while (i < xml.size() && is_name_char(xml[i])) ++i;
      if (i == name_begin) {  // stray byte: keep it and move on
        ++i;
        continue;
      }
      const std::string_view attr = local(xml.substr(name_begin, i - name_begin));
      while (i < xml.size() && std::isspace(static_cast<unsigned char>(xml[i]))) ++i;
      if (i >= xml.size() || xml[i] != '=') continue;
      ++i;
      while (i < xml.size() && std::isspace(static_cast<unsigned char>(xml[i]))) ++i;
      if (i >= xml.size() || (xml[i] != '"' && xml[i] != '\'')) continue;
      const char quote = xml[i];
      const std::size_t value_begin = i + 1;
      const auto value_end = xml.find(quote, value_begin);
      if (value_end == std::string_view::npos) {
        i = xml.size();
        break;
      }
      for (const Replacement& r : rules->attributes) {
        if (r.local_name.empty() || attr != r.local_name) continue;
        const std::string_view old = xml.substr(value_begin, value_end - value_begin);
        if (old != r.value) {
          out.append(xml.substr(pos, value_begin - pos));
          out.append(r.value);
          pos = value_end;
          ++changed;
        }
        break;
      }
      i = value_end + 1;
    }
    out.append(xml.substr(pos, i - pos));
    pos = i;
    if (!rules->author_element_text.empty() && !self_closing && element == "author") {
      const auto next = xml.find('<', pos);
      const std::size_t stop = next == std::string_view::npos ? xml.size() : next;
      // Already neutral: left in place (the loop copies it), never dropped.
      if (xml.substr(pos, stop - pos) != rules->author_element_text) {
        out.append(rules->author_element_text);
        ++changed;
        pos = stop;
      }
    }
  }
  return changed;
}

}  // namespace sealpost::scrub
