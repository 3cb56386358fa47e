#include "config/yaml_reader.h"

#include <yaml-cpp/anchor.h>
#include <yaml-cpp/eventhandler.h>

#include <charconv>
#include <map>
#include <set>
#include <sstream>

#include "common/units.h"

namespace sealpost {
namespace {

// First pass over the event stream, before building a node tree: bounds the
// nesting depth and the number of nodes *as expanded through aliases*, so a
// "billion laughs" file (aliases of aliases) is refused before anything walks
// it. Anchors and aliases themselves are allowed: PyYAML and other generators
// emit them for repeated values (e.g. the same tls block for two listeners).
class BoundsChecker : public YAML::EventHandler {
 public:
  BoundsChecker(const YamlReader& reader, const YamlLimits& limits)
      : reader_(reader), limits_(limits) {}

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override { leaf(mark, anchor); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto it = anchor_sizes_.find(anchor);
    // An alias to a collection still open (a recursive structure) has no size yet.
    if (it == anchor_sizes_.end()) fail(mark, "alias refers to an unfinished or unknown anchor");
    add(mark, it->second);
  }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                const std::string&) override {
    leaf(mark, anchor);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    open(mark, anchor);
  }
  void OnSequenceEnd() override { close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    open(mark, anchor);
  }
  void OnMapEnd() override { close(); }

 private:
  struct Open {
    YAML::anchor_t anchor;
    std::size_t nodes_before;
  };

  void add(const YAML::Mark& mark, std::size_t n) {
    nodes_ += n;
    if (nodes_ > limits_.max_nodes) fail(mark, "too many YAML nodes (aliases included)");
  }
  void leaf(const YAML::Mark& mark, YAML::anchor_t anchor) {
    add(mark, 1);
    if (anchor != YAML::NullAnchor) anchor_sizes_[anchor] = 1;
  }
  void open(const YAML::Mark& mark, YAML::anchor_t anchor) {
    open_.push_back({anchor, nodes_});
    add(mark, 1);
    if (static_cast<int>(open_.size()) > limits_.max_depth) fail(mark, "nesting too deep");
  }
  void close() {
    if (open_.empty()) return;
    Open o = open_.back();
    open_.pop_back();
    if (o.anchor != YAML::NullAnchor) anchor_sizes_[o.anchor] = nodes_ - o.nodes_before;
  }
  [[noreturn]] void fail(const YAML::Mark& mark, const std::string& msg) const {
    throw YamlFailure{reader_.file_name() + ":" + std::to_string(mark.line + 1) + ": " + msg};
  }

  const YamlReader& reader_;
  const YamlLimits& limits_;
  std::vector<Open> open_;
  std::map<YAML::anchor_t, std::size_t> anchor_sizes_;
  std::size_t nodes_ = 0;
};

}  // namespace

YamlReader::YamlReader(std::string file_name, std::filesystem::path base_dir)
    : file_name_(std::move(file_name)), base_dir_(std::move(base_dir)) {}

YAML::Node YamlReader::parse(std::string_view text, const YamlLimits& limits) const {
  if (text.size() > limits.max_bytes)
    fail_file("file too large (" + std::to_string(text.size()) + " bytes, limit " +
              std::to_string(limits.max_bytes) + ")");
  if (text.find('\0') != std::string_view::npos) fail_file("file contains a NUL byte");
  try {
    {
      std::istringstream in{std::string(text)};
      YAML::Parser parser(in);
      BoundsChecker checker(*this, limits);
      if (parser.HandleNextDocument(checker) && parser.HandleNextDocument(checker))
        fail_file("more than one YAML document ('---') in the file");
    }
    return YAML::Load(std::string(text));
  } catch (const YAML::ParserException& e) {
    // e.msg is yaml-cpp's fixed wording ("illegal map value"), not input text.
    if (e.mark.is_null()) fail_file("YAML syntax error: " + e.msg);
    throw YamlFailure{file_name_ + ":" + std::to_string(e.mark.line + 1) +
                      ": YAML syntax error: " + e.msg};
  }
}

int YamlReader::line_of(const YAML::Node& node) {
  if (!node.IsDefined()) return 0;
  YAML::Mark m = node.Mark();
  return m.is_null() ? 0 : m.line + 1;
}

std::string YamlReader::where(const YAML::Node& node) const {
  int line = line_of(node);
  return line > 0 ? file_name_ + ":" + std::to_string(line) : file_name_;
}

void YamlReader::fail(const YAML::Node& at, const std::string& message) const {
  throw YamlFailure{where(at) + ": " + message};
}

void YamlReader::fail_file(const std::string& message) const {
  throw YamlFailure{file_name_ + ": " + message};
}

std::string YamlReader::shorten(std::string_view value) {
  constexpr std::size_t kMax = 40;
  std::string out;
  for (char c : value.substr(0, kMax)) {
    // Keep messages on one printable line whatever the input holds.
    auto u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u == 0x7f) ? '?' : c;
  }
  if (value.size() > kMax) out += "...";
  return out;
}

void YamlReader::check_map(const YAML::Node& node, std::string_view section,
                           const std::vector<std::string>& allowed) const {
  std::string in = section.empty() ? "at top level" : "in '" + std::string(section) + "'";
  if (node.IsNull()) return;
  if (!node.IsMap())
    fail(node, section.empty() ? std::string("expected a mapping of keys at top level")
                               : "'" + std::string(section) + "' must be a mapping of keys");
  std::set<std::string, std::less<>> seen;
  for (auto it = node.begin(); it != node.end(); ++it) {
    // A copy: it->first lives in a proxy that dies at the end of the statement.
    const YAML::Node key = it->first;
    if (!key.IsScalar()) fail(key, "keys must be plain words " + in);
    const std::string& name = key.Scalar();
    bool known = false;
    for (const auto& a : allowed) known = known || a == name;
    if (!known) fail(key, "unknown key '" + shorten(name) + "' " + in);
    if (!seen.insert(name).second) fail(key, "duplicate key '" + shorten(name) + "' " + in);
    // An empty value carries no usable position in yaml-cpp, so it is reported
    // here at its key; empty lists and mappings are written [] and {}.
    if (it->second.IsNull()) {
      std::string msg = "'" + name + "' ";
      msg += in;
      msg += " has no value (write [] or {} for an empty list or mapping)";
      fail(key, msg);
    }
  }
}

const YAML::Node& YamlReader::sequence(const YAML::Node& node, std::string_view what) const {
  if (!node.IsNull() && !node.IsSequence()) fail(node, std::string(what) + ": expected a list");
  return node;
}

const std::string& YamlReader::scalar(const YAML::Node& node, std::string_view what) const {
  if (!node.IsDefined() || node.IsNull()) fail(node, std::string(what) + ": value missing");
  if (!node.IsScalar())
    fail(node, std::string(what) + ": expected a single value, not a list or mapping");
  return node.Scalar();
}

std::string YamlReader::string(const YAML::Node& node, std::string_view what) const {
  const std::string& s = scalar(node, what);
  if (s.empty()) fail(node, std::string(what) + ": must not be empty");
  return s;
}

bool YamlReader::boolean(const YAML::Node& node, std::string_view what) const {
  const std::string& s = scalar(node, what);
  // Only the YAML 1.2 spellings: "yes"/"no"/"on" are easy to misread.
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  fail(node, std::string(what) + ": expected true or false, got '" + shorten(s) + "'");
}

std::uint64_t YamlReader::integer(const YAML::Node& node, std::string_view what, std::uint64_t min,
                                  std::uint64_t max) const {
  const std::string& s = scalar(node, what);
  std::uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || v < min || v > max)
    fail(node, std::string(what) + ": expected a whole number from " + std::to_string(min) +
                   " to " + std::to_string(max) + ", got '" + shorten(s) + "'");
  return v;
}

std::uint64_t YamlReader::size(const YAML::Node& node, std::string_view what) const {
  const std::string& s = scalar(node, what);
  auto v = parse_size(s);
  if (!v) fail(node, std::string(what) + ": expected a size like 50MiB, got '" + shorten(s) + "'");
  return *v;
}

std::chrono::seconds YamlReader::duration(const YAML::Node& node, std::string_view what) const {
  const std::string& s = scalar(node, what);
  auto v = parse_duration(s);
  if (!v)
    fail(node, std::string(what) + ": expected a duration like 30s, 5m, 2h or 30d, got '" +
                   shorten(s) + "'");
  return *v;
}

std::vector<std::string> YamlReader::string_list(const YAML::Node& node,
                                                 std::string_view what) const {
  if (!node.IsSequence()) fail(node, std::string(what) + ": expected a list, e.g. [a, b]");
  std::vector<std::string> out;
  out.reserve(node.size());
  for (const auto& item : node) out.push_back(string(item, what));
  return out;
}

std::string YamlReader::resolve(const std::string& p) const {
  std::filesystem::path path(p);
  if (path.is_absolute()) return p;
  return (base_dir_ / path).lexically_normal().string();
}

std::string YamlReader::path(const YAML::Node& node, std::string_view what) const {
  return resolve(string(node, what));
}

}  // namespace sealpost
