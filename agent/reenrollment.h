// Re-enrollment after a leaked agent key (issue 14; agent/README.md "A leaked key"): the
// operator revokes the agent key K1 while the agent delivers; the agency enrolls a new key K2
// with a new token (`gongshu-agent enroll`). The spool's outbox still holds batches sealed and
// signed under K1 that were never acknowledged: some the daemon stored before the revocation
// (their acks were lost with the cut connection), the others it refused or never received, and
// none can be sent again under K1.
//
// Sealing them again under K2 blindly would store the first kind twice; dropping them would lose
// the second. So:
//   1. enroll() notes, in the transaction that stores K2's enrollment, which outbox batches are
//      K1's (meta "reenrollment", agentpb.Reenrollment). From then on the service sends none of
//      them and seals nothing new until step 3 is done.
//   2. reconcile_reenrollment() asks the daemon, on an api connection made with K2, which of
//      them it stored (agent_batches_stored, daemon/agent_batches.h). The daemon answers only
//      once K1 is revoked, so no K1 batch can be stored after the answer: it is final.
//   3. In one spool transaction: each stored batch is acknowledged with the receipt the daemon
//      kept for it (its refused records filed as rejected, its records deleted, the receipt
//      stored, as an ack of a re-send would); each batch not stored leaves the outbox and its
//      records go back to be batched, so the forwarder seals them under K2 with fresh batch
//      numbers (batch_seq continues: the receipts table stays keyed without a collision). The
//      note is deleted in the same transaction. A batch answered stored whose receipt names
//      another batch (not the hash of the header this agent sealed, kept in the outbox) is
//      someone else's under the same number, sent with the leaked key: it is sealed again like
//      one not stored, and named (Reconciled::foreign_batches) for the journal and `enroll`.
// Nothing is lost and nothing is stored twice, and a crash anywhere repeats at most step 2 (the
// question is idempotent).
//
// Threads: any, one at a time per spool (enroll, or the service loop).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/agent.pb.h"
#include "agent/api_client.h"
#include "agent/spool.h"
#include "core/crypto/identity.h"
#include "core/util/clock.h"
#include "core/wire/context.h"

namespace gongshu::agent {

inline constexpr std::string_view kReenrollment = "reenrollment";  // meta: Reenrollment

std::optional<agentpb::Reenrollment> read_reenrollment(const Spool& spool, const store::Txn& txn);

// Step 1, in enroll's transaction: notes the outbox's batches as old_key_id's when there are
// any and no note exists yet (a second re-enrollment before the first was reconciled keeps the
// first note: its batches are still the first key's). Returns the number of batches noted.
Result<size_t> note_reenrollment(const Spool& spool, store::WriteTxn& txn,
                                 const std::string& old_key_id, const std::string& new_key_id,
                                 int64_t now_ms);

struct Reconciled {
  std::string old_key_id;
  uint64_t stored_batches = 0;  // acknowledged with their stored receipts
  uint64_t stored_records = 0;  // of them, records the daemon accepted
  uint64_t resealed_batches = 0;
  uint64_t resealed_records = 0;  // back in pending, to be sealed under the new key
  // Of the resealed: batch numbers the daemon answered stored, but with a receipt for another
  // batch (its event_hash is not the hash of the header this agent sealed): someone else's
  // batch, signed with the leaked key, occupies the number. Entries of a spool from before the
  // outbox kept batch hashes (agent/spool.h) cannot be told apart and are taken as stored.
  std::vector<uint64_t> foreign_batches;
};

// Steps 2 and 3. nullopt when no re-enrollment is noted. Errors: kUnavailable /
// kUnauthenticated when the daemon does not answer; kPermissionDenied, kNotFound or
// kInvalidArgument when it refuses (K1 not revoked yet, another agency's key); kCorrupt when
// its answer does not account for every batch asked about or carries another daemon's receipt;
// the spool's errors. The note stays on any error, to be asked again.
// The warning for r.foreign_batches (for the journal and `enroll`); empty when there are none.
std::string foreign_batches_warning(const Reconciled& r);

Result<std::optional<Reconciled>> reconcile_reenrollment(wire::Context& context,
                                                         const crypto::IdentityKey& key,
                                                         Spool& spool, const DaemonTarget& target,
                                                         const Clock& clock,
                                                         std::chrono::milliseconds timeout,
                                                         const std::atomic<bool>* cancel);

}  // namespace gongshu::agent
