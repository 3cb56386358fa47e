#include "config/yaml_reader.h"

#include <catch2/catch.hpp>

using namespace sealpost;

namespace {

// Runs `body` against the parsed text and returns the error (or "" on success).
template <class F>
std::string run(const std::string& text, F body) {
  auto r = run_yaml_loader<int>([&] {
    YamlReader reader("t.yaml", "/base");
    YAML::Node root = reader.parse(text);
    body(reader, root);
    return 0;
  });
  return r.ok() ? std::string() : r.error().what();
}

}  // namespace

TEST_CASE("typed readers accept good values") {
  CHECK(run("a: 42\nb: true\nc: 10MiB\nd: 5m\ne: [x, y]\nf: rel/p\n",
            [](const YamlReader& r, const YAML::Node& n) {
              CHECK(r.integer(n["a"], "a", 1, 100) == 42);
              CHECK(r.boolean(n["b"], "b"));
              CHECK(r.size(n["c"], "c") == 10u * 1024 * 1024);
              CHECK(r.duration(n["d"], "d") == std::chrono::seconds(300));
              CHECK(r.string_list(n["e"], "e") == std::vector<std::string>{"x", "y"});
              CHECK(r.path(n["f"], "f") == "/base/rel/p");
            }) == "");
}

TEST_CASE("typed readers name file and line of a bad value") {
  auto integer = [](const YamlReader& r, const YAML::Node& n) { r.integer(n["b"], "b", 0, 9); };
  CHECK(run("a: 1\nb: -3\n", integer).find("t.yaml:2: b: expected a whole number") == 0);
  CHECK(run("a: 1\nb: 10\n", integer).find("t.yaml:2:") == 0);
  auto boolean = [](const YamlReader& r, const YAML::Node& n) { r.boolean(n["a"], "a"); };
  CHECK(run("a: yes\n", boolean).find("t.yaml:1: a: expected true or false") == 0);
  auto str = [](const YamlReader& r, const YAML::Node& n) { r.string(n["a"], "a"); };
  CHECK(run("a: ~\n", str).find("t.yaml:1: a: value missing") == 0);
  CHECK(run("a: {x: 1}\n", str).find("t.yaml:1: a: expected a single value") == 0);
  CHECK(run("a: ''\n", str).find("t.yaml:1: a: must not be empty") == 0);
  auto list = [](const YamlReader& r, const YAML::Node& n) { r.string_list(n["a"], "a"); };
  CHECK(run("a: single\n", list).find("t.yaml:1: a: expected a list") == 0);
}

TEST_CASE("check_map rejects unknown, duplicate and non-scalar keys") {
  auto check = [](const YamlReader& r, const YAML::Node& n) { r.check_map(n, "s", {"a", "b"}); };
  CHECK(run("a: 1\nb: 2\n", check) == "");
  CHECK(run("a: 1\nc: 2\n", check) == "t.yaml:2: unknown key 'c' in 's'");
  CHECK(run("a: 1\na: 2\n", check) == "t.yaml:2: duplicate key 'a' in 's'");
  CHECK(run("? [x]\n: 1\n", check).find("t.yaml:1: keys must be plain words") == 0);
  CHECK(run("- a\n", check) == "t.yaml:1: 's' must be a mapping of keys");
  CHECK(run("a: 1\nb:\n", check).find("t.yaml:2: 'b' in 's' has no value") == 0);
}

TEST_CASE("parse bounds alias expansion and nesting; messages stay printable") {
  auto none = [](const YamlReader&, const YAML::Node&) {};
  auto shared = [](const YamlReader& r, const YAML::Node& n) {
    CHECK(r.string(n["b"]["x"], "b.x") == "1");
  };
  CHECK(run("a: &x {x: 1}\nb: *x\n", shared) == "");
  // Ten levels of ten aliases each expand to 10^10 nodes.
  std::string laughs = "l0: &l0 [a, a, a, a, a, a, a, a, a, a]\n";
  for (int i = 1; i <= 10; ++i) {
    std::string prev = "*l" + std::to_string(i - 1);
    laughs += "l" + std::to_string(i) + ": &l" + std::to_string(i) + " [";
    for (int k = 0; k < 10; ++k) laughs += (k ? ", " : "") + prev;
    laughs += "]\n";
  }
  CHECK(run(laughs, none).find("too many YAML nodes (aliases included)") != std::string::npos);
  CHECK(run("a: *nothing\n", none).find("t.yaml:1:") == 0);
  std::string bomb = "a: [" + std::string(40, '[') + std::string(40, ']') + "]\n";
  CHECK(run(bomb, none).find("nesting too deep") != std::string::npos);
  CHECK(run(std::string("a: 1\0", 5), none) == "t.yaml: file contains a NUL byte");
  auto check = [](const YamlReader& r, const YAML::Node& n) { r.check_map(n, "s", {"a"}); };
  CHECK(run("\"b\\u0007\\nc\": 1\n", check) == "t.yaml:1: unknown key 'b??c' in 's'");
}
