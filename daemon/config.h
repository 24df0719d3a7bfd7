// DaemonConfig: gongshud's TOML configuration (`gongshud run --config FILE`). Every key has a
// default, so an empty file runs a daemon on the loopback interface with its state in
// state_dir. Errors name the file, the line and the reason.
//
//   [daemon]
//   state_dir = "/var/lib/gongshud"
//   daemon_key = ""             # default <state_dir>/daemon.key
//   master_key = ""             # default $CREDENTIALS_DIRECTORY/master.key, else
//                               #   <state_dir>/master.key
//   audit_origin = "gongshu/audit"  # only for a new store; an existing one keeps its own
//   [ingest]
//   endpoint = "tcp://127.0.0.1:7400"
//   advertise = ""              # told to agents at enrollment; default: the bound endpoint
//   workers = 2
//   max_group = 64              # batches per commit
//   worker_nice = 10            # workers' nice above the daemon's: the writer runs first
//   [api]
//   endpoint = "tcp://127.0.0.1:7401"
//   [policy]
//   dir = "/etc/gongshu/policies/policy"   # the access policy (docs/policy.md); SIGHUP reloads
//   [limits]
//   max_batch_bytes = 33554432
//   max_records_per_batch = 10000
//   max_record_bytes = 65536
//   map_size_mb = 1024
#pragma once

#include <string>

#include "core/util/error.h"

namespace gongshu::daemon {

struct DaemonConfig {
  std::string state_dir = "/var/lib/gongshud";
  std::string daemon_key;
  std::string master_key;
  std::string audit_origin = "gongshu/audit";
  std::string ingest_endpoint = "tcp://127.0.0.1:7400";
  std::string advertise_ingest;
  unsigned workers = 2;
  size_t max_group = 64;
  unsigned worker_nice = 10;
  std::string api_endpoint = "tcp://127.0.0.1:7401";
  std::string policy_dir = "/etc/gongshu/policies/policy";
  size_t max_batch_bytes = 32 << 20;
  size_t max_records_per_batch = 10000;
  size_t max_record_bytes = 64 << 10;
  size_t map_size_mb = 1024;
  // Distinct groups one aggregate may build before it is refused (memory, not privacy: small
  // groups are suppressed by the policy's k_threshold either way).
  size_t max_aggregate_groups = 100'000;

  std::string daemon_key_path() const;
  std::string master_key_path() const;  // honours $CREDENTIALS_DIRECTORY
};

Result<DaemonConfig> load_config(const std::string& path);
Result<DaemonConfig> parse_config(std::string_view text, const std::string& name);

}  // namespace gongshu::daemon
