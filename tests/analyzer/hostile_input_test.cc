// Hostile input found by fuzzing (issue 24): every file here once crashed Achilles, ran it
// out of memory or made it write a broken file. Each is now refused with a located message
// and exit code 2; the commands run under a memory limit (ulimit -v) so that a regression
// fails the test instead of taking the machine down.
#include <unistd.h>
#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <string>

#include "achilles/analyzer/importers.h"
#include "achilles/analyzer/loader.h"
#include "achilles/common/input_file.h"
#include "achilles/common/yaml_guard.h"
#include "support/run.h"

namespace {

using achilles::analyzer::InputError;
using achilles::analyzer::load_topology_text;
using achilles::analyzer::Syntax;

const std::string kBad = std::string(ACHILLES_TEST_DATA) + "/bad/";

std::string yaml_errors(std::string_view text) {
  try {
    load_topology_text(text, Syntax::kYaml, "t.yaml");
  } catch (const InputError& e) {
    return e.what();
  }
  return "ok";
}

/// Runs achilles with `args` under 1 GiB of address space and a 60 s deadline, stderr only
/// (the paths of tests/data/bad shortened to bad/).
// An address-space limit for the binary. AddressSanitizer reserves terabytes of address
// space for its shadow memory and cannot start under `ulimit -v`: in a sanitizer build the
// bound is its own resident-set limit instead (it ends the process with a report, which
// fails the test as a crash would).
#if defined(__SANITIZE_ADDRESS__)
const char* const kMemoryBound = "ASAN_OPTIONS=hard_rss_limit_mb=1024:${ASAN_OPTIONS:-} ";
#else
const char* const kMemoryBound = "ulimit -v 1048576 && ";
#endif

achilles::testing::CommandResult run_bounded(const std::string& args) {
  auto r = achilles::testing::run_shell("cd '" + std::string(ACHILLES_TEST_DATA) + "' && " +
                                        kMemoryBound + "timeout 60 '" + ACHILLES_BINARY + "' " +
                                        args + " >/dev/null");
  return r;
}

}  // namespace

TEST_CASE("An alias inside the node its anchor is on is refused, not walked forever",
          "[loader][hostile]") {
  CHECK(yaml_errors("version: 1\nname: &a [*a]\n") ==
        "t.yaml:2:11: error: alias '*a' is inside the node its anchor is on: a node cannot "
        "contain itself");
  CHECK(yaml_errors("version: 1\ncomponents:\n  - id: a\n    labels: &l {x: *l}\n") ==
        "t.yaml:4:20: error: alias '*l' is inside the node its anchor is on: a node cannot "
        "contain itself");
  for (const char* command : {"validate", "render -o never-written.svg", "analyze"}) {
    auto r = run_bounded(std::string(command) + " bad/self-alias.yaml");
    CHECK(r.code == 2);
    CHECK(r.err ==
          "bad/self-alias.yaml:2:11: error: alias '*a' is inside the node its anchor is on: a "
          "node cannot contain itself\n");
  }
  auto r = run_bounded("validate bad/self-alias-labels.yaml");
  CHECK(r.code == 2);
  CHECK(r.err ==
        "bad/self-alias-labels.yaml:4:20: error: alias '*l' is inside the node its anchor is "
        "on: a node cannot contain itself\n");
}

TEST_CASE("Aliases that are used as they are meant still load, shared", "[loader][hostile]") {
  auto t = load_topology_text(
      "version: 1\ncomponents:\n  - id: a\n    labels: &l {team: x}\n  - id: b\n"
      "    labels: *l\n    depends_on: &d [a]\nservices:\n  - id: s\n    members: *d\n",
      Syntax::kYaml, "t.yaml");
  REQUIRE(t.elements.size() == 3);
  REQUIRE(t.elements[1].labels.size() == 1);
  CHECK(t.elements[1].labels[0].second == "x");
  CHECK(t.elements[1].depends_on.size() == 1);
  CHECK(t.elements[2].members.size() == 1);
  // An alias as a key, and an anchored key used as a value.
  CHECK(yaml_errors("version: 1\nname: &n x\n*n : 1\n") ==
        "t.yaml:3:1: error: unknown key 'x' at the top level (expected one of: version, name, "
        "domains, components, services, entrypoints, agents)");
  CHECK(yaml_errors("version: 1\n&k name: *k\n") == "ok");
  // An alias to an anchor inside a key that is refused: that key is the error (this threw
  // std::out_of_range, exit 3).
  CHECK(yaml_errors("version: 1\n? [&a x]\n: 1\nname: *a\n") ==
        "t.yaml:2:3: error: a key must be a string, not a list\n"
        "t.yaml:4:7: error: 'name' must be a string, not null");
}

TEST_CASE("Aliases used as keys keep their text while the document's strings grow",
          "[loader][hostile]") {
  // An alias key is the text of its anchor's node, which lives in the document's own string
  // store; interning it appends to that store, which may move it. The key cache once kept a
  // view of the old buffer (heap-use-after-free under ASan, found by fuzz_topology_yaml).
  // Two hundred distinct anchored values used as label keys make the store grow many times.
  std::string text = "version: 1\ncomponents:\n";
  for (int i = 0; i < 200; ++i)
    text += "  - {id: c" + std::to_string(i) + ", labels: {k: &a" + std::to_string(i) +
            " label-key-number-" + std::to_string(i) + "}}\n";
  text += "  - id: last\n    labels:\n";
  for (int i = 0; i < 200; ++i)
    text += "      *a" + std::to_string(i) + " : v\n";
  text += "      label-key-number-7 : twice\n";
  // Every alias key reads back as its anchor's text; the literal key equal to one of them
  // is a duplicate of it.
  CHECK(yaml_errors(text) == "t.yaml:405:7: error: duplicate key 'label-key-number-7'");
}

TEST_CASE("An alias bomb is refused by its expanded size before anything is expanded",
          "[loader][hostile]") {
  // Nine levels of ten aliases in 367 bytes: 10^9 nodes expanded (the bomb of the issue,
  // 281 bytes, took 1.6 GB and ended in "out of memory" without a file name).
  auto r = run_bounded("validate bad/alias-bomb.yaml");
  CHECK(r.code == 2);
  CHECK(r.err ==
        "bad/alias-bomb.yaml:8:31: error: alias '*e' takes the file past 1000367 nodes with "
        "its aliases expanded (the limit is 1000000 more than its size in bytes)\n");
  for (const char* kind : {"k8s", "compose"}) {
    r = run_bounded(std::string("import ") + kind + " bad/alias-bomb.yaml");
    CHECK(r.code == 2);
    CHECK(r.err ==
          "bad/alias-bomb.yaml:8:31: error: alias '*e' takes the file past 1000367 nodes with "
          "its aliases expanded (the limit is 1000000 more than its size in bytes)\n");
  }
}

TEST_CASE("Nesting deeper than 256 levels is refused, aliases expanded", "[loader][hostile]") {
  CHECK(yaml_errors("version: 1\nname: " + std::string(300, '[') + std::string(300, ']')) ==
        "t.yaml:2:262: error: lists and maps nested deeper than 256 levels");
  // 200 levels under an anchor, used 100 levels down.
  std::string text = "version: 1\nx: &a " + std::string(200, '[') + std::string(200, ']') +
                     "\ny: " + std::string(100, '[') + "*a" + std::string(100, ']') + "\n";
  CHECK(yaml_errors(text) ==
        "t.yaml:3:104: error: alias '*a' nests the document deeper than 256 levels once "
        "expanded");
}

TEST_CASE("A ',' at the top level is a located syntax error, not endless empty documents",
          "[loader][import][hostile]") {
  const std::string message =
      "syntax error: ',' outside a list or map in brackets (a ',' separates the items of [a, "
      "b] or {a: 1, b: 2})";
  CHECK(yaml_errors(",") == "t.yaml:1:1: error: " + message);
  CHECK(yaml_errors("[a],") == "t.yaml:1:4: error: " + message);
  CHECK(yaml_errors("version: 1\n...\n,\n") == "t.yaml:3:1: error: " + message);
  // `import` used to run out of memory here: yaml-cpp's LoadAll never returned.
  for (const char* command : {"validate", "import k8s", "import compose"}) {
    auto r = run_bounded(std::string(command) + " bad/comma.yaml");
    CHECK(r.code == 2);
    CHECK(r.err == "bad/comma.yaml:1:1: error: " + message + "\n");
  }
}

TEST_CASE("Invalid UTF-8 in YAML is refused at load, located", "[loader][import][hostile]") {
  CHECK(yaml_errors("version: 1\nname: \xff\n") ==
        "t.yaml:2:7: error: the file is not valid UTF-8 (byte 0xFF)");
  CHECK(yaml_errors("version: 1\nname: caf\xc3\n") ==
        "t.yaml:2:10: error: the file is not valid UTF-8 (byte 0xC3)");
  CHECK(yaml_errors("version: 1\nname: \xed\xa0\x80\n") ==  // a surrogate
        "t.yaml:2:7: error: the file is not valid UTF-8 (byte 0xED)");
  CHECK(yaml_errors("version: 1\nname: caf\xc3\xa9 \xf0\x9f\x98\x80\n") == "ok");
  // analyze --format json used to die half-way with exit 3, leaving a truncated file.
  for (const char* command : {"analyze --format json", "import k8s"}) {
    auto r = run_bounded(std::string(command) + " bad/invalid-utf8.yaml");
    CHECK(r.code == 2);
    CHECK(r.err == "bad/invalid-utf8.yaml:2:7: error: the file is not valid UTF-8 (byte 0xFF)\n");
  }
  CHECK(achilles::common::invalid_utf8_at("\xe0\x80\x80") == 0);        // overlong
  CHECK(achilles::common::invalid_utf8_at("ok\xf4\x90\x80\x80") == 2);  // above U+10FFFF
}

TEST_CASE("A second YAML document in a topology is an error", "[loader][hostile]") {
  CHECK(yaml_errors("version: 1\nname: x\n---\nversion: 1\n") ==
        "t.yaml:3:1: error: a second YAML document: this file holds one (remove the '---' and "
        "what follows, or the second document)");
  CHECK(yaml_errors("---\nversion: 1\nname: x\n") == "ok");
  auto r = run_bounded("validate bad/two-documents.yaml");
  CHECK(r.code == 2);
  CHECK(r.err ==
        "bad/two-documents.yaml:3:1: error: a second YAML document: this file holds one "
        "(remove the '---' and what follows, or the second document)\n");
}

TEST_CASE("nlohmann's exceptions never reach the user: Terraform input is checked and located",
          "[import][hostile]") {
  // out_of_range.406 and type_error.302 used to end in exit 3 without the file name.
  auto r = run_bounded("import terraform bad/tf-1e309.json");
  CHECK(r.code == 2);
  CHECK(r.err ==
        "bad/tf-1e309.json:1:7: error: the number 1e309 is too large (beyond the range of a "
        "double)\n");
  r = run_bounded("import terraform bad/tf-mode.json");
  CHECK(r.code == 2);
  CHECK(r.err ==
        "bad/tf-mode.json:2:65: error: /values/root_module/resources/0/mode: must be a string "
        "(managed or data)\n");
  // Each instance of a group becomes a component: a billion of them is refused, located.
  r = run_bounded("import terraform bad/tf-many.json");
  CHECK(r.code == 2);
  CHECK(r.err ==
        "bad/tf-many.json:3:35: error: "
        "/values/root_module/resources/0/values/desired_capacity: 1000000000 instances is "
        "more than 100000 (each becomes a component)\n");
}

TEST_CASE("Terraform child_modules nested 8,000 deep are refused in little memory",
          "[import][hostile]") {
  // 168 KB that took 1 GB: the path of each level was a copy of its parent's.
  const int n = 8000;
  std::string text = "{\"values\": {\"root_module\": ";
  for (int i = 0; i < n; ++i)
    text += "{\"child_modules\": [";
  text += "{}";
  for (int i = 0; i < n; ++i)
    text += "]}";
  text += "}}";
  std::ofstream("/tmp/achilles-deep-modules.json") << text;
#if defined(__SANITIZE_ADDRESS__)
  const std::string bound = "ASAN_OPTIONS=hard_rss_limit_mb=256:${ASAN_OPTIONS:-} ";
#else
  const std::string bound = "ulimit -v 262144 && ";
#endif
  auto r = achilles::testing::run_shell(bound + "timeout 60 '" + std::string(ACHILLES_BINARY) +
                                        "' import terraform /tmp/achilles-deep-modules.json");
  std::remove("/tmp/achilles-deep-modules.json");
  CHECK(r.code == 2);
  CHECK(r.err ==
        "/tmp/achilles-deep-modules.json:1:2441: error: JSON nested deeper than 256 levels\n");
  // 100 levels (200 of JSON) are read, the resource at the bottom found.
  text = "{\"values\": {\"root_module\": ";
  for (int i = 0; i < 100; ++i)
    text += "{\"child_modules\": [";
  text += R"({"resources": [{"address": "aws_instance.a", "type": "aws_instance", "values": {}}]})";
  for (int i = 0; i < 100; ++i)
    text += "]}";
  text += "}}";
  auto result = achilles::analyzer::import_sources("terraform", {{"deep.json", text}});
  CHECK(result.topology.find("aws_instance.a").has_value());
}

TEST_CASE("DOT text is checked before cgraph sees it, with positions in Achilles' words",
          "[import][hostile]") {
  // cgraph's error path formatted a token it does not own: garbage, (null) or a crash.
  auto r = run_bounded("import dot bad/long-token.dot");
  CHECK(r.code == 2);
  CHECK(r.err ==
        "bad/long-token.dot:2:2013: error: syntax error: ';' where a node or a subgraph was "
        "expected\n");
  auto dot_error = [](const std::string& text) {
    try {
      achilles::analyzer::import_sources("dot", {{"g.dot", text}});
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("ok");
  };
  CHECK(dot_error("digraph {\n  a -> " + std::string(20000, 'x') + ";\n}\n") ==
        "g.dot:2:8: error: a name or string longer than 16384 bytes");
  CHECK(dot_error("graph {\n  a -> b\n}\n") ==
        "g.dot:2:5: error: syntax error: '->' in a graph, whose edges are '--'");
  CHECK(dot_error("digraph {\n  a [label=\"x]\n}\n") ==
        "g.dot:2:12: error: a string whose closing '\"' is missing");
  CHECK(dot_error("digraph {\n  a -> b\n") == "g.dot:1:9: error: a '{' that is never closed");
  CHECK(dot_error("digraph {a}\ndigraph {b}\n") ==
        "g.dot:2:1: error: something after the end of the graph: a file holds one graph");
  CHECK(dot_error("digraph {\n  2a\n}\n") ==
        "g.dot:2:3: error: a number directly followed by letters or a '.': put the name in "
        "quotes");
  CHECK(dot_error("digraph {\n  a;;\n}\n") ==
        "g.dot:2:5: error: syntax error: ';' where a statement (a node, an edge, an attribute "
        "or a subgraph) was expected");
  CHECK(dot_error("digraph {\n  a [x=\xff]\n}\n") ==
        "g.dot:2:8: error: the file is not valid UTF-8 (byte 0xFF)");
  CHECK(dot_error("") ==
        "g.dot:1:1: error: the file holds no graph (expected 'digraph {' or "
        "'graph {')");
  // Meaning errors carry the position of what they are about.
  CHECK(dot_error("digraph {\n  a [domain=a]\n}\n") ==
        "g.dot:2:13: error: domain 'a': the id is already used by a component");
  // What cgraph reads, this reads too: only the ids are wrong here, as the topology (read by
  // analyze, which applies the spec's mapping only) sees them; the importer maps them.
  const std::string all =
      "strict digraph \"g\" {\n  // c\n  /* c */\n# line\n  graph [rankdir=LR];\n"
      "  node [shape=box]; edge [mode=hard]\n  a, b -> c:p:n [calls=2];\n"
      "  subgraph cluster_s { min_healthy=1; c } -> d\n  \"x\" + \"y\" -> <e<i>>\n"
      "  -.5 -> 1.5; k=v\n}\n";
  CHECK_THROWS_WITH(
      achilles::analyzer::load_topology_text(all, achilles::analyzer::Syntax::kDot, "g.dot"),
      "g.dot:9:16: error: node 'e<i>': id 'e<i>' is not valid (allowed: a letter or digit, "
      "then letters, digits and _ . : / @ -; `achilles import dot` maps such names to ids)\n"
      "g.dot:10:3: error: node '-.5': id '-.5' is not valid (allowed: a letter or digit, then "
      "letters, digits and _ . : / @ -; `achilles import dot` maps such names to ids)");
  CHECK(dot_error(all) == "ok");
}

TEST_CASE("A replica count that would make billions of components is a located error",
          "[import][hostile]") {
  // Found by fuzz_import_compose: strtol's LONG_MAX became a loop of 9 * 10^18 containers.
  auto r = run_bounded("import compose bad/compose-replicas.yml");
  CHECK(r.code == 2);
  CHECK(r.err ==
        "bad/compose-replicas.yml:5:17: error: /services/api/deploy/replicas: "
        "66666666666666666666666666666666666666666666666666666666666666666666662 replicas is "
        "more than 100000 (each becomes a component)\n");
  r = run_bounded("import k8s bad/k8s-replicas.yaml");
  CHECK(r.code == 2);
  CHECK(r.err ==
        "bad/k8s-replicas.yaml:5:13: error: /spec/replicas: 3000000000 replicas is more than "
        "100000 (each becomes a component)\n");
}

TEST_CASE("A device, an endless stream or a file over the bound is refused by name, bounded",
          "[loader][hostile][input_file]") {
  using achilles::common::InputFileError;
  using achilles::common::read_input_file;
  // A device is refused before a byte is read: /dev/zero once grew the process until the
  // machine gave out.
  CHECK_THROWS_MATCHES(read_input_file("/dev/zero"), InputFileError,
                       Catch::Message("/dev/zero: error: cannot read: a device, not a file"));
  CHECK_THROWS_MATCHES(
      read_input_file(ACHILLES_TEST_DATA), InputFileError,
      Catch::Message(std::string(ACHILLES_TEST_DATA) + ": error: cannot read: Is a directory"));
  // A regular file over the bound, by its size.
  const std::string file = "input_file_bound.txt";
  std::ofstream(file) << std::string(5000, 'x');
  CHECK(read_input_file(file, 5000).size() == 5000);
  CHECK_THROWS_MATCHES(read_input_file(file, 4999), InputFileError,
                       Catch::Message(file + ": error: longer than 4999 bytes, the most Achilles "
                                             "reads from one input file (is it a device, or a "
                                             "stream that does not end?)"));
  std::remove(file.c_str());
  // A pipe is read up to the bound and no further (the writer is never waited for: the reader
  // stops at limit + 1 bytes, and a pipe holds 64 KiB).
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const std::string chunk(3000, 'y');
  REQUIRE(::write(fds[1], chunk.data(), chunk.size()) == static_cast<ssize_t>(chunk.size()));
  const std::string via = "/proc/self/fd/" + std::to_string(fds[0]);
  CHECK_THROWS_MATCHES(read_input_file(via, 2048), InputFileError,
                       Catch::Message(via + ": error: longer than 2 KiB, the most Achilles "
                                            "reads from one input file (is it a device, or a "
                                            "stream that does not end?)"));
  ::close(fds[1]);
  CHECK(read_input_file(via, 4096) == "");  // what is left of the stream: nothing
  ::close(fds[0]);
  // A file is read whole, across the 1 MiB blocks it is read in.
  const std::string big = "big_input_file.txt";
  std::string content((size_t{1} << 20) * 2 + 17, 'z');
  content[(size_t{1} << 20) - 1] = 'a';
  content[size_t{1} << 20] = 'b';
  content.back() = 'c';
  std::ofstream(big) << content;
  CHECK(read_input_file(big) == content);
  std::remove(big.c_str());
}

TEST_CASE("Every command refuses a device as its input with exit 2, at once and in little memory",
          "[loader][hostile][input_file]") {
  const std::string refusal = ": error: cannot read: a device, not a file\n";
  for (const std::string command :
       {"validate /dev/zero", "analyze /dev/zero", "import k8s /dev/zero",
        "import compose /dev/zero", "import terraform /dev/zero", "import dot /dev/zero",
        "drill plan /dev/zero", "whatif shop.yaml /dev/zero", "check shop.yaml --policy /dev/zero",
        "check shop.yaml --baseline /dev/zero", "drill run /dev/zero --dry-run"}) {
    INFO(command);
    auto r = run_bounded(command + " 2>&1");
    CHECK(r.code == 2);
    CHECK(r.out == "/dev/zero" + refusal);
  }
}
