// Fuzz target: the agent's HTTP request head parser, on any bytes a client may send. The
// server finds the head's end with request_head_end and parses it with parse_request_head;
// a refusal's message is then serialised in an answer, which must never throw either.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "achilles/injector/http.h"

using namespace achilles::injector;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  // The head as the server cuts it, and the whole input as if it were one.
  for (const std::size_t end : {request_head_end(bytes), size}) {
    if (end == 0) continue;
    HttpRequest req;
    std::string message;
    const int status = parse_request_head(bytes.substr(0, end), req, message);
    if (status != 0) {
      serialize(HttpResponse::error(status, message), false);
    } else {
      req.keep_alive();
      serialize(HttpResponse::json(200, {{"path", req.path}, {"target", req.target}}), true);
    }
  }
  return 0;
}
