#include "agent/forwarder.h"
#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <thread>

#include "agent/cluster_follow.h"
#include "agent/daemon_key.h"
#include "agent/failpoints.h"
#include "agent/resident.h"
#include "core/batch/batch.h"
#include "core/util/i18n.h"
#include "core/util/refusal_text.h"
#include "core/wire/codec.h"
#include "gongshu/v1/record.pb.h"

namespace gongshu::agent {
namespace {
using SteadyClock = std::chrono::steady_clock;
constexpr size_t kMaxAckBytes = 16 << 20;
// Acks applied per sealer round (one LMDB transaction). Each deletes a batch's records, dirtying
// some 150 pages that LMDB keeps for reuse once written (never freed while the spool is open):
// the most pages dirtied in one transaction stay resident, so acks are applied a few at a time.
constexpr size_t kMaxAcksPerTxn = 2;
// Acks taken per step: step() frees their slots in the window and hands them to the sealer.
constexpr size_t kMaxAcksPerStep = 16;
// Spool pages read through the map between releases (agent/resident.h); two threads read it.
constexpr uint64_t kTrimBytes = 512 << 10;
// Batches sealed per round, in the transaction that applies the round's acks (one durable
// commit for both). One: a second would add its sealed copy and its page in the store (~1.2 MiB
// for 1,000 records of 512 bytes) to the agent's peak memory, for one fdatasync fewer per two
// batches on a thread that is not the one waiting for the daemon.
constexpr size_t kMaxBatchesPerRound = 1;
// Sealed messages kept in their own buffers until sent (normally at once, so one; more wait
// while the window is full or the daemon is away, and are then sent from the outbox instead).
constexpr size_t kMaxFresh = 2;
// How often the sealer looks for records spooled by another process (`submit`), which cannot
// wake it.
constexpr std::chrono::milliseconds kSealerPoll{20};

}  // namespace

Forwarder::Forwarder(Spool& spool, wire::Context& context, const crypto::IdentityKey& agent,
                     DaemonTarget target, ForwarderOptions options, const Clock& clock)
    : spool_(spool),
      context_(context),
      agent_(agent),
      target_(std::move(target)),
      daemon_key_id_(target_.key.key_id()),
      options_(options),
      clock_(clock),
      sealed_event_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
      rng_(std::random_device{}()) {
  // Without the eventfd step() still finds sealed batches, at its next wake-up. The sealer
  // starts at the first step(), after the owner has had its say about pause_batching(): an
  // unfinished key rotation must find no batch sealed under the old key.
}

Forwarder::~Forwarder() {
  {
    std::lock_guard<std::mutex> g(wake_mu_);
    stop_ = true;
  }
  wake_cv_.notify_one();
  if (sealer_.joinable()) sealer_.join();
}

void Forwarder::stop_new_batches() {
  std::lock_guard<std::mutex> g(seal_mu_);
  draining_ = true;
}

void Forwarder::pause_batching(bool paused) {
  if (paused_.load() == paused) return;  // called every loop: no lock unless it changes
  std::lock_guard<std::mutex> g(seal_mu_);
  paused_ = paused;
}

size_t Forwarder::in_flight() const {
  std::lock_guard<std::mutex> g(wake_mu_);
  return inflight_.size() + acks_uncommitted_;
}

bool Forwarder::take_status_change() {
  bool c = status_changed_;
  status_changed_ = false;
  return c;
}

void Forwarder::set_error(Said message, ForwarderStatus::Refusal refusal) {
  // The journal's line in the service's language; a refused batch's class explained in it.
  std::string shown = message.translated();
  if (!refusal.code.empty()) {
    shown = trf("batch {} refused by the daemon: {}: {}", refusal.batch, refusal.code,
                explain_refusal(refusal.code, refusal.reason));
  }
  status_.last_refusal = std::move(refusal);
  status_.last_said = std::move(message);
  if (status_.last_error != shown) {
    status_.last_error = std::move(shown);
    status_changed_ = true;
  }
}

std::chrono::milliseconds Forwarder::jittered(std::chrono::milliseconds base) {
  // Between half and the whole of base, so that many agents do not reconnect in step.
  int64_t b = std::max<int64_t>(base.count(), 1);
  std::uniform_int_distribution<int64_t> d(b / 2, b);
  return std::chrono::milliseconds(d(rng_));
}

void Forwarder::ensure_channel(SteadyClock::time_point now) {
  if (channel_ || now < reconnect_at_) return;
  wire::ClientOptions o;
  o.max_message_size = kMaxAckBytes;
  o.reconnect_interval = options_.reconnect_min;
  o.reconnect_interval_max = std::chrono::milliseconds(5'000);
  auto ch =
      wire::ClientChannel::create(context_, agent_, trying_key_ ? *trying_key_ : target_.key, o);
  if (ch) {
    if (auto c = ch->connect(target_.ingest); !c) {
      ch = tl::unexpected(std::move(c).error());
    }
  }
  if (!ch) {
    set_error(said(tr_noop("ingest channel to {}: {}"), target_.ingest, ch.error().message()));
    reconnect_at_ = now + std::chrono::seconds(1);
    return;
  }
  channel_.emplace(std::move(*ch));
  channel_since_ = now;
  poller_.emplace();
  poller_->add(*channel_);
  if (sealed_event_.valid()) poller_->add(sealed_event_.get());
  seen_state_ = wire::HandshakeState::kNotConnected;
  inflight_.clear();
  next_to_send_ = 0;
}

void Forwarder::drop_channel(SteadyClock::time_point now, bool refused) {
  poller_.reset();
  channel_.reset();
  {
    // Everything unacknowledged is sent again from the outbox; the buffers go meanwhile.
    std::lock_guard<std::mutex> g(wake_mu_);
    fresh_.clear();
  }
  inflight_.clear();
  retry_at_.clear();
  next_to_send_ = 0;
  auto grow = [](std::chrono::milliseconds cur, std::chrono::milliseconds lo,
                 std::chrono::milliseconds hi) { return std::clamp(cur * 2, lo, hi); };
  if (refused) {
    refused_backoff_ = grow(refused_backoff_, options_.refused_min, options_.refused_max);
    reconnect_at_ = now + jittered(refused_backoff_);
  } else {
    backoff_ = grow(backoff_, options_.reconnect_min, options_.reconnect_max);
    reconnect_at_ = now + jittered(backoff_);
  }
}

void Forwarder::adopt_trying_key() {
  bool adopted = false;
  auto s = spool_.env().update([&](store::WriteTxn& txn) -> Status {
    GONGSHU_TRY(adopted, adopt_daemon_key_if_next(spool_, txn, *trying_key_));
    return {};
  });
  if (!s) {
    set_error(said(tr_noop("adopt the daemon's new key: {}"), s.error().message()));
    return;
  }
  if (adopted) {
    std::lock_guard<std::mutex> g(seal_mu_);  // the sealer seals to target_.key
    target_.key = *trying_key_;
    daemon_key_id_ = target_.key.key_id();
  }
  trying_key_.reset();
}

void Forwarder::watch_state(SteadyClock::time_point now) {
  if (!channel_) return;
  wire::HandshakeState st = channel_->handshake_state();
  if (st == seen_state_) return;
  seen_state_ = st;
  status_.daemon = st;
  status_changed_ = true;
  switch (st) {
    case wire::HandshakeState::kConnected:
      if (trying_key_) adopt_trying_key();
      backoff_ = std::chrono::milliseconds(0);
      refused_backoff_ = std::chrono::milliseconds(0);
      set_error({});
      break;
    case wire::HandshakeState::kRefused:
      set_error(said(tr_noop("daemon refused our key: not enrolled or revoked")));
      drop_channel(now, true);
      break;
    case wire::HandshakeState::kDisconnected:
      // A new channel, so that every unacknowledged batch is sent again in order and nothing
      // half-queued on the old connection can overtake it. In a cluster, on the next node.
      drop_channel(now, false);
      if (!target_.ingest_nodes.empty())
        target_.ingest = next_ingest_node(target_.ingest_nodes, target_.ingest);
      break;
    case wire::HandshakeState::kFailed:
      set_error(said(tr_noop("handshake with {} failed: the daemon's key is not the one we expect"),
                     target_.ingest));
      // The daemon may have put its announced next key in force: try that one (and after it
      // fails too, the trusted key again).
      if (trying_key_) {
        trying_key_.reset();
        drop_channel(now, false);
      } else if (auto txn = spool_.env().begin_read()) {
        trying_key_ = next_daemon_key(spool_, *txn, target_.key);
        if (trying_key_) drop_channel(now, false);
      }
      break;
    case wire::HandshakeState::kNotConnected:
      break;
  }
}

Status Forwarder::receive_acks(std::chrono::milliseconds wait, std::vector<v1::BatchAck>& acks) {
  if (!channel_) {
    std::this_thread::sleep_for(wait);
    return {};
  }
  // Wakes for a message from the daemon or a batch the sealer committed (sent by step()).
  if (wait.count() > 0 && poller_) {
    if (auto ready = poller_->wait(wait); !ready) {
      set_error(said(tr_noop("ingest channel: {}"), ready.error().message()));
    }
  }
  if (sealed_event_.valid()) {
    uint64_t n;
    // Nonblocking; nothing to read is the usual case.
    [[maybe_unused]] auto r = ::read(sealed_event_.get(), &n, sizeof n);
  }
  auto timeout = poller_ ? std::chrono::milliseconds(0) : wait;
  while (acks.size() < kMaxAcksPerStep && channel_) {
    auto got = channel_->receive(timeout);
    timeout = std::chrono::milliseconds(0);
    if (!got) {
      if (got.error().code() == ErrorCode::kCorrupt) continue;
      auto now = SteadyClock::now();
      if (got.error().code() == ErrorCode::kUnauthenticated) {
        status_.daemon = wire::HandshakeState::kRefused;
        status_changed_ = true;
        set_error(said(tr_noop("daemon refused our key: not enrolled or revoked")));
        drop_channel(now, true);
      } else {
        set_error(said(tr_noop("ingest channel: {}"), got.error().message()));
        drop_channel(now, false);
      }
      return {};
    }
    if (!*got) break;
    auto ack = wire::decode_as<v1::BatchAck>(**got, kMaxAckBytes);
    if (!ack) {
      set_error(said(tr_noop("ignored an undecodable message from the daemon: {}"),
                     ack.error().message()));
      continue;
    }
    acks.push_back(std::move(*ack));
  }
  return {};
}

namespace {

struct Filed {
  uint64_t filed = 0;    // refused records filed
  uint64_t deleted = 0;  // pending entries deleted
  uint64_t bytes = 0;    // their size in the map
};

// Deletes a batch's range of pending records, filing as refused by the daemon those named in
// `rejected` (by index in the batch), or all of them when the batch was refused whole.
Result<Filed> file_records(const Spool& spool, store::WriteTxn& txn, const Clock& clock,
                           uint64_t batch_seq, const OutboxEntry& entry,
                           const std::map<uint32_t, const v1::RecordStatus*>& rejected,
                           const v1::BatchAck* whole) {
  std::vector<agentpb::RejectedRecord> filed;
  Filed out;
  uint64_t gone = 0;   // records deleted
  uint64_t bytes = 0;  // of the entries deleted
  {
    // The batch's range, whole entries (a record, or a segment of them: agent/spool.h),
    // deleted through one cursor as it is read (no descent from the root per key); a refused
    // record is read before its entry goes.
    const uint64_t end = entry.first_pending + entry.count;
    store::WriteCursor cur = spool.pending().write_cursor(txn);
    auto e = cur.seek(store::u64_key(entry.first_pending));
    while (e) {
      auto key = store::parse_u64_key(e->key);
      if (!key || *key >= end) break;
      uint32_t n = static_cast<uint32_t>(
          std::min<uint64_t>(Spool::peek_pending_count(e->value), end - *key));
      const uint32_t base = static_cast<uint32_t>(*key - entry.first_pending);
      bool any = whole != nullptr;
      if (!any) {
        auto it = rejected.lower_bound(base);
        any = it != rejected.end() && it->first < base + n;
      }
      std::optional<Result<std::vector<agentpb::PendingRecord>>> recs;
      if (any) {
        recs = spool.open_pending_entry(*key, e->value);
        // Opened: its true count (a peeked one is an estimate).
        if (*recs) n = static_cast<uint32_t>(std::min<uint64_t>((*recs)->size(), end - *key));
      }
      for (uint32_t j = 0; any && j < n; ++j) {
        const uint32_t i = base + j;
        const v1::RecordStatus* st = nullptr;
        if (!whole) {
          auto it = rejected.find(i);
          if (it == rejected.end()) continue;
          st = it->second;
        }
        agentpb::RejectedRecord r;
        r.set_time_ms(clock.now_ms());
        r.set_by_daemon(true);
        r.set_batch_seq(batch_seq);
        if (whole) {
          r.set_code(v1::RECORD_STATUS_MALFORMED);
          r.set_batch_error(whole->error());
          // The code's name and the daemon's message are protocol: they stay as sent, and the
          // stored reason is English whatever the agent's language (po/README.md).
          r.set_reason(
              i18n::format("batch {} refused whole: {}: {}",  // i18n-exempt: stored
                           {std::to_string(batch_seq), v1::BatchErrorCode_Name(whole->error()),
                            whole->error_message()}));
        } else {
          r.set_code(st->code());
          r.set_field(st->field());
          r.set_reason(st->reason());
        }
        if (*recs && j < (*recs)->size()) {
          agentpb::PendingRecord& p = (**recs)[j];
          r.set_source(p.source());
          v1::Record rec;
          if (rec.ParseFromString(p.record())) {
            r.set_dataset(rec.dataset());
            r.set_record_key(rec.record_key());
          }
          *r.mutable_record() = std::move(*p.mutable_record());
        } else {
          // Stored with the rejected row: English, translated when shown (po/README.md).
          r.set_reason(
              r.reason() + " (the spooled copy could not be read: " +  // i18n-exempt
              (*recs
                   ? std::string("record missing from its segment")                  // i18n-exempt
                   : std::string("its segment could not be decrypted or parsed")) +  // i18n-exempt
              ")");
        }
        filed.push_back(std::move(r));
      }
      // Read in this transaction, so it exists.
      GONGSHU_RETURN_IF_ERROR(cur.erase());
      ++out.deleted;
      gone += n;
      bytes += e->value.size();
      e = cur.seek(store::u64_key(*key + 1));
    }
  }
  for (const auto& r : filed) GONGSHU_RETURN_IF_ERROR(spool.add_rejected(txn, r));
  GONGSHU_RETURN_IF_ERROR(spool.pending_records_gone(txn, gone));
  out.filed = filed.size();
  out.bytes = bytes;
  return out;
}

}  // namespace

Result<std::optional<SettledBatch>> settle_acknowledged(const Spool& spool, store::WriteTxn& txn,
                                                        const Clock& clock, uint64_t seq,
                                                        const OutboxEntry& entry,
                                                        const v1::BatchAck& ack, bool duplicate) {
  // Another batch's receipt: ours was not stored under this number (agent/forwarder.h "Acks").
  if (!outbox_receipt_matches(entry, ack.receipt().event_hash())) return std::nullopt;
  std::map<uint32_t, const v1::RecordStatus*> rejected;
  for (const auto& s : ack.statuses()) {
    if (s.index() < entry.count) rejected.emplace(s.index(), &s);
  }
  GONGSHU_TRY(Filed filed, file_records(spool, txn, clock, seq, entry, rejected, nullptr));
  SettledBatch out;
  out.accepted = entry.count - rejected.size();
  out.rejected = filed.filed;
  out.deleted = filed.deleted;
  out.bytes = filed.bytes;
  agentpb::StoredReceipt sr;
  sr.set_batch_seq(seq);
  ack.receipt().SerializeToString(sr.mutable_receipt());
  sr.set_records(entry.count);
  sr.set_rejected(static_cast<uint32_t>(rejected.size()));
  sr.set_duplicate(duplicate);
  sr.set_received_at_ms(clock.now_ms());
  GONGSHU_RETURN_IF_ERROR(spool.receipts().put(txn, seq, as_bytes(sr.SerializeAsString())));
  GONGSHU_RETURN_IF_ERROR(spool.add_u64(txn, kCountAckedRecords, out.accepted));
  GONGSHU_RETURN_IF_ERROR(spool.add_u64(txn, kCountAckedBatches, 1));
  if (seq > spool.get_u64(txn, kLastReceiptSeq)) {
    GONGSHU_RETURN_IF_ERROR(spool.put_u64(txn, kLastReceiptSeq, seq));
  }
  GONGSHU_RETURN_IF_ERROR(spool.outbox().del(txn, seq));
  return out;
}

bool Forwarder::ack_settles(const v1::BatchAck& ack) const {
  if (ack.error() == v1::BATCH_INTERNAL || ack.error() == v1::BATCH_KEY_MISMATCH) return false;
  return ack.error() != v1::BATCH_OK ||
         (ack.has_receipt() && ack.receipt().daemon_key_id() == daemon_key_id_);
}

Status Forwarder::apply_ack(store::WriteTxn& txn, const v1::BatchAck& ack, bool* done) {
  *done = false;
  uint64_t seq = ack.batch_seq();
  auto v = spool_.outbox().get(txn, seq);
  if (!v) {
    *done = true;  // acknowledged before (an ack for a resend): nothing left to do
    return {};
  }
  GONGSHU_TRY(OutboxEntry entry, decode_outbox(*v));
  entry.message = {};  // a view into the map; not needed past this point
  // Not stored yet, or not under this key (revoked, or not the connection's): the batch is kept,
  // for a resend or for a re-enrollment to reconcile (agent/reenrollment.h); never filed as
  // refused, since it is no fault of its records.
  if (ack.error() == v1::BATCH_INTERNAL || ack.error() == v1::BATCH_KEY_MISMATCH) return {};
  // Another batch holds this number under our key: the daemon refuses ours as a conflict
  // (ingest_apply.cc), or answers with the other's receipt. Whoever else holds the key (a leak)
  // sent it. Never taken as ours and never filed as refused (its records are not at fault): the
  // batch stays in the outbox, not sent again on this connection, until the key is revoked and
  // the agent enrolled again, whose reconciliation seals its records anew (agent/reenrollment.h).
  auto foreign = [&] {
    txn_news_.error = said(
        tr_noop("batch {}: the daemon holds ANOTHER batch under this number, sent with our agent "
                "key {}: the key may have leaked; revoke it (gongshuctl agent revoke) and enroll "
                "the agent again (gongshu-agent enroll); the batch is kept, not acknowledged"),
        seq, agent_.public_key().key_id());
    txn_news_.refusal = {};
    txn_news_.foreign_receipts += 1;
  };
  if (ack.error() == v1::BATCH_SEQ_CONFLICT) {
    foreign();
    return {};
  }
  if (ack.error() != v1::BATCH_OK) {
    GONGSHU_TRY(Filed filed, file_records(spool_, txn, clock_, seq, entry, {}, &ack));
    txn_news_.rejected_records += filed.filed;
    touched(filed.bytes);  // the pages read to delete them
    // The code's name and the daemon's message are protocol: they stay as sent, after the
    // class in the service's language (the journal line); kept apart for `status`.
    const std::string code = v1::BatchErrorCode_Name(ack.error());
    txn_news_.error =
        said(tr_noop("batch {} refused by the daemon: {}: {}"), seq, code, ack.error_message());
    txn_news_.refusal = {code, ack.error_message(), seq};
    GONGSHU_RETURN_IF_ERROR(spool_.outbox().del(txn, seq));
  } else {
    if (!ack.has_receipt() || ack.receipt().daemon_key_id() != daemon_key_id_) {
      txn_news_.error =
          said(tr_noop("ack for batch {} carries a receipt from key '{}', not from our daemon {}; "
                       "ignored (the batch will be sent again)"),
               seq, ack.receipt().daemon_key_id(), daemon_key_id_);
      txn_news_.refusal = {};
      return {};
    }
    GONGSHU_TRY(auto settled,
                settle_acknowledged(spool_, txn, clock_, seq, entry, ack, ack.duplicate()));
    if (!settled) {
      foreign();
      return {};
    }
    txn_news_.rejected_records += settled->rejected;
    txn_news_.acked_batches += 1;
    txn_news_.acked_records += settled->accepted;
    touched(settled->bytes);  // the pages read to delete them
  }
  *done = true;
  return {};
}

Status Forwarder::make_batches(store::WriteTxn& txn, size_t n, bool partial_ok, uint64_t* made,
                               uint64_t* left) {
  *made = 0;
  for (size_t i = 0;; ++i) {
    uint64_t next_pending = spool_.get_u64(txn, kNextPending);
    uint64_t up_to = spool_.get_u64(txn, kBatchedUpTo);
    *left = next_pending > up_to + 1 ? next_pending - 1 - up_to : 0;
    if (i >= n || *left == 0) return {};
    // Only full batches until the oldest waiting record has waited max_delay.
    if (!partial_ok && *left < options_.max_records) return {};
    builder_.start();
    uint64_t first = 0, last = 0;
    std::optional<uint64_t> corrupt;
    {
      // Whole entries (a record, or a segment of them: agent/spool.h), never a part of
      // one: an ack deletes whole entries. The next entry goes in while the batch has room for
      // all its records (an empty batch takes it whatever its size).
      store::Cursor cur = spool_.pending().cursor(txn);
      for (auto e = cur.seek(store::u64_key(up_to + 1)); e; e = cur.next()) {
        uint64_t key = store::parse_u64_key(e->key).value_or(0);
        if (builder_.count() > 0 &&
            (builder_.count() + Spool::peek_pending_count(e->value) > options_.max_records ||
             builder_.record_bytes() + e->value.size() > options_.max_batch_record_bytes))
          break;
        // Decrypted into one buffer kept from entry to entry, read in place, and copied once:
        // into the batch's encoding.
        if (!spool_.open_pending_records(key, e->value, &read_)) {
          if (builder_.count() > 0) break;  // end the batch before it; handled in the next one
          corrupt = key;
          // Its records run up to the next entry (its own count is not to be trusted).
          auto next = cur.next();
          const uint64_t next_key =
              next ? store::parse_u64_key(next->key).value_or(next_pending) : next_pending;
          last = std::max(key, next_key - 1);
          break;
        }
        if (builder_.count() == 0) first = key;
        last = key + read_.records.size() - 1;
        // A format-4 entry brings each record's hash, computed at intake: not hashed again.
        if (read_.hashes.empty()) {
          for (std::string_view r : read_.records) builder_.add(r);
        } else {
          for (size_t j = 0; j < read_.records.size(); ++j)
            builder_.add(read_.records[j], read_.hashes[j]);
        }
      }
    }
    if (corrupt) {
      // An unreadable spool entry cannot be sent; it is filed, not silently dropped.
      agentpb::RejectedRecord r;
      r.set_time_ms(clock_.now_ms());
      r.set_source("spool");
      r.set_code(v1::RECORD_STATUS_MALFORMED);
      // Stored with the rejected row: English, translated when shown (po/README.md).
      if (last == *corrupt) {
        r.set_reason(
            english("spooled record {} could not be decrypted or parsed",  // i18n-exempt: stored
                    *corrupt));
      } else {
        r.set_reason(english(
            "spooled records {} to {} could not be decrypted or parsed",  // i18n-exempt: stored
            *corrupt, last));
      }
      GONGSHU_RETURN_IF_ERROR(spool_.add_rejected(txn, r));
      // One filed entry stands for every record of the segment in the count.
      GONGSHU_RETURN_IF_ERROR(spool_.add_u64(txn, kCountRejectedLocal, last - *corrupt));
      // Read from pending in this transaction: it exists.
      GONGSHU_RETURN_IF_ERROR(spool_.pending().del(txn, *corrupt));
      GONGSHU_RETURN_IF_ERROR(spool_.pending_records_gone(txn, last - *corrupt + 1));
      GONGSHU_RETURN_IF_ERROR(spool_.put_u64(txn, kBatchedUpTo, last));
      continue;
    }
    if (builder_.count() == 0) return {};
    uint64_t seq = std::max<uint64_t>(spool_.get_u64(txn, kNextBatchSeq), 1);
    int64_t created = clock_.now_ms();
    const uint32_t count = static_cast<uint32_t>(builder_.count());
    const size_t bytes = builder_.record_bytes();
    // Signed, then sealed straight into the outbox page it is committed from (no buffer of its
    // own and no copy): the message sent, byte for byte.
    GONGSHU_TRY(const size_t sealed_len,
                builder_.sign(agent_, target_.key, target_.agency, seq, created));
    // The spool backlog rides along, outside the signed bytes, as a second serialised
    // SealedBatch holding only reported_backlog: protobuf merges concatenated messages, so the
    // sealed bytes stay exactly what was signed and the daemon reads one SealedBatch. Stored
    // with the batch (the backlog when it was sealed, a few batches before it is sent), the
    // outbox value holds the message sent, byte for byte.
    v1::SealedBatch advisory;
    advisory.set_reported_backlog(spool_.pending_records(txn));
    const std::string advisory_bytes = advisory.SerializeAsString();
    // The message — the SealedBatch and the advisory — sealed into a buffer of its own that the
    // sending thread hands to ZeroMQ without a copy once this transaction has committed
    // (seal_round), and copied once into the outbox value, the durable copy a resend reads.
    const size_t sealed_size = batch::sealed_batch_size(seq, sealed_len);
    const size_t message_size = sealed_size + advisory_bytes.size();
    std::shared_ptr<uint8_t[]> message(new uint8_t[message_size]);
    const std::span<uint8_t> m(message.get(), message_size);
    GONGSHU_RETURN_IF_ERROR(builder_.seal_into(
        target_.key, batch::write_sealed_batch_prefix(seq, sealed_len, m.first(sealed_size))));
    std::copy(advisory_bytes.begin(), advisory_bytes.end(), m.begin() + ptrdiff_t(sealed_size));
    GONGSHU_TRY(std::span<uint8_t> value,
                spool_.outbox().append_reserve(txn, seq,
                                               kOutboxHeaderSize + kOutboxHashSize + message_size));
    // With the hash of the header sealed: the receipt of an ack must name it (apply_ack).
    put_outbox_header(value.data(), first, count, created, builder_.sealed_hash());
    std::copy(m.begin(), m.end(), value.begin() + ptrdiff_t(kOutboxHeaderSize + kOutboxHashSize));
    txn_sealed_.push_back(Sealed{seq, std::move(message), message_size});
    sealer_holding_ = true;
    GONGSHU_RETURN_IF_ERROR(spool_.put_u64(txn, kNextBatchSeq, seq + 1));
    GONGSHU_RETURN_IF_ERROR(spool_.put_u64(txn, kBatchedUpTo, last));
    touched(bytes + message_size);
    ++*made;
  }
  return {};
}

Status Forwarder::send_due(SteadyClock::time_point now) {
  if (!channel_ || seen_state_ != wire::HandshakeState::kConnected) return {};
  auto send_one = [&](uint64_t seq, bool* sent) -> Status {
    *sent = false;
    // Sealed since the last send: from its own buffer, which ZeroMQ takes without a copy.
    std::optional<Sealed> fresh;
    {
      std::lock_guard<std::mutex> g(wake_mu_);
      if (auto it = fresh_.find(seq); it != fresh_.end()) {
        fresh = std::move(it->second);
        fresh_.erase(it);
      }
    }
    if (fresh) {
      holding_buffers_ = true;
      const ByteView bytes(fresh->data.get(), fresh->size);
      if (auto s =
              channel_->send_owned(std::shared_ptr<const void>(fresh->data, bytes.data()), bytes);
          !s) {
        std::lock_guard<std::mutex> g(wake_mu_);
        fresh_.emplace(seq, std::move(*fresh));  // queue full: try next step
        return {};
      }
      *sent = true;
      return {};
    }
    GONGSHU_TRY(store::ReadTxn txn, spool_.env().begin_read());
    auto v = spool_.outbox().get(txn, seq);
    if (!v) return {};
    GONGSHU_TRY(OutboxEntry e, decode_outbox(*v));
    // A resend (or a batch sealed before a reconnect): as stored, read in place from the map;
    // ZeroMQ copies it.
    holding_buffers_ = true;
    if (auto s = channel_->send(e.message); !s) return {};  // queue full: try next step
    touched(e.message.size());
    *sent = true;
    return {};
  };
  for (auto it = retry_at_.begin(); it != retry_at_.end();) {
    if (it->second > now) {
      ++it;
      continue;
    }
    bool sent;
    GONGSHU_RETURN_IF_ERROR(send_one(it->first, &sent));
    if (sent) {
      inflight_[it->first] = InFlight{now};
      first_sent_.try_emplace(it->first, now);
      ++status_.sent_batches;
      ++status_.resent_batches;
    }
    it = retry_at_.erase(it);
  }
  if (draining_) return {};
  while (inflight_.size() + retry_at_.size() < options_.window) {
    uint64_t seq = 0;
    {
      GONGSHU_TRY(store::ReadTxn txn, spool_.env().begin_read());
      store::Cursor cur = spool_.outbox().cursor(txn);
      auto e = cur.seek(store::u64_key(next_to_send_));
      while (e) {
        uint64_t k = store::parse_u64_key(e->key).value_or(0);
        if (!inflight_.count(k) && !retry_at_.count(k)) {
          seq = k;
          break;
        }
        e = cur.next();
      }
    }
    if (seq == 0) break;
    bool sent;
    GONGSHU_RETURN_IF_ERROR(send_one(seq, &sent));
    if (!sent) break;
    inflight_[seq] = InFlight{now};
    first_sent_.try_emplace(seq, now);
    while (first_sent_.size() > AckTimes::kKept) first_sent_.erase(first_sent_.begin());
    next_to_send_ = seq + 1;
    ++status_.sent_batches;
    if (seq <= max_sent_seq_) ++status_.resent_batches;
    max_sent_seq_ = std::max(max_sent_seq_, seq);
  }
  return {};
}

Status Forwarder::step(std::chrono::milliseconds wait) {
  if (!sealer_.joinable()) {
    sealer_ = std::thread([this] { seal_loop(); });
    // Named for per-thread CPU figures (bench/e2e, top -H).
    pthread_setname_np(sealer_.native_handle(), "gs-sealer");
  }
  GONGSHU_RETURN_IF_ERROR(take_news());
  auto now = SteadyClock::now();
  ensure_channel(now);
  watch_state(now);
  if (channel_ && seen_state_ != wire::HandshakeState::kConnected &&
      !target_.ingest_nodes.empty() &&
      now - channel_since_ > std::min(options_.ack_timeout, std::chrono::milliseconds(5000))) {
    // A cluster node that accepts the connection but never completes the handshake (frozen,
    // or cut off): on to the next node (agent/cluster_follow.h).
    set_error(said(tr_noop("no handshake with {}; trying the next node"), target_.ingest));
    drop_channel(now, false);
    reconnect_at_ = now;
    target_.ingest = next_ingest_node(target_.ingest_nodes, target_.ingest);
  }
  // What the sealer committed since the last step goes out before any wait.
  GONGSHU_RETURN_IF_ERROR(send_due(now));

  std::vector<v1::BatchAck> acks;
  GONGSHU_RETURN_IF_ERROR(receive_acks(wait, acks));
  if (!acks.empty()) failpoint(Failpoint::kAfterSend);
  now = SteadyClock::now();
  watch_state(now);

  if (!acks.empty()) {
    // An ack that settles its batch frees the batch's slot in the window now, and the next
    // sealed batch is sent before the ack is committed: the daemon is not kept waiting for this
    // agent's commit. The batch stays in the outbox until then, and a crash before the commit
    // sends it again (answered duplicate).
    for (const auto& ack : acks) {
      const uint64_t s = ack.batch_seq();
      if (ack_settles(ack)) {
        // Stored: timed from the batch's first send, whatever resends it took (what the agency
        // waited); a refused batch is not a storage time.
        if (auto it = first_sent_.find(s); it != first_sent_.end()) {
          if (ack.error() == v1::BATCH_OK) {
            status_.ack_times.add(
                std::chrono::duration_cast<std::chrono::microseconds>(now - it->second));
          }
          first_sent_.erase(it);
        }
        inflight_.erase(s);
        retry_at_.erase(s);
        busy_rounds_.erase(s);
        if (ack.error() == v1::BATCH_OK) busy_rounds_.clear();  // served again
      } else if (std::string to = channel_
                                      ? leader_redirect(target_.ingest_nodes, target_.ingest, ack)
                                      : std::string();
                 !to.empty()) {
        // A cluster node that does not lead (agent/cluster_follow.h): to the leader it names
        // (or the next node), where every unacknowledged batch is sent again.
        // The daemon's message is protocol: it stays as sent.
        set_error(said(tr_noop("{}: {}; moving to {}"), target_.ingest, ack.error_message(), to));
        target_.ingest = to;
        drop_channel(now, false);
        reconnect_at_ = now + std::chrono::milliseconds(ack.leader_ingest().empty() ? 200 : 0);
      } else if (ack.error() == v1::BATCH_INTERNAL) {
        // Busy or could not store it: resend this batch after the daemon's hint, backing off
        // further while it stays busy. The answer names the batch, so nothing waits for the ack
        // timeout.
        inflight_.erase(s);
        const uint32_t round = ++busy_rounds_[s];
        const auto delay = std::min<std::chrono::milliseconds>(
            options_.reconnect_max,
            options_.reconnect_min * (int64_t{1} << std::min(round - 1, 20u)));
        const auto hint = std::chrono::milliseconds(ack.retry_after_ms());
        retry_at_[s] = now + jittered(std::max({delay, hint, std::chrono::milliseconds(50)}));
        set_error(
            said(tr_noop("batch {}: not stored yet ({}); will resend"), s, ack.error_message()));
      }
    }
    GONGSHU_RETURN_IF_ERROR(send_due(now));
    if (std::all_of(acks.begin(), acks.end(), [&](auto& a) { return ack_settles(a); })) {
      backoff_ = std::chrono::milliseconds(0);  // served again
    }
    // Committed by the sealer's thread, with the next batches it seals (seal_round).
    {
      std::lock_guard<std::mutex> g(wake_mu_);
      for (auto& a : acks) acks_to_commit_.push_back(std::move(a));
      acks_uncommitted_ += acks.size();
      kick_ = true;
    }
    wake_cv_.notify_one();
  }

  // An overdue ack: the connection is not what it seems. Start over on a new one.
  if (!inflight_.empty()) {
    auto oldest = std::min_element(inflight_.begin(), inflight_.end(), [](auto& a, auto& b) {
                    return a.second.sent_at < b.second.sent_at;
                  })->second.sent_at;
    if (now - oldest > options_.ack_timeout) {
      set_error(said(tr_noop("no ack within {} ms; reconnecting and sending again"),
                     options_.ack_timeout.count()));
      drop_channel(now, false);
      reconnect_at_ = now;
      if (!target_.ingest_nodes.empty())  // a cluster node that hangs: try the next one
        target_.ingest = next_ingest_node(target_.ingest_nodes, target_.ingest);
    }
  }

  // A cluster node that stopped serving: another node that takes a batch as leader, found while
  // this one is waited for (agent/cluster_follow.h).
  if (std::string to = finder_.step(now, target_.ingest_nodes, target_.ingest, target_.key, spool_,
                                    status_.acked_batches,
                                    !inflight_.empty() || !retry_at_.empty() || !channel_ ||
                                        seen_state_ != wire::HandshakeState::kConnected,
                                    channel_ && seen_state_ == wire::HandshakeState::kConnected);
      !to.empty()) {
    set_error(said(tr_noop("{} does not answer; {} took a batch as leader: moving there"),
                   target_.ingest, to));
    drop_channel(now, false);
    reconnect_at_ = now;
    target_.ingest = to;
  }

  GONGSHU_RETURN_IF_ERROR(send_due(now));

  bool idle = false;
  {
    GONGSHU_TRY(store::ReadTxn txn, spool_.env().begin_read());
    status_.outbox = spool_.outbox().count(txn);
    idle = status_.outbox == 0 &&
           spool_.get_u64(txn, kNextPending) <= spool_.get_u64(txn, kBatchedUpTo) + 1;
  }
  GONGSHU_RETURN_IF_ERROR(take_news());
  status_.in_flight = in_flight();
  // What this step read of the map goes now (the service's own release is only periodic).
  if (bytes_since_trim_ > 0) touched(kTrimBytes);
  if (idle && holding_buffers_) {
    // The backlog is drained: the heap's free memory (ZeroMQ's copies of messages) goes back.
    release_heap();
    holding_buffers_ = false;
  }
  return {};
}

Status Forwarder::take_news() {
  std::lock_guard<std::mutex> g(wake_mu_);
  if (sealer_error_) return tl::unexpected(*sealer_error_);
  status_.acked_batches += news_.acked_batches;
  status_.acked_records += news_.acked_records;
  status_.rejected_records += news_.rejected_records;
  status_.foreign_receipts += news_.foreign_receipts;
  if (!news_.error.empty()) set_error(std::move(news_.error), std::move(news_.refusal));
  news_ = {};
  return {};
}

void Forwarder::seal_loop() {
  for (;;) {
    auto wait = kSealerPoll;
    {
      std::lock_guard<std::mutex> g(seal_mu_);
      {
        if (auto s = seal_round(&wait); !s) {
          std::lock_guard<std::mutex> w(wake_mu_);
          sealer_error_ = std::move(s).error();
          return;
        }
      }
    }
    std::unique_lock<std::mutex> lk(wake_mu_);
    if (wait.count() > 0 && acks_to_commit_.empty()) {
      wake_cv_.wait_for(lk, wait, [&] { return stop_ || kick_; });
    }
    if (stop_ && acks_to_commit_.empty()) return;
    kick_ = false;
  }
}

Status Forwarder::seal_round(std::chrono::milliseconds* wait) {
  const auto now = SteadyClock::now();
  const size_t limit = options_.window;
  std::vector<v1::BatchAck> acks;
  {
    std::lock_guard<std::mutex> g(wake_mu_);
    while (!acks_to_commit_.empty() && acks.size() < kMaxAcksPerTxn) {
      acks.push_back(std::move(acks_to_commit_.front()));
      acks_to_commit_.pop_front();
    }
  }
  uint64_t unbatched = 0;
  size_t outbox_count = 0;
  {
    GONGSHU_TRY(store::ReadTxn txn, spool_.env().begin_read());
    uint64_t next_pending = spool_.get_u64(txn, kNextPending);
    uint64_t up_to = spool_.get_u64(txn, kBatchedUpTo);
    unbatched = next_pending > up_to + 1 ? next_pending - 1 - up_to : 0;
    outbox_count = spool_.outbox().count(txn);
  }
  const bool sealing = !paused_ && !draining_;
  bool due = false;
  bool delay_expired = false;
  if (unbatched == 0) {
    waiting_since_.reset();
    if (sealer_holding_ && acks.empty()) {
      // Nothing left to seal: the batch buffers, and the heap's free memory, go back.
      builder_.release();
      read_ = PendingRead();
      release_heap();
      sealer_holding_ = false;
    }
    // *wait stays the poll interval: records from another process (`submit`) do not wake us.
  } else if (sealing) {
    if (!waiting_since_) waiting_since_ = now;
    delay_expired = now - *waiting_since_ >= options_.max_delay;
    // A full outbox waits for the acks (which kick this thread); so do records not yet due.
    due =
        outbox_count < limit + acks.size() && (unbatched >= options_.max_records || delay_expired);
    if (!delay_expired && unbatched < options_.max_records) {
      *wait = std::clamp(std::chrono::duration_cast<std::chrono::milliseconds>(
                             *waiting_since_ + options_.max_delay - now) +
                             std::chrono::milliseconds(1),
                         std::chrono::milliseconds(1), kSealerPoll);
    }
  }
  if (acks.empty() && !due) return {};

  // The acks taken and the batches sealed, one transaction: one durable commit deletes the
  // acknowledged batches and stores the new ones (what a crash at each point leaves:
  // agent/forwarder.h).
  uint64_t made = 0, left = unbatched;
  GONGSHU_RETURN_IF_ERROR(spool_.env().update([&](store::WriteTxn& txn) -> Status {
    txn_news_ = {};
    txn_sealed_.clear();
    made = 0;
    for (const auto& ack : acks) {
      bool done = false;
      GONGSHU_RETURN_IF_ERROR(apply_ack(txn, ack, &done));
    }
    if (!acks.empty()) failpoint(Failpoint::kAckBeforeCommit);
    if (!due) return {};
    const size_t count = spool_.outbox().count(txn);
    const size_t n = std::min(count < limit ? limit - count : 0, kMaxBatchesPerRound);
    return make_batches(txn, n, delay_expired, &made, &left);
  }));
  if (made > 0) failpoint(Failpoint::kAfterSealCommit);
  {
    std::lock_guard<std::mutex> g(wake_mu_);
    news_.acked_batches += txn_news_.acked_batches;
    news_.acked_records += txn_news_.acked_records;
    news_.rejected_records += txn_news_.rejected_records;
    news_.foreign_receipts += txn_news_.foreign_receipts;
    if (!txn_news_.error.empty()) {
      news_.error = std::move(txn_news_.error);
      news_.refusal = std::move(txn_news_.refusal);
    }
    acks_uncommitted_ -= acks.size();
    // Committed: the sending thread may send these from their buffers (send_due).
    for (auto& b : txn_sealed_) fresh_.emplace(b.seq, std::move(b));
    while (fresh_.size() > kMaxFresh) fresh_.erase(fresh_.begin());  // sent from the outbox
  }
  if (made > 0 && left == 0) waiting_since_.reset();
  if (sealed_event_.valid()) {
    const uint64_t one = 1;
    // Fails only when the counter would overflow, when it is readable anyway.
    [[maybe_unused]] auto w = ::write(sealed_event_.get(), &one, sizeof one);
  }
  if (made > 0 || !acks.empty()) *wait = std::chrono::milliseconds(0);  // more may be due
  if (bytes_since_trim_ > 0) touched(kTrimBytes);
  return {};
}

void AckTimes::add(std::chrono::microseconds d) {
  const auto us = std::clamp<int64_t>(d.count(), 0, std::numeric_limits<uint32_t>::max());
  us_[count_++ % kKept] = uint32_t(us);
}

std::chrono::microseconds AckTimes::percentile(double p) const {
  const size_t n = size_t(std::min<uint64_t>(count_, kKept));
  if (n == 0) return std::chrono::microseconds(0);
  std::array<uint32_t, kKept> v = us_;
  const size_t rank = std::clamp<size_t>(size_t(std::ceil(p / 100.0 * double(n))), 1, n) - 1;
  std::nth_element(v.begin(), v.begin() + ptrdiff_t(rank), v.begin() + ptrdiff_t(n));
  return std::chrono::microseconds(v[rank]);
}

void Forwarder::touched(uint64_t bytes) {
  // Pages of the spool read through the map stay resident until released (agent/resident.h);
  // released every MiB or so, the agent's RSS does not grow with the backlog. The heap is not
  // trimmed here: the large buffers of a batch are reused from batch to batch while a backlog
  // drains (trimming them would only fault them in again), and go back once it is drained.
  // Called by both threads.
  if (bytes_since_trim_.fetch_add(bytes) + bytes < kTrimBytes) return;
  bytes_since_trim_ = 0;
  release_mapping(spool_.env());
}

}  // namespace gongshu::agent
