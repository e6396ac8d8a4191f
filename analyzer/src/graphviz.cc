// The Graphviz session (see graphviz.h).
#include "achilles/analyzer/graphviz.h"

#include <string_view>

namespace achilles::analyzer {
namespace {

std::mutex& graphviz_mutex() {
  static std::mutex mutex;
  return mutex;
}

// Written only by the callback, which runs inside a session, under the lock.
std::string& collected() {
  static std::string errors;
  return errors;
}

int collect_error(char* message) {
  std::string_view m(message);
  if (m.rfind("Warning", 0) != 0) collected() += m;
  return 0;
}

}  // namespace

GraphvizSession::GraphvizSession() : lock_(graphviz_mutex()) {
  collected().clear();
  previous_ = agseterrf(collect_error);
}

GraphvizSession::~GraphvizSession() {
  agseterrf(previous_);
}

const std::string& GraphvizSession::errors() const {
  return collected();
}

}  // namespace achilles::analyzer
