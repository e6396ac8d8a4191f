// Pins the brute-force reference (tests/reference) to spec topology.md with hand-worked
// examples, so that the property tests compare the analyzer with something known to be right.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "reference/random_topology.h"
#include "reference/reference.h"

namespace {

using achilles::analyzer::Dependency;
using achilles::analyzer::DepMode;
using achilles::analyzer::Element;
using achilles::analyzer::ElementId;
using achilles::analyzer::ElementKind;
using achilles::analyzer::Status;
using achilles::analyzer::Topology;
namespace reference = achilles::reference;

// Builds a topology from ids, resolving references after every element is known, so that
// examples can refer forward (cycles). A dependency written "~x" is soft, "x" hard. Declare
// in the order domains, components, services, entrypoints, as the loaders do.
class Builder {
 public:
  Builder& domain(std::string id, std::string parent = "") {
    specs_.push_back({ElementKind::kDomain, std::move(id), std::move(parent), {}, 1, {}});
    return *this;
  }
  Builder& component(std::string id, std::vector<std::string> deps = {}, std::string dom = "") {
    specs_.push_back(
        {ElementKind::kComponent, std::move(id), std::move(dom), {}, 1, std::move(deps)});
    return *this;
  }
  Builder& service(std::string id, std::vector<std::string> members, uint32_t min_healthy,
                   std::vector<std::string> deps = {}) {
    specs_.push_back({ElementKind::kService, std::move(id), "", std::move(members), min_healthy,
                      std::move(deps)});
    return *this;
  }
  Builder& entrypoint(std::string id, std::string target) {
    specs_.push_back({ElementKind::kEntrypoint, std::move(id), std::move(target), {}, 1, {}});
    return *this;
  }
  Topology build() const {
    auto index = [&](const std::string& id) {
      for (size_t i = 0; i < specs_.size(); ++i) {
        if (specs_[i].id == id) return static_cast<ElementId>(i);
      }
      FAIL("unknown id " << id);
      return ElementId{0};
    };
    Topology t;
    for (const auto& s : specs_) {
      Element e;
      e.id = s.id;
      e.kind = s.kind;
      if (!s.ref.empty()) {
        ElementId r = index(s.ref);
        if (s.kind == ElementKind::kDomain) e.parent = r;
        if (s.kind == ElementKind::kComponent) e.domain = r;
        if (s.kind == ElementKind::kEntrypoint) e.target = r;
      }
      for (const auto& m : s.members) {
        e.members.push_back(index(m));
      }
      e.min_healthy = s.min_healthy;
      for (const auto& d : s.deps) {
        bool soft = d[0] == '~';
        e.depends_on.push_back(Dependency{
            index(soft ? d.substr(1) : d), soft ? DepMode::kSoft : DepMode::kHard, 1.0, {}});
      }
      t.add(std::move(e));
    }
    return t;
  }

 private:
  struct Spec {
    ElementKind kind;
    std::string id;
    std::string ref;  // domain parent, component domain or entrypoint target
    std::vector<std::string> members;
    uint32_t min_healthy;
    std::vector<std::string> deps;
  };
  std::vector<Spec> specs_;
};

// "id=status" for every element, in declaration order.
std::string statuses(const Topology& t, const std::vector<std::string>& failed) {
  std::vector<ElementId> f;
  for (const auto& id : failed) {
    f.push_back(*t.find(id));
  }
  auto s = reference::statuses(t, f);
  std::string out;
  for (ElementId x = 0; x < t.size(); ++x) {
    out += (x ? " " : "") + t[x].id + "=";
    out += s[x] == Status::kUp ? "up" : s[x] == Status::kDegraded ? "degraded" : "down";
  }
  return out;
}

// One line per finding: id, entrypoints down and degraded, components and services down.
std::string describe(const std::vector<reference::Finding>& findings) {
  std::string out;
  for (const auto& f : findings) {
    out += f.id() + " down=[";
    for (size_t i = 0; i < f.impact.entrypoints_down.size(); ++i) {
      if (i) out += ",";
      out += f.impact.entrypoints_down[i];
    }
    out += "] degraded=[";
    for (size_t i = 0; i < f.impact.entrypoints_degraded.size(); ++i) {
      if (i) out += ",";
      out += f.impact.entrypoints_degraded[i];
    }
    out += "] c=" + std::to_string(f.impact.components_down) +
           " s=" + std::to_string(f.impact.services_down) + "\n";
  }
  return out;
}

}  // namespace

TEST_CASE("Reference: a 2-of-3 service is degraded by one failure and down after two",
          "[reference]") {
  auto t = Builder()
               .component("w1")
               .component("w2")
               .component("w3")
               .service("web", {"w1", "w2", "w3"}, 2)
               .entrypoint("www", "web")
               .build();
  CHECK(statuses(t, {}) == "w1=up w2=up w3=up web=up www=up");
  CHECK(statuses(t, {"w2"}) == "w1=up w2=down w3=up web=degraded www=degraded");
  CHECK(statuses(t, {"w1", "w3"}) == "w1=down w2=up w3=down web=down www=down");
  CHECK(reference::spofs(t).empty());
  const std::string pairs =
      "cut_set:w1+w2 down=[www] degraded=[] c=2 s=1\n"
      "cut_set:w1+w3 down=[www] degraded=[] c=2 s=1\n"
      "cut_set:w2+w3 down=[www] degraded=[] c=2 s=1\n";
  CHECK(describe(reference::cut_sets(t, 2)) == pairs);
  // No triple is minimal: each contains a pair that already kills www.
  CHECK(describe(reference::cut_sets(t, 3)) == pairs);
  CHECK(describe(reference::findings(t, 3)) == pairs);
}

TEST_CASE("Reference: a hard cycle stays up with nothing failed but never starts cold",
          "[reference]") {
  auto t = Builder()
               .component("a", {"b"})
               .component("b", {"a"})
               .component("c", {"a"})      // waits on the loop without being part of it
               .component("d", {"d"})      // a self-loop
               .component("m1", {"pool"})  // a loop through a service
               .component("p", {"~q"})     // soft loops never hold a start back
               .component("q", {"~p"})
               .service("pool", {"m1"}, 1)
               .entrypoint("www", "c")
               .entrypoint("api", "pool")
               .entrypoint("ok", "p")
               .build();
  CHECK(statuses(t, {}) == "a=up b=up c=up d=up m1=up p=up q=up pool=up www=up api=up ok=up");
  // The loop a <-> b goes down as a whole once one of it fails.
  CHECK(statuses(t, {"b"}) ==
        "a=down b=down c=down d=up m1=up p=up q=up pool=up www=down api=up ok=up");

  auto cs = reference::cold_start(t);
  std::string stuck;
  for (ElementId x = 0; x < t.size(); ++x) {
    if (cs.stuck[x]) stuck += t[x].id + " ";
  }
  CHECK(stuck == "a b c d m1 pool www api ");
  CHECK(describe(reference::cycles(t)) ==
        "cycle:a+b down=[www] degraded=[] c=3 s=0\n"
        "cycle:d down=[] degraded=[] c=1 s=0\n"
        "cycle:m1+pool down=[api] degraded=[] c=1 s=1\n");
}

TEST_CASE("Reference: a service quorum met by another member lets a looping member start",
          "[reference]") {
  auto t = Builder()
               .component("m1", {"svc"})
               .component("m2")
               .service("svc", {"m1", "m2"}, 1)
               .entrypoint("www", "svc")
               .build();
  CHECK(reference::cold_start(t).groups.empty());
  CHECK(reference::cycles(t).empty());
}

TEST_CASE("Reference: membership edges count even when the service waits on something else",
          "[reference]") {
  // The literal reading of "linked by hard dependencies and by service membership": svc is
  // stuck only because of x, yet svc -> m1 -> svc is a group. The lead reconciles.
  auto t = Builder()
               .component("x", {"x"})
               .component("m1", {"svc"})
               .component("m2")
               .service("svc", {"m1", "m2"}, 1, {"x"})
               .entrypoint("www", "m1")
               .build();
  CHECK(describe(reference::cycles(t)) ==
        "cycle:m1+svc down=[www] degraded=[] c=1 s=1\n"
        "cycle:x down=[www] degraded=[] c=2 s=1\n");
}

TEST_CASE("Reference: a soft dependency only degrades", "[reference]") {
  auto t = Builder()
               .component("cache")
               .component("db")
               .component("app", {"db", "~cache"})
               .component("front", {"app"})
               .component("x", {"~y"})
               .component("y", {"~x", "~cache"})
               .entrypoint("www", "front")
               .entrypoint("side", "x")
               .build();
  CHECK(statuses(t, {"cache"}) ==
        "cache=down db=up app=degraded front=degraded x=degraded y=degraded www=degraded "
        "side=degraded");
  CHECK(statuses(t, {"db"}) == "cache=up db=down app=down front=down x=up y=up www=down side=up");
  CHECK(describe(reference::spofs(t)) ==
        "spof:app down=[www] degraded=[] c=2 s=0\n"
        "spof:db down=[www] degraded=[] c=3 s=0\n"
        "spof:front down=[www] degraded=[] c=1 s=0\n"
        "spof:x down=[side] degraded=[] c=1 s=0\n");
}

TEST_CASE("Reference: a failed domain ancestor takes down everything below it", "[reference]") {
  auto t = Builder()
               .domain("region", "")
               .domain("zone", "region")
               .domain("host", "zone")
               .domain("zone2", "region")
               .domain("other", "")
               .component("c1", {}, "host")
               .component("c2", {}, "zone2")
               .component("c3")
               .service("svc", {"c1", "c2"}, 1)
               .entrypoint("www", "svc")
               .entrypoint("direct", "c1")
               .build();
  CHECK(statuses(t, {"region"}) ==
        "region=down zone=down host=down zone2=down other=up c1=down c2=down c3=up svc=down "
        "www=down direct=down");
  CHECK(statuses(t, {"zone"}) ==
        "region=up zone=down host=down zone2=up other=up c1=down c2=up c3=up svc=degraded "
        "www=degraded direct=down");
  CHECK(describe(reference::domain_spofs(t)) ==
        "domain_spof:host down=[direct] degraded=[www] c=1 s=0\n"
        "domain_spof:region down=[direct,www] degraded=[] c=2 s=1\n"
        "domain_spof:zone down=[direct] degraded=[www] c=1 s=0\n");
  // {zone, c1} is not minimal for direct (zone alone kills it); {zone, zone2} is minimal
  // for www; {region, x} never is.
  CHECK(describe(reference::cut_sets(t, 2)) ==
        "cut_set:c1+c2 down=[direct,www] degraded=[] c=2 s=1\n"
        "cut_set:c1+zone2 down=[direct,www] degraded=[] c=2 s=1\n"
        "cut_set:c2+host down=[direct,www] degraded=[] c=2 s=1\n"
        "cut_set:c2+zone down=[direct,www] degraded=[] c=2 s=1\n"
        "cut_set:host+zone2 down=[direct,www] degraded=[] c=2 s=1\n"
        "cut_set:zone+zone2 down=[direct,www] degraded=[] c=2 s=1\n");
}

TEST_CASE("Reference: nested services pass degradation and failure upwards", "[reference]") {
  auto t = Builder()
               .component("c1")
               .component("c2")
               .component("c3")
               .service("inner", {"c1", "c2"}, 1)
               .service("outer", {"inner", "c3"}, 2)
               .entrypoint("www", "outer")
               .build();
  CHECK(statuses(t, {"c1"}) == "c1=down c2=up c3=up inner=degraded outer=degraded www=degraded");
  CHECK(statuses(t, {"c1", "c2"}) == "c1=down c2=down c3=up inner=down outer=down www=down");
  CHECK(describe(reference::findings(t, 3)) ==
        "cut_set:c1+c2 down=[www] degraded=[] c=2 s=2\n"
        "spof:c3 down=[www] degraded=[] c=1 s=1\n");
}

TEST_CASE("Reference: a cut set is minimal per entrypoint", "[reference]") {
  // {a, b} is minimal for e2 although a alone already kills e1; {a, x} is minimal for none.
  auto t = Builder()
               .component("a")
               .component("b")
               .component("x")
               .service("svc", {"a", "b"}, 1)
               .entrypoint("e1", "a")
               .entrypoint("e2", "svc")
               .entrypoint("e3", "x")
               .build();
  CHECK(describe(reference::findings(t, 3)) ==
        "cut_set:a+b down=[e1,e2] degraded=[] c=2 s=1\n"
        "spof:a down=[e1] degraded=[e2] c=1 s=0\n"
        "spof:x down=[e3] degraded=[] c=1 s=0\n");
}

TEST_CASE("Reference: random topologies are reproducible and printable", "[reference]") {
  auto a = reference::random_topology(42);
  auto b = reference::random_topology(42);
  CHECK(reference::to_yaml(a) == reference::to_yaml(b));
  CHECK(reference::to_yaml(a).rfind("version: 1\nname: random-42\n", 0) == 0);
  // Over many seeds every feature turns up.
  bool nested = false, soft = false, self_loop = false, deep = false, quorum = false,
       shared = false, cycle = false, service_target = false;
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    auto t = reference::random_topology(seed);
    std::vector<int> membership(t.size(), 0);
    for (ElementId x = 0; x < t.size(); ++x) {
      const auto& e = t[x];
      for (auto m : e.members) {
        nested = nested || t[m].kind == ElementKind::kService;
        shared = shared || ++membership[m] > 1;
      }
      quorum = quorum || (e.min_healthy > 1 && e.min_healthy < e.members.size());
      for (const auto& d : e.depends_on) {
        soft = soft || d.mode == DepMode::kSoft;
        self_loop = self_loop || d.target == x;
      }
      deep = deep || (e.parent != achilles::analyzer::kNoElement &&
                      t[e.parent].parent != achilles::analyzer::kNoElement);
      service_target = service_target || (e.kind == ElementKind::kEntrypoint &&
                                          t[e.target].kind == ElementKind::kService);
    }
    cycle = cycle || !reference::cycles(t).empty();
  }
  CHECK(nested);
  CHECK(soft);
  CHECK(self_loop);
  CHECK(deep);
  CHECK(quorum);
  CHECK(shared);
  CHECK(cycle);
  CHECK(service_target);
}
