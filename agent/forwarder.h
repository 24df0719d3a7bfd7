// Forwarder: the batcher and the sender of the `run` service (DESIGN §5), driven by step().
//
// Batching, on a thread of its own (the sealer). Pending records are taken in pending_seq
// order, with a cursor, a batch at a time (never the whole backlog): a batch is made once
// max_records are waiting or the oldest waiting record has waited max_delay. Its Record bytes
// are signed and sealed (batch::seal_batch) and the SealedBatch is stored in the outbox,
// together with next_batch_seq and batched_up_to, in one LMDB transaction — the batch exists
// durably before a byte of it is sent, since the sending thread finds batches only in committed
// outbox entries, so a resend after any crash carries the same bytes under the same batch_seq.
// The same transaction applies the acks step() received meanwhile (below): one durable commit
// per round of the sealer, which works while the sending thread waits for the daemon. At most
// `window` batches exist unacknowledged at a time; the rest of the backlog waits, unsealed, in
// `pending`. (Sealing a few batches beyond the window, ready for the moment an ack frees a slot,
// made no measurable difference: a round seals the next batch as soon as an ack is received.)
//
// Sending. One ClientChannel to the daemon's ingest endpoint. A batch goes out the first time
// from the buffer it was sealed into, handed to ZeroMQ without a copy once its outbox entry (a
// copy of the same bytes) is committed; every resend reads the outbox entry. Batches are sent in
// batch_seq order and only while the handshake is up; whenever the connection is replaced (lost,
// refused, an ack overdue) the channel is thrown away with its queue, and a new one sends every
// unacknowledged batch again, in order, from the outbox. Reconnects back off exponentially with
// jitter; a refused key ("not enrolled or revoked") backs off longer.
//
// Acks. A BatchAck is matched by batch_seq, in any order. BATCH_OK (duplicate or not): the
// receipt is checked to be from our daemon and for this batch (its event_hash the hash of the
// header sealed, kept in the outbox: otherwise someone else's batch, sent with a leaked copy of
// our key, holds the number, and the ack is an error for the operator, the batch kept) and stored,
// the records named in statuses are filed as rejected, and the batch's records and outbox entry are
// deleted. BATCH_INTERNAL: the batch is sent again later. Any other error: the batch can never
// succeed, so all its records are filed as rejected with that reason. An ack frees its batch's slot
// in the window at once (the next sealed batch is sent before the ack is committed); step() hands
// it to the sealer, whose next round applies it (with up to one other ack) in the transaction that
// seals the next batch. The sending thread never waits for a commit; in_flight() counts an ack
// until it is committed.
//
// Exactly once, with two threads and grouped commits (what a SIGKILL leaves, at each point):
//   - sealer between reading pending and committing: nothing was sent (only committed outbox
//     entries are: a batch's own buffer, the bytes of its entry, reaches the sending thread
//     only after the commit); the next start seals the same records again under the same
//     batch_seq.
//   - batch committed, not yet sent, or sent and not acknowledged: the next start sends each
//     outbox entry again, byte for byte; the daemon stores it or answers duplicate.
//   - ack received, its deletion not yet committed (nor that of the other ack and the batch
//     sealed in the same transaction): those batches are still in the outbox and are sent again;
//     the daemon has them already and answers duplicate with the stored receipt, so nothing is
//     stored twice and nothing is lost; the unsealed records are sealed again.
//   - round committed: its acks' records, outbox entries and receipts, and its new batch, change
//     together.
// The daemon sends an ack only after the batch is durably stored (daemon/ingest.h).
//
// Threads: one thread calls step() and the other methods; the sealer thread is the Forwarder's
// own (started by the first step(), joined by the destructor). The Spool, Context, key and Clock
// must outlive the Forwarder.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "agent/api_client.h"
#include "agent/cluster_follow.h"
#include "agent/spool.h"
#include "core/batch/batch.h"
#include "core/crypto/identity.h"
#include "core/util/clock.h"
#include "core/util/fd.h"
#include "core/util/i18n.h"
#include "core/wire/client_channel.h"
#include "core/wire/context.h"
#include "core/wire/poller.h"
#include "gongshu/v1/batch.pb.h"

namespace gongshu::agent {

struct ForwarderOptions {
  uint32_t max_records = 1000;
  std::chrono::milliseconds max_delay{100};
  uint32_t window = 8;
  std::chrono::milliseconds ack_timeout{30'000};
  // A cluster: no ack for this long while batches wait, the other nodes are asked who leads
  // (agent/cluster_follow.h LeaderFinder); 0: off.
  std::chrono::milliseconds cluster_probe{1'000};
  size_t max_batch_record_bytes = 8 << 20;  // record bytes per batch, below the daemon's limit
  std::chrono::milliseconds reconnect_min{100};
  std::chrono::milliseconds reconnect_max{30'000};
  std::chrono::milliseconds refused_min{2'000};
  std::chrono::milliseconds refused_max{60'000};
};

// A message for people kept as its msgid (a tr_noop literal) and arguments, so that what is
// stored is English whatever the writer's language and each reader sees it in theirs
// (po/README.md: stored text).
struct Said {
  const char* msgid = "";
  std::vector<std::string> args;
  bool empty() const { return *msgid == '\0'; }
  std::string english() const { return i18n::format(msgid, args.data(), args.size()); }
  std::string translated() const { return i18n::format(tr(msgid), args.data(), args.size()); }
};
template <typename... A>
Said said(const char* msgid, const A&... args) {
  return Said{msgid, {i18n::to_text(args)...}};
}

// Send-to-acknowledgement times of the last kKept batches stored (from a batch's first send,
// whatever resends it took; a refused batch is not timed), for `status` and bench/e2e: what an
// agency waits for its records to be stored, the latency figure of issue 19 where the user sees
// it.
class AckTimes {
 public:
  static constexpr size_t kKept = 1024;
  void add(std::chrono::microseconds d);
  uint64_t count() const { return count_; }  // acknowledgements timed since start
  // The p-th percentile (0..100, nearest rank) of the times kept; zero when none is.
  std::chrono::microseconds percentile(double p) const;

 private:
  std::array<uint32_t, kKept> us_{};  // a ring, saturating at ~71 minutes
  uint64_t count_ = 0;
};

// What the forwarder knows, for `status` and the service's status line.
struct ForwarderStatus {
  wire::HandshakeState daemon = wire::HandshakeState::kNotConnected;
  std::string last_error;  // in the service's language (its journal line)
  Said last_said;          // last_error as msgid and arguments, stored English (ServiceState)
  // When last_error is the daemon's refusal of a batch: the code's name (BatchErrorCode), the
  // daemon's English reason and the batch, stored for `status` (agent.proto ServiceState).
  struct Refusal {
    std::string code;
    std::string reason;
    uint64_t batch = 0;
  } last_refusal;
  size_t in_flight = 0;           // batches sent and not acknowledged
  size_t outbox = 0;              // batches sealed and not acknowledged
  uint64_t acked_batches = 0;     // since start
  uint64_t acked_records = 0;     // since start
  uint64_t rejected_records = 0;  // by the daemon, since start
  uint64_t sent_batches = 0;      // including resends
  uint64_t resent_batches = 0;
  // Acks whose receipt is for another batch under the same number (agent/spool.h): someone
  // else sent it with our key. Each is in last_error and the journal; none is acknowledged.
  uint64_t foreign_receipts = 0;
  AckTimes ack_times;  // of the batches acknowledged since start
};

// Settling an acknowledged batch: the one path for the forwarder's BATCH_OK acks (apply_ack)
// and for the batches re-enrollment learns were stored (agent/reenrollment.h step 3). The
// receipt must name the batch this agent sealed: its event_hash is compared with the header
// hash kept in the outbox entry (outbox_receipt_matches). When it names another batch, someone
// else holds the number with our key (a leak): nothing is changed and nullopt is returned, for
// the caller to report (forwarder) or seal the records again (re-enrollment). Otherwise, in
// txn: the records the ack's statuses name are filed as refused by the daemon, the batch's
// range of pending records is deleted, the receipt is stored (StoredReceipt, `duplicate` as
// given) and counted, and the outbox entry is deleted. The caller has checked that the receipt
// is from our daemon (its key id).
struct SettledBatch {
  uint64_t accepted = 0;  // records the daemon stored
  uint64_t rejected = 0;  // records it refused, filed
  uint64_t deleted = 0;   // pending entries deleted (the batch's range)
  uint64_t bytes = 0;     // their size in the spool's map
};
Result<std::optional<SettledBatch>> settle_acknowledged(const Spool& spool, store::WriteTxn& txn,
                                                        const Clock& clock, uint64_t seq,
                                                        const OutboxEntry& entry,
                                                        const v1::BatchAck& ack, bool duplicate);

class Forwarder {
 public:
  Forwarder(Spool& spool, wire::Context& context, const crypto::IdentityKey& agent,
            DaemonTarget target, ForwarderOptions options, const Clock& clock);
  ~Forwarder();
  Forwarder(const Forwarder&) = delete;
  Forwarder& operator=(const Forwarder&) = delete;

  // Does whatever is due (acks, new batches, sends, reconnects), waiting at most `wait` for the
  // daemon. Errors are spool failures (the caller should stop); network trouble is not an
  // error, it is in status().
  Status step(std::chrono::milliseconds wait);

  // Draining for shutdown: no new batches, no first sends; acks are still taken. Returns once
  // a batch the sealer is making is committed (none is made after).
  void stop_new_batches();
  // While paused (a key rotation, agent/key_rotation.h), no new batch is sealed, but the sealed
  // ones are sent and acknowledged as usual. Pausing returns once a batch the sealer is making is
  // committed, so status().outbox read after the next step() counts every batch.
  void pause_batching(bool paused);
  // Batches sent and not yet acknowledged durably (an ack is committed by the sealer's thread).
  size_t in_flight() const;

  const ForwarderStatus& status() const { return status_; }
  // True when status().daemon or last_error changed since the last call (not the counters,
  // which change all the time).
  bool take_status_change();

 private:
  struct InFlight {
    std::chrono::steady_clock::time_point sent_at;
  };

  void ensure_channel(std::chrono::steady_clock::time_point now);
  void drop_channel(std::chrono::steady_clock::time_point now, bool refused);
  void watch_state(std::chrono::steady_clock::time_point now);
  void adopt_trying_key();
  Status receive_acks(std::chrono::milliseconds wait, std::vector<v1::BatchAck>& acks);
  // Whether apply_ack will take this ack as final for a batch still in the outbox (not a
  // BATCH_INTERNAL, not a receipt from another key): decided before the ack is committed.
  bool ack_settles(const v1::BatchAck& ack) const;
  Status apply_ack(store::WriteTxn& txn, const v1::BatchAck& ack, bool* done);
  Status make_batches(store::WriteTxn& txn, size_t n, bool partial_ok, uint64_t* made,
                      uint64_t* left);
  // The sealer thread: seal rounds until stopped. A round (seal_round) makes the batches due, if
  // the outbox has room, in one transaction, and says how long to wait before the next.
  void seal_loop();
  Status seal_round(std::chrono::milliseconds* wait);
  Status take_news();
  Status send_due(std::chrono::steady_clock::time_point now);
  void set_error(Said message, ForwarderStatus::Refusal refusal = {});
  void touched(uint64_t bytes);
  std::chrono::milliseconds jittered(std::chrono::milliseconds base);

  Spool& spool_;
  wire::Context& context_;
  const crypto::IdentityKey& agent_;
  DaemonTarget target_;
  std::string daemon_key_id_;
  // The daemon's announced next key, tried after a failed handshake with target_.key and adopted
  // once a handshake with it succeeds (agent/daemon_key.h). Batches are sealed to target_.key.
  std::optional<crypto::PublicKey> trying_key_;
  ForwarderOptions options_;
  const Clock& clock_;

  // The sealer. seal_mu_ is held for a whole round; whoever changes what a round reads
  // (paused_, draining_, target_'s key) takes it, so the change waits for the round in progress.
  // wake_mu_ guards kick_, stop_ and sealer_error_ (the sealer's wait, and a spool failure for
  // step() to return).
  std::mutex seal_mu_;
  mutable std::mutex wake_mu_;
  std::condition_variable wake_cv_;
  bool kick_ = false;
  bool stop_ = false;
  std::optional<Error> sealer_error_;
  // Acks received by step(), committed by the sealer's next round; acks_uncommitted_ counts
  // them until that commit.
  std::deque<v1::BatchAck> acks_to_commit_;
  size_t acks_uncommitted_ = 0;
  // What the sealer's commits changed in status(): news_ for step() to take (under wake_mu_),
  // txn_news_ the current transaction's (the sealer's own).
  struct News {
    uint64_t acked_batches = 0;
    uint64_t acked_records = 0;
    uint64_t rejected_records = 0;
    uint64_t foreign_receipts = 0;
    Said error;                        // the last, if any
    ForwarderStatus::Refusal refusal;  // error's, when it is a refused batch
  };
  News news_;
  News txn_news_;
  // A batch's message (SealedBatch + advisory), sealed into a buffer of its own: the sealer's
  // current transaction's (txn_sealed_), and, once committed, those not yet sent (fresh_, under
  // wake_mu_, at most a couple): step() hands them to ZeroMQ without a copy (send_owned), where
  // a resend copies the outbox value from the map.
  struct Sealed {
    uint64_t seq = 0;
    std::shared_ptr<uint8_t[]> data;
    size_t size = 0;
  };
  std::vector<Sealed> txn_sealed_;
  std::map<uint64_t, Sealed> fresh_;
  Fd sealed_event_;  // eventfd: the sealer wakes step()'s wait after each commit
  std::thread sealer_;

  std::optional<wire::ClientChannel> channel_;
  std::chrono::steady_clock::time_point channel_since_{};  // when channel_ was made
  std::optional<wire::Poller> poller_;                     // channel_ and sealed_event_
  wire::HandshakeState seen_state_ = wire::HandshakeState::kNotConnected;
  std::chrono::steady_clock::time_point reconnect_at_{};
  std::chrono::milliseconds backoff_{0};
  std::chrono::milliseconds refused_backoff_{0};

  std::map<uint64_t, InFlight> inflight_;  // sent on the current channel, not acknowledged
  // When each batch not yet settled was first sent, on any channel (status().ack_times); a batch
  // settled another way (re-enrollment) leaves its entry, dropped oldest first past kKept.
  std::map<uint64_t, std::chrono::steady_clock::time_point> first_sent_;
  std::map<uint64_t, std::chrono::steady_clock::time_point> retry_at_;  // BATCH_INTERNAL
  // BATCH_INTERNAL answers in a row per batch: its resend waits reconnect_min doubled per round
  // (never per refused batch, so a window refused at once by a full store is one round), up to
  // reconnect_max; all forgotten once the daemon stores a batch again.
  std::map<uint64_t, uint32_t> busy_rounds_;
  uint64_t next_to_send_ = 0;  // lowest outbox seq not yet sent on the current channel
  uint64_t max_sent_seq_ = 0;  // highest seq ever sent by this process (to count resends)
  std::atomic<bool> draining_{false};
  std::atomic<bool> paused_{false};
  std::atomic<uint64_t> bytes_since_trim_{0};
  // Buffers kept from batch to batch while there is work, so a backlog drains without mapping
  // and faulting in fresh memory for every batch; given back once idle (agent/resident.h).
  // The sealer's: the batch being built and one pending record's plaintext.
  std::optional<std::chrono::steady_clock::time_point> waiting_since_;  // unbatched records seen
  batch::BatchBuilder builder_;
  PendingRead read_;
  bool sealer_holding_ = false;
  bool holding_buffers_ = false;  // the sending thread has sent since it was last idle
  std::mt19937_64 rng_;

  ForwarderStatus status_;
  bool status_changed_ = true;
  // Last, so it is stopped first (its probe thread uses context_ and agent_).
  LeaderFinder finder_{context_, agent_, options_.cluster_probe};
};

}  // namespace gongshu::agent
