// Agent key rotation (`gongshu-agent rotate-key`; agent/README.md "Key rotation",
// docs/protocol.md "Agent key rotation"). The running service does the work, because it owns
// the forwarder and the sealing of batches; the command only asks, through the spool's meta
// entry "key_rotation" (agentpb.KeyRotation), and waits for the outcome there.
//
// In the service, KeyRotator moves a rotation through these steps:
//   1. requested: the forwarder seals no new batch; the batches already sealed under the old key
//      K1 are sent and acknowledged while K1 is still valid. A K1 batch is never sealed again
//      under K2: if its ack were lost, the daemon would store it twice.
//   2. with the outbox empty: K2 is generated into KEY_FILE.next (0600; written and synced as
//      KEY_FILE.next.tmp, then renamed, so never seen half written) unless it is there already,
//      and the rotation request goes to the api socket on a connection made with
//      K1, carrying K2's public key and K2's signature over the rotation statement.
//   3. the daemon's answer (accepted, or already accepted by an earlier request): the spool's
//      enrollment names K2, then KEY_FILE is linked to KEY_FILE.<K1 id>.old (kept for the
//      receipts of K1's batches) and KEY_FILE.next renamed over KEY_FILE. The caller builds a new
//      forwarder with K2, which goes on with the spooled records; batch_seq continues from where
//      K1 stopped (the daemon's dedup key is the key id and batch_seq, and the spool's receipts
//      stay keyed by batch_seq without a collision).
// A definitive refusal removes KEY_FILE.next and records why; K1 goes on. No answer (daemon
// unreachable): tried again every few seconds, and the forwarder stays paused, since the daemon
// may have accepted K2 already.
//
// Crash safety: while KEY_FILE.next exists a rotation is unfinished, whatever the spool says; at
// the next start the service pauses batching and asks again with K1 — the daemon answers
// "already" if it had accepted — then finishes. Every step before the final rename is idempotent.
// A KEY_FILE.next that cannot be read (left empty by an older agent killed while writing it in
// place) never reached the daemon: it is renamed KEY_FILE.next.unusable and a new K2 made.
//
// Threads: one thread (the service loop) calls poll() and run().
#pragma once

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "agent/agent.pb.h"
#include "agent/api_client.h"
#include "agent/config.h"
#include "agent/spool.h"
#include "core/crypto/identity.h"
#include "core/util/clock.h"
#include "core/wire/context.h"

namespace gongshu::agent {

inline constexpr std::string_view kKeyRotation = "key_rotation";  // meta: KeyRotation

std::string next_key_path(const AgentConfig& config);
std::string old_key_path(const AgentConfig& config, std::string_view key_id);

std::optional<agentpb::KeyRotation> read_key_rotation(const Spool& spool, const store::Txn& txn);
Status write_key_rotation(const Spool& spool, store::WriteTxn& txn, agentpb::KeyRotation r);

// One rotation request to the daemon: K2's public key and proof of possession, on a connection
// made with K1. Returns the daemon's answer; an ApiError comes back as kPermissionDenied,
// kInvalidArgument, kAlreadyExists or kNotFound (a refusal), kUnavailable / kUnauthenticated
// when there is no answer. The daemon's refusal itself (code, English reason) goes to `refused`
// when given.
Result<v1::AgentKeyRotateResponse> request_key_rotation(
    wire::Context& context, const DaemonTarget& target, const crypto::IdentityKey& old_key,
    const crypto::IdentityKey& new_key, std::chrono::milliseconds timeout,
    const std::atomic<bool>* cancel, v1::ApiError* refused = nullptr);

class KeyRotator {
 public:
  KeyRotator(const AgentConfig& config, Spool& spool, wire::Context& context, DaemonTarget target,
             const Clock& clock);

  // True while a rotation is requested or unfinished (then the forwarder must seal no new
  // batch). Looks at the spool and the disk at most every 200 ms.
  Result<bool> poll();

  // Runs steps 2 and 3; call it once poll() is true and no batch is left in the outbox.
  // Returns K2 once the rotation is complete (the caller replaces its forwarder and key),
  // nothing when it is not (refused, or to be tried again). Errors: the spool or the key files
  // failed.
  Result<std::optional<crypto::IdentityKey>> run(const crypto::IdentityKey& current,
                                                 const std::atomic<bool>& stop);

  // The daemon as of the last run(): the new forwarder's target after a rotation.
  const DaemonTarget& target() const { return target_; }

  // The last message worth logging (a refusal, an unreachable daemon, completion); cleared on
  // read.
  std::string take_message();

 private:
  Status record(const std::string& state, const std::string& old_id, const std::string& new_id,
                const std::string& message, const v1::ApiError* refused = nullptr);
  Status finish(const crypto::IdentityKey& old_key, const crypto::IdentityKey& new_key);

  const AgentConfig& config_;
  Spool& spool_;
  wire::Context& context_;
  DaemonTarget target_;
  const Clock& clock_;
  bool wanted_ = false;
  std::chrono::steady_clock::time_point next_poll_{};
  std::chrono::steady_clock::time_point next_try_{};
  std::string message_;
};

}  // namespace gongshu::agent
