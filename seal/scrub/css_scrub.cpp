#include "seal/scrub/css_scrub.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <vector>

#include "seal/scrub/html_scrub.h"

namespace sealpost::scrub {
namespace {

enum class Tok {
  Space,
  Comment,
  String,
  BadString,
  Url,
  BadUrl,
  Function,
  Ident,
  AtKeyword,
  OpenParen,
  CloseParen,
  OpenBrace,
  CloseBrace,
  Semicolon,
  Other
};

struct Token {
  Tok type;
  std::size_t begin, end;  // byte range in the input
  std::string value;       // decoded: string/url contents, lower-cased names
};

bool is_space(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}
bool is_newline(unsigned char c) {
  return c == '\n' || c == '\r' || c == '\f';
}
bool is_name_start(unsigned char c) {
  return std::isalpha(c) || c == '_' || c >= 0x80;
}
bool is_name(unsigned char c) {
  return is_name_start(c) || std::isdigit(c) || c == '-';
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

char ascii_lower(char c) {
  return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

class Tokenizer {
 public:
  explicit Tokenizer(std::string_view s) : s_(s) {}

  std::vector<Token> run() {
    std::vector<Token> out;
    while (pos_ < s_.size()) out.push_back(next());
    return out;
  }

 private:
  unsigned char at(std::size_t i) const {
    return i < s_.size() ? static_cast<unsigned char>(s_[i]) : 0;
  }
  bool has(std::size_t i) const { return i < s_.size(); }
  // CSS Syntax 4.3.8: a backslash not followed by a newline (or the end).
  bool valid_escape(std::size_t i) const {
    return has(i) && s_[i] == '\\' && has(i + 1) && !is_newline(at(i + 1));
  }
  bool starts_ident(std::size_t i) const {
    if (!has(i)) return false;
    if (s_[i] == '-')
      return (has(i + 1) && (is_name_start(at(i + 1)) || s_[i + 1] == '-')) || valid_escape(i + 1);
    return is_name_start(at(i)) || valid_escape(i);
  }

  // After the backslash: up to six hex digits and one white space, or one char.
  void consume_escape(std::string& out) {
    if (!has(pos_)) return;
    if (std::isxdigit(at(pos_))) {
      std::uint32_t cp = 0;
      for (int n = 0; n < 6 && has(pos_) && std::isxdigit(at(pos_)); ++n, ++pos_)
        cp = cp * 16 + static_cast<std::uint32_t>(std::isdigit(at(pos_))
                                                      ? at(pos_) - '0'
                                                      : std::tolower(at(pos_)) - 'a' + 10);
      if (has(pos_) && s_[pos_] == '\r' && at(pos_ + 1) == '\n')
        pos_ += 2;
      else if (has(pos_) && is_space(at(pos_)))
        ++pos_;
      if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) cp = 0xFFFD;
      append_utf8(out, cp);
      return;
    }
    out += s_[pos_++];
  }

  std::string consume_name() {
    std::string name;
    while (has(pos_)) {
      if (is_name(at(pos_))) {
        name += ascii_lower(s_[pos_++]);
      } else if (valid_escape(pos_)) {
        ++pos_;
        std::string one;
        consume_escape(one);
        for (char c : one) name += ascii_lower(c);
      } else {
        break;
      }
    }
    return name;
  }

  Token string_token(std::size_t begin) {
    const char quote = s_[pos_++];
    Token t{Tok::String, begin, 0, {}};
    while (has(pos_)) {
      const char c = s_[pos_];
      if (c == quote) {
        ++pos_;
        break;
      }
      if (is_newline(static_cast<unsigned char>(c))) {
        t.type = Tok::BadString;  // the newline is not consumed
        break;
      }
      ++pos_;
      if (c == '\\') {
        if (!has(pos_)) break;
        if (s_[pos_] == '\r' && at(pos_ + 1) == '\n')
          pos_ += 2;  // escaped newline: a line continuation
        else if (is_newline(at(pos_)))
          ++pos_;
        else
          consume_escape(t.value);
        continue;
      }
      t.value += c;
    }
    t.end = pos_;
    return t;
  }

  // After "url(" when no quote follows: the unquoted url token.
  Token url_token(std::size_t begin) {
    Token t{Tok::Url, begin, 0, {}};
    while (has(pos_) && is_space(at(pos_))) ++pos_;
    while (has(pos_)) {
      const unsigned char c = at(pos_);
      if (c == ')') {
        ++pos_;
        t.end = pos_;
        return t;
      }
      if (is_space(c)) {
        while (has(pos_) && is_space(at(pos_))) ++pos_;
        if (!has(pos_) || s_[pos_] == ')') continue;
        t.type = Tok::BadUrl;
      } else if (c == '"' || c == '\'' || c == '(' || c < 0x09 || c == 0x0B ||
                 (c >= 0x0E && c < 0x20) || c == 0x7F) {
        t.type = Tok::BadUrl;
        ++pos_;
      } else if (c == '\\') {
        if (valid_escape(pos_)) {
          ++pos_;
          consume_escape(t.value);
        } else {
          t.type = Tok::BadUrl;
          ++pos_;
        }
      } else {
        t.value += static_cast<char>(c);
        ++pos_;
      }
      if (t.type == Tok::BadUrl) {
        // Consume the remnants of a bad url up to ')' (escapes skipped).
        while (has(pos_) && s_[pos_] != ')') pos_ += valid_escape(pos_) ? 2 : 1;
        if (has(pos_)) ++pos_;
        t.end = std::min(pos_, s_.size());
        return t;
      }
    }
    t.end = pos_;  // unterminated: still a url to the end
    return t;
  }

  Token next() {
    const std::size_t begin = pos_;
    const char c = s_[pos_];
    if (c == '/' && at(pos_ + 1) == '*') {
      const auto close = s_.find("*/", pos_ + 2);
      pos_ = close == std::string_view::npos ? s_.size() : close + 2;
      return {Tok::Comment, begin, pos_, {}};
    }
    if (is_space(static_cast<unsigned char>(c))) {
      while (has(pos_) && is_space(at(pos_))) ++pos_;
      return {Tok::Space, begin, pos_, {}};
    }
    if (c == '"' || c == '\'') return string_token(begin);
    if (c == '@' && starts_ident(pos_ + 1)) {
      ++pos_;
      std::string name = consume_name();
      return {Tok::AtKeyword, begin, pos_, std::move(name)};
    }
    if (starts_ident(pos_)) {
      std::string name = consume_name();
      if (has(pos_) && s_[pos_] == '(') {
        ++pos_;
        if (name == "url") {
          // url( "x" ) is a function with a string; url(x) is one url token.
          std::size_t look = pos_;
          while (has(look) && is_space(at(look))) ++look;
          if (!has(look) || (s_[look] != '"' && s_[look] != '\'')) return url_token(begin);
        }
        return {Tok::Function, begin, pos_, std::move(name)};
      }
      return {Tok::Ident, begin, pos_, std::move(name)};
    }
    ++pos_;
    switch (c) {
      case '(':
        return {Tok::OpenParen, begin, pos_, {}};
      case ')':
        return {Tok::CloseParen, begin, pos_, {}};
      case '{':
        return {Tok::OpenBrace, begin, pos_, {}};
      case '}':
        return {Tok::CloseBrace, begin, pos_, {}};
      case ';':
        return {Tok::Semicolon, begin, pos_, {}};
      case '\\':
        return {Tok::Other, begin, pos_, {}};  // invalid escape: a delim
      default:
        // Digits, '#', '.', ... a run of them is one harmless token.
        while (has(pos_) && !starts_ident(pos_) &&
               std::string_view("()[]{};\"'/@\\ \t\r\n\f").find(s_[pos_]) == std::string_view::npos)
          ++pos_;
        return {Tok::Other, begin, pos_, {}};
    }
  }

  std::string_view s_;
  std::size_t pos_ = 0;
};

bool is_image_function(std::string_view name) {
  return name == "image-set" || name == "-webkit-image-set" || name == "-moz-image-set" ||
         name == "-o-image-set" || name == "image" || name == "cross-fade" ||
         name == "-webkit-cross-fade";
}

bool is_substitution_function(std::string_view name) {
  return name == "var" || name == "env" || name == "attr";
}

// Marks, per token, whether it makes the browser fetch something.
std::vector<bool> fetching_tokens(const std::vector<Token>& toks) {
  std::vector<bool> fetch(toks.size(), false);
  // Open functions: for each paren level, whether it is an image function.
  std::vector<bool> image_fn;
  for (std::size_t i = 0; i < toks.size(); ++i) {
    const Token& t = toks[i];
    switch (t.type) {
      case Tok::Url:
        fetch[i] = !is_local_reference(t.value);
        break;
      case Tok::BadUrl:
        fetch[i] = true;  // browsers drop it, but fail closed
        break;
      case Tok::AtKeyword:
        fetch[i] = t.value == "import";
        break;
      case Tok::String:
      case Tok::BadString:
        // A bare string names an image inside image-set() and friends.
        fetch[i] = !image_fn.empty() && image_fn.back() && !is_local_reference(t.value);
        break;
      case Tok::Function: {
        if (t.value == "url" || t.value == "src") {
          // Only url("local") / src("local") is harmless; a var() or
          // anything else inside makes the target unknown.
          std::size_t j = i + 1;
          while (j < toks.size() && (toks[j].type == Tok::Space || toks[j].type == Tok::Comment))
            ++j;
          fetch[i] = !(j < toks.size() && toks[j].type == Tok::String &&
                       is_local_reference(toks[j].value));
        } else if (t.value == "expression") {
          fetch[i] = true;  // old IE: script inside CSS
        } else if (is_substitution_function(t.value)) {
          fetch[i] = std::any_of(image_fn.begin(), image_fn.end(), [](bool b) { return b; });
        }
        image_fn.push_back(is_image_function(t.value) || (!image_fn.empty() && image_fn.back() &&
                                                          !is_substitution_function(t.value)));
        break;
      }
      case Tok::OpenParen:
        image_fn.push_back(!image_fn.empty() && image_fn.back());
        break;
      case Tok::CloseParen:
        if (!image_fn.empty()) image_fn.pop_back();
        break;
      default:
        break;
    }
  }
  return fetch;
}

struct Cut {
  std::size_t begin, end;  // byte range
  int count;
};

struct Frame {
  std::size_t stmt_start;         // token index where the current statement began
  int fetches = 0;                // fetching tokens in the current statement
  int parens = 0;                 // open ( and functions in the current statement
  std::size_t prelude_start = 0;  // the enclosing rule's prelude (for the parent)
  int prelude_fetches = 0;
};

// Statement ranges to cut: every statement holding a fetching token, a rule
// whose prelude fetches together with its block. No recursion: one frame per
// open '{' on an explicit stack, so nesting depth costs memory, not stack.
std::vector<Cut> cuts_for(const std::vector<Token>& toks) {
  const std::vector<bool> fetch = fetching_tokens(toks);
  std::vector<Cut> cuts;
  std::vector<Frame> stack{Frame{0}};
  const auto end_statement = [&](std::size_t last_exclusive) {
    Frame& f = stack.back();
    if (f.fetches > 0 && f.stmt_start < last_exclusive)
      cuts.push_back({toks[f.stmt_start].begin, toks[last_exclusive - 1].end, f.fetches});
  };
  for (std::size_t i = 0; i < toks.size(); ++i) {
    Frame& f = stack.back();
    if (fetch[i]) ++f.fetches;
    switch (toks[i].type) {
      case Tok::Function:
      case Tok::OpenParen:
        ++f.parens;
        break;
      case Tok::CloseParen:
        if (f.parens > 0) --f.parens;
        break;
      case Tok::Semicolon:
        if (f.parens == 0) {
          end_statement(i + 1);
          f.stmt_start = i + 1;
          f.fetches = 0;
        }
        break;
      case Tok::OpenBrace:
        if (f.parens == 0) {
          Frame inner{i + 1};
          inner.prelude_start = f.stmt_start;
          inner.prelude_fetches = f.fetches;
          stack.push_back(inner);
        }
        break;
      case Tok::CloseBrace:
        if (f.parens == 0 && stack.size() > 1) {
          end_statement(i);
          const Frame done = stack.back();
          stack.pop_back();
          if (done.prelude_fetches > 0)
            cuts.push_back({toks[done.prelude_start].begin, toks[i].end, done.prelude_fetches});
          Frame& parent = stack.back();  // its own prelude (if nested) stays
          parent.stmt_start = i + 1;
          parent.fetches = 0;
          parent.parens = 0;
        }
        break;
      default:
        break;
    }
  }
  // Unclosed blocks and a last statement without ';' end with the input.
  while (!stack.empty()) {
    end_statement(toks.size());
    const Frame done = stack.back();
    stack.pop_back();
    if (done.prelude_fetches > 0 && !toks.empty())
      cuts.push_back({toks[done.prelude_start].begin, toks.back().end, done.prelude_fetches});
  }
  return cuts;
}

}  // namespace

CssScrubResult scrub_css(std::string_view css) {
  const std::vector<Token> toks = Tokenizer(css).run();
  std::vector<Cut> cuts = cuts_for(toks);
  CssScrubResult result;
  if (cuts.empty()) {
    result.css.assign(css);
    return result;
  }
  // Outer cuts first; a cut inside one already made is covered by it.
  std::sort(cuts.begin(), cuts.end(), [](const Cut& a, const Cut& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end > b.end;
  });
  std::size_t pos = 0;
  for (const Cut& c : cuts) {
    if (c.begin < pos) {
      result.removed += c.count;  // its fetches went with the enclosing cut
      continue;
    }
    result.css.append(css.substr(pos, c.begin - pos));
    pos = c.end;
    result.removed += c.count;
  }
  result.css.append(css.substr(pos));
  return result;
}

bool css_fetches(std::string_view css) {
  const std::vector<Token> toks = Tokenizer(css).run();
  const std::vector<bool> fetch = fetching_tokens(toks);
  return std::find(fetch.begin(), fetch.end(), true) != fetch.end();
}

}  // namespace sealpost::scrub
