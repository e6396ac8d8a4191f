// Toxiproxy 2.x's values: JSON shapes, defaults and validation, with its error messages.
#include <algorithm>
#include <cctype>
#include <set>

#include "achilles/injector/fault.h"
#include "achilles/injector/proxy.h"

namespace achilles::injector {

using nlohmann::json;

namespace {

[[noreturn]] void bad(const std::string& m) {
  throw ApiError(400, m);
}

// The attributes of each toxic type, all integers, with their defaults (0).
const std::map<std::string, std::vector<std::string>>& toxic_types() {
  static const std::map<std::string, std::vector<std::string>> kTypes = {
      {"latency", {"latency", "jitter"}}, {"bandwidth", {"rate"}},
      {"slow_close", {"delay"}},          {"timeout", {"timeout"}},
      {"reset_peer", {"timeout"}},        {"slicer", {"average_size", "size_variation", "delay"}},
      {"limit_data", {"bytes"}},
  };
  return kTypes;
}

// Attributes are milliseconds, bytes or KB/s; beyond this they overflow the arithmetic on
// them (a timeout of 2^63-1 ms wrapped and closed at once) and mean nothing anyway.
constexpr std::int64_t kMaxAttribute = 2147483647;

// A proxy or toxic name is a segment of the URLs that address it: one that holds '/' (or
// '%', '?', a space...) could be created but never reached again.
void check_name(const std::string& name, const std::string& field) {
  const bool ok = !name.empty() && name.size() <= 128 &&
                  std::all_of(name.begin(), name.end(),
                              [](char c) {
                                return std::isalnum(static_cast<unsigned char>(c)) || c == '-' ||
                                       c == '_' || c == '.';
                              }) &&
                  name != "." && name != "..";
  if (!ok)
    bad("bad request body: field '" + field +
        "' must be 1 to 128 letters, digits, '-', '_' or '.'");
}

void apply_fields(Toxic& t, const json& body, bool creating) {
  if (!body.is_object()) bad("bad request body: the body must be a JSON object");
  static const std::set<std::string> kKnown = {"name", "type", "stream", "toxicity", "attributes"};
  for (const auto& [key, value] : body.items())
    if (!kKnown.count(key)) bad("bad request body: unknown field '" + key + "'");
  if (body.contains("type")) {
    if (!creating && body["type"] != t.type) bad("bad request body: a toxic's type cannot change");
    if (!body["type"].is_string() || !toxic_types().count(body["type"].get<std::string>()))
      bad("invalid toxic type");
    t.type = body["type"];
  } else if (creating) {
    bad("invalid toxic type");
  }
  if (body.contains("stream")) {
    if (!body["stream"].is_string() ||
        (body["stream"] != "upstream" && body["stream"] != "downstream"))
      bad("stream was invalid, can be either upstream or downstream");
    t.stream = body["stream"];
  }
  if (body.contains("name")) {
    if (!body["name"].is_string()) bad("bad request body: field 'name' must be a string");
    if (!creating && body["name"] != t.name) bad("bad request body: a toxic's name cannot change");
    t.name = body["name"];
    check_name(t.name, "name");
  }
  if (t.name.empty()) t.name = t.type + "_" + t.stream;
  if (body.contains("toxicity")) {
    const json& v = body["toxicity"];
    if (!v.is_number()) bad("bad request body: field 'toxicity' must be a number");
    const double x = v.get<double>();
    if (x < 0 || x > 1) bad("bad request body: field 'toxicity' must be between 0 and 1");
    t.toxicity = x;
  }
  const auto& names = toxic_types().at(t.type);
  for (const auto& n : names)
    if (!t.attributes.contains(n)) t.attributes[n] = 0;
  if (body.contains("attributes")) {
    const json& a = body["attributes"];
    if (!a.is_object()) bad("bad request body: field 'attributes' must be an object");
    for (const auto& [key, value] : a.items()) {
      if (std::find(names.begin(), names.end(), key) == names.end())
        bad("bad request body: unknown attribute 'attributes." + key + "' for a " + t.type +
            " toxic");
      if (!value.is_number_integer() ||
          (value.is_number_unsigned() &&
           value.get<std::uint64_t>() > static_cast<std::uint64_t>(kMaxAttribute)) ||
          value.get<std::int64_t>() < 0 || value.get<std::int64_t>() > kMaxAttribute)
        bad("bad request body: attribute 'attributes." + key + "' must be an integer from 0 to " +
            std::to_string(kMaxAttribute));
      t.attributes[key] = value;
    }
  }
}

}  // namespace

json to_json(const Toxic& t) {
  return {{"name", t.name},
          {"type", t.type},
          {"stream", t.stream},
          {"toxicity", t.toxicity},
          {"attributes", t.attributes}};
}

json to_json(const ProxyInfo& p) {
  json toxics = json::array();
  for (const auto& t : p.toxics)
    toxics.push_back(to_json(t));
  return {{"name", p.name},
          {"listen", p.listen},
          {"upstream", p.upstream},
          {"enabled", p.enabled},
          {"toxics", toxics}};
}

Toxic parse_toxic(const json& body) {
  Toxic t;
  apply_fields(t, body, true);
  return t;
}

void patch_toxic(Toxic& toxic, const json& body) {
  apply_fields(toxic, body, false);
}

ProxyInfo parse_proxy(const json& body) {
  if (!body.is_object()) bad("bad request body: the body must be a JSON object");
  ProxyInfo p;
  for (const auto& [key, v] : body.items()) {
    if (key == "name" || key == "listen" || key == "upstream") {
      if (!v.is_string()) bad("bad request body: field '" + key + "' must be a string");
      (key == "name" ? p.name : key == "listen" ? p.listen : p.upstream) = v.get<std::string>();
    } else if (key == "enabled") {
      if (!v.is_boolean()) bad("bad request body: field 'enabled' must be a boolean");
      p.enabled = v.get<bool>();
    } else if (key != "toxics") {
      bad("bad request body: unknown field '" + key + "'");
    }
  }
  if (p.name.empty()) bad("missing required field: name");
  check_name(p.name, "name");
  if (p.upstream.empty()) bad("missing required field: upstream");
  if (p.listen.empty()) p.listen = "127.0.0.1:0";
  return p;
}

}  // namespace achilles::injector
