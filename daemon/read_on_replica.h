// Reads on replicas (docs/replication.md §6 "Reads on replicas"): a node that does not lead
// answers the audited reads (query, lookup, download, aggregate, open catalog, audit export)
// from its own store — policy, masking and decryption as on the leader — but the audit entries
// of each read (and the agreement rows it takes) are written by the leader: the replica sends
// them as an AccessRecordRequest over the leader's api socket, under its node key, and answers
// its client only once the leader confirmed (after the leader's synchronous set has them, as any
// api write, §11). No confirmation within the timeout, no leader, or a refusal: the read is
// refused; nothing is ever released whose access is not recorded.
//
//   LeaderRecorder     the replica's end: one client connection to the current leader's api,
//                      made anew when the leader changes (api thread only)
//   member_curve_keys  the leader's check: which CURVE client keys are cluster members' node
//                      keys ([cluster] members), and their node ids
//   access_record      the leader's handler of AccessRecordRequest: refused (and the refusal
//                      audited) unless the caller's key is a member's; otherwise the entries,
//                      each with the ref served_by = the sender's node id, and the rows taken
//                      from agreements' quotas in one write transaction
//   on_withheld /      the leader's own held reads (api.cc): a read whose answer is withheld
//   withhold_read      gets a read_withheld entry and its quota rows back (review M3)
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/crypto/identity.h"
#include "core/wire/client_channel.h"
#include "daemon/api_context.h"
#include "daemon/cluster_gate.h"
#include "daemon/config.h"

namespace gongshu::daemon {

class LeaderRecorder {
 public:
  // node_key: [cluster] node_key's identity; daemon_key: the cluster's daemon key (the leader's
  // api authenticates with it); gate: who leads. timeout: how long a confirmation may take.
  static Result<std::unique_ptr<LeaderRecorder>> create(const ClusterConfig& config,
                                                        const crypto::PublicKey& daemon_key,
                                                        const LeaderGate* gate,
                                                        std::chrono::milliseconds timeout);
  ~LeaderRecorder();
  // Sends req to the leader and waits for its answer. kUnavailable naming why when there is no
  // leader, it is this node, it does not answer within the timeout, or it refuses.
  Result<v1::AccessRecordResponse> record(const v1::AccessRecordRequest& req);

  // The same without waiting (the api thread parks the reads' answers meanwhile, api.cc):
  // send() queues req for the current leader and returns its request id, or kUnavailable at once
  // (no leader, this node, a bad endpoint). take_answers() returns the answers that arrived, each
  // with its request id, without waiting; an error means the connection was lost (every request
  // sent is then unanswered). abandon() drops the connection and what it still queues: a request
  // given up on must not reach a frozen leader later. channel(): to poll on (null: none).
  struct Answer {
    uint64_t id = 0;
    Result<v1::AccessRecordResponse> got;
    // Refused by the leader's re-check: 1 + the index of the entry of that record the leader
    // named (ApiError.refused_entry), 0 when it named none (an older leader).
    uint32_t refused_entry = 0;
  };
  Result<uint64_t> send(const v1::AccessRecordRequest& req);
  Result<std::vector<Answer>> take_answers();
  void abandon();
  wire::ClientChannel* channel();

  struct Impl;

 private:
  explicit LeaderRecorder(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The rule of the leader's refusal of an access record whose read it no longer grants (a
// principal revoked or unknown, an agreement no longer active): the record's refusal, and the
// DENY entry it audits, carry it.
inline constexpr std::string_view kReplicaReadRevoked = "replica-read-revoked";

// CURVE key hex (as Caller::curve_hex) -> node id, for every member of [cluster] members.
Result<std::map<std::string, std::string>> member_curve_keys(const ClusterConfig& config);

Reply access_record(ApiContext& ctx, const Caller& c, const v1::AccessRecordRequest& req,
                    v1::ApiResponse& resp);

// Review M3 (docs/replication.md §11): a read this leader served and committed — its entries as
// appended (their seq set) and the rows it took from agreements' quotas (agreement id, rows) —
// whose answer api.cc holds for the synchronous set. What api.cc runs (ApiContext::settle) once
// it decided: released, nothing; withheld (not confirmed within api_sync_wait_ms, this node may
// no longer acknowledge, beyond the held answers' bytes bound, or the answer failed after the
// commit), withhold_read(). Api thread only.
std::function<void(bool released)> on_withheld(ApiContext& ctx, std::vector<v1::AuditEntry> entries,
                                               std::vector<std::pair<std::string, uint64_t>> quota);
// Appends a `read_withheld` entry per caller and action among the entries (a replica's record may
// carry several callers' reads; decision none, record_count 0; refs `withheld_entry` = the seq of
// each of its entries, `write_set`, and `rows_returned` = "<agreement>:<rows>" per quota use,
// with the caller whose entries name the agreement) and gives the rows back to each agreement's
// rows_used, in one write transaction: so
// the log and the quota say what was delivered, not what was prepared. write_set: the write set
// that committed the read (0: not known).
Status withhold_read(ApiContext& ctx, const std::vector<v1::AuditEntry>& entries,
                     const std::vector<std::pair<std::string, uint64_t>>& quota,
                     uint64_t write_set);

}  // namespace gongshu::daemon
