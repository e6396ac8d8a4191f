// `terraform show -json` (state or plan) into a topology: instances, auto-scaling groups,
// load balancers (and classic ELBs) and their targets, RDS and ElastiCache, placed in zones and
// regions; `depends_on` of compute on data stores and load balancers as inferred dependencies;
// entrypoints at the load balancers, or assumed at the roots when there is none.
// See docs/importers.md. Past 500 lines, not split: one class walks the document and builds
// the draft, and the links between resources need both halves.
#include <algorithm>
#include <charconv>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <span>
#include <unordered_map>
#include <unordered_set>

#include "document.h"
#include "import_common.h"
#include "scc.h"

namespace achilles::analyzer::detail {
namespace {

using nlohmann::json;

struct Resource {
  std::string address, type, id;
  const json* values;
  std::vector<std::string> depends_on;  // addresses, as in a state's `depends_on`
  std::string file, path;               // where it is: for messages
  const doc::Document* document;
};

std::string region_of(const std::string& zone) {
  std::string r = zone;
  while (!r.empty() && std::isalpha(static_cast<unsigned char>(r.back())))
    r.pop_back();
  return r.empty() ? zone : r;
}

std::string text(const json& v, const char* key) {
  auto it = v.find(key);
  return it != v.end() && it->is_string() ? it->get<std::string>() : std::string();
}

long number(const json& v, const char* key, long fallback) {
  auto it = v.find(key);
  return it != v.end() && it->is_number_integer() ? it->get<long>() : fallback;
}

std::vector<std::string> strings(const json& v, const char* key) {
  std::vector<std::string> out;
  auto it = v.find(key);
  if (it == v.end() || !it->is_array()) return out;
  for (const auto& x : *it)
    if (x.is_string()) out.push_back(x.get<std::string>());
  return out;
}

/// Every string under `v` whose key is `key`, at any depth (listener default actions nest).
void collect(const json& v, const std::string& key, std::vector<std::string>& out) {
  if (v.is_object()) {
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (it.key() == key && it->is_string()) out.push_back(it->get<std::string>());
      if (it.key() == key && it->is_array())
        for (const auto& x : *it)
          if (x.is_string()) out.push_back(x.get<std::string>());
      collect(*it, key, out);
    }
  } else if (v.is_array()) {
    for (const auto& x : v)
      collect(x, key, out);
  }
}

/// Every address a configuration block refers to (`references` lists), at any depth.
void references(const json& v, std::set<std::string>& out) {
  if (v.is_object()) {
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (it.key() == "references" && it->is_array()) {
        for (const auto& x : *it)
          if (x.is_string()) out.insert(x.get<std::string>());
      } else {
        references(*it, out);
      }
    }
  } else if (v.is_array()) {
    for (const auto& x : v)
      references(x, out);
  }
}

/// "aws_instance.web[0]" -> "aws_instance.web"
std::string base_address(const std::string& address) {
  return address.substr(0, address.find('['));
}

/// The address without any instance key: "module.a[0].aws_db_instance.db[\"x\"]" ->
/// "module.a.aws_db_instance.db", as `depends_on` and `references` name resources.
std::string config_address(const std::string& address) {
  std::string out;
  bool in_key = false, in_string = false;
  for (size_t i = 0; i < address.size(); ++i) {
    char c = address[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
    } else if (in_key) {
      if (c == '"') in_string = true;
      if (c == ']') in_key = false;
    } else if (c == '[') {
      in_key = true;
    } else {
      out += c;
    }
  }
  return out;
}

/// The resource types the importer reads; the others are counted in a note and never checked.
const std::set<std::string>& read_types() {
  static const std::set<std::string> types = {"aws_instance",
                                              "aws_lb",
                                              "aws_alb",
                                              "aws_elb",
                                              "aws_lb_target_group",
                                              "aws_alb_target_group",
                                              "aws_lb_listener",
                                              "aws_alb_listener",
                                              "aws_lb_target_group_attachment",
                                              "aws_alb_target_group_attachment",
                                              "aws_elb_attachment",
                                              "aws_autoscaling_group",
                                              "aws_autoscaling_attachment",
                                              "aws_db_instance",
                                              "aws_elasticache_replication_group",
                                              "aws_subnet"};
  return types;
}

class TerraformImporter {
 public:
  ImportResult run(const std::vector<ImportSource>& sources, const ImportOptions& options) {
    named_entrypoints_ = !options.entrypoints.empty();
    std::vector<json> docs(sources.size());
    documents_.resize(sources.size());
    for (size_t i = 0; i < sources.size(); ++i) {
      const auto& src = sources[i];
      // Checked and located by read_json first: nlohmann's own exceptions (1e309 is
      // out_of_range.406) never reach the user.
      std::vector<Diagnostic> found;
      auto value = doc::read_json_value(src.text, src.file, found, &documents_[i]);
      if (!value) {
        for (auto& d : found)
          problems_.add(d.file, d.pos, std::move(d.message));
        continue;
      }
      docs[i] = std::move(*value);
      document_ = &documents_[i];
      if (auto deep = too_deep(src.text); deep != std::string_view::npos) {
        problems_.add(src.file, doc::LineCounter(src.text).at(deep),
                      "JSON nested deeper than " + std::to_string(kMaxDepth) + " levels");
        continue;
      }
      read(src.file, docs[i]);
    }
    problems_.throw_if_any();
    build();
    problems_.throw_if_any();
    ImportResult r;
    r.topology = draft_.build("terraform", sources.size() == 1 ? sources[0].file : "");
    if (!skipped_.empty()) {
      std::string t = "terraform: skipped resource types it does not read:";
      bool first = true;
      for (const auto& [type, n] : skipped_) {
        t += (first ? " " : ", ") + type + " (" + std::to_string(n) + ")";
        first = false;
      }
      notes_.insert(notes_.begin(), t);
    }
    if (!renamed_.empty())
      notes_.push_back(
          list_note("terraform: addresses that make the same id got a suffix:", renamed_));
    if (!unknown_.empty())
      notes_.push_back(list_note(
          "terraform: resources whose values the plan leaves out (all unknown until apply), "
          "read with what the plan's changes and configuration say:",
          unknown_));
    r.notes = std::move(notes_);
    r.warnings = std::move(warnings_);
    return r;
  }

 private:
  /// Reports at the position of `path` (a JSON pointer) in the file being read.
  void error(const std::string& file, const std::string& path, const std::string& message) {
    problems_.add(file, position(document_, path), path + ": " + message);
  }

  /// Where the value at `path` is written, or where the deepest part of it that exists is.
  static SourcePos position(const doc::Document* document, std::string_view path) {
    if (!document || !document->root()) return {};
    doc::Value v = document->root();
    while (!path.empty()) {
      path.remove_prefix(1);  // the '/'
      std::string_view part = path.substr(0, path.find('/'));
      path.remove_prefix(part.size());
      doc::Value next;
      if (v.type() == doc::Type::kMap) {
        next = v.find(part);
      } else if (v.type() == doc::Type::kSequence) {
        size_t i = 0;
        auto [p, ec] = std::from_chars(part.data(), part.data() + part.size(), i);
        if (ec == std::errc() && p == part.data() + part.size() && i < v.size()) next = v.item(i);
      }
      if (!next) break;
      v = next;
    }
    return v.pos();
  }

  /// The offset of the first bracket nested deeper than kMaxDepth, or npos. The walks below
  /// recurse (modules, listener actions, configuration references).
  static size_t too_deep(std::string_view text) {
    size_t depth = 0;
    bool in_string = false;
    for (size_t i = 0; i < text.size(); ++i) {
      char c = text[i];
      if (in_string) {
        if (c == '\\')
          ++i;
        else if (c == '"')
          in_string = false;
      } else if (c == '"') {
        in_string = true;
      } else if (c == '[' || c == '{') {
        if (++depth > kMaxDepth) return i;
      } else if (c == ']' || c == '}') {
        --depth;
      }
    }
    return std::string_view::npos;
  }

  void read(const std::string& file, const json& root) {
    if (!root.is_object()) {
      error(file, "/", "must be an object (the output of terraform show -json)");
      return;
    }
    const char* top = root.contains("planned_values") ? "planned_values" : "values";
    auto it = root.find(top);
    if (it == root.end()) {
      error(file, "/",
            "has neither 'values' (a state) nor 'planned_values' (a plan): is it the output of "
            "terraform show -json?");
      return;
    }
    if (!it->is_object()) {
      error(file, std::string("/") + top, "must be an object");
      return;
    }
    // A plan leaves out a resource's `values` when none is known before apply; what its
    // change says (`after`, beside `after_unknown`) is read instead.
    changes_.clear();
    if (auto rc = root.find("resource_changes"); rc != root.end() && rc->is_array())
      for (const auto& c : *rc)
        if (c.is_object() && c.contains("address") && c["address"].is_string())
          if (auto ch = c.find("change"); ch != c.end() && ch->is_object())
            if (auto after = ch->find("after"); after != ch->end() && after->is_object())
              changes_[c["address"].get<std::string>()] = &*after;
    if (auto rm = it->find("root_module"); rm != it->end()) {
      std::string path = std::string("/") + top + "/root_module";
      module(file, *rm, path);
    }
    if (auto cfg = root.find("configuration"); cfg != root.end() && cfg->is_object())
      if (auto rm = cfg->find("root_module"); rm != cfg->end() && rm->is_object())
        if (auto rs = rm->find("resources"); rs != rm->end() && rs->is_array())
          for (const auto& r : *rs)
            if (r.is_object() && r.contains("address") && r["address"].is_string()) {
              auto& refs = config_refs_[r["address"].get<std::string>()];
              references(r.value("expressions", json::object()), refs);
              for (const auto& d : strings(r, "depends_on"))
                refs.insert(d);
            }
  }

  // `path` is extended and restored in place: a copy per level made the memory grow with
  // the square of the depth (8,000 levels of child_modules took 1 GB).
  void module(const std::string& file, const json& m, std::string& path) {
    if (!m.is_object()) {
      error(file, path, "must be an object");
      return;
    }
    if (auto rs = m.find("resources"); rs != m.end()) {
      if (!rs->is_array()) {
        error(file, path + "/resources", "must be a list");
      } else {
        for (size_t i = 0; i < rs->size(); ++i) {
          const json& r = (*rs)[i];
          auto p = [&] { return path + "/resources/" + std::to_string(i); };
          if (!r.is_object() || !r.contains("type") || !r["type"].is_string()) {
            error(file, p(), "a resource must be an object with 'address' and 'type'");
            continue;
          }
          if (auto mode = r.find("mode"); mode != r.end()) {
            if (!mode->is_string()) {
              error(file, p() + "/mode", "must be a string (managed or data)");
              continue;
            }
            if (mode->get<std::string>() != "managed") continue;
          }
          // A type the importer does not read is counted, never checked: whatever its
          // values hold, it cannot fail the import.
          std::string type = r["type"].get<std::string>();
          if (!read_types().count(type)) {
            ++skipped_[type];
            continue;
          }
          if (!r.contains("address") || !r["address"].is_string()) {
            error(file, p(), "a resource must be an object with 'address' and 'type'");
            continue;
          }
          std::string address = r["address"].get<std::string>();
          const json* values = nullptr;
          auto v = r.find("values");
          if (v == r.end() || v->is_null()) {
            auto change = changes_.find(address);
            values = change != changes_.end() ? change->second : &kUnknown;
            unknown_.push_back(address);
          } else if (!v->is_object()) {
            error(file, p() + "/values", "must be an object");
            continue;
          } else {
            values = &*v;
          }
          // Two addresses may make one id (`web[0]` and `web["0"]`): the second gets a suffix.
          std::string id = sanitize_id(address);
          if (!ids_.insert(id).second) {
            std::string base = id;
            // The last suffix given is kept per base, so many look-alikes stay linear.
            for (int& n = suffix_[base];
                 !ids_.insert(id = base + "-" + std::to_string(n = std::max(n, 1) + 1)).second;) {
            }
            renamed_.push_back(address + " is " + id);
          }
          resources_.push_back(
              {address, type, id, values, strings(r, "depends_on"), file, p(), document_});
        }
      }
    }
    if (auto cm = m.find("child_modules"); cm != m.end()) {
      if (!cm->is_array()) {
        error(file, path + "/child_modules", "must be a list");
        return;
      }
      for (size_t i = 0; i < cm->size(); ++i) {
        size_t length = path.size();
        path += "/child_modules/" + std::to_string(i);
        module(file, (*cm)[i], path);
        path.resize(length);
      }
    }
  }

  /// The zone domain (under its region), created on first use; "" for no zone.
  std::string zone(const std::string& z) {
    if (z.empty()) return "";
    std::string rid = sanitize_id(region_of(z));
    auto& r = draft_.get(ElementKind::kDomain, rid);
    r.type = "region";
    r.label("source", "terraform: availability zones");
    std::string zid = sanitize_id(z);
    if (zid == rid) return rid;
    auto& d = draft_.get(ElementKind::kDomain, zid);
    d.type = "zone";
    d.parent = rid;
    d.label("source", "terraform: availability_zone");
    return zid;
  }

  DraftElement& element(ElementKind kind, const Resource& r, const std::string& type) {
    auto& e = draft_.get(kind, r.id);
    e.type = type;
    e.label("source", "terraform:" + r.address);
    e.label("address", r.address);
    return e;
  }

  /// Resources this one refers to: by values (ARNs, ids) in a state, by the configuration's
  /// references in a plan, where values are not known yet.
  std::vector<const Resource*> linked(const Resource& r, const std::vector<std::string>& keys,
                                      const std::set<std::string>& types) {
    std::vector<const Resource*> out;
    std::vector<std::string> wanted;
    for (const auto& k : keys)
      collect(*r.values, k, wanted);
    for (const auto& other : resources_) {
      if (!types.count(other.type)) continue;
      std::string arn = text(*other.values, "arn"), id = text(*other.values, "id"),
                  name = text(*other.values, "name");
      for (const auto& w : wanted)
        if (!w.empty() && (w == arn || w == id || w == name)) {
          out.push_back(&other);
          break;
        }
    }
    if (!out.empty()) return out;
    auto refs = config_refs_.find(base_address(r.address));
    if (refs == config_refs_.end()) return out;
    for (const auto& other : resources_)
      if (types.count(other.type) && refs->second.count(base_address(other.address)))
        out.push_back(&other);
    return out;
  }

  void build() {
    static const std::set<std::string> kLbs = {"aws_lb", "aws_alb"};
    static const std::set<std::string> kTgs = {"aws_lb_target_group", "aws_alb_target_group"};
    static const std::set<std::string> kListeners = {"aws_lb_listener", "aws_alb_listener"};
    static const std::set<std::string> kTgAttach = {"aws_lb_target_group_attachment",
                                                    "aws_alb_target_group_attachment"};
    std::map<std::string, std::string> subnet_zone;
    for (const auto& r : resources_)
      if (r.type == "aws_subnet")
        subnet_zone[text(*r.values, "id")] = text(*r.values, "availability_zone");

    for (const auto& r : resources_) {
      const json& v = *r.values;
      if (r.type == "aws_subnet" || kListeners.count(r.type) || kTgAttach.count(r.type) ||
          r.type == "aws_autoscaling_attachment") {
        continue;  // read through the resources they link
      } else if (r.type == "aws_instance") {
        auto& c = element(ElementKind::kComponent, r, "host");
        c.domain = zone(text(v, "availability_zone"));
      } else if (kLbs.count(r.type) || r.type == "aws_elb") {
        auto& c = element(ElementKind::kComponent, r, "loadbalancer");
        c.label("note", "managed by AWS across the zones of its subnets");
        std::vector<std::string> zones = strings(v, "availability_zones");  // a classic ELB's
        for (const auto& s : strings(v, "subnets"))
          if (!subnet_zone[s].empty()) zones.push_back(subnet_zone[s]);
        if (!zones.empty()) {
          zone(zones[0]);
          c.domain = sanitize_id(region_of(zones[0]));
        }
        // Every load balancer is where someone comes in: an internal one too (callers inside
        // the network). Inferred: the state does not say who calls it.
        auto internal = v.find("internal");
        bool inside = internal != v.end() && internal->is_boolean() && internal->get<bool>();
        auto& e = draft_.get(ElementKind::kEntrypoint, draft_.fresh_id("entry:" + r.id));
        e.target = r.id;
        e.label("source", "terraform:" + r.address);
        e.label("inferred",
                std::string(r.type == "aws_elb" ? "a classic load balancer" : "a load balancer") +
                    (inside ? " marked internal: callers inside the network come in here"
                            : ": users come in here"));
        if (r.type == "aws_elb") {
          // A classic ELB sends to instances itself: a service of them, which it depends on.
          auto& b = draft_.get(ElementKind::kService, r.id + "-instances");
          b.type = "target_group";
          b.label("source", "terraform:" + r.address + " (its instances)");
          c.depend(b.id);
        }
      } else if (kTgs.count(r.type)) {
        element(ElementKind::kService, r, "target_group");
      } else if (r.type == "aws_autoscaling_group") {
        long n = instances(r, "desired_capacity", number(v, "min_size", 1));
        auto& s = element(ElementKind::kService, r, "autoscaling_group");
        std::vector<std::string> zones = strings(v, "availability_zones");
        if (zones.empty())
          for (const auto& subnet : strings(v, "vpc_zone_identifier"))
            if (!subnet_zone[subnet].empty()) zones.push_back(subnet_zone[subnet]);
        if (zones.empty())
          notes_.push_back("terraform: " + r.address +
                           ": zones unknown (no availability_zones, and no aws_subnet for its "
                           "vpc_zone_identifier): instances not placed");
        std::vector<std::string> members;
        for (long i = 0; i < n; ++i) {
          auto& c = draft_.get(ElementKind::kComponent, r.id + "-" + std::to_string(i));
          c.type = "instance";
          c.label("source", "terraform:" + r.address);
          if (!zones.empty()) c.domain = zone(zones[static_cast<size_t>(i) % zones.size()]);
          members.push_back(c.id);
        }
        s.members = members;
        s.label("placement", zones.empty() ? "zones unknown" : "round-robin over its zones");
      } else if (r.type == "aws_db_instance") {
        auto multi_az = v.find("multi_az");
        bool multi = multi_az != v.end() && multi_az->is_boolean() && multi_az->get<bool>();
        auto& s = element(ElementKind::kService, r, "database");
        auto& p = draft_.get(ElementKind::kComponent, r.id + "-primary");
        p.type = "database";
        p.label("source", "terraform:" + r.address);
        p.domain = zone(text(v, "availability_zone"));
        s.members = {p.id};
        if (multi) {
          auto& sb = draft_.get(ElementKind::kComponent, r.id + "-standby");
          sb.type = "database";
          sb.label("source", "terraform:" + r.address + " (multi_az standby, zone chosen by AWS)");
          if (!p.domain.empty()) sb.domain = sanitize_id(region_of(text(v, "availability_zone")));
          s.members.push_back(sb.id);
        }
        s.label("multi_az", multi ? "true" : "false");
      } else if (r.type == "aws_elasticache_replication_group") {
        long groups = std::clamp(number(v, "num_node_groups", 1), 0L, kMaxInstances);
        long replicas = std::clamp(number(v, "replicas_per_node_group", 0), 0L, kMaxInstances);
        long n = instances(
            r, v.contains("num_cache_clusters") ? "num_cache_clusters" : "number_cache_clusters",
            groups * (replicas + 1));
        auto& s = element(ElementKind::kService, r, "cache");
        auto zones = strings(v, "preferred_cache_cluster_azs");
        std::vector<std::string> members;
        for (long i = 0; i < std::max(1L, n); ++i) {
          auto& c = draft_.get(ElementKind::kComponent, r.id + "-" + std::to_string(i));
          c.type = "cache";
          c.label("source", "terraform:" + r.address);
          if (!zones.empty()) c.domain = zone(zones[static_cast<size_t>(i) % zones.size()]);
          members.push_back(c.id);
        }
        s.members = members;
        auto failover = v.find("automatic_failover_enabled");
        if (failover != v.end() && failover->is_boolean() && !failover->get<bool>() && n > 1) {
          s.label("automatic_failover", "false");
          notes_.push_back("terraform: " + r.address +
                           " has no automatic failover: its replicas do not take writes when "
                           "the primary fails");
        }
      }
    }

    // Links: listeners (load balancer -> target groups), attachments (target group members).
    for (const auto& r : resources_) {
      if (kListeners.count(r.type)) {
        auto lbs = linked(r, {"load_balancer_arn"}, kLbs);
        auto tgs = linked(r, {"target_group_arn", "arn"}, kTgs);
        for (const auto* lb : lbs)
          for (const auto* tg : tgs)
            draft_.find(lb->id)->depend(tg->id);
      } else if (kTgAttach.count(r.type)) {
        auto tgs = linked(r, {"target_group_arn"}, kTgs);
        auto targets = linked(r, {"target_id"}, {"aws_instance"});
        for (const auto* tg : tgs)
          for (const auto* t : targets)
            add_member(tg->id, t->id);
      } else if (r.type == "aws_autoscaling_group") {
        for (const auto* tg : linked(r, {"target_group_arns"}, kTgs))
          add_member(tg->id, r.id);
      } else if (r.type == "aws_autoscaling_attachment") {
        auto tgs = linked(r, {"lb_target_group_arn", "alb_target_group_arn"}, kTgs);
        auto asgs = linked(r, {"autoscaling_group_name"}, {"aws_autoscaling_group"});
        for (const auto* tg : tgs)
          for (const auto* a : asgs)
            add_member(tg->id, a->id);
        for (const auto* elb : linked(r, {"elb"}, {"aws_elb"}))
          for (const auto* a : asgs)
            add_member(elb->id + "-instances", a->id);
      } else if (r.type == "aws_elb") {
        for (const auto* i : linked(r, {"instances"}, {"aws_instance"}))
          add_member(r.id + "-instances", i->id);
      } else if (r.type == "aws_elb_attachment") {
        auto targets = linked(r, {"instance"}, {"aws_instance"});
        for (const auto* elb : linked(r, {"elb"}, {"aws_elb"}))
          for (const auto* t : targets)
            add_member(elb->id + "-instances", t->id);
      }
      if (r.type == "aws_autoscaling_group")
        for (const auto* elb : linked(r, {"load_balancers"}, {"aws_elb"}))
          add_member(elb->id + "-instances", r.id);
    }
    // A target group is served by its members; a load balancer with no listener found that is
    // the only one sends to every target group.
    std::vector<const Resource*> lbs, tgs;
    for (const auto& r : resources_) {
      if (kLbs.count(r.type)) lbs.push_back(&r);
      if (kTgs.count(r.type)) tgs.push_back(&r);
    }
    for (const auto* tg : tgs) {
      auto* s = draft_.find(tg->id);
      if (s->members.empty())
        notes_.push_back("terraform: " + tg->address + " has no targets found: left out");
    }
    for (const auto& r : resources_)
      if (r.type == "aws_elb" && draft_.find(r.id + "-instances")->members.empty())
        notes_.push_back("terraform: " + r.address +
                         " has no instances or auto-scaling groups found behind it");
    if (lbs.size() == 1 && draft_.find(lbs[0]->id)->depends_on.empty() && !tgs.empty()) {
      for (const auto* tg : tgs)
        draft_.find(lbs[0]->id)->depend(tg->id);
      notes_.push_back("terraform: no listener links " + lbs[0]->address +
                       " to a target group: assumed to send to every target group");
    }
    infer_dependencies();
    assume_entrypoints();
  }

  /// `head` and the first 50 items: an estate of 100,000 resources is no 100,000-item note.
  static std::string list_note(std::string head, const std::vector<std::string>& items) {
    constexpr size_t kListed = 50;
    for (size_t i = 0; i < items.size() && i < kListed; ++i)
      head += (i ? ", " : " ") + items[i];
    if (items.size() > kListed) head += " and " + std::to_string(items.size() - kListed) + " more";
    return head;
  }

  /// The most elements the loop checks of infer_dependencies visit in all. Only candidates
  /// inside one strongly connected component need a walk, and a walk stays inside its
  /// component; a ring of thousands of instances would still make them quadratic, so past
  /// this the candidates left in loops are not taken, and a note says so.
  static constexpr size_t kLoopCheckVisits = 20'000'000;

  /// `depends_on` in a state (which Terraform fills from explicit `depends_on` and from the
  /// references in the configuration), and in a plan the configuration's references: an
  /// instance or auto-scaling group that depends on a database, a cache, a load balancer or
  /// another instance is taken to call it. Inferred, so labelled and noted; an edge that
  /// would close a loop (an ASG that names the ELB in front of it) is not one: the edges are
  /// taken in order, and one is not taken when its callee reaches its caller through the
  /// dependencies and members so far (those taken before it included); a note lists them.
  ///
  /// Near-linear: the candidate edges are collected first, the ids numbered, and the strongly
  /// connected components computed once over the draft's edges plus every candidate. A
  /// candidate between two components can close no loop, whatever is taken; only one inside a
  /// component is checked, by a walk that stays in the component (every element on a path
  /// from its callee back to its caller is in it), with a shared visited stamp.
  void infer_dependencies() {
    static const std::set<std::string> kCallers = {"aws_instance", "aws_autoscaling_group"};
    static const std::set<std::string> kCallees = {
        "aws_db_instance", "aws_elasticache_replication_group", "aws_lb", "aws_alb", "aws_elb",
        "aws_instance"};
    std::map<std::string, std::set<std::string>> callees_by_address;  // config address -> ids
    for (const auto& r : resources_)
      if (kCallees.count(r.type)) callees_by_address[config_address(r.address)].insert(r.id);
    struct Candidate {
      std::string target, where;
    };
    std::vector<std::vector<Candidate>> candidates(resources_.size());  // by resource
    std::vector<std::string> found, unsure, loops, unchecked;
    std::set<std::string> unsure_seen;
    for (size_t ri = 0; ri < resources_.size(); ++ri) {
      const Resource& r = resources_[ri];
      if (!kCallers.count(r.type) || !draft_.find(r.id)) continue;
      std::vector<std::pair<std::string, std::string>> wanted;  // address, where it was read
      for (const auto& d : r.depends_on)
        wanted.emplace_back(d, "depends_on");
      if (auto refs = config_refs_.find(base_address(r.address)); refs != config_refs_.end())
        for (const auto& d : refs->second)
          wanted.emplace_back(d, "configuration");
      std::set<std::string> named;  // callees already candidates of this caller
      for (const auto& [address, where] : wanted) {
        auto it = callees_by_address.find(address);
        if (it == callees_by_address.end()) continue;
        // Several instances of one address (`count`): which of them is called, and whether
        // any one would do, is not in Terraform; a hard dependency on each would overstate.
        if (it->second.size() > 1) {
          std::string item =
              r.id + " -> " + address + " (" + std::to_string(it->second.size()) + ")";
          if (unsure_seen.insert(item).second) unsure.push_back(item);
          continue;
        }
        for (const auto& target : it->second)
          if (target != r.id && draft_.find(target) && named.insert(target).second)
            candidates[ri].push_back({target, where});
      }
    }

    // Every element a walk from a candidate's callee can reach, numbered; its arcs (the
    // dependencies and members in the draft), and apart the candidates' arcs.
    std::unordered_map<std::string, uint32_t> number;
    std::vector<const DraftElement*> element;
    auto number_of = [&](const std::string& id) {
      auto [it, fresh] = number.try_emplace(id, static_cast<uint32_t>(element.size()));
      if (fresh) element.push_back(draft_.find(id));
      return it->second;
    };
    for (size_t ri = 0; ri < resources_.size(); ++ri)
      for (const auto& c : candidates[ri]) {
        number_of(resources_[ri].id);
        number_of(c.target);
      }
    std::vector<std::vector<uint32_t>> arcs;
    for (size_t x = 0; x < element.size(); ++x) {
      std::vector<uint32_t> out;
      if (const DraftElement* e = element[x]) {
        for (const auto& d : e->depends_on)
          out.push_back(number_of(d.target));
        for (const auto& m : e->members)
          out.push_back(number_of(m));
      }
      arcs.push_back(std::move(out));
    }
    const size_t n = element.size();
    std::vector<std::vector<uint32_t>> candidate_arcs(n);
    for (size_t ri = 0; ri < resources_.size(); ++ri)
      for (const auto& c : candidates[ri])
        candidate_arcs[number.at(resources_[ri].id)].push_back(number.at(c.target));
    std::vector<uint32_t> component(n);
    uint32_t components = 0;
    strong_components(
        n, AllElements{n}, [&](ElementId x) { return arcs[x].size() + candidate_arcs[x].size(); },
        [&](ElementId x, size_t i) {
          return i < arcs[x].size() ? arcs[x][i] : candidate_arcs[x][i - arcs[x].size()];
        },
        [&](std::span<const ElementId> group) {
          for (ElementId x : group)
            component[x] = components;
          ++components;
        });

    // True when `to` is reached from `from` through the arcs so far, inside their component;
    // nullopt once the visits of all the checks pass kLoopCheckVisits.
    std::vector<uint32_t> stamp(n, 0);
    uint32_t round = 0;
    size_t visits = 0;
    std::vector<uint32_t> todo;
    auto reaches = [&](uint32_t from, uint32_t to) -> std::optional<bool> {
      ++round;
      stamp[from] = round;
      todo.assign(1, from);
      while (!todo.empty()) {
        uint32_t x = todo.back();
        todo.pop_back();
        if (x == to) return true;
        if (++visits > kLoopCheckVisits) return std::nullopt;
        for (uint32_t y : arcs[x])
          if (stamp[y] != round && component[y] == component[to]) {
            stamp[y] = round;
            todo.push_back(y);
          }
      }
      return false;
    };

    for (size_t ri = 0; ri < resources_.size(); ++ri) {
      if (candidates[ri].empty()) continue;
      const Resource& r = resources_[ri];
      DraftElement* from = draft_.find(r.id);
      std::unordered_set<std::string> taken;
      for (const auto& d : from->depends_on)
        taken.insert(d.target);
      const uint32_t caller = number.at(r.id);
      std::vector<std::string> labels;
      for (const auto& [target, where] : candidates[ri]) {
        if (taken.count(target)) continue;
        const uint32_t callee = number.at(target);
        if (component[callee] == component[caller]) {
          std::optional<bool> loop =
              visits > kLoopCheckVisits ? std::nullopt : reaches(callee, caller);
          if (!loop) {
            unchecked.push_back(r.id + " -> " + target);
            continue;
          }
          if (*loop) {
            loops.push_back(r.id + " -> " + target);
            continue;
          }
        }
        // Not through depend(): `taken` has already told it is new, and a caller of
        // thousands would make depend's look for it quadratic.
        from->depends_on.push_back({target, DepMode::kHard});
        taken.insert(target);
        arcs[caller].push_back(callee);
        labels.push_back(target + " (" + where + ")");
        found.push_back(r.id + " -> " + target);
      }
      if (!labels.empty()) {
        std::string list;
        for (const auto& l : labels)
          list += (list.empty() ? "" : ", ") + l;
        from->label("inferred_dependencies", list);
      }
    }
    if (!found.empty())
      notes_.push_back(list_note(
          "terraform: dependencies inferred from depends_on and the configuration's references "
          "(Terraform's order of creation, usually a call: check them):",
          found));
    if (!loops.empty())
      notes_.push_back(list_note(
          "terraform: depends_on that would close a loop not taken (the callee already reaches "
          "the caller, as a load balancer in front of it does):",
          loops));
    if (!unchecked.empty())
      notes_.push_back(list_note(
          "terraform: depends_on inside loops not taken, unchecked (checking whether each "
          "would close a loop took more than " +
              std::to_string(kLoopCheckVisits) +
              " steps: add the dependency by hand if it is a call):",
          unchecked));
    if (!unsure.empty())
      notes_.push_back(list_note(
          "terraform: depends_on a group of instances not taken (which of them is called, and "
          "whether one is enough, is not in Terraform: add the dependency by hand):",
          unsure));
  }

  /// Without a load balancer the state does not say where users come in. Rather than a
  /// topology on which analyze finds nothing, the resources nothing depends on (and that are
  /// no member of a group) are taken as entrypoints, each labelled inferred, with a warning:
  /// a single-AZ database or an auto-scaling group of one is then still found.
  void assume_entrypoints() {
    if (named_entrypoints_) return;
    for (const auto& r : resources_)
      if (kLoadBalancers.count(r.type)) return;
    std::vector<const Resource*> candidates;
    for (const auto& r : resources_)
      if (const DraftElement* e = draft_.find(r.id);
          e && (e->kind == ElementKind::kComponent || e->kind == ElementKind::kService))
        candidates.push_back(&r);
    std::set<std::string> used;
    for (const auto* r : candidates) {
      const DraftElement* e = draft_.find(r->id);
      for (const auto& d : e->depends_on)
        used.insert(d.target);
      used.insert(e->members.begin(), e->members.end());
    }
    std::string list;
    for (const auto* r : candidates) {
      const DraftElement* e = draft_.find(r->id);
      if (used.count(r->id) || (e->kind == ElementKind::kService && e->members.empty())) continue;
      auto& entry = draft_.get(ElementKind::kEntrypoint, draft_.fresh_id("entry:" + r->id));
      entry.target = r->id;
      entry.label("source", "terraform:" + r->address);
      entry.label("inferred", "no load balancer in the input, and nothing in it depends on " +
                                  r->address + ": assumed to be called directly");
      list += (list.empty() ? "" : ", ") + entry.id;
    }
    if (!list.empty())
      warnings_.push_back(
          "terraform: no load balancer (aws_lb, aws_alb, aws_elb) to take as an entrypoint: "
          "entrypoints were assumed at the resources nothing depends on (" +
          list +
          "), labelled inferred; their findings hold for callers that reach them directly: "
          "name the real entrypoints with --entrypoint ID");
  }

  /// The count of instances in `key` of r's values (`fallback` without it); more than
  /// kMaxInstances is an error (each becomes a component) and counts as none.
  long instances(const Resource& r, const char* key, long fallback) {
    long n = number(*r.values, key, fallback);
    if (n <= kMaxInstances) return n;
    bool written = r.values->contains(key);
    std::string path = r.path + "/values" + (written ? "/" + std::string(key) : "");
    problems_.add(r.file, position(r.document, path),
                  path + ": " + std::to_string(n) + " instances is more than " +
                      std::to_string(kMaxInstances) + " (each becomes a component)");
    return 0;
  }

  void add_member(const std::string& service, const std::string& member) {
    auto* s = draft_.find(service);
    if (std::find(s->members.begin(), s->members.end(), member) == s->members.end())
      s->members.push_back(member);
  }

  static inline const json kUnknown = json::object();
  static inline const std::set<std::string> kLoadBalancers = {"aws_lb", "aws_alb", "aws_elb"};
  static constexpr size_t kMaxDepth = 256;
  static constexpr long kMaxInstances = kMaxReplicas;

  std::vector<doc::Document> documents_;
  const doc::Document* document_ = nullptr;  // of the file being read
  Problems problems_;
  std::vector<std::string> notes_;
  std::map<std::string, int> skipped_;
  std::vector<Resource> resources_;
  std::map<std::string, std::set<std::string>> config_refs_;
  std::map<std::string, const json*> changes_;  // a plan's `after` by address
  std::vector<std::string> unknown_;            // addresses read without values
  std::vector<std::string> renamed_;            // "ADDRESS is ID", for ids made twice
  std::set<std::string> ids_;
  std::map<std::string, int> suffix_;
  std::vector<std::string> warnings_;
  bool named_entrypoints_ = false;
  Draft draft_;
};

}  // namespace

ImportResult import_terraform(const std::vector<ImportSource>& sources,
                              const ImportOptions& options) {
  return TerraformImporter().run(sources, options);
}

}  // namespace achilles::analyzer::detail
