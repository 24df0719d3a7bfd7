#include "agent/reenrollment.h"

#include <algorithm>
#include <map>
#include <set>
#include <vector>

#include "core/util/i18n.h"
#include "gongshu/v1/record.pb.h"

namespace gongshu::agent {
namespace {

// A stored batch's ack applied as the forwarder applies an ack of a re-send (agent/forwarder.h
// "Acks"): the records the daemon refused are filed, the batch's range of pending records goes,
// the receipt is kept and counted. Returns the records accepted.
Result<uint64_t> settle_stored(const Spool& spool, store::WriteTxn& txn, const Clock& clock,
                               uint64_t seq, const OutboxEntry& entry, const v1::BatchAck& ack) {
  std::map<uint32_t, const v1::RecordStatus*> refused;
  for (const auto& s : ack.statuses()) {
    if (s.index() < entry.count) refused.emplace(s.index(), &s);
  }
  std::vector<agentpb::RejectedRecord> filed;
  {
    store::WriteCursor cur = spool.pending().write_cursor(txn);
    auto e = cur.seek(store::u64_key(entry.first_pending));
    for (uint32_t i = 0; e && i < entry.count; ++i) {
      auto key = store::parse_u64_key(e->key);
      if (!key) break;
      if (auto it = refused.find(i); it != refused.end()) {
        agentpb::RejectedRecord r;
        r.set_time_ms(clock.now_ms());
        r.set_by_daemon(true);
        r.set_batch_seq(seq);
        r.set_code(it->second->code());
        r.set_field(it->second->field());
        r.set_reason(it->second->reason());
        if (auto p = spool.open_pending(*key, e->value)) {
          r.set_source(p->source());
          v1::Record rec;
          if (rec.ParseFromString(p->record())) {
            r.set_dataset(rec.dataset());
            r.set_record_key(rec.record_key());
          }
          *r.mutable_record() = std::move(*p->mutable_record());
        }
        filed.push_back(std::move(r));
      }
      GONGSHU_RETURN_IF_ERROR(cur.erase());
      e = cur.seek(store::u64_key(*key + 1));
    }
  }
  for (const auto& r : filed) GONGSHU_RETURN_IF_ERROR(spool.add_rejected(txn, r));
  const uint64_t accepted = entry.count - refused.size();
  agentpb::StoredReceipt sr;
  sr.set_batch_seq(seq);
  ack.receipt().SerializeToString(sr.mutable_receipt());
  sr.set_records(entry.count);
  sr.set_rejected(static_cast<uint32_t>(refused.size()));
  sr.set_duplicate(true);
  sr.set_received_at_ms(clock.now_ms());
  GONGSHU_RETURN_IF_ERROR(spool.receipts().put(txn, seq, as_bytes(sr.SerializeAsString())));
  GONGSHU_RETURN_IF_ERROR(spool.add_u64(txn, kCountAckedRecords, accepted));
  GONGSHU_RETURN_IF_ERROR(spool.add_u64(txn, kCountAckedBatches, 1));
  if (seq > spool.get_u64(txn, kLastReceiptSeq)) {
    GONGSHU_RETURN_IF_ERROR(spool.put_u64(txn, kLastReceiptSeq, seq));
  }
  GONGSHU_RETURN_IF_ERROR(spool.outbox().del(txn, seq));
  return accepted;
}

}  // namespace

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
      auto it = stored.find(seq);
      if (it != stored.end() &&
          !outbox_receipt_matches(entry, it->second->receipt().event_hash())) {
        // The daemon stored another batch under this number with the old key: whoever holds
        // the leaked key sent it. Ours was not stored: its records are sealed again (under the
        // new key and a fresh number), and the batch is named in the result.
        out.foreign_batches.push_back(seq);
        it = stored.end();
      }
      if (it != stored.end()) {
        GONGSHU_TRY(uint64_t accepted, settle_stored(spool, txn, clock, seq, entry, *it->second));
        ++out.stored_batches;
        out.stored_records += accepted;
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
