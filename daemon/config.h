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
//   unknown_keys_per_minute = 600          # requests of every key the daemon does not know,
//                                          #   together (fresh keys cost nothing to make)
//   unknown_keys_per_address_per_minute = 120   # the same, per source address (IPv6: per /64)
//   max_pending_applications_per_applicant = 5  # agreement applications awaiting a decision
//   max_pending_applications = 500         # all pending; past it unknown keys may not apply
//   [policy]
//   dir = "/etc/gongshu/policies/policy"   # the access policy (docs/policy.md); SIGHUP reloads
//   [catalog]
//   city_region = "130100"      # the city's 6-digit region code: agencies of any other region
//                               #   are counties, reviewed by their county first (docs/catalog.md)
//   [alerts]                    # security monitoring (docs/monitoring.md; rules: alerts.toml)
//   notify_command = ""         # run by /bin/sh -c with each alert as JSON on standard input
//   notify_timeout_ms = 10000   # then killed
//   [drill]
//   allowed = false             # gongshu-drill --target systemd may inject faults here (a
//                               #   staging host); never true on production (docs/drills.md)
//   [limits]
//   max_batch_bytes = 33554432
//   max_records_per_batch = 10000
//   max_record_bytes = 65536
//   map_size_mb = 262144                  # the largest the store may grow (fixed map)
//   [cluster]                   # replicated mode (docs/replication.md); absent: one node, no etcd
//   enabled = true
//   name = "sjz"                # etcd keys under /gongshu/<name>/
//   node = "node-a"             # this node's id, unique in the cluster
//   etcd = ["http://10.0.0.1:2379", "http://10.0.0.2:2379", "http://10.0.0.3:2379"]
//   lease_ttl_s = 5             # the leader's etcd lease; failover takes about this long
//   margin_ms = 1000            # acknowledge nothing in the lease's last margin
//   advertise_api = ""          # told to clients redirected here; default: the bound endpoint
//   replication_endpoint = ""   # where replicas fetch write sets from this node when it leads
//   advertise_replication = ""  # told to replicas (etcd leader key) when they reach this node
//                               # another way (NAT, a TCP relay); default: replication_endpoint
//   sync_count = 1              # replicas that must hold a write set before its batch is acked
//   sync_timeout_ms = 2000      # a sync member that has not fsynced what was committed this long
//                               # ago stops counting (acks wait until another is written to etcd)
//   api_sync_wait_ms = 5000     # an api write waits this long for the sync set, then answers
//                               # "committed on the leader, not yet confirmed" (read it back)
//   node_key = "/etc/gongshu/node.key"  # this node's replication identity (gongshuctl keygen
//                               # --kind daemon); with it and members the data path is on
//   members = { node-a = "<public key hex>", node-b = { key = "<hex>", replication = "tcp://..." }
//   }
//   changelog_max_entries = 100000  # write sets kept for replicas that fall behind; one further
//   changelog_max_mb = 4096         # behind than the quorum re-seeds from a backup
//   reseed_key = ""             # an operator key file: a replica too far behind or diverged
//                               # fetches a backup of the leader with it and re-seeds itself
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/util/error.h"

namespace gongshu::daemon {

// What the api socket lets callers it cannot hold to a key of their own do (docs/security.md,
// "The api socket"). Requests per minute are token buckets whose burst is a minute's worth.
struct ApiLimits {
  uint32_t unknown_keys_per_minute = 600;
  uint32_t unknown_keys_per_address_per_minute = 120;
  uint32_t max_pending_applications_per_applicant = 5;
  uint32_t max_pending_applications = 500;
};

// What one agent key may take of the ingest pipeline (docs/security.md, "The ingest socket").
struct IngestLimits {
  // One agent key's share of the queue: beyond it that key's batches are answered busy, so one
  // agent's flood cannot take the queue whole (daemon/fair_queue.h). An agent's window is 8.
  uint32_t max_queue_per_agent = 32;
  // A group commit stops taking batches once it holds this many records, so a batch of another
  // agency never waits behind a commit of everything a busy agent had queued.
  uint32_t max_group_records = 16'384;
  // Work a key wastes — batches refused whole, re-sent duplicates — takes a token from its
  // bucket of `waste_burst`, refilled at waste_per_minute; with the bucket empty, the key's
  // frames are answered busy at once, before any worker opens them.
  uint32_t waste_burst = 64;
  uint32_t waste_per_minute = 60;
  // Refusals audited one by one per key and minute; the rest are summarised (refusal_digest.h).
  uint32_t audited_refusals_per_minute = 3;
  // A key answered busy for its spent allowance quarantine_after times within a second is still
  // flooding: it is quarantined (refused at the handshake, daemon/quarantine.h) for
  // quarantine_s and every connection is cut, so the daemon stops answering it at all.
  uint32_t quarantine_after = 64;
  uint32_t quarantine_s = 60;
};

// How alerts reach people beyond the journal and `gongshuctl alert list` (daemon/alerts.h).
struct AlertConfig {
  std::string notify_command;  // empty: none
  int64_t notify_timeout_ms = 10'000;
};

// The replicated mode (docs/replication.md §7, daemon/cluster_node.h). Without a [cluster]
// section (or with enabled = false) none of it runs and nothing talks to etcd.
struct ClusterConfig {
  bool enabled = false;
  std::string name;               // etcd key prefix /gongshu/<name>/
  std::string node;               // this node's id
  std::vector<std::string> etcd;  // etcd client URLs
  int64_t lease_ttl_s = 5;
  int64_t margin_ms = 1000;
  std::string advertise_api;  // empty: the bound api endpoint (0.0.0.0 → 127.0.0.1)
  std::string replication_endpoint;
  std::string advertise_replication;  // empty: replication_endpoint
  uint32_t sync_count = 1;
  int64_t sync_timeout_ms = 2000;   // a sync member this far behind the commits falls away
  int64_t api_sync_wait_ms = 5000;  // an api write's wait for the sync set (sync_wait_ms)
  // The data path (core/replication): on when node_key is set; then members must name every
  // node (this one included) with its node public key, and replication_endpoint is required.
  std::string node_key;
  struct Member {
    std::string key;          // 64 hex: the node key's public half
    std::string replication;  // its replication endpoint ("": the one its leader key names)
  };
  std::map<std::string, Member> members;
  uint64_t changelog_max_entries = 100000;
  uint64_t changelog_max_mb = 4096;
  std::string reseed_key;  // operator key file for automatic re-seeding ("": by hand)
  bool replicated() const { return enabled && !node_key.empty(); }
};

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
  IngestLimits ingest_limits;
  std::string api_endpoint = "tcp://127.0.0.1:7401";
  ApiLimits api_limits;
  std::string policy_dir = "/etc/gongshu/policies/policy";
  AlertConfig alerts;
  std::string city_region = "130100";  // 石家庄市
  // Emergency drills against this host's real units (gongshu-drill --target systemd) refuse to
  // run unless this is true ([drill] allowed): a production host is never hit by mistake.
  bool drill_allowed = false;
  size_t max_batch_bytes = 32 << 20;
  size_t max_records_per_batch = 10000;
  size_t max_record_bytes = 64 << 10;
  size_t map_size_mb = size_t{256} << 10;  // 256 GiB of address space, not of disk
  // Distinct groups one aggregate may build before it is refused (memory, not privacy: small
  // groups are suppressed by the policy's k_threshold either way).
  size_t max_aggregate_groups = 100'000;
  ClusterConfig cluster;

  std::string daemon_key_path() const;
  std::string master_key_path() const;  // honours $CREDENTIALS_DIRECTORY
};

Result<DaemonConfig> load_config(const std::string& path);
Result<DaemonConfig> parse_config(std::string_view text, const std::string& name);

}  // namespace gongshu::daemon
