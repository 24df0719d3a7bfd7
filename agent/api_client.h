// The agent's requests on the daemon's api socket: enrollment and the catalog. Each call opens
// its own ClientChannel (the daemon's ZAP decision is made once per connection, so a connection
// opened before enrollment would stay "public"), sends one ApiRequest, waits for the matching
// ApiResponse and closes the channel. Errors say what the user can do: a daemon that does not
// answer (kUnavailable), a refused key (kUnauthenticated), a failed handshake (wrong daemon key,
// kUnauthenticated), or the daemon's own ApiError (its code name and message, kPermissionDenied
// or kInvalidArgument).
//
// Functions are blocking and thread-compatible; the Context must outlive the call.
#pragma once

#include <atomic>
#include <chrono>
#include <string>
#include <vector>

#include "agent/agent.pb.h"
#include "agent/config.h"
#include "agent/spool.h"
#include "core/crypto/identity.h"
#include "core/util/clock.h"
#include "core/util/error.h"
#include "core/wire/context.h"
#include "gongshu/v1/api.pb.h"

namespace gongshu::agent {

// Where and who the daemon is: the enrollment, overridden by config [daemon].
struct DaemonTarget {
  std::string api;
  std::string ingest;
  // A cluster's nodes ([daemon] cluster_ingest; agent/cluster_follow.h): the forwarder moves
  // among them to follow the leader. Empty: one daemon.
  std::vector<std::string> ingest_nodes;
  crypto::PublicKey key;
  std::string agency;
};
Result<DaemonTarget> daemon_target(const AgentConfig& config, const Spool& spool,
                                   const store::Txn& txn);

// Sends request and returns the response with the same request_id (error not inspected).
// cancel (optional): stop waiting once it is true (kUnavailable).
Result<v1::ApiResponse> api_call(wire::Context& context, const crypto::IdentityKey& identity,
                                 const crypto::PublicKey& daemon, const std::string& endpoint,
                                 const v1::ApiRequest& request, std::chrono::milliseconds timeout,
                                 const std::atomic<bool>* cancel = nullptr);

// The daemon's ApiError in r as an error saying what was asked ("what: the daemon answered
// CODE: message"), or success when r carries none.
Status api_refusal(const v1::ApiResponse& r, std::string_view what);

// Loads the agent key, or creates it (mode 0600) when the file does not exist yet.
Result<crypto::IdentityKey> load_or_create_agent_key(const std::string& path, bool* created);
Result<crypto::IdentityKey> load_agent_key(const std::string& path);

struct EnrollResult {
  agentpb::Enrollment enrollment;
  bool key_created = false;
  size_t datasets = 0;
  std::vector<std::string> warnings;
  // A new key while the outbox held batches of the previous one (agent/reenrollment.h): that
  // key, its batches, and what the daemon said of them (reconciled false: not asked yet, or no
  // answer; the service asks again before it sends anything).
  std::string previous_key_id;
  uint64_t previous_key_batches = 0;
  bool reconciled = false;
  uint64_t previous_stored = 0;    // acknowledged with the receipts the daemon kept
  uint64_t previous_resealed = 0;  // to be sealed again under the new key
};

// The whole of `gongshu-agent enroll TOKEN` (DESIGN §4): key, EnrollRequest, then the catalog
// over a new connection; stores the enrollment and the catalog in the spool.
Result<EnrollResult> enroll(const AgentConfig& config, std::string_view token, Spool& spool,
                            const Clock& clock, std::chrono::milliseconds timeout);

// Fetches the catalog (datasets of this agent's agency) and replaces the cached copy.
struct CatalogRefresh {
  size_t datasets = 0;
  std::vector<std::string> warnings;
};
Result<CatalogRefresh> refresh_catalog(wire::Context& context, const AgentConfig& config,
                                       const crypto::IdentityKey& identity, Spool& spool,
                                       const Clock& clock, std::chrono::milliseconds timeout,
                                       const std::atomic<bool>* cancel = nullptr);

}  // namespace gongshu::agent
