// The model's id index: a batch indexed on two threads is the same as one id after another.
#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

#include "achilles/analyzer/model.h"

namespace achilles::analyzer::testing {

namespace {

Element named(std::string id, ElementKind kind) {
  Element e;
  e.id = std::move(id);
  e.kind = kind;
  return e;
}

}  // namespace

TEST_CASE("A batch of ids is indexed as if each were added in turn", "[model]") {
  std::mt19937 rng(7);
  // Enough ids for both tables and for long probe runs, drawn from a small set so that a
  // good share repeat, within the batch and against the elements already there.
  for (size_t existing : {size_t{0}, size_t{1000}}) {
    for (unsigned threads : {1u, 2u}) {
      std::vector<Element> first, batch;
      std::uniform_int_distribution<int> pick(0, 30000);
      for (size_t i = 0; i < existing; ++i)
        first.push_back(named("svc-" + std::to_string(pick(rng)), ElementKind::kService));
      for (size_t i = 0; i < 20000; ++i)
        batch.push_back(named("c" + std::to_string(pick(rng)) + "/x", ElementKind::kComponent));
      for (size_t i = 0; i < 500; ++i)  // ids of the elements already there
        batch.push_back(named("svc-" + std::to_string(pick(rng)), ElementKind::kDomain));
      std::shuffle(batch.begin(), batch.end(), rng);

      Topology one, all;
      for (const Element& e : first)
        one.try_add(e), all.try_add(e);
      std::vector<std::pair<ElementId, bool>> expected;
      for (const Element& e : batch)
        expected.push_back(one.try_add(e));
      INFO("existing " << existing << ", threads " << threads);
      CHECK(all.try_add_all(batch, threads) == expected);
      REQUIRE(all.size() == one.size());
      size_t repeated = 0;
      for (ElementId x = 0; x < one.size(); ++x) {
        CHECK(all[x].id == one[x].id);
        CHECK(all[x].kind == one[x].kind);
        CHECK(all.find(one[x].id) == std::optional<ElementId>(x));
      }
      for (const auto& [x, added] : expected)
        repeated += !added;
      CHECK(repeated > 1000);  // the batch did repeat ids
      CHECK_FALSE(all.find("c30001/x"));
      CHECK_FALSE(all.find(""));
      // Adding after the batch still finds and refuses what is there.
      CHECK(all.try_add(named(batch[0].id, ElementKind::kComponent)).second == false);
      CHECK(all.try_add(named("fresh", ElementKind::kComponent)) ==
            std::pair<ElementId, bool>(static_cast<ElementId>(one.size()), true));
    }
  }
}

}  // namespace achilles::analyzer::testing
