// drill_html JOURNAL OUT.html: the drill report of a fixture journal, for the browser test
// (the `drill run --report` that writes it in production is the runner's).
#include <fstream>
#include <iostream>

#include "achilles/reports/drill.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: drill_html JOURNAL OUT.html\n";
    return 2;
  }
  std::ifstream in(argv[1]);
  if (!in) {
    std::cerr << argv[1] << ": error: cannot read\n";
    return 2;
  }
  try {
    std::ofstream(argv[2]) << achilles::reports::drill_html(nlohmann::json::parse(in));
  } catch (const nlohmann::json::exception& e) {
    std::cerr << argv[1] << ": error: " << e.what() << "\n";
    return 2;
  }
  return 0;
}
