// ApiService: the api socket (DESIGN §5). The caller's role comes from its CURVE identity (the
// ZAP User-Id "<role>:<key id>", or "public:<curve key hex>" for an unknown key), re-checked
// against the directory on every request so a revocation takes effect on the next message.
// Requests are answered in order on the api thread; writes go through LMDB write transactions,
// each with its audit entry.
//
// This file only receives, identifies, admits and dispatches: each request body maps, in one
// switch in api.cc, to a free-function handler of its capability, testable without a socket
// (daemon/api_context.h is what they share): enrollment.h (ping, tokens, enroll), registry.h
// (agencies, the catalog, agents), principals.h, provenance.h, audit_head.h, audit_export.h,
// access.h (data access, decided by the policy in `policy`), agreements.h, backup.h, status.h
// and daemon_keys.h.
//
// Every request of a key the daemon does not know (role public, a revoked key included) except
// ping is admitted first against ApiLimits: per source address, then all such keys together
// (ApiContext::admit): a fresh CURVE key per connection costs an attacker nothing, an address
// does.
//
// Threads: one api thread, started by start() and joined by stop().
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "core/wire/context.h"
#include "core/wire/zap_handler.h"
#include "daemon/config.h"
#include "daemon/daemon_store.h"
#include "daemon/directory.h"
#include "daemon/policy_view.h"
#include "daemon/status.h"
#include "gongshu/v1/api.pb.h"

namespace gongshu::sys {
class Logger;  // core/sys/logger.h
}  // namespace gongshu::sys

namespace gongshu::daemon {

class DaemonKeys;      // daemon/daemon_keys.h
class AlertService;    // daemon/alerts.h
class ClusterSlot;     // daemon/cluster_node.h
class LeaderGate;      // daemon/cluster_gate.h
class LeaderRecorder;  // daemon/read_on_replica.h

struct ApiOptions {
  // Where to bind; from ApiService::start on, where it is bound (a port the OS chose included),
  // which enrollment tokens name.
  std::string endpoint = "tcp://127.0.0.1:7401";
  std::string advertised_ingest;  // told to agents at enrollment
  std::string exports_dir;        // where audit exports are staged for chunked download
  std::string backups_dir;        // where backups are made and staged (daemon/backup.h)
  StatusProbe status;             // the live figures `status` reports (daemon/status.h)
  size_t max_request = 1 << 20;
  // daemon-key rotate and status (daemon/daemon_keys.h); outlives the service.
  DaemonKeys* daemon_keys = nullptr;
  // alert list | show | ack (daemon/alerts.h); outlives the service.
  AlertService* alerts = nullptr;
  size_t export_chunk = 1 << 20;
  size_t max_aggregate_groups = 100'000;  // DaemonConfig::max_aggregate_groups
  ApiLimits limits;                       // DaemonConfig::api_limits
  // DaemonConfig::policy_dir: objection deadlines read its calendar.toml (core/policy/calendar.h).
  std::string policy_dir;
  std::string city_region = "130100";  // DaemonConfig::city_region
  // Replicated mode (daemon/cluster_node.h); both null on a single node. A node that does not
  // lead answers only the reads that write nothing (ping, status, audit head, catalogs, cluster
  // status); everything else is API_UNAVAILABLE "not leader; leader is <api>" with leader_api.
  const LeaderGate* gate = nullptr;
  const ClusterSlot* cluster = nullptr;
  // Replicated mode: how far behind the leader this node is (daemon/replica_lag.h), put in every
  // answer it gives while it does not lead (ApiResponse.replica_lag); nullopt while it leads.
  std::function<std::optional<v1::ReplicaLag>()> replica_lag;
  // Replicated mode, reads on replicas (daemon/read_on_replica.h). record_on_leader: set on a
  // node with the data path; while it does not lead it then serves the audited reads itself and
  // records their entries through this on the leader (unset: they are answered "not leader").
  // replica_applied_seq: its applied write set; when it moved, the directory and catalog views
  // are read again before the next request (the applier changed the tables under them).
  // cluster_members: CURVE key hex -> node id of every member's node key; only these may send
  // AccessRecordRequest (on the leader).
  std::function<Result<v1::AccessRecordResponse>(const v1::AccessRecordRequest&)> record_on_leader;
  std::function<uint64_t()> replica_applied_seq;
  std::map<std::string, std::string> cluster_members;
  // Set with record_on_leader (outlives the service): the api thread then does not wait for the
  // leader's confirmation. A read's prepared answer is parked, in memory only, while other
  // requests are served; parked reads' entries go to the leader together in one access record
  // (one transaction there), and each answer is sent on the confirmation, or refused on a
  // refusal, a lost connection or after record_timeout_ms.
  LeaderRecorder* leader_recorder = nullptr;
  int64_t record_timeout_ms = 6000;
  // A replica journals here that its directory and catalog views could not be read again after
  // the applier moved (it then refuses the reads until they are; at most a line a minute).
  const sys::Logger* log = nullptr;
  // Replicated mode with sync_count > 0 (docs/replication.md §11); unset on a single node, whose
  // loop is unchanged. A successful answer to a request that committed a write set on the api
  // thread (repl_thread_seq moved) is held until repl_synced_seq() (ClusterNode::quorum_seq)
  // reaches it, while other requests are served; wake() (the replicator's ack listener) re-checks.
  // Not reached within sync_wait_ms, or the node may no longer acknowledge: the answer is
  // API_UNAVAILABLE "committed on the leader, not yet confirmed by the synchronous set".
  std::function<uint64_t()> repl_synced_seq;
  std::function<uint64_t()> repl_thread_seq;
  int64_t sync_wait_ms = 5000;
};

class ApiService {
 public:
  static Result<std::unique_ptr<ApiService>> start(wire::Context& context,
                                                   const wire::ZapHandler& zap, DaemonStore& store,
                                                   Directory& directory, CatalogView& catalog,
                                                   PolicyView& policy, ApiOptions options);
  ~ApiService();
  const std::string& endpoint() const;
  // Replicated mode: the sync set may have acknowledged more; re-check held answers. Any thread.
  void wake();
  void stop();

  struct Impl;

 private:
  explicit ApiService(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace gongshu::daemon
