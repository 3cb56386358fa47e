// Reading hand-written YAML files (sealpost.yaml, policy.yaml, users.yaml) with
// errors that name FILE:LINE, in one style for every loader.
//
// Usage pattern (a loader is one function body run under run_yaml_loader):
//
//   Result<Users> load_users(const std::string& text, const std::string& name) {
//     return run_yaml_loader<Users>([&] {
//       YamlReader r(name, base_dir);
//       YAML::Node root = r.parse(text);
//       r.check_map(root, "", {"users"});          // unknown keys are errors
//       for (const auto& u : r.sequence(root["users"], "users")) {
//         r.check_map(u, "users[]", {"name", "password", "addresses"});
//         ... r.string(u["name"], "users[].name") ...
//       }
//       return users;
//     });
//   }
//
// The checks throw YamlFailure, which run_yaml_loader() turns into an Error
// whose reason reads "FILE:LINE: message"; nothing is thrown past it, so the
// caller only ever sees Result<T>. Messages quote at most a short prefix of a
// bad value, never whole values (users.yaml holds password hashes).
//
// parse() is hardened for untrusted or careless input: size, nesting depth and
// node count are bounded, the count including what aliases expand to (so an
// exponential "billion laughs" file is refused; ordinary anchors, as PyYAML
// writes them for repeated values, are fine).
#pragma once

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace sealpost {

// Thrown by YamlReader; caught by run_yaml_loader(). Not for use across seams.
struct YamlFailure {
  std::string message;  // complete, e.g. "sealpost.yaml:12: unknown key 'x' in 'smarthost'"
};

struct YamlLimits {
  std::size_t max_bytes = 1u << 20;  // hand-written files are a few KiB
  int max_depth = 32;
  std::size_t max_nodes = 200000;
};

class YamlReader {
 public:
  // `file_name` is what errors show; `base_dir` anchors relative paths.
  YamlReader(std::string file_name, std::filesystem::path base_dir);

  const std::string& file_name() const { return file_name_; }
  const std::filesystem::path& base_dir() const { return base_dir_; }

  // One YAML document -> node tree. Syntax errors become "FILE:LINE: ...".
  // Aliases yield shared nodes; the expanded size counts against max_nodes.
  // An empty document yields a Null node.
  YAML::Node parse(std::string_view text, const YamlLimits& limits = {}) const;

  // "FILE:LINE" for a node from parse(); "FILE" when the node has no position.
  std::string where(const YAML::Node& node) const;
  // 1-based line of a node, 0 if unknown.
  static int line_of(const YAML::Node& node);

  [[noreturn]] void fail(const YAML::Node& at, const std::string& message) const;
  [[noreturn]] void fail_file(const std::string& message) const;

  // `node` must be a mapping (a Null node counts as empty) with unique scalar
  // keys, each in `allowed`, and no key without a value ("key:" alone is an
  // error at the key's line). `section` names it in errors ("" = top level).
  void check_map(const YAML::Node& node, std::string_view section,
                 const std::vector<std::string>& allowed) const;
  // Node must be a sequence (Null counts as empty); returns it for range-for.
  const YAML::Node& sequence(const YAML::Node& node, std::string_view what) const;

  // Typed scalars. `what` is the dotted key path shown in messages.
  std::string string(const YAML::Node& node, std::string_view what) const;  // non-empty
  bool boolean(const YAML::Node& node, std::string_view what) const;
  std::uint64_t integer(const YAML::Node& node, std::string_view what, std::uint64_t min,
                        std::uint64_t max) const;
  std::uint64_t size(const YAML::Node& node, std::string_view what) const;             // "50MiB"
  std::chrono::seconds duration(const YAML::Node& node, std::string_view what) const;  // "30d"
  // Sequence of non-empty scalars; a single scalar is NOT accepted (be explicit).
  std::vector<std::string> string_list(const YAML::Node& node, std::string_view what) const;
  // A non-empty scalar path; relative ones are resolved against base_dir.
  std::string path(const YAML::Node& node, std::string_view what) const;
  std::string resolve(const std::string& path) const;

  // One of a fixed set of words, e.g. choice(n, "smarthost.tls",
  //   {{"implicit", TlsMode::Implicit}, {"starttls", TlsMode::StartTls}}).
  template <class E>
  E choice(const YAML::Node& node, std::string_view what,
           std::initializer_list<std::pair<std::string_view, E>> options) const {
    std::string word = string(node, what);
    std::string names;
    for (const auto& [name, value] : options) {
      if (word == name) return value;
      names += names.empty() ? "" : ", ";
      names += name;
    }
    fail(node, std::string(what) + ": '" + shorten(word) + "' is not one of: " + names);
  }

  // At most ~40 characters of an offending value, for messages.
  static std::string shorten(std::string_view value);

 private:
  const std::string& scalar(const YAML::Node& node, std::string_view what) const;

  std::string file_name_;
  std::filesystem::path base_dir_;
};

// Runs a loader body; YamlFailure and any yaml-cpp exception become an Error
// (Error::plain, reason "FILE:LINE: ..."). std::bad_alloc propagates.
template <class T, class F>
Result<T> run_yaml_loader(F&& body) {
  try {
    return Result<T>(body());
  } catch (const YamlFailure& f) {
    return Error::plain(f.message);
  } catch (const YAML::Exception& e) {
    return Error::plain(std::string("YAML error: ") + e.what());
  }
}

}  // namespace sealpost
