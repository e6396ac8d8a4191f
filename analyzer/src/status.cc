#include "achilles/analyzer/status.h"

#include "propagation.h"

namespace achilles::analyzer {

std::string_view to_string(Status status) {
  switch (status) {
    case Status::kUp:
      return "up";
    case Status::kDegraded:
      return "degraded";
    case Status::kDown:
      return "down";
  }
  return "up";
}

std::vector<Status> evaluate(const Topology& topology, std::span<const ElementId> failed) {
  detail::Net net(topology);
  detail::Propagator propagator(net);
  propagator.run(failed);
  return propagator.statuses();
}

}  // namespace achilles::analyzer
