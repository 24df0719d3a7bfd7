#include "daemon/config.h"

#include <toml++/toml.h>

#include <cstdlib>
#include <map>
#include <set>

#include "core/util/fd.h"

namespace gongshu::daemon {

std::string DaemonConfig::daemon_key_path() const {
  return daemon_key.empty() ? state_dir + "/daemon.key" : daemon_key;
}

std::string DaemonConfig::master_key_path() const {
  if (!master_key.empty()) return master_key;
  if (const char* creds = std::getenv("CREDENTIALS_DIRECTORY"); creds && *creds) {
    return std::string(creds) + "/master.key";
  }
  return state_dir + "/master.key";
}

Result<DaemonConfig> parse_config(std::string_view text, const std::string& name) {
  toml::table root;
  try {
    root = toml::parse(text, name);
  } catch (const toml::parse_error& e) {
    return fail(ErrorCode::kInvalidArgument, name + ":" + std::to_string(e.source().begin.line) +
                                                 ": " + std::string(e.description()));
  }
  DaemonConfig c;
  std::string error;
  auto at = [&](const toml::node& n) {
    return name + ":" + std::to_string(n.source().begin.line) + ": ";
  };
  auto str = [&](const char* section, const char* key, std::string* out) {
    const toml::node* n = root.at_path(std::string(section) + "." + key).node();
    if (!n) return;
    if (auto v = n->value<std::string>())
      *out = *v;
    else if (error.empty())
      error = at(*n) + section + "." + key + " must be a string";
  };
  auto num = [&](const char* section, const char* key, auto* out, int64_t min, int64_t max) {
    const toml::node* n = root.at_path(std::string(section) + "." + key).node();
    if (!n) return;
    // Integers only: toml++'s value<int64_t>() would also take true as 1 and 4.0 as 4, and casts
    // a float such as 1e30 to int64_t before it checks the range (undefined behaviour; found by
    // fuzz/daemon_config_fuzz.cc).
    const toml::value<int64_t>* i = n->as_integer();
    const std::optional<int64_t> v = i ? std::optional<int64_t>(i->get()) : std::nullopt;
    if (!v || *v < min || *v > max) {
      if (error.empty())
        error = at(*n) + section + "." + key + " must be an integer in " + std::to_string(min) +
                ".." + std::to_string(max);
      return;
    }
    *out = static_cast<std::remove_pointer_t<decltype(out)>>(*v);
  };
  // Unknown keys are mistakes (a typo would silently keep a default).
  static const std::map<std::string, std::set<std::string>> known = {
      {"daemon", {"state_dir", "daemon_key", "master_key", "audit_origin"}},
      {"ingest",
       {"endpoint", "advertise", "workers", "max_group", "worker_nice", "max_queue_per_agent",
        "max_group_records", "waste_burst", "waste_per_minute", "audited_refusals_per_minute",
        "quarantine_after", "quarantine_s"}},
      {"api",
       {"endpoint", "unknown_keys_per_minute", "unknown_keys_per_address_per_minute",
        "max_pending_applications_per_applicant", "max_pending_applications"}},
      {"policy", {"dir"}},
      {"alerts", {"notify_command", "notify_timeout_ms"}},
      {"catalog", {"city_region"}},
      {"drill", {"allowed"}},
      {"limits",
       {"max_batch_bytes", "max_records_per_batch", "max_record_bytes", "map_size_mb",
        "max_aggregate_groups"}},
      {"cluster",
       {"enabled", "name", "node", "etcd", "lease_ttl_s", "margin_ms", "advertise_api",
        "replication_endpoint", "advertise_replication", "sync_count", "node_key", "members",
        "changelog_max_entries", "changelog_max_mb", "reseed_key", "sync_timeout_ms",
        "api_sync_wait_ms"}}};
  for (const auto& [section, node] : root) {
    auto ks = known.find(std::string(section.str()));
    if (ks == known.end() || !node.is_table()) {
      return fail(ErrorCode::kInvalidArgument,
                  at(node) + "unknown section [" + std::string(section.str()) + "]");
    }
    for (const auto& [key, value] : *node.as_table()) {
      if (!ks->second.count(std::string(key.str()))) {
        return fail(
            ErrorCode::kInvalidArgument,
            at(value) + "unknown key " + std::string(section.str()) + "." + std::string(key.str()));
      }
    }
  }
  str("daemon", "state_dir", &c.state_dir);
  str("daemon", "daemon_key", &c.daemon_key);
  str("daemon", "master_key", &c.master_key);
  str("daemon", "audit_origin", &c.audit_origin);
  str("ingest", "endpoint", &c.ingest_endpoint);
  str("ingest", "advertise", &c.advertise_ingest);
  num("ingest", "workers", &c.workers, 1, 64);
  num("ingest", "max_group", &c.max_group, 1, 4096);
  num("ingest", "worker_nice", &c.worker_nice, 0, 19);
  num("ingest", "max_queue_per_agent", &c.ingest_limits.max_queue_per_agent, 1, 4096);
  num("ingest", "max_group_records", &c.ingest_limits.max_group_records, 1, 10'000'000);
  num("ingest", "waste_burst", &c.ingest_limits.waste_burst, 1, 1'000'000);
  num("ingest", "waste_per_minute", &c.ingest_limits.waste_per_minute, 1, 1'000'000);
  num("ingest", "audited_refusals_per_minute", &c.ingest_limits.audited_refusals_per_minute, 0,
      1000);
  num("ingest", "quarantine_after", &c.ingest_limits.quarantine_after, 1, 1'000'000);
  num("ingest", "quarantine_s", &c.ingest_limits.quarantine_s, 1, 86'400);
  str("api", "endpoint", &c.api_endpoint);
  num("api", "unknown_keys_per_minute", &c.api_limits.unknown_keys_per_minute, 1, 1'000'000);
  num("api", "unknown_keys_per_address_per_minute",
      &c.api_limits.unknown_keys_per_address_per_minute, 1, 1'000'000);
  num("api", "max_pending_applications_per_applicant",
      &c.api_limits.max_pending_applications_per_applicant, 1, 10'000);
  num("api", "max_pending_applications", &c.api_limits.max_pending_applications, 1, 1'000'000);
  str("policy", "dir", &c.policy_dir);
  str("alerts", "notify_command", &c.alerts.notify_command);
  num("alerts", "notify_timeout_ms", &c.alerts.notify_timeout_ms, 100, 600'000);
  str("catalog", "city_region", &c.city_region);
  num("limits", "max_batch_bytes", &c.max_batch_bytes, 1024, int64_t(1) << 30);
  num("limits", "max_records_per_batch", &c.max_records_per_batch, 1, 1000000);
  num("limits", "max_record_bytes", &c.max_record_bytes, 64, 16 << 20);
  num("limits", "map_size_mb", &c.map_size_mb, 1, 1 << 22);
  num("limits", "max_aggregate_groups", &c.max_aggregate_groups, 1, 100'000'000);
  if (const toml::node* n = root.at_path("drill.allowed").node()) {
    if (auto v = n->value<bool>(); v && n->is_boolean())
      c.drill_allowed = *v;
    else if (error.empty())
      error = at(*n) + "drill.allowed must be true or false";
  }
  if (const toml::node* n = root.at_path("cluster.enabled").node()) {
    if (auto v = n->value<bool>(); v && n->is_boolean())
      c.cluster.enabled = *v;
    else if (error.empty())
      error = at(*n) + "cluster.enabled must be true or false";
  }
  str("cluster", "name", &c.cluster.name);
  str("cluster", "node", &c.cluster.node);
  if (const toml::node* n = root.at_path("cluster.etcd").node()) {
    const toml::array* a = n->as_array();
    if (!a && error.empty()) error = at(*n) + "cluster.etcd must be a list of etcd client URLs";
    if (a) {
      for (const toml::node& e : *a) {
        auto v = e.value<std::string>();
        if (!v || !e.is_string()) {
          if (error.empty()) error = at(e) + "cluster.etcd must be a list of strings";
          break;
        }
        c.cluster.etcd.push_back(*v);
      }
    }
  }
  num("cluster", "lease_ttl_s", &c.cluster.lease_ttl_s, 2, 600);
  num("cluster", "margin_ms", &c.cluster.margin_ms, 100, 60'000);
  str("cluster", "advertise_api", &c.cluster.advertise_api);
  str("cluster", "replication_endpoint", &c.cluster.replication_endpoint);
  str("cluster", "advertise_replication", &c.cluster.advertise_replication);
  num("cluster", "sync_count", &c.cluster.sync_count, 0, 16);
  num("cluster", "sync_timeout_ms", &c.cluster.sync_timeout_ms, 200, 60'000);
  // Below gongshuctl's 30 s default --timeout, so the caller hears why rather than timing out.
  num("cluster", "api_sync_wait_ms", &c.cluster.api_sync_wait_ms, 200, 25'000);
  str("cluster", "node_key", &c.cluster.node_key);
  num("cluster", "changelog_max_entries", &c.cluster.changelog_max_entries, 2, 1'000'000'000);
  num("cluster", "changelog_max_mb", &c.cluster.changelog_max_mb, 1, 1 << 24);
  str("cluster", "reseed_key", &c.cluster.reseed_key);
  if (const toml::node* n = root.at_path("cluster.members").node()) {
    const toml::table* t = n->as_table();
    if (!t && error.empty())
      error = at(*n) + "cluster.members must be a table: node = \"<public key hex>\"";
    auto hex64 = [](const std::string& k) {
      return k.size() == 64 && k.find_first_not_of("0123456789abcdef") == std::string::npos;
    };
    for (const auto& [id, v] : t ? *t : toml::table{}) {
      ClusterConfig::Member m;
      if (auto k = v.value<std::string>(); k && v.is_string()) {
        m.key = *k;
      } else if (const toml::table* mt = v.as_table()) {
        m.key = mt->get("key") ? mt->get("key")->value_or(std::string()) : std::string();
        m.replication = mt->get("replication") ? mt->get("replication")->value_or(std::string())
                                               : std::string();
      }
      if (!hex64(m.key)) {
        if (error.empty())
          error = at(*n) + "cluster.members." + std::string(id.str()) +
                  ": the node's public key must be 64 lowercase hex characters";
        break;
      }
      c.cluster.members[std::string(id.str())] = std::move(m);
    }
  }
  if (!error.empty()) return fail(ErrorCode::kInvalidArgument, error);
  // A [cluster] section is the replicated mode unless it says enabled = false.
  if (root.contains("cluster") && !root.at_path("cluster.enabled").node()) c.cluster.enabled = true;
  if (c.cluster.enabled) {
    if (c.cluster.name.empty() || c.cluster.node.empty() || c.cluster.etcd.empty())
      return fail(ErrorCode::kInvalidArgument,
                  name + ": [cluster] needs name, node and etcd (the etcd client URLs)");
    if (c.cluster.margin_ms >= c.cluster.lease_ttl_s * 1000)
      return fail(ErrorCode::kInvalidArgument,
                  name + ": cluster.margin_ms must be below cluster.lease_ttl_s");
    // A write must outlast the replacement of a stalled synchronous member (docs/replication.md
    // §11): with the wait shorter, every api write fails while one member stalls.
    if (c.cluster.api_sync_wait_ms <= c.cluster.sync_timeout_ms)
      return fail(ErrorCode::kInvalidArgument,
                  name + ": cluster.api_sync_wait_ms (" +
                      std::to_string(c.cluster.api_sync_wait_ms) +
                      ") must be above cluster.sync_timeout_ms (" +
                      std::to_string(c.cluster.sync_timeout_ms) +
                      "): an api write must outlast the replacement of a stalled sync member");
    if (!c.cluster.node_key.empty() &&
        (!c.cluster.members.count(c.cluster.node) || c.cluster.replication_endpoint.empty()))
      return fail(ErrorCode::kInvalidArgument,
                  name +
                      ": cluster.node_key needs cluster.members (this node included) and "
                      "cluster.replication_endpoint");
  }
  if (c.city_region.size() != 6 ||
      c.city_region.find_first_not_of("0123456789") != std::string::npos) {
    return fail(
        ErrorCode::kInvalidArgument,
        name + ": catalog.city_region must be a 6-digit region code, not '" + c.city_region + "'");
  }
  if (c.state_dir.empty())
    return fail(ErrorCode::kInvalidArgument, name + ": daemon.state_dir is empty");
  return c;
}

Result<DaemonConfig> load_config(const std::string& path) {
  GONGSHU_TRY(Bytes text, read_file(path, 1 << 20));
  return parse_config(as_chars(text), path);
}

}  // namespace gongshu::daemon
