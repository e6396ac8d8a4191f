// Loading topologies: the good files give the model, and every kind of bad input gives the
// full text of every problem, located.
// One file past 500 lines: one test per kind of bad input, each asserting its full message;
// they share the helpers that load a text and collect its diagnostics.
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include "support/run.h"

#include "achilles/analyzer/loader.h"

namespace achilles::analyzer::testing {

/// Every field of a model except positions, one element a line: equal dumps, equal models.
std::string model_dump(const Topology& t) {
  std::ostringstream s;
  s.precision(17);
  auto id = [&](ElementId e) { return e == kNoElement ? std::string("-") : t[e].id; };
  auto map = [&](const StringMap& m) {
    std::string out = "{";
    for (const auto& [k, v] : m)
      out += k + "=" + v + ";";
    return out + "}";
  };
  auto opt = [](const std::optional<double>& x) {
    std::ostringstream o;
    o.precision(17);
    if (x)
      o << *x;
    else
      o << "-";
    return o.str();
  };
  s << "name=" << t.name << "\n";
  for (const auto& e : t.elements) {
    s << to_string(e.kind) << " " << e.id << " type=" << e.type << " parent=" << id(e.parent)
      << " domain=" << id(e.domain) << " target=" << id(e.target)
      << " min_healthy=" << e.min_healthy << " availability=" << opt(e.availability)
      << " capacity=" << opt(e.capacity) << " load=" << opt(e.load) << " slo=" << opt(e.slo)
      << " labels=" << map(e.labels) << " inject=" << map(e.inject_target) << " members=[";
    for (auto m : e.members)
      s << id(m) << ",";
    s << "] depends_on=[";
    for (const auto& d : e.depends_on)
      s << id(d.target) << (d.mode == DepMode::kSoft ? "/soft/" : "/hard/") << d.calls << ",";
    s << "]\n";
  }
  return s.str();
}

}  // namespace achilles::analyzer::testing

namespace {

using achilles::analyzer::DepMode;
using achilles::analyzer::ElementKind;
using achilles::analyzer::InputError;
using achilles::analyzer::kNoElement;
using achilles::analyzer::load_topology;
using achilles::analyzer::load_topology_text;
using achilles::analyzer::Syntax;
using achilles::analyzer::syntax_for;
using achilles::analyzer::Topology;
using achilles::analyzer::UsageError;
using achilles::analyzer::testing::model_dump;

const std::string kData = ACHILLES_TEST_DATA;

// The diagnostics of a text, one a line, or "ok".
std::string errors(std::string_view text, Syntax syntax) {
  try {
    load_topology_text(text, syntax, syntax == Syntax::kJson ? "t.json" : "t.yaml");
  } catch (const InputError& e) {
    return e.what();
  }
  return "ok";
}
std::string yaml_errors(std::string_view text) {
  return errors(text, Syntax::kYaml);
}
std::string json_errors(std::string_view text) {
  return errors(text, Syntax::kJson);
}

std::string file_errors(const std::string& name) {
  try {
    load_topology(kData + "/" + name);
  } catch (const InputError& e) {
    std::string s = e.what();
    // Paths are shown as given: strip the data directory for the comparison.
    for (size_t p; (p = s.find(kData + "/")) != std::string::npos;)
      s.erase(p, kData.size() + 1);
    return s;
  }
  return "ok";
}

}  // namespace

// --- Good files ------------------------------------------------------------------------

TEST_CASE("The shop example loads with every field in the model", "[loader]") {
  Topology t = load_topology(kData + "/shop.yaml");
  REQUIRE(t.name == "shop");
  REQUIRE(t.size() == 12);
  REQUIRE(t.count(ElementKind::kDomain) == 3);
  REQUIRE(t.count(ElementKind::kComponent) == 6);
  REQUIRE(t.count(ElementKind::kService) == 2);
  REQUIRE(t.count(ElementKind::kEntrypoint) == 1);
  REQUIRE(t.dependency_count() == 3);
  // Elements are stored domains, components, services, entrypoints.
  REQUIRE(t[0].id == "us-east-1");
  REQUIRE(t[3].id == "lb-1");
  REQUIRE(t[9].id == "web");
  REQUIRE(t[11].id == "www");

  const auto& region = t[*t.find("us-east-1")];
  REQUIRE(region.type == "region");
  REQUIRE(region.availability == 0.99995);
  REQUIRE(region.parent == kNoElement);
  REQUIRE(t[*t.find("rack-7")].parent == *t.find("use1-az1"));

  const auto& lb1 = t[*t.find("lb-1")];
  REQUIRE(lb1.kind == ElementKind::kComponent);
  REQUIRE(lb1.type == "loadbalancer");
  REQUIRE(lb1.domain == *t.find("rack-7"));
  REQUIRE(lb1.capacity == 5000);
  REQUIRE(lb1.depends_on.size() == 1);
  REQUIRE(lb1.depends_on[0].target == *t.find("web"));
  // A quoted scalar is a string; labels and target keep their values as text.
  REQUIRE(lb1.labels == achilles::analyzer::StringMap{{"team", "edge"}, {"tier", "1"}});
  REQUIRE(lb1.inject_target == achilles::analyzer::StringMap{{"agent", "10.0.0.5:8474"},
                                                             {"process", "haproxy"},
                                                             {"port", "80"}});
  REQUIRE(t[*t.find("db")].type == "component");

  const auto& web = t[*t.find("web")];
  REQUIRE(web.type == "service");
  REQUIRE(web.members.size() == 3);
  REQUIRE(web.min_healthy == 2);
  REQUIRE(web.depends_on[1].target == *t.find("recs"));
  REQUIRE(web.depends_on[1].mode == DepMode::kSoft);
  REQUIRE(web.depends_on[1].calls == 0.5);
  REQUIRE(web.depends_on[0].mode == DepMode::kHard);
  REQUIRE(t[*t.find("lb")].min_healthy == 1);

  const auto& www = t[*t.find("www")];
  REQUIRE(www.target == *t.find("lb"));
  REQUIRE(www.load == 3000);
  REQUIRE(www.slo == 0.999);
}

TEST_CASE("The same topology in YAML and in JSON gives the same model", "[loader]") {
  Topology yaml = load_topology(kData + "/shop.yaml");
  Topology json = load_topology(kData + "/shop.json");
  REQUIRE(model_dump(yaml) == model_dump(json));
  REQUIRE(json.file == kData + "/shop.json");
}

// A regular file is mapped; anything else (here a pipe, as `<(...)` gives) is read.
TEST_CASE("A topology loads the same through a pipe as from a file", "[loader]") {
  for (const std::string name : {"shop.yaml", "shop.json"}) {
    std::ifstream in(kData + "/" + name);
    const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    std::thread writer([&] {
      for (size_t done = 0; done < text.size();) {
        ssize_t n = ::write(fds[1], text.data() + done, text.size() - done);
        if (n <= 0) break;
        done += static_cast<size_t>(n);
      }
      ::close(fds[1]);
    });
    const std::string piped_path = "/dev/fd/" + std::to_string(fds[0]);
    std::optional<Topology> piped;
    REQUIRE_NOTHROW(piped.emplace(load_topology(piped_path)));
    writer.join();
    ::close(fds[0]);
    CHECK(piped->file == piped_path);
    CHECK(model_dump(*piped) == model_dump(load_topology(kData + "/" + name)));
  }
}

TEST_CASE("Positions of elements and dependencies are recorded, 1-based", "[loader]") {
  Topology yaml = load_topology(kData + "/shop.yaml");
  REQUIRE(yaml[*yaml.find("lb-1")].pos.line == 8);
  REQUIRE(yaml[*yaml.find("lb-1")].pos.column == 5);
  REQUIRE(yaml[*yaml.find("us-east-1")].pos.line == 4);
  REQUIRE(yaml[*yaml.find("us-east-1")].pos.column == 5);
  const auto& web = yaml[*yaml.find("web")];
  REQUIRE(web.depends_on[1].pos.line == 27);
  REQUIRE(web.depends_on[1].pos.column == 9);

  Topology json = load_topology(kData + "/shop.json");
  REQUIRE(json[*json.find("lb-1")].pos.line == 10);
  REQUIRE(json[*json.find("lb-1")].pos.column == 5);
  REQUIRE(json[*json.find("web")].depends_on[1].pos.line == 31);
  REQUIRE(json[*json.find("web")].depends_on[1].pos.column == 28);
}

TEST_CASE("YAML plain scalars are typed by the core schema, quoted ones are strings", "[loader]") {
  Topology t = load_topology_text(
      "version: 1\n"
      "components:\n"
      "  - {id: a, capacity: 0x10, availability: 0.5e0, labels: {x: 007, y: True, z: '0.50'}}\n"
      "  - {id: '1', capacity: +1.5}\n",
      Syntax::kYaml, "t.yaml");
  REQUIRE(t[0].capacity == 16);
  REQUIRE(t[0].availability == 0.5);
  REQUIRE(t[0].labels == achilles::analyzer::StringMap{{"x", "007"}, {"y", "True"}, {"z", "0.50"}});
  REQUIRE(t[1].id == "1");
  REQUIRE(t[1].capacity == 1.5);
  REQUIRE(yaml_errors("version: 1\ncomponents:\n  - {id: 1}\n") ==
          "t.yaml:3:10: error: component #1: 'id' must be a string, not a number");
}

TEST_CASE("JSON strings with escapes are decoded and positions stay right after them", "[loader]") {
  Topology t = load_topology_text(
      "{\"version\": 1, \"name\": \"a \\\"q\\\" \\\\ \\u00e9\",\n"
      " \"components\": [{\"id\": \"c\", \"labels\": {\"k\\\\\": \"v\\\\\"}}]}",
      Syntax::kJson, "t.json");
  REQUIRE(t.name == "a \"q\" \\ \xc3\xa9");
  REQUIRE(t[0].labels == achilles::analyzer::StringMap{{"k\\", "v\\"}});
  REQUIRE(json_errors("{\"version\": 1, \"name\": \"\\\"x\\\\\", \"components\": [{\"id\": 5}]}") ==
          "t.json:1:55: error: component #1: 'id' must be a string, not a number");
}

TEST_CASE("The syntax is picked by extension, else sniffed", "[loader]") {
  REQUIRE(syntax_for("a.json", "") == Syntax::kJson);
  REQUIRE(syntax_for("a.JSON", "") == Syntax::kJson);
  REQUIRE(syntax_for("a.yaml", "{") == Syntax::kYaml);
  REQUIRE(syntax_for("a.yml", "") == Syntax::kYaml);
  REQUIRE(syntax_for("-", "  \n {\"version\": 1}") == Syntax::kJson);
  REQUIRE(syntax_for("topology", "version: 1") == Syntax::kYaml);
}

TEST_CASE("A missing file is a usage error naming it", "[loader]") {
  REQUIRE_THROWS_MATCHES(load_topology("/nonexistent/shop.yaml"), UsageError,
                         Catch::Message("/nonexistent/shop.yaml: error: cannot read: No such "
                                        "file or directory"));
  REQUIRE_THROWS_MATCHES(load_topology(kData), UsageError,
                         Catch::Message(kData + ": error: cannot read: Is a directory"));
}

// --- Syntax errors ---------------------------------------------------------------------

TEST_CASE("A JSON syntax error is located and readable", "[loader]") {
  REQUIRE(file_errors("bad/syntax.json") ==
          "bad/syntax.json:5:3: error: syntax error: unexpected ']'; expected '[', '{', or a "
          "literal");
  REQUIRE(json_errors("{\n  \"version\": 1,\n  \"name\": tru\n}") ==
          "t.json:3:14: error: syntax error: invalid literal");
  REQUIRE(json_errors("{\"version\": 1,\n\n  }") ==
          "t.json:3:3: error: syntax error: unexpected '}'; expected string literal");
  REQUIRE(json_errors("{\"version\": 1, \"name\": \"shop") ==
          "t.json:1:29: error: syntax error: invalid string: missing closing quote");
  REQUIRE(json_errors("{\"version\": 1}\n{}") ==
          "t.json:2:1: error: syntax error: unexpected '{'; expected end of input");
  REQUIRE(json_errors("") ==
          "t.json:1:1: error: syntax error: unexpected end of input; expected '[', '{', or a "
          "literal");
}

// JSON is read by a strict reader of its own, which leaves anything it does not accept to
// nlohmann's parser: the escapes, UTF-8 and numbers it decodes must give the model the YAML
// reader gives, and what it refuses must still get nlohmann's message at the right place.
TEST_CASE("JSON strings, escapes and numbers load as they are meant", "[loader]") {
  const std::string json =
      "\xEF\xBB\xBF{\"version\": 1, \"name\": \"n\\u00e9\\ud83d\\ude00 \xC3\xBC "
      "\\n\\t\\\"\\\\\\/\",\n"
      " \"domains\": [{\"id\": \"r\", \"kind\": \"region\", \"availability\": 0.5e-0,\n"
      "   \"labels\": {\"k\\u00E9\": \"v\\b\\f\\r\\u0001\"}}],\n"
      " \"components\": [{\"id\": \"c1\", \"domain\": \"r\", \"capacity\": 1E2},\n"
      "   {\"id\": \"c2\", \"domain\": \"r\", \"capacity\": 12345678901234567890123}],\n"
      " \"services\": [{\"id\": \"s\", \"members\": [\"c1\", \"c2\"], \"min_healthy\": 1}],\n"
      " \"entrypoints\": [{\"id\": \"e\", \"target\": \"s\", \"load\": -0.25e+2}]}\n";
  const std::string yaml =
      "version: 1\nname: \"n\\u00e9\\U0001F600 \xC3\xBC \\n\\t\\\"\\\\/\"\n"
      "domains:\n  - {id: r, kind: region, availability: 0.5,\n"
      "     labels: {\"k\\u00e9\": \"v\\b\\f\\r\\x01\"}}\n"
      "components:\n  - {id: c1, domain: r, capacity: 100}\n"
      "  - {id: c2, domain: r, capacity: 1.2345678901234567890123e22}\n"
      "services:\n  - {id: s, members: [c1, c2], min_healthy: 1}\n"
      "entrypoints:\n  - {id: e, target: s, load: -25}\n";
  // load: -25 is refused by the loader in both: the same message at the same place.
  CHECK(json_errors(json) ==
        "t.json:7:53: error: entrypoint 'e': load must be 0 or more, not -0.25e+2");
  std::string fixed_json = json, fixed_yaml = yaml;
  fixed_json.replace(fixed_json.find("-0.25e+2"), 8, "25.0e0");
  fixed_yaml.replace(fixed_yaml.find("-25"), 3, "25");
  Topology from_json = load_topology_text(fixed_json, Syntax::kJson, "t.json");
  Topology from_yaml = load_topology_text(fixed_yaml, Syntax::kYaml, "t.yaml");
  CHECK(from_json.name == "n\xC3\xA9\xF0\x9F\x98\x80 \xC3\xBC \n\t\"\\/");
  // Positions differ between the two texts; everything else must not.
  auto without_positions = [](Topology t) {
    for (auto& e : t.elements)
      e.pos = {};
    t.file.clear();
    return model_dump(t);
  };
  CHECK(without_positions(std::move(from_json)) == without_positions(std::move(from_yaml)));
}

TEST_CASE("JSON the strict reader refuses still gets nlohmann's message", "[loader]") {
  CHECK(json_errors("{\"version\": 1, \"name\": \"a\xFF"
                    "b\"}") ==
        "t.json:1:26: error: syntax error: invalid string: ill-formed UTF-8 byte");
  CHECK(json_errors("{\"version\": 1, \"name\": \"\xC0\xAF\"}") ==
        "t.json:1:25: error: syntax error: invalid string: ill-formed UTF-8 byte");
  CHECK(json_errors("{\"version\": 1, \"name\": \"\\udc00\"}") ==
        "t.json:1:30: error: syntax error: invalid string: surrogate U+DC00..U+DFFF must follow "
        "U+D800..U+DBFF");
  CHECK(json_errors("{\"version\": 1, \"name\": \"\\ud800x\"}") ==
        "t.json:1:31: error: syntax error: invalid string: surrogate U+D800..U+DBFF must be "
        "followed by U+DC00..U+DFFF");
  CHECK(json_errors("{\"version\": 1, \"name\": \"a\tb\"}") ==
        "t.json:1:26: error: syntax error: invalid string: control character U+0009 (HT) must be "
        "escaped to \\u0009 or \\t");
  CHECK(json_errors("{\"version\": 1, \"name\": \"\\x\"}") ==
        "t.json:1:26: error: syntax error: invalid string: forbidden character after backslash");
  CHECK(json_errors("{\"version\": 01}") ==
        "t.json:1:14: error: syntax error: unexpected number literal; expected '}'");
  CHECK(json_errors("{\"version\": -}") ==
        "t.json:1:14: error: syntax error: invalid number; expected digit after '-'");
  CHECK(json_errors("{\"version\": 1e999}") ==
        "t.json:1:13: error: the number 1e999 is too large (beyond the range of a double)");
  CHECK(json_errors("{\"version\": 1, \"components\": [],}") ==
        "t.json:1:33: error: syntax error: unexpected '}'; expected string literal");
  // Deeper than the strict reader goes: nlohmann reads it, and the loader judges it.
  CHECK(json_errors("{\"version\": 1, \"name\": " + std::string(300, '[') + std::string(300, ']') +
                    "}") == "t.json:1:24: error: 'name' must be a string, not a list");
}

TEST_CASE("A YAML syntax error is located and readable", "[loader]") {
  REQUIRE(file_errors("bad/syntax.yaml") ==
          "bad/syntax.yaml:5:4: error: syntax error: end of sequence not found");
  REQUIRE(yaml_errors("version: 1\ncomponents: [a, b\n") ==
          "t.yaml:3:1: error: syntax error: end of sequence flow not found");
  REQUIRE(yaml_errors("version: 1\nname: x: y\n") ==
          "t.yaml:2:8: error: syntax error: illegal map value");
  REQUIRE(yaml_errors("version: 1\nname: *nope\n") ==
          "t.yaml:2:7: error: syntax error: the referenced anchor is not defined");
}

// --- The top level ---------------------------------------------------------------------

TEST_CASE("The version is required and must be 1", "[loader]") {
  REQUIRE(yaml_errors("name: shop\n") == "t.yaml:1:1: error: missing required key 'version'");
  REQUIRE(yaml_errors("version: 2\n") == "t.yaml:1:10: error: version must be 1, not 2");
  REQUIRE(json_errors("{\"version\": \"1\"}") ==
          "t.json:1:13: error: 'version' must be a number, not a string");
  REQUIRE(yaml_errors("version: 1.0\n") == "ok");
}

TEST_CASE("The top level must be a non-empty map", "[loader]") {
  REQUIRE(yaml_errors("") ==
          "t.yaml: error: the file is empty (expected a map with keys version, name, "
          "domains, components, services, entrypoints, agents)");
  REQUIRE(json_errors("[1]") == "t.json:1:1: error: the top level must be a map, not a list");
  REQUIRE(yaml_errors("version: 1\ncomponents: {id: a}\nname: [x]\n") ==
          "t.yaml:2:13: error: 'components' must be a list, not a map\n"
          "t.yaml:3:7: error: 'name' must be a string, not a list");
  REQUIRE(yaml_errors("version: 1\nservices:\n  - web\n") ==
          "t.yaml:3:5: error: an entry of 'services' must be a map, not a string");
}

// --- Unknown and duplicate keys --------------------------------------------------------

TEST_CASE("Unknown keys are reported at every level", "[loader]") {
  REQUIRE(yaml_errors("version: 1\nservice: []\n") ==
          "t.yaml:2:1: error: unknown key 'service' at the top level (expected one of: "
          "version, name, domains, components, services, entrypoints, agents); did you mean "
          "'services'?");
  REQUIRE(yaml_errors("version: 1\ndomains:\n  - {id: r, zone: z}\n") ==
          "t.yaml:3:13: error: unknown key 'zone' in domain 'r' (expected one of: id, kind, "
          "parent, availability, labels)");
  REQUIRE(yaml_errors("version: 1\ncomponents:\n  - {id: c, domian: r}\n") ==
          "t.yaml:3:13: error: unknown key 'domian' in component 'c' (expected one of: id, "
          "kind, domain, depends_on, capacity, availability, labels, target); did you mean "
          "'domain'?");
  REQUIRE(yaml_errors("version: 1\ncomponents:\n  - {id: c}\nservices:\n"
                      "  - id: web\n    members: [c]\n    min_heathy: 1\n") ==
          "t.yaml:7:5: error: unknown key 'min_heathy' in service 'web' (expected one of: id, "
          "kind, members, min_healthy, depends_on, capacity, labels); did you mean "
          "'min_healthy'?");
  REQUIRE(json_errors("{\"version\": 1, \"components\": [{\"id\": \"c\"}],\n"
                      " \"entrypoints\": [{\"id\": \"www\", \"target\": \"c\", \"lod\": 5}]}") ==
          "t.json:2:47: error: unknown key 'lod' in entrypoint 'www' (expected one of: id, "
          "target, load, slo, labels); did you mean 'load'?");
  REQUIRE(yaml_errors("version: 1\ncomponents:\n  - {id: a}\n"
                      "  - {id: b, depends_on: [{id: a, mod: soft}]}\n") ==
          "t.yaml:4:34: error: unknown key 'mod' in a dependency of component 'b' (expected "
          "one of: id, mode, calls, timeout_ms); did you mean 'mode'?");
  // The injector's target block: a misspelt key would leave the drill with nothing to act on.
  REQUIRE(yaml_errors("version: 1\ncomponents:\n"
                      "  - {id: c, target: {agent: \"h:1\", proces: web}}\n") ==
          "t.yaml:3:36: error: unknown key 'proces' in the target of component 'c' (expected "
          "one of: agent, process, pid, cmdline, pidfile, port, proxy); did you mean "
          "'process'?");
}

TEST_CASE("A target's process name longer than Linux keeps is an error", "[loader]") {
  REQUIRE(yaml_errors("version: 1\ncomponents:\n"
                      "  - {id: c, target: {process: nginx-ingress-controller}}\n") ==
          "t.yaml:3:31: error: component 'c': process 'nginx-ingress-controller' is longer "
          "than 15 characters, the most a process name has on Linux, so the agent could never "
          "find it: use cmdline for a longer name");
  REQUIRE(yaml_errors("version: 1\ncomponents:\n"
                      "  - {id: c, target: {process: 123456789012345}}\n") == "ok");
}

TEST_CASE("A duplicate key is an error in YAML and in JSON", "[loader]") {
  REQUIRE(yaml_errors("version: 1\ncomponents:\n  - id: a\n    kind: host\n    id: b\n") ==
          "t.yaml:5:5: error: duplicate key 'id'");
  REQUIRE(json_errors("{\"version\": 1,\n \"version\": 1}") ==
          "t.json:2:2: error: duplicate key 'version'");
  // In a large map too (the check sorts the keys there).
  std::string labels;
  for (int i = 0; i < 40; ++i)
    labels += "\"k" + std::to_string(i % 30) + "\": \"v\", ";
  labels += "\"z\": \"v\"";
  std::string text =
      "{\"version\": 1, \"components\": [{\"id\": \"c\", \"labels\": {" + labels + "}}]}";
  std::string got = json_errors(text);
  REQUIRE(got.rfind("t.json:1:", 0) == 0);
  REQUIRE(std::count(got.begin(), got.end(), '\n') == 9);  // k0..k9 twice: 10 diagnostics
}

// --- Types -----------------------------------------------------------------------------

TEST_CASE("A key of the wrong type names what is expected", "[loader]") {
  REQUIRE(yaml_errors("version: 1\ncomponents:\n  - {id: c, capacity: \"5000\"}\n") ==
          "t.yaml:3:23: error: component 'c': 'capacity' must be a number, not a string");
  REQUIRE(yaml_errors("version: 1\ncomponents:\n  - {id: c, depends_on: c}\n") ==
          "t.yaml:3:25: error: component 'c': 'depends_on' must be a list, not a string");
  REQUIRE(yaml_errors("version: 1\ncomponents:\n  - {id: c, labels: [a]}\n") ==
          "t.yaml:3:21: error: component 'c': 'labels' must be a map, not a list");
  REQUIRE(yaml_errors("version: 1\ncomponents:\n  - {id: c, labels: {a: {b: c}}}\n") ==
          "t.yaml:3:25: error: component 'c': label 'a' must be a string, number or boolean, "
          "not a map");
  REQUIRE(yaml_errors("version: 1\ncomponents:\n  - {id: c, target: {port: }}\n") ==
          "t.yaml:3:28: error: component 'c': target 'port' must be a string, number or "
          "boolean, not null");
  REQUIRE(json_errors("{\"version\": 1, \"components\": [{\"id\": \"c\", \"kind\": true}]}") ==
          "t.json:1:51: error: component 'c': 'kind' must be a string, not a boolean");
  REQUIRE(yaml_errors("version: 1\ncomponents:\n  - {id: c}\nservices:\n"
                      "  - {id: s, members: c}\n  - {id: t, members: [c, 3]}\n") ==
          "t.yaml:5:22: error: service 's': 'members' must be a list, not a string\n"
          "t.yaml:6:26: error: service 't': a member must be an id (a string), not a number");
  REQUIRE(yaml_errors("version: 1\ncomponents:\n  - {id: c, depends_on: [[x]]}\n") ==
          "t.yaml:3:26: error: component 'c': a dependency must be an id or a map {id, mode, "
          "calls, timeout_ms}, not a list");
}

TEST_CASE("Agents are declared at the top level, and a target names one or HOST:PORT", "[loader]") {
  const Topology t = load_topology_text(
      "version: 1\nagents: {edge: {url: \"https://10.0.0.5:8474\", token_file: e.token}}\n"
      "components:\n  - {id: a, target: {agent: edge, process: a}}\n"
      "  - {id: b, target: {agent: \"10.0.0.6:8474\", process: b}}\n"
      "  - {id: c, target: {agent: \"[::1]:8474\", process: c}}\n",
      Syntax::kYaml, "t.yaml");
  REQUIRE(t.agents.size() == 1);
  CHECK(t.agents[0].name == "edge");
  CHECK(t.agents[0].url == "https://10.0.0.5:8474");
  CHECK(t.agents[0].token_file == "e.token");
  CHECK(yaml_errors("version: 1\nagents: {a: {url: \"ftp://x\", tokn: t}, b: 3}\n"
                    "components:\n  - {id: c, target: {agent: edge, process: c}}\n") ==
        "t.yaml:2:19: error: agent 'a': url must start with http:// or https://, not 'ftp://x'\n"
        "t.yaml:2:30: error: unknown key 'tokn' in agent 'a' (expected one of: url, token_file)\n"
        "t.yaml:2:43: error: agent 'b': must be a map {url, token_file}, not a number\n"
        "t.yaml:4:29: error: component 'c': agent 'edge' is not declared in the top-level "
        "'agents' (and is not HOST:PORT)");
}

TEST_CASE("A dependency's timeout_ms is a whole number of milliseconds", "[loader]") {
  const Topology t = load_topology_text(
      "version: 1\ncomponents:\n  - {id: db}\n"
      "  - {id: web, depends_on: [{id: db, timeout_ms: 250}, db]}\n",
      Syntax::kYaml, "t.yaml");
  const auto& web = t[*t.find("web")];
  CHECK(web.depends_on[0].timeout_ms == 250);
  CHECK(web.depends_on[1].timeout_ms == 0);
  CHECK(yaml_errors("version: 1\ncomponents:\n  - {id: db}\n"
                    "  - {id: web, depends_on: [{id: db, timeout_ms: 0.5}, {id: db, timeout_ms: "
                    "0}]}\n") ==
        "t.yaml:4:49: error: component 'web': timeout_ms must be a whole number of milliseconds "
        "from 1 to 3600000, not 0.5\n"
        "t.yaml:4:76: error: component 'web': timeout_ms must be a whole number of milliseconds "
        "from 1 to 3600000, not 0");
}

// --- Ids -------------------------------------------------------------------------------

TEST_CASE("An id must match the pattern and be used once across all kinds", "[loader]") {
  REQUIRE(yaml_errors("version: 1\ncomponents:\n  - {id: web 1}\n  - {id: -x}\n") ==
          "t.yaml:3:10: error: id 'web 1' is not valid (allowed: a letter or digit, then "
          "letters, digits and _ . : / @ -)\n"
          "t.yaml:4:10: error: id '-x' is not valid (allowed: a letter or digit, then "
          "letters, digits and _ . : / @ -)");
  REQUIRE(yaml_errors("version: 1\ncomponents:\n  - {id: 'a_b.c:d/e@f-1'}\n") == "ok");
  REQUIRE(yaml_errors("version: 1\ndomains:\n  - {id: web}\ncomponents:\n"
                      "  - {id: c}\n  - {id: c}\nservices:\n  - {id: web, members: [c]}\n") ==
          "t.yaml:6:10: error: id 'c' is already used by the component at line 5\n"
          "t.yaml:8:10: error: id 'web' is already used by the domain at line 3");
}

TEST_CASE("Required keys are reported missing, naming the element", "[loader]") {
  REQUIRE(yaml_errors("version: 1\ncomponents:\n  - {kind: host}\n") ==
          "t.yaml:3:5: error: missing required key 'id' in component #1");
  REQUIRE(yaml_errors("version: 1\nservices:\n  - id: web\n    kind: pool\n") ==
          "t.yaml:3:5: error: missing required key 'members' in service 'web'");
  REQUIRE(yaml_errors("version: 1\nentrypoints:\n  - {id: www}\n") ==
          "t.yaml:3:5: error: missing required key 'target' in entrypoint 'www'");
  REQUIRE(yaml_errors("version: 1\ncomponents:\n  - {id: c, depends_on: [{mode: soft}]}\n") ==
          "t.yaml:3:26: error: missing required key 'id' in a dependency of component 'c'");
}

// --- References ------------------------------------------------------------------------

TEST_CASE("A reference to an id that does not exist suggests the closest id of the right kind",
          "[loader]") {
  REQUIRE(yaml_errors("version: 1\ndomains:\n  - {id: zone-a}\ncomponents:\n"
                      "  - {id: web-1, domain: zone-a}\n"
                      "  - {id: app, domain: zone-b, depends_on: [wbe, web-l]}\n"
                      "services:\n  - {id: web, members: [web-1]}\n"
                      "entrypoints:\n  - {id: www, target: ap}\n") ==
          "t.yaml:6:23: error: component 'app': domain 'zone-b' does not exist; did you mean "
          "'zone-a'?\n"
          "t.yaml:6:44: error: component 'app': dependency 'wbe' does not exist; did you mean "
          "'web'?\n"
          "t.yaml:6:49: error: component 'app': dependency 'web-l' does not exist; did you mean "
          "'web-1'?\n"
          "t.yaml:10:23: error: entrypoint 'www': target 'ap' does not exist");
}

TEST_CASE("A reference to an id that does not exist is reported", "[loader]") {
  REQUIRE(yaml_errors("version: 1\ndomains:\n  - {id: r, parent: z}\ncomponents:\n"
                      "  - {id: lb-1, domain: rack-9, depends_on: [nope]}\nservices:\n"
                      "  - {id: s, members: [lb-1, ghost]}\nentrypoints:\n"
                      "  - {id: www, target: gone}\n") ==
          "t.yaml:3:21: error: domain 'r': parent 'z' does not exist\n"
          "t.yaml:5:24: error: component 'lb-1': domain 'rack-9' does not exist\n"
          "t.yaml:5:45: error: component 'lb-1': dependency 'nope' does not exist\n"
          "t.yaml:7:29: error: service 's': member 'ghost' does not exist\n"
          "t.yaml:9:23: error: entrypoint 'www': target 'gone' does not exist");
}

TEST_CASE("A reference to an element of the wrong kind says what it is", "[loader]") {
  REQUIRE(yaml_errors("version: 1\ndomains:\n  - {id: r, parent: c}\ncomponents:\n"
                      "  - {id: c, domain: web, depends_on: [r, {id: www}]}\nservices:\n"
                      "  - {id: web, members: [c, www]}\nentrypoints:\n"
                      "  - {id: www, target: r}\n") ==
          "t.yaml:3:21: error: domain 'r': parent 'c' is a component, not a domain\n"
          "t.yaml:5:21: error: component 'c': domain 'web' is a service, not a domain\n"
          "t.yaml:5:39: error: component 'c': dependency 'r' is a domain, not a component or "
          "service\n"
          "t.yaml:5:47: error: component 'c': dependency 'www' is an entrypoint, not a "
          "component or service\n"
          "t.yaml:7:28: error: service 'web': member 'www' is an entrypoint, not a component "
          "or service\n"
          "t.yaml:9:23: error: entrypoint 'www': target 'r' is a domain, not a component or "
          "service");
}

TEST_CASE("A reference to an invalid id is not reported a second time", "[loader]") {
  REQUIRE(yaml_errors("version: 1\ncomponents:\n  - {id: web 1}\nservices:\n"
                      "  - {id: web, members: [web 1]}\n") ==
          "t.yaml:3:10: error: id 'web 1' is not valid (allowed: a letter or digit, then "
          "letters, digits and _ . : / @ -)");
}

TEST_CASE("A member listed twice in one service is an error", "[loader]") {
  REQUIRE(yaml_errors("version: 1\ncomponents:\n  - {id: a}\n  - {id: b}\nservices:\n"
                      "  - {id: web, members: [a, b, a]}\n") ==
          "t.yaml:6:31: error: service 'web': member 'a' is listed twice");
}

// --- Cycles ----------------------------------------------------------------------------

TEST_CASE("A cycle of domain parents is reported once", "[loader]") {
  REQUIRE(yaml_errors("version: 1\ndomains:\n  - {id: c, parent: a}\n  - {id: a, parent: b}\n"
                      "  - {id: b, parent: a}\n  - {id: s, parent: s}\n") ==
          "t.yaml:4:5: error: cycle of domain parents: a -> b -> a\n"
          "t.yaml:6:5: error: cycle of domain parents: s -> s");
}

TEST_CASE("A service that contains itself is reported with the loop", "[loader]") {
  REQUIRE(yaml_errors("version: 1\ncomponents:\n  - {id: c}\nservices:\n"
                      "  - {id: a, members: [c, b]}\n  - {id: b, members: [a]}\n"
                      "  - {id: d, members: [d]}\n  - {id: e, members: [a]}\n") ==
          "t.yaml:5:5: error: service 'a' contains itself: a -> b -> a\n"
          "t.yaml:7:5: error: service 'd' contains itself: d -> d");
}

TEST_CASE("A cycle of dependencies is not an error", "[loader]") {
  REQUIRE(yaml_errors("version: 1\ncomponents:\n  - {id: a, depends_on: [b]}\n"
                      "  - {id: b, depends_on: [a]}\n") == "ok");
}

// --- Ranges ----------------------------------------------------------------------------

TEST_CASE("Members must not be empty and min_healthy must be within 1..n", "[loader]") {
  REQUIRE(yaml_errors("version: 1\nservices:\n  - {id: web, members: []}\n") ==
          "t.yaml:3:24: error: service 'web': 'members' must not be empty");
  REQUIRE(yaml_errors("version: 1\ncomponents:\n  - {id: a}\n  - {id: b}\n  - {id: c}\n"
                      "services:\n  - {id: web, members: [a, b, c], min_healthy: 4}\n"
                      "  - {id: w0, members: [a], min_healthy: 0}\n"
                      "  - {id: w2, members: [a, b], min_healthy: 1.5}\n") ==
          "t.yaml:7:48: error: service 'web': min_healthy 4 is outside 1..3\n"
          "t.yaml:8:41: error: service 'w0': min_healthy 0 is outside 1..1\n"
          "t.yaml:9:44: error: service 'w2': min_healthy 1.5 is not a whole number");
  // Without members there is no n, but a number beyond any count is still refused rather
  // than cast (undefined behaviour, caught by UBSan in the sanitizer build).
  REQUIRE(json_errors("{\"version\": 1, \"services\": [{\"id\": \"s\", \"members\": [], "
                      "\"min_healthy\": 3e45}]}") ==
          "t.json:1:52: error: service 's': 'members' must not be empty\n"
          "t.json:1:71: error: service 's': min_healthy 3e45 is outside 1..n");
}

TEST_CASE("Availability and slo must be above 0 and at most 1", "[loader]") {
  REQUIRE(yaml_errors("version: 1\ndomains:\n  - {id: r, availability: 1.5}\ncomponents:\n"
                      "  - {id: c, availability: 0}\nentrypoints:\n"
                      "  - {id: www, target: c, slo: -0.5}\n  - {id: ok, target: c, slo: 1}\n") ==
          "t.yaml:3:27: error: domain 'r': availability 1.5 is outside (0, 1]\n"
          "t.yaml:5:27: error: component 'c': availability 0 is outside (0, 1]\n"
          "t.yaml:7:31: error: entrypoint 'www': slo -0.5 is outside (0, 1]");
  REQUIRE(yaml_errors("version: 1\ncomponents:\n  - {id: c, availability: .nan}\n") ==
          "t.yaml:3:27: error: component 'c': availability .nan is outside (0, 1]");
}

TEST_CASE("Capacity must be positive, load and calls not negative", "[loader]") {
  REQUIRE(json_errors("{\"version\": 1, \"components\": [\n"
                      "  {\"id\": \"a\", \"capacity\": 0},\n"
                      "  {\"id\": \"b\", \"capacity\": -2.5e3, \"depends_on\": [\n"
                      "    {\"id\": \"a\", \"calls\": -1}, {\"id\": \"a\", \"calls\": 0}]}],\n"
                      " \"entrypoints\": [{\"id\": \"www\", \"target\": \"a\", \"load\": -5},\n"
                      "   {\"id\": \"w0\", \"target\": \"a\", \"load\": 0}]}") ==
          "t.json:2:27: error: component 'a': capacity must be positive, not 0\n"
          "t.json:3:27: error: component 'b': capacity must be positive, not -2.5e3\n"
          "t.json:4:26: error: component 'b': calls must be 0 or more, not -1\n"
          "t.json:5:55: error: entrypoint 'www': load must be 0 or more, not -5");
}

TEST_CASE("A mode other than hard or soft is an error", "[loader]") {
  REQUIRE(yaml_errors("version: 1\ncomponents:\n  - {id: a}\n"
                      "  - {id: b, depends_on: [{id: a, mode: sfot}, {id: a, mode: hard}]}\n") ==
          "t.yaml:4:40: error: component 'b': mode must be 'hard' or 'soft', not 'sfot'");
}

// --- Several problems at once ----------------------------------------------------------

TEST_CASE("A YAML file with many problems gets all of them, in file order", "[loader]") {
  REQUIRE(
      file_errors("bad/several.yaml") ==
      "bad/several.yaml:1:10: error: version must be 1, not 2\n"
      "bad/several.yaml:2:1: error: unknown key 'nam' at the top level (expected one of: "
      "version, name, domains, components, services, entrypoints, agents); did you mean 'name'?\n"
      "bad/several.yaml:4:5: error: cycle of domain parents: a -> b -> a\n"
      "bad/several.yaml:6:26: error: domain 'rack-7': parent 'web' is a service, not a "
      "domain\n"
      "bad/several.yaml:6:45: error: domain 'rack-7': availability 1.5 is outside (0, 1]\n"
      "bad/several.yaml:10:13: error: component 'lb-1': domain 'rack-9' does not exist; "
      "did you mean 'rack-7'?\n"
      "bad/several.yaml:11:15: error: component 'lb-1': 'capacity' must be a number, not a "
      "string\n"
      "bad/several.yaml:12:23: error: component 'lb-1': dependency 'www' is an entrypoint, "
      "not a component or service\n"
      "bad/several.yaml:12:45: error: component 'lb-1': mode must be 'hard' or 'soft', not "
      "'sfot'\n"
      "bad/several.yaml:12:58: error: component 'lb-1': calls must be 0 or more, not -1\n"
      "bad/several.yaml:12:63: error: component 'lb-1': a dependency must be an id or a map "
      "{id, mode, calls, timeout_ms}, not a number\n"
      "bad/several.yaml:13:32: error: component 'lb-1': label 'tier' must be a string, "
      "number or boolean, not a list\n"
      "bad/several.yaml:14:10: error: id 'web 1' is not valid (allowed: a letter or digit, "
      "then letters, digits and _ . : / @ -)\n"
      "bad/several.yaml:15:25: error: component 'web-2': domain 'web' is a service, not a "
      "domain\n"
      "bad/several.yaml:15:40: error: component 'web-2': capacity must be positive, not 0\n"
      "bad/several.yaml:16:10: error: id 'lb-1' is already used by the component at line "
      "8\n"
      "bad/several.yaml:17:5: error: missing required key 'id' in component #5\n"
      "bad/several.yaml:18:16: error: duplicate key 'id'\n"
      "bad/several.yaml:21:22: error: service 'web': member 'web-2' is listed twice\n"
      "bad/several.yaml:22:5: error: unknown key 'min_heathy' in service 'web' (expected "
      "one of: id, kind, members, min_healthy, depends_on, capacity, labels); did you mean "
      "'min_healthy'?\n"
      "bad/several.yaml:24:5: error: service 's1' contains itself: s1 -> s2 -> s1\n"
      "bad/several.yaml:26:23: error: service 's3': 'members' must not be empty\n"
      "bad/several.yaml:27:5: error: missing required key 'members' in service 's4'\n"
      "bad/several.yaml:29:23: error: entrypoint 'www': target 'nothing' does not exist\n"
      "bad/several.yaml:29:38: error: entrypoint 'www': load must be 0 or more, not -5\n"
      "bad/several.yaml:29:47: error: entrypoint 'www': slo 0 is outside (0, 1]\n"
      "bad/several.yaml:30:24: error: entrypoint 'www2': target 'rack-7' is a domain, not "
      "a component or service");
}

TEST_CASE("A JSON file with many problems gets all of them, in file order", "[loader]") {
  REQUIRE(file_errors("bad/several.json") ==
          "bad/several.json:2:14: error: 'version' must be a number, not a string\n"
          "bad/several.json:4:5: error: cycle of domain parents: a -> b -> a\n"
          "bad/several.json:8:30: error: component 'lb-1': domain 'rack-9' does not exist\n"
          "bad/several.json:8:52: error: component 'lb-1': 'capacity' must be a number, not a "
          "string\n"
          "bad/several.json:8:82: error: component 'lb-1': dependency 'www' is an entrypoint, "
          "not a component or service\n"
          "bad/several.json:9:12: error: id 'web 1' is not valid (allowed: a letter or digit, "
          "then letters, digits and _ . : / @ -)\n"
          "bad/several.json:10:31: error: component 'web-2': domain 'web' is a service, not a "
          "domain\n"
          "bad/several.json:10:50: error: component 'web-2': capacity must be positive, not 0\n"
          "bad/several.json:10:53: error: duplicate key 'id'\n"
          "bad/several.json:11:12: error: id 'lb-1' is already used by the component at line "
          "8\n"
          "bad/several.json:12:5: error: an entry of 'components' must be a map, not a string\n"
          "bad/several.json:15:40: error: service 'web': member 'web-2' is listed twice\n"
          "bad/several.json:15:56: error: unknown key 'min_heathy' in service 'web' (expected "
          "one of: id, kind, members, min_healthy, depends_on, capacity, labels); did you mean "
          "'min_healthy'?\n"
          "bad/several.json:15:88: error: service 'web': min_healthy 4 is outside 1..3\n"
          "bad/several.json:16:5: error: service 's1' contains itself: s1 -> s1\n"
          "bad/several.json:17:29: error: service 's3': 'members' must not be empty\n"
          "bad/several.json:20:29: error: entrypoint 'www': target 'nothing' does not exist\n"
          "bad/several.json:20:48: error: entrypoint 'www': load must be 0 or more, not -5\n"
          "bad/several.json:20:59: error: entrypoint 'www': slo 1.5 is outside (0, 1]\n"
          "bad/several.json:20:80: error: entrypoint 'www': label 'x' must be a string, number "
          "or boolean, not null");
}

TEST_CASE("The diagnostics carry file, position and message separately", "[loader]") {
  try {
    load_topology_text("version: 1\ncomponents:\n  - {id: c, capacity: 0}\n", Syntax::kYaml,
                       "t.yaml");
    FAIL("no error");
  } catch (const InputError& e) {
    REQUIRE(e.diagnostics().size() == 1);
    const auto& d = e.diagnostics()[0];
    REQUIRE(d.file == "t.yaml");
    REQUIRE(d.pos.line == 3);
    REQUIRE(d.pos.column == 23);
    REQUIRE(d.message == "component 'c': capacity must be positive, not 0");
  }
  achilles::analyzer::Diagnostic no_pos{"t.yaml", {}, "/services/2/members/1", "bad"};
  REQUIRE(no_pos.str() == "t.yaml: error: /services/2/members/1: bad");
}

// --- The command -----------------------------------------------------------------------

TEST_CASE("achilles validate exits 2 with the problems on stderr, 0 with a summary", "[loader]") {
  auto run = [](const std::string& args, std::string& output) {
    auto r =
        achilles::testing::run_shell(std::string("'") + ACHILLES_BINARY + "' validate " + args);
    output = r.out;
    return r.code;
  };
  std::string out;
  // stderr only: 2>&1 first, then stdout to /dev/null.
  REQUIRE(run("'" + kData + "/bad/syntax.json' 2>&1 >/dev/null", out) == 2);
  REQUIRE(out == kData +
                     "/bad/syntax.json:5:3: error: syntax error: unexpected ']'; expected '[', "
                     "'{', or a literal\n");
  REQUIRE(run("'" + kData + "/shop.yaml' 2>/dev/null", out) == 0);
  REQUIRE(out == kData +
                     "/shop.yaml: ok: 3 domains, 6 components, 2 services, 1 entrypoint, 3 "
                     "dependencies\n");
}
