// Fuzz target: the Toxiproxy API's bodies (POST /proxies, POST and PATCH of a toxic), from
// bytes to values: parse_json_body then parse_proxy, parse_toxic and patch_toxic. A refusal
// must be an ApiError with status 400; anything else is a finding.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "achilles/injector/fault.h"
#include "achilles/injector/http.h"
#include "achilles/injector/proxy.h"

using namespace achilles::injector;

namespace {

template <class F>
void refused_only_with_400(F&& f) {
  try {
    f();
  } catch (const ApiError& e) {
    if (e.status() != 400) std::abort();
    HttpResponse::error(e.status(), e.what());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  nlohmann::json body;
  try {
    body = parse_json_body(bytes, "bad request body: ");
  } catch (const ApiError& e) {
    if (e.status() != 400) std::abort();
    return 0;
  }
  refused_only_with_400([&] { HttpResponse::json(201, to_json(parse_proxy(body))); });
  refused_only_with_400([&] { HttpResponse::json(200, to_json(parse_toxic(body))); });
  refused_only_with_400([&] {
    Toxic t = parse_toxic({{"type", "latency"}, {"attributes", {{"latency", 100}}}});
    patch_toxic(t, body);
    HttpResponse::json(200, to_json(t));
  });
  return 0;
}
