// Daemon: gongshud assembled — keys loaded, store opened (and a pending daemon key rotation
// activated, daemon/daemon_keys.h), directory and catalog loaded, the ZAP
// handler running, then the ingest and api sockets bound (in that order, so no connection is
// ever accepted without authentication). stop() stops accepting, drains in-flight batches and
// closes everything in reverse order.
//
// The access policy is loaded from config.policy_dir at start and again by reload() (SIGHUP).
// A policy that does not load is refused whole: the running one stays in force — or, at
// start-up, no policy is in force and every access decision is a denial until a reload
// succeeds (fail closed; ingest keeps working, it needs no access decision).
//
// init_state() is `gongshud init`: it creates a new state directory with the daemon identity
// key, the storage master key, an empty store with its first audit entry and checkpoint, and
// the first operator.
#pragma once

#include <memory>
#include <string>

#include "core/crypto/identity.h"
#include "core/util/clock.h"
#include "daemon/alerts.h"
#include "daemon/api.h"
#include "daemon/cluster_node.h"
#include "daemon/cluster_replication.h"
#include "daemon/config.h"
#include "daemon/daemon_keys.h"
#include "daemon/daemon_store.h"
#include "daemon/directory.h"
#include "daemon/ingest.h"
#include "daemon/policy_view.h"
#include "daemon/quarantine.h"
#include "daemon/read_on_replica.h"

namespace gongshu::daemon {

class Daemon {
 public:
  // Alerts are announced to log (daemon/alerts.h); null: lines on stderr.
  static Result<std::unique_ptr<Daemon>> start(const DaemonConfig& config, const Clock& clock,
                                               const sys::Logger* log = nullptr);
  ~Daemon();

  const std::string& ingest_endpoint() const { return ingest_->endpoint(); }
  const std::string& api_endpoint() const { return api_->endpoint(); }
  const crypto::PublicKey& public_key() const { return keys_->current().public_key(); }
  IngestStats ingest_stats() const { return ingest_->stats(); }
  // Empty, or why the ingest workers could not be given their lower priority (for the log).
  const std::string& ingest_scheduling_problem() const { return ingest_->scheduling_problem(); }
  // Why the ingest socket stopped serving; empty while healthy (IngestService::failure).
  std::string ingest_failure() const { return ingest_->failure(); }
  void stop();

  // Reloads the policy directory of config. A policy with any error is refused whole (the error
  // is "file:line: reason", one per line) and the running policy stays in force; either way the
  // outcome is audited (action policy_change, naming the new version, or the reasons). Requests
  // already deciding keep the Policy they started with. Call from one thread at a time.
  Status reload(const DaemonConfig& config);
  // The version of the policy in force; empty when none is (policy_problem() says why).
  std::string policy_version() const;
  std::string policy_problem() const;
  // Security monitoring (daemon/alerts.h); alive from start() until the daemon is destroyed.
  AlertService& alerts() { return *alerts_; }
  // The replicated mode's node (daemon/cluster_node.h); null without [cluster]. The service loop
  // ticks it.
  ClusterNode* cluster() { return cluster_.get(); }
  // A replica's re-seed has staged a backup of the leader: the service loop restarts the daemon
  // on it (daemon/cluster_replication.h). False outside the replicated mode.
  bool reseed_staged() const;

 private:
  Daemon() = default;
  std::unique_ptr<DaemonKeys> keys_;
  std::unique_ptr<DaemonStore> store_;
  Status load_policy(const std::string& dir, bool at_start);
  // Replicated: the start-up writes (the policy_change entry), made when this node first leads.
  Status write_deferred();

  Directory directory_;
  Quarantine quarantine_;  // flooding agent keys, refused at the ingest handshake for a while
  CatalogView catalog_;
  PolicyView policy_;
  std::unique_ptr<wire::Context> context_;
  std::unique_ptr<wire::ZapHandler> zap_;
  std::unique_ptr<AlertService> alerts_;  // after the store, before the sockets
  std::unique_ptr<IngestService> ingest_;
  // Replicated: a replica's reads are audited on the leader through it; used by the api
  // thread, so it outlives api_.
  std::unique_ptr<LeaderRecorder> leader_recorder_;
  std::unique_ptr<ApiService> api_;
  ClusterSlot cluster_slot_;              // what the sockets ask; set once cluster_ exists
  std::unique_ptr<ClusterNode> cluster_;  // outlives the sockets (destroyed after them)
  // Replicated mode's data path (daemon/cluster_replication.h); null unless [cluster] names a
  // node_key. Created right after the store opens: from then on writes need a term.
  std::unique_ptr<ClusterReplication> replication_;
  std::optional<v1::AuditEntry> deferred_policy_entry_;  // written by write_deferred()
};

struct InitResult {
  crypto::PublicKey daemon_key;
  crypto::PublicKey operator_key;
};

// Creates state_dir (mode 0700) and everything in it; refuses a directory that already holds a
// store. The operator's key file is written to operator_key_out (mode 0600).
Result<InitResult> init_state(const std::string& state_dir, const std::string& operator_key_out,
                              const std::string& audit_origin, const Clock& clock);

}  // namespace gongshu::daemon

namespace gongshu::daemon {
// Writes <state_dir>/daemon.info (TOML: api, ingest, daemon_public_key) so that operators'
// tools and tests can find a running daemon, including ports the OS chose.
Status write_info_file(const std::string& state_dir, const Daemon& daemon);
}  // namespace gongshu::daemon
