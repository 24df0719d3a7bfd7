#include "agent/reenrollment.h"

#include <algorithm>
#include <map>
#include <set>
#include <vector>

#include "agent/forwarder.h"
#include "core/util/i18n.h"

namespace gongshu::agent {
std::string foreign_batches_warning(const Reconciled& r) {
  if (r.foreign_batches.empty()) return {};
  std::string seqs;
  for (uint64_t s : r.foreign_batches) seqs += (seqs.empty() ? "" : ", ") + std::to_string(s);
  return trf(
      "the daemon holds OTHER batches under the numbers {} of the previous key {}: someone else "
      "sent them with that key (it leaked); this agent's batches of those numbers were not "
      "stored and are sealed again under the new key",
      seqs, r.old_key_id);
}

std::optional<agentpb::Reenrollment> read_reenrollment(const Spool& spool, const store::Txn& txn) {
  auto v = spool.get_meta(txn, kReenrollment);
  agentpb::Reenrollment r;
  if (!v || !r.ParseFromArray(v->data(), static_cast<int>(v->size()))) return std::nullopt;
  return r;
}

Result<size_t> note_reenrollment(const Spool& spool, store::WriteTxn& txn,
                                 const std::string& old_key_id, const std::string& new_key_id,
                                 int64_t now_ms) {
  if (auto earlier = read_reenrollment(spool, txn)) {
    earlier->set_new_key_id(new_key_id);
    GONGSHU_RETURN_IF_ERROR(
        spool.put_meta(txn, kReenrollment, as_bytes(earlier->SerializeAsString())));
    return size_t(earlier->batch_seqs_size());
  }
  agentpb::Reenrollment r;
  r.set_old_key_id(old_key_id);
  r.set_new_key_id(new_key_id);
  r.set_enrolled_at_ms(now_ms);
  store::Cursor cur = spool.outbox().cursor(txn);
  for (auto e = cur.first(); e; e = cur.next()) {
    if (auto seq = store::parse_u64_key(e->key)) r.add_batch_seqs(*seq);
  }
  if (r.batch_seqs_size() == 0) return size_t{0};
  GONGSHU_RETURN_IF_ERROR(spool.put_meta(txn, kReenrollment, as_bytes(r.SerializeAsString())));
  return size_t(r.batch_seqs_size());
}

Result<std::optional<Reconciled>> reconcile_reenrollment(wire::Context& context,
                                                         const crypto::IdentityKey& key,
                                                         Spool& spool, const DaemonTarget& target,
                                                         const Clock& clock,
                                                         std::chrono::milliseconds timeout,
                                                         const std::atomic<bool>* cancel) {
  std::optional<agentpb::Reenrollment> note;
  {
    GONGSHU_TRY(store::ReadTxn txn, spool.env().begin_read());
    note = read_reenrollment(spool, txn);
  }
  if (!note) return std::nullopt;
  const std::string what =
      trf("which batches of the previous agent key {} the daemon stored", note->old_key_id());
  v1::ApiRequest req;
  req.set_request_id(3);
  auto* body = req.mutable_agent_batches_stored();
  body->set_old_key_id(note->old_key_id());
  *body->mutable_batch_seqs() = note->batch_seqs();
  GONGSHU_TRY(
      v1::ApiResponse resp,
      with_context(api_call(context, key, target.key, target.api, req, timeout, cancel), what));
  GONGSHU_RETURN_IF_ERROR(api_refusal(resp, what));
  const v1::AgentBatchesStoredResponse& answer = resp.agent_batches_stored();
  // The answer must account for every batch asked about, once, with our daemon's receipts.
  std::map<uint64_t, const v1::BatchAck*> stored;
  std::set<uint64_t> not_stored(answer.not_stored().begin(), answer.not_stored().end());
  const std::string daemon_key_id = target.key.key_id();
  for (const auto& ack : answer.stored()) {
    if (!ack.has_receipt() || ack.receipt().daemon_key_id() != daemon_key_id) {
      return fail(ErrorCode::kCorrupt,
                  trf("{}: batch {} is answered with a receipt not from daemon {}", what,
                      ack.batch_seq(), daemon_key_id));
    }
    stored.emplace(ack.batch_seq(), &ack);
  }
  for (uint64_t seq : note->batch_seqs()) {
    if (stored.count(seq) == not_stored.count(seq)) {
      return fail(ErrorCode::kCorrupt,
                  trf("{}: the answer does not say whether batch {} was stored", what, seq));
    }
  }
  if (answer.old_key_id() != note->old_key_id()) {
    return fail(ErrorCode::kCorrupt, trf("{}: the answer names key {}", what, answer.old_key_id()));
  }

  Reconciled out;
  GONGSHU_RETURN_IF_ERROR(spool.env().update([&](store::WriteTxn& txn) -> Status {
    out = Reconciled();
    out.old_key_id = note->old_key_id();
    auto current = read_reenrollment(spool, txn);
    if (!current || current->old_key_id() != note->old_key_id()) return {};  // done meanwhile
    std::optional<uint64_t> rebatch_from;
    for (uint64_t seq : note->batch_seqs()) {
      auto v = spool.outbox().get(txn, seq);
      if (!v) continue;  // acknowledged before the key changed
      GONGSHU_TRY(OutboxEntry entry, decode_outbox(*v));
      entry.message = {};
      std::optional<SettledBatch> settled;
      if (auto it = stored.find(seq); it != stored.end()) {
        // Acknowledged as the forwarder acknowledges a re-send (agent/forwarder.h), unless the
        // receipt names another batch (settle_acknowledged checks its event_hash).
        GONGSHU_TRY(settled, settle_acknowledged(spool, txn, clock, seq, entry, *it->second,
                                                 /*duplicate=*/true));
        // The daemon stored another batch under this number with the old key: whoever holds
        // the leaked key sent it. Ours was not stored: its records are sealed again (under the
        // new key and a fresh number), and the batch is named in the result.
        if (!settled) out.foreign_batches.push_back(seq);
      }
      if (settled) {
        ++out.stored_batches;
        out.stored_records += settled->accepted;
      } else {
        // Its records stay in pending; the forwarder batches them again from here.
        GONGSHU_RETURN_IF_ERROR(spool.outbox().del(txn, seq));
        ++out.resealed_batches;
        out.resealed_records += entry.count;
        rebatch_from = std::min(rebatch_from.value_or(entry.first_pending), entry.first_pending);
      }
    }
    if (rebatch_from && *rebatch_from > 0 && *rebatch_from - 1 < spool.get_u64(txn, kBatchedUpTo)) {
      GONGSHU_RETURN_IF_ERROR(spool.put_u64(txn, kBatchedUpTo, *rebatch_from - 1));
    }
    return spool.del_meta(txn, kReenrollment);
  }));
  return out;
}

}  // namespace gongshu::agent
