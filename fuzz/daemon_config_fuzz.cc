// gongshud's configuration file (daemon/config.h): TOML an operator writes, and re-read on every
// reload. A file that is refused names the file; a configuration that loads holds what the
// daemon relies on without checking again: a state directory, limits within their documented
// ranges, a 6-digit city region, and a [cluster] that is whole when enabled.
#include "daemon/config.h"
#include "fuzz/fuzz_support.h"

using namespace gongshu;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string kName = "/etc/gongshu/gongshud.toml";
  auto config = daemon::parse_config(fuzz::text(data, size), kName);
  if (!config) {
    GONGSHU_FUZZ_CHECK(config.error().message().starts_with(kName),
                       "a refusal that does not name the file");
    return 0;
  }
  const daemon::DaemonConfig& c = *config;
  GONGSHU_FUZZ_CHECK(!c.state_dir.empty(), "a configuration without a state directory");
  GONGSHU_FUZZ_CHECK(c.workers >= 1 && c.workers <= 64, "ingest.workers out of range");
  GONGSHU_FUZZ_CHECK(c.max_group >= 1 && c.max_group <= 4096, "ingest.max_group out of range");
  GONGSHU_FUZZ_CHECK(c.worker_nice <= 19, "ingest.worker_nice out of range");
  GONGSHU_FUZZ_CHECK(c.ingest_limits.max_queue_per_agent >= 1 && c.ingest_limits.waste_burst >= 1 &&
                         c.ingest_limits.waste_per_minute >= 1 &&
                         c.ingest_limits.quarantine_after >= 1 && c.ingest_limits.quarantine_s >= 1,
                     "an ingest limit of zero");
  GONGSHU_FUZZ_CHECK(c.api_limits.unknown_keys_per_minute >= 1 &&
                         c.api_limits.unknown_keys_per_address_per_minute >= 1 &&
                         c.api_limits.max_pending_applications_per_applicant >= 1 &&
                         c.api_limits.max_pending_applications >= 1,
                     "an api limit of zero");
  GONGSHU_FUZZ_CHECK(c.alerts.notify_timeout_ms >= 100 && c.alerts.notify_timeout_ms <= 600'000,
                     "alerts.notify_timeout_ms out of range");
  GONGSHU_FUZZ_CHECK(c.max_batch_bytes >= 1024 && c.max_batch_bytes <= (size_t{1} << 30),
                     "limits.max_batch_bytes out of range");
  GONGSHU_FUZZ_CHECK(c.max_records_per_batch >= 1 && c.max_record_bytes >= 64 &&
                         c.map_size_mb >= 1 && c.max_aggregate_groups >= 1,
                     "a limit of zero");
  GONGSHU_FUZZ_CHECK(c.city_region.size() == 6 &&
                         c.city_region.find_first_not_of("0123456789") == std::string::npos,
                     "catalog.city_region not 6 digits");
  if (c.cluster.enabled) {
    GONGSHU_FUZZ_CHECK(
        !c.cluster.name.empty() && !c.cluster.node.empty() && !c.cluster.etcd.empty(),
        "an enabled [cluster] without name, node or etcd");
    GONGSHU_FUZZ_CHECK(c.cluster.lease_ttl_s >= 2 && c.cluster.lease_ttl_s <= 600 &&
                           c.cluster.margin_ms >= 100 &&
                           c.cluster.margin_ms < c.cluster.lease_ttl_s * 1000,
                       "cluster.margin_ms not below the lease");
    if (c.cluster.replicated()) {
      GONGSHU_FUZZ_CHECK(
          c.cluster.members.count(c.cluster.node) == 1 && !c.cluster.replication_endpoint.empty(),
          "the data path on without this node among the members");
    }
  }
  for (const auto& [id, member] : c.cluster.members) {
    GONGSHU_FUZZ_CHECK(member.key.size() == 64 &&
                           member.key.find_first_not_of("0123456789abcdef") == std::string::npos,
                       "a member whose key is not 64 lowercase hex");
  }
  return 0;
}
