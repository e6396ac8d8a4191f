// Running a command as a user would: the tests that drive the built binaries share this.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace achilles::testing {

struct CommandResult {
  /// The exit status, or -1 when the command did not exit normally.
  int code = -1;
  std::string out;
  std::string err;
};

/// A whole file, or "" when it cannot be read.
inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

/// Runs `command` with /bin/sh, capturing its stdout and its stderr.
inline CommandResult run_shell(const std::string& command) {
  char err_path[] = "/tmp/achilles-test-stderr-XXXXXX";
  const int fd = ::mkstemp(err_path);
  if (fd < 0) throw std::runtime_error("mkstemp failed");
  ::close(fd);
  const std::string full = "{ " + command + "\n} 2>" + err_path;
  FILE* p = ::popen(full.c_str(), "r");
  if (!p) throw std::runtime_error("popen failed: " + command);
  CommandResult r;
  std::array<char, 4096> buf{};
  for (size_t n; (n = std::fread(buf.data(), 1, buf.size(), p)) > 0;)
    r.out.append(buf.data(), n);
  const int status = ::pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.err = slurp(err_path);
  std::remove(err_path);
  return r;
}

/// Runs the built binary `binary` with `args` (shell words) in `dir` (or here when empty).
inline CommandResult run_binary(const std::string& binary, const std::string& args,
                                const std::string& dir = "") {
  return run_shell((dir.empty() ? "" : "cd '" + dir + "' && ") + "'" + binary + "' " + args);
}

}  // namespace achilles::testing
