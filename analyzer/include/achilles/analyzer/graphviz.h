// One owner for Graphviz. cgraph and gvc keep process-wide state (the error callback, the
// lexer's line count, the layout plugins' tables) and are not thread-safe, not even for
// reads. Every use of them, the DOT importer's and the renderer's, happens inside a
// GraphvizSession: it holds one process-wide lock for its whole life, installs the error
// callback and owns the messages collected through it, and puts the previous callback back.
// So the public functions that use Graphviz (import_dot, reports::render) may be called from
// any thread; they wait for each other.
#pragma once

#include <graphviz/cgraph.h>

#include <mutex>
#include <string>

namespace achilles::analyzer {

class GraphvizSession {
 public:
  GraphvizSession();
  ~GraphvizSession();
  GraphvizSession(const GraphvizSession&) = delete;
  GraphvizSession& operator=(const GraphvizSession&) = delete;

  /// The errors (not the warnings) Graphviz reported since the session began.
  const std::string& errors() const;

 private:
  std::unique_lock<std::mutex> lock_;
  agusererrf previous_;
};

}  // namespace achilles::analyzer
