// The topology as an Open-PSA Model Exchange Format fault tree, so that an independent tool
// (SCRAM, XFTA, ...) can check the availabilities and cut sets of `analyze`.
#pragma once

#include <string>

#include "achilles/analyzer/model.h"

namespace achilles::analyzer {

/// The Open-PSA MEF name of element `id` as a gate ("down_" + id) or a basic event
/// ("fail_" + id): letters and digits kept, `_` doubled, anything else `_` and two hex digits.
std::string openpsa_name(std::string_view prefix, std::string_view id);

/// One fault tree named after the topology; one top gate per entrypoint (`down_` + its id),
/// true when the entrypoint is down. Gates: `or` over a component's own failure, its domain
/// and its hard dependencies; `atleast` (n - k + 1 of the members down) or'ed with the hard
/// dependencies for a service; basic events for the components and domains with an
/// availability, probability 1 - availability. What never fails is left out (a gate that
/// could never be true is the constant false). A dependency cycle of s elements is unrolled s
/// times (gates `down_X_L1` .. `_L{s-1}`, level 0 being false): that many rounds of the
/// rules reach the least fixpoint from any failure set, so the unrolled tree is exact.
std::string to_openpsa(const Topology& topology);

}  // namespace achilles::analyzer
