#include "daemon/ingest.h"

#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <latch>
#include <map>
#include <memory_resource>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/catalog/validate.h"
#include "core/ids/citizen_id.h"
#include "core/ids/credit_code.h"
#include "core/util/check.h"
#include "core/util/encoding.h"
#include "core/util/fd.h"
#include "core/util/wire_reader.h"
#include "core/wire/codec.h"
#include "core/wire/poller.h"
#include "core/wire/server_channel.h"
#include "daemon/fair_queue.h"
#include "daemon/protobuf_log.h"
#include "daemon/refusal_digest.h"
#include "daemon/stored.pb.h"
#include "daemon/subject_index.h"
#include "daemon/version_encoding.h"
#include "gongshu/v1/record.pb.h"

namespace gongshu::daemon {
namespace {

constexpr std::string_view kNextVersionKey = "next_version";

// What a worker makes of one record. Its buffers are on the job's arena (`Job::memory`).
struct PreparedRecord {
  explicit PreparedRecord(std::pmr::memory_resource* memory)
      : record(memory), stored_key(memory), subject_key(memory), version_bytes(memory) {}

  uint32_t index = 0;
  // Read in place from the batch, or from a message on the job's arena when its encoding is not
  // the canonical one (core/catalog/record_view.h).
  catalog::RecordView record;
  std::pmr::string stored_key;  // record_key_of(dataset, record key): its key in records
  catalog::Verdict verdict;
  // Its subject index entry (daemon/subject_index.h) with the run still to be set by the writer,
  // which alone numbers versions; empty when the record names no subject.
  std::pmr::vector<uint8_t> subject_key;
  // The stored::Version as far as a worker knows it, the record encrypted (version_encoding.h):
  // the single writer appends the three fields it alone knows and writes.
  std::pmr::string version_bytes;
  size_t version_head_size = 0;  // what the worker wrote (a retried commit appends again)
  uint32_t head_slot = 0;        // its record's in GroupWrites::heads (set by the writer)
};

// One SealedBatch from one connection, from arrival to ack.
struct Job {
  // `payload_size`: the frame's size, by which the arena's first block is sized.
  explicit Job(size_t payload_size)
      : memory(std::clamp<size_t>(3 * payload_size, 4096, 64 << 20)) {}

  // The batch and its parsed records live here and are freed in one go with the job, after the
  // ack, by the worker that prepared it (see `spent`): protobuf messages on `arena`, the records'
  // keys, field lists and versions on `memory` (a record's come to 2-3 times its size).
  google::protobuf::Arena arena;
  std::pmr::monotonic_buffer_resource memory;
  wire::RoutingId from;
  unsigned worker = 0;       // the worker that prepared it, and frees it
  std::string agent_key_id;  // from the connection's ZAP identity, never from the message
  uint64_t seq = 0;
  Bytes payload;
  // Filled by a worker.
  std::optional<batch::Rejection> refusal;
  batch::OpenedBatch batch;  // once opened: its header on the arena, its records views
  crypto::Digest batch_hash{};
  std::string agency;
  std::vector<PreparedRecord> records;
  bool prepared = false;
  size_t weight() const { return records.size(); }  // for the group's record budget
  // Filled by the writer.
  v1::BatchAck ack;
  // What apply() stores for the batch, on the arena; commit_group adds the receipt and puts it.
  stored::Batch* stored = nullptr;
  // A re-sent copy of a batch stored earlier in the same group: answered as that one is.
  const Job* copy_of = nullptr;
};

using JobPtr = std::shared_ptr<Job>;

// The next version the writer will number (1 in a new store).
uint64_t next_version_of(const store::Txn& txn, const DaemonStore::Tables& db) {
  auto v = db.meta.get(txn, kNextVersionKey);
  return v && v->size() == 8 ? get_be64(v->data()) : 1;
}

// What one group commit gathers in memory and writes once, at the end of its transaction: the
// datasets' counters, each touched record's latest head, the subject index entries and the
// batches (put once, with their receipts; a re-sent copy in the same group finds them here).
// Heads are read before the group is applied and written after it, and subject entries put, in
// key order through one cursor per table, so LMDB finds most keys' pages without descending from
// the root; a record updated twice in a group is written once.
struct GroupWrites {
  struct Head {
    std::string_view key;     // its store key (a view into a job)
    stored::RecordHead head;  // current_version 0: there is no such record yet
    bool changed = false;     // a version was stored: written back
  };
  uint64_t first_version = 1;  // the group's first
  uint64_t next_version = 1;
  std::unordered_map<std::string, const Job*> batches;  // stored by this group, by batch key
  std::map<std::string, stored::DatasetState, std::less<>> datasets;
  // Every record the group's jobs may store or invalidate (their accepted records), in key
  // order, with its head; each of those PreparedRecords knows its own (head_slot).
  std::vector<Head> heads;
  std::vector<ByteView> subjects;  // subject index entries, in runs (views into the jobs)
};

// Reads the head of every record the group may touch into writes, in key order through `cursor`,
// and tells each accepted record its head's slot.
void read_heads(const std::vector<JobPtr>& group, store::WriteCursor& cursor, GroupWrites& writes) {
  std::vector<PreparedRecord*> accepted;
  for (const auto& job : group) {
    if (job->refusal) continue;
    for (PreparedRecord& pr : job->records)
      if (pr.verdict.ok()) accepted.push_back(&pr);
  }
  std::sort(accepted.begin(), accepted.end(), [](const PreparedRecord* a, const PreparedRecord* b) {
    return a->stored_key < b->stored_key;
  });
  writes.heads.reserve(accepted.size());
  for (PreparedRecord* pr : accepted) {
    if (writes.heads.empty() || writes.heads.back().key != pr->stored_key) {
      GroupWrites::Head& h = writes.heads.emplace_back();
      h.key = pr->stored_key;
      if (auto e = cursor.find(as_bytes(h.key)))
        h.head.ParseFromArray(e->value.data(), static_cast<int>(e->value.size()));
    }
    pr->head_slot = static_cast<uint32_t>(writes.heads.size() - 1);
  }
}

}  // namespace

// The net thread's own state: per key, its bucket of wasted work and when it was last heard.
struct NetState {
  struct Key {
    double tokens = 0;
    int64_t refilled_ms = 0;
    int64_t seen_ms = 0;
    int64_t throttled_since_ms = 0;  // the second throttled frames are counted in
    uint32_t throttled = 0;
  };
  std::map<std::string, Key, std::less<>> keys;
  int64_t next_check_ms = 0;  // of revocations among the connected keys
  int64_t next_cut_ms = 0;    // cuts are at most once a second
};

struct IngestService::Impl {
  DaemonStore& store;
  Directory& directory;
  CatalogView& catalog;
  Quarantine& quarantine;
  IngestOptions options;
  wire::ServerChannel channel;
  std::string endpoint;

  std::mutex mu;
  std::condition_variable work_cv;    // workers wait for jobs to prepare or to free
  std::condition_variable commit_cv;  // the writer waits for a lane's front job to be prepared
  FairQueue<JobPtr> queue;            // a lane per agent key, each in arrival order
  std::deque<JobPtr> to_send;
  Fd wake;  // eventfd: the writer wakes the net thread when acks are ready to send
  // Refusals the net thread answered or dropped without a job (throttled, from a revoked key),
  // by key and kind: the writer folds them into its digest.
  std::map<std::string, std::map<std::string, uint64_t>> net_refusals;
  RefusalDigest digest;  // the writer's
  std::string failed;    // under mu: why the socket stopped serving
  // Answered jobs, by the worker that prepared them: the worker frees its own allocations (a
  // batch's are thousands), which the allocator serves from per-thread caches, instead of the
  // net thread freeing what another thread allocated.
  std::vector<std::vector<JobPtr>> spent;
  bool stopping = false;  // no new jobs; drain what is queued
  bool writer_done = false;

  std::atomic<uint64_t> batches{0}, accepted{0}, rejected{0}, duplicates{0}, refused{0}, commits{0};
  std::atomic<uint64_t> busy{0}, dropped{0}, cuts{0}, summaries{0}, quarantines{0};
  std::atomic<uint64_t> apply_ns{0}, commit_ns{0}, prepare_ns{0};
  RateWindow accepted_window{store.clock()};  // once per commit, for `status`
  AgentActivityMap activity;                  // in memory only: no store write per batch

  std::string scheduling_problem;  // set by the workers before start() returns

  std::thread net_thread;
  std::vector<std::thread> worker_threads;
  std::thread writer_thread;

  Impl(DaemonStore& s, Directory& d, CatalogView& c, Quarantine& q, IngestOptions o,
       wire::ServerChannel ch, Fd wake_fd)
      : store(s),
        directory(d),
        catalog(c),
        quarantine(q),
        options(std::move(o)),
        channel(std::move(ch)),
        queue(options.max_queue, options.max_queue_per_agent),
        wake(std::move(wake_fd)),
        digest(60'000, options.audited_refusals_per_minute) {}

  void net_loop();
  // What the net thread does with one frame: drop it, answer it busy, or queue a job.
  void admit(wire::Incoming in, NetState& net);
  // Answers the frame `payload` from `to` busy, naming its batch so the agent resends it.
  void answer_busy(const wire::RoutingId& to, ByteView payload, std::string_view why,
                   int64_t retry_after_ms);
  // Cuts every connection if a key connected since the last check has been revoked (checked
  // every 250 ms), or at once when `now` (a revoked or quarantined key is still connected).
  void cut_connections(NetState& net, int64_t now_ms, bool now);
  void fail_socket(std::string why);
  // Audits the refusals the net thread counted and the digest's due summaries, in txn.
  Status audit_summaries(store::WriteTxn& txn, std::vector<audit::Appended>* appended);
  // Lowers the calling worker's priority by options.worker_nice; says why not if it cannot.
  std::string lower_worker_priority() const;
  void worker_loop(unsigned index);
  void writer_loop();
  void prepare(Job& job);
  void commit_group(std::vector<JobPtr>& group);
  Status apply(store::WriteTxn& txn, Job& job, GroupWrites& writes,
               std::vector<audit::Appended>& appended);
  Status refuse(store::WriteTxn& txn, Job& job, std::vector<audit::Appended>& appended);
  // A batch seen before — stored earlier, or earlier in this group — is stored once: a copy with
  // the same content is answered as the first was (the replay audited), one with other content
  // under the same seq is refused. Returns whether the batch had been seen.
  Result<bool> answer_if_seen(store::WriteTxn& txn, Job& job, const GroupWrites& writes,
                              const std::string& bkey, std::vector<audit::Appended>& appended);
};

namespace {

// An audit entry of the agent's action on one batch: its principal and the batch it names.
v1::AuditEntry agent_entry(const Job& job, std::string_view action) {
  v1::AuditEntry e;
  e.mutable_principal()->set_key_id(job.agent_key_id);
  e.mutable_principal()->set_role("agent");
  e.mutable_principal()->set_agency(job.agency);
  e.set_action(std::string(action));
  auto* ref = e.add_refs();
  ref->set_kind("batch");
  ref->set_value(job.agent_key_id + "/" + std::to_string(job.seq));
  return e;
}

void set_refusal(Job& job, v1::BatchErrorCode code, std::string message) {
  job.refusal = batch::Rejection{code, std::move(message)};
}

}  // namespace

// The batch_seq of a SealedBatch frame, read without parsing the rest (field 1, a varint); 0 if
// the frame does not start like one. Only to name the batch in a busy answer.
uint64_t peek_batch_seq(ByteView payload) {
  WireReader r(as_chars(payload));
  uint32_t field = 0, type = 0;
  uint64_t seq = 0;
  if (r.tag(field, type) && field == 1 && type == WireReader::kVarint && r.varint(seq)) return seq;
  return 0;
}

void IngestService::Impl::fail_socket(std::string why) {
  std::lock_guard lock(mu);
  if (failed.empty()) failed = std::move(why);
}

void IngestService::Impl::answer_busy(const wire::RoutingId& to, ByteView payload,
                                      std::string_view why, int64_t retry_after_ms) {
  busy.fetch_add(1, std::memory_order_relaxed);
  v1::BatchAck ack;
  ack.set_batch_seq(peek_batch_seq(payload));
  ack.set_error(v1::BATCH_INTERNAL);
  ack.set_error_message(std::string(why));
  ack.set_retry_after_ms(static_cast<uint32_t>(std::max<int64_t>(retry_after_ms, 0)));
  // A peer whose queue is full or that went away resends on its own.
  if (auto bytes = wire::encode(ack)) (void)channel.send(to, *bytes);
}

void IngestService::Impl::cut_connections(NetState& net, int64_t now_ms, bool known_revoked) {
  if (!known_revoked) {  // the periodic check
    if (now_ms < net.next_check_ms) return;
    net.next_check_ms = now_ms + 250;
    for (auto it = net.keys.begin(); it != net.keys.end();) {
      auto id = directory.by_key_id(it->first);
      if (!id || id->revoked) {
        known_revoked = true;
        it = net.keys.erase(it);
        continue;
      }
      // A key silent for ten minutes with a full bucket has nothing worth keeping.
      const bool idle = now_ms - it->second.seen_ms > 600'000;
      it = idle ? net.keys.erase(it) : std::next(it);
    }
    if (!known_revoked) return;
  }
  if (now_ms < net.next_cut_ms) return;  // a cut within the last second covers it
  net.next_cut_ms = now_ms + 1000;
  // ZeroMQ cannot close one peer of a ROUTER: every connection is cut, and the others reconnect
  // at once and resend what was not acknowledged (exactly once: the store dedups). The revoked
  // key's reconnection is refused by the ZAP handler.
  cuts.fetch_add(1, std::memory_order_relaxed);
  if (auto s = channel.drop_connections(std::chrono::seconds(5)); !s) {
    fail_socket("ingest: cutting a revoked key's connections: " + s.error().message());
  }
}

void IngestService::Impl::admit(wire::Incoming in, NetState& net) {
  const int64_t now = store.clock().now_ms();
  // The ZAP identity of an ingest connection is "agent:<key id>".
  const std::string& uid = in.user_id;
  std::string key = uid.rfind("agent:", 0) == 0 ? uid.substr(6) : std::string();
  // Revoked since its handshake (ZAP admits only enrolled, unrevoked agents): nothing from it is
  // served or answered; it is counted for the digest and every connection is cut.
  auto identity = directory.by_key_id(key);
  const bool revoked = !identity || identity->role != "agent" || identity->revoked;
  if (revoked || quarantine.holds(key, now)) {
    dropped.fetch_add(1, std::memory_order_relaxed);
    {
      std::lock_guard lock(mu);
      ++net_refusals[key][revoked ? "revoked key, frame dropped" : "quarantined, frame dropped"];
    }
    cut_connections(net, now, true);
    return;
  }
  auto [kit, fresh] = net.keys.try_emplace(key);
  NetState::Key& k = kit->second;
  const double per_ms = options.waste_per_minute / 60'000.0;
  if (fresh) {
    k.tokens = options.waste_burst;
  } else if (now > k.refilled_ms) {
    k.tokens = std::min<double>(options.waste_burst, k.tokens + (now - k.refilled_ms) * per_ms);
  }
  k.refilled_ms = now;
  k.seen_ms = now;
  if (k.tokens < 1) {
    if (now - k.throttled_since_ms >= 1000) {
      k.throttled_since_ms = now;
      k.throttled = 0;
    }
    if (++k.throttled >= options.quarantine_after) {
      // Still sending as fast as it can with its allowance spent: stop answering it at all.
      quarantine.add(key, now + options.quarantine_ms);
      quarantines.fetch_add(1, std::memory_order_relaxed);
      {
        std::lock_guard lock(mu);
        ++net_refusals[key]["quarantined for " + std::to_string(options.quarantine_ms / 1000) +
                            " s: flooding after its allowance was spent"];
      }
      k.throttled = 0;
      cut_connections(net, now, true);
      return;
    }
    const int64_t wait = per_ms > 0 ? static_cast<int64_t>((1 - k.tokens) / per_ms) + 1 : 60'000;
    answer_busy(in.from, in.payload,
                "daemon is busy: this key's refused and re-sent batches are throttled; resend "
                "later",
                wait);
    std::lock_guard lock(mu);
    ++net_refusals[key]["throttled"];
    return;
  }
  auto job = std::make_shared<Job>(in.payload.size());
  job->from = std::move(in.from);
  job->agent_key_id = std::move(key);
  job->payload = std::move(in.payload);
  std::unique_lock lock(mu);
  auto pushed = stopping ? FairQueue<JobPtr>::Push::kQueueFull : queue.push(job->agent_key_id, job);
  if (pushed != FairQueue<JobPtr>::Push::kQueued) {
    lock.unlock();
    answer_busy(job->from, job->payload,
                stopping ? "daemon is stopping; resend later"
                : pushed == FairQueue<JobPtr>::Push::kLaneFull
                    ? "daemon is busy: this key's share of the queue is full; resend later"
                    : "daemon is busy: the queue is full; resend later",
                stopping ? 1000 : 200);
    return;
  }
  work_cv.notify_one();
}

void IngestService::Impl::net_loop() {
  NetState net;
  wire::Poller poller;
  poller.add(channel);
  poller.add(wake.get());
  while (true) {
    {
      std::unique_lock lock(mu);
      if (writer_done && to_send.empty()) return;
    }
    // The writer wakes this thread when acks are ready; otherwise it sleeps until a frame comes
    // (or the periodic revocation check is due).
    auto ready = poller.wait(std::chrono::milliseconds(250));
    if (!ready) {
      fail_socket("ingest: waiting on the socket: " + ready.error().message());
      return;
    }
    uint64_t woken;
    while (::read(wake.get(), &woken, sizeof woken) == sizeof woken) {
    }
    // What is queued now, a bounded number at a time so acks keep flowing under a flood.
    for (int i = 0; i < 256; ++i) {
      auto in = channel.receive(std::chrono::milliseconds(0));
      if (!in) {
        const ErrorCode code = in.error().code();
        if (code == ErrorCode::kCorrupt || code == ErrorCode::kUnauthenticated) {
          dropped.fetch_add(1, std::memory_order_relaxed);  // dropped by the channel
          continue;
        }
        fail_socket("ingest: receiving: " + in.error().message());
        return;
      }
      if (!*in) break;
      admit(std::move(**in), net);
    }
    std::deque<JobPtr> out;
    {
      std::lock_guard lock(mu);
      out.swap(to_send);
    }
    const int64_t now = store.clock().now_ms();
    for (const auto& job : out) {
      // Refused or re-sent batches cost the key a token of its waste bucket.
      if ((job->ack.error() != v1::BATCH_OK && job->ack.error() != v1::BATCH_INTERNAL) ||
          job->ack.duplicate()) {
        if (auto k = net.keys.find(job->agent_key_id); k != net.keys.end())
          k->second.tokens = std::max(0.0, k->second.tokens - 1);
      }
      auto bytes = wire::encode(job->ack);
      // A vanished agent will resend; its batch is stored and it will get the receipt then.
      if (bytes) (void)channel.send(job->from, *bytes);
    }
    if (!out.empty()) {
      {
        std::lock_guard lock(mu);
        for (auto& job : out) spent[job->worker].push_back(std::move(job));
      }
      work_cv.notify_all();
    }
    cut_connections(net, now, false);
  }
}

std::string IngestService::Impl::lower_worker_priority() const {
  if (options.worker_nice == 0) return {};
  // On Linux a nice value is per thread: PRIO_PROCESS with a thread id sets only that thread's.
  const id_t self = static_cast<id_t>(::gettid());
  errno = 0;
  const int now = ::getpriority(PRIO_PROCESS, self);
  if (now == -1 && errno != 0) return std::string("getpriority: ") + std::strerror(errno);
  const int wanted = std::min(now + static_cast<int>(options.worker_nice), 19);
  if (::setpriority(PRIO_PROCESS, self, wanted) != 0)
    return "setpriority(" + std::to_string(wanted) + "): " + std::strerror(errno);
  return {};
}

void IngestService::Impl::worker_loop(unsigned index) {
  std::vector<JobPtr> to_free;
  while (true) {
    JobPtr job;
    to_free.clear();  // outside the lock
    {
      std::unique_lock lock(mu);
      work_cv.wait(lock,
                   [&] { return queue.unstarted() > 0 || !spent[index].empty() || stopping; });
      if (!spent[index].empty()) {
        to_free.swap(spent[index]);
        continue;
      }
      if (queue.unstarted() == 0) return;  // stopping, and nothing left to prepare
      job = queue.take_for_prepare();
    }
    job->worker = index;
    auto t0 = std::chrono::steady_clock::now();
    prepare(*job);
    prepare_ns.fetch_add(uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                      std::chrono::steady_clock::now() - t0)
                                      .count()),
                         std::memory_order_relaxed);
    {
      std::lock_guard lock(mu);
      job->prepared = true;
    }
    commit_cv.notify_one();
  }
}

void IngestService::Impl::prepare(Job& job) {
  const Clock& clock = store.clock();
  auto identity = directory.by_key_id(job.agent_key_id);
  if (!identity || identity->role != "agent") {
    return set_refusal(job, v1::BATCH_KEY_MISMATCH, "connection is not an enrolled agent");
  }
  if (identity->revoked)
    return set_refusal(job, v1::BATCH_KEY_MISMATCH,
                       "agent key " + job.agent_key_id + " is revoked");
  job.agency = identity->agency;
  activity.seen(job.agent_key_id, clock.now_ms());

  v1::SealedBatch sealed;
  if (auto s = wire::decode(job.payload, options.limits.max_batch_bytes + 4096, sealed); !s) {
    return set_refusal(job, v1::BATCH_MALFORMED,
                       "frame is not a SealedBatch: " + s.error().message());
  }
  if (sealed.has_reported_backlog())
    activity.backlog(job.agent_key_id, sealed.reported_backlog(), clock.now_ms());
  job.seq = sealed.batch_seq();
  job.payload.clear();
  job.payload.shrink_to_fit();
  // A batch sealed before its agent learnt of a daemon key rotation opens with the old key.
  const crypto::IdentityKey* recipient = &store.daemon_key();
  auto opened = batch::open_batch(*recipient, sealed, options.limits, job.arena);
  if (!opened && store.previous_daemon_key()) {
    if (auto again =
            batch::open_batch(*store.previous_daemon_key(), sealed, options.limits, job.arena)) {
      opened = std::move(again);
      recipient = store.previous_daemon_key();
    }
  }
  if (!opened) return set_refusal(job, opened.error().code, opened.error().message);
  job.batch = std::move(*opened);
  auto hash = batch::verify_batch(job.batch, job.seq, identity->key, recipient->public_key(),
                                  options.limits);
  if (!hash) return set_refusal(job, hash.error().code, hash.error().message);
  job.batch_hash = *hash;
  if (job.batch.header->agency() != identity->agency) {
    return set_refusal(job, v1::BATCH_KEY_MISMATCH,
                       "batch claims agency '" + job.batch.header->agency() +
                           "' but the key belongs to '" + identity->agency + "'");
  }

  // Protobuf's complaints about this batch's records (when a record is not read in place) are
  // one log line for the batch, not one per record.
  ProtobufLogBatch protobuf_log(job.agent_key_id + "/" + std::to_string(job.seq));
  auto snapshot = catalog.snapshot();
  auto txn = store.env().begin_read();  // for the datasets' data keys
  std::map<std::string, const crypto::DataKey*, std::less<>> keys;
  job.records.reserve(job.batch.records.size());
  for (size_t i = 0; i < job.batch.records.size(); ++i) {
    PreparedRecord& pr = job.records.emplace_back(&job.memory);
    pr.index = static_cast<uint32_t>(i);
    const std::string_view bytes = job.batch.records[i];
    if (!catalog::RecordView::parse(bytes, job.arena, pr.record)) {
      pr.verdict =
          catalog::Verdict::refusal(v1::RECORD_STATUS_MALFORMED, "", "record bytes do not parse");
      continue;
    }
    auto it = snapshot->find(pr.record.dataset());
    if (it == snapshot->end()) {
      pr.verdict = catalog::Verdict::refusal(
          v1::RECORD_STATUS_UNKNOWN_DATASET, "",
          "dataset '" + std::string(pr.record.dataset()) + "' is not in the catalog");
      continue;
    }
    const catalog::DatasetSchema& schema = it->second;
    if (schema.entry().status() != "approved") {
      pr.verdict =
          catalog::Verdict::refusal(v1::RECORD_STATUS_DATASET_NOT_APPROVED, "",
                                    "dataset '" + schema.id() + "' is " + schema.entry().status());
      continue;
    }
    if (schema.entry().provider_agency() != job.agency) {
      pr.verdict = catalog::Verdict::refusal(v1::RECORD_STATUS_NOT_PROVIDER, "",
                                             "agency '" + job.agency +
                                                 "' is not the provider of '" + schema.id() +
                                                 "' (" + schema.entry().provider_agency() + ")");
      continue;
    }
    pr.verdict = catalog::validate_record(schema, pr.record, clock);
    pr.stored_key = record_key_of(pr.record.dataset(), pr.record.record_key(), &job.memory);
    if (pr.verdict.ok()) {
      auto key = keys.find(schema.id());
      if (key == keys.end()) {
        auto k = txn ? store.data_key(*txn, schema.id())
                     : Result<const crypto::DataKey*>(tl::unexpected(txn.error()));
        if (!k) {
          pr.verdict =
              catalog::Verdict::refusal(v1::RECORD_STATUS_DATASET_NOT_APPROVED, "",
                                        "dataset '" + schema.id() + "' has no data key yet");
          continue;
        }
        key = keys.emplace(schema.id(), *k).first;
      }
      const VersionHead head{.dataset = pr.record.dataset(),
                             .record_key = pr.record.record_key(),
                             .agency = job.agency,
                             .agent_key_id = job.agent_key_id,
                             .batch_seq = job.seq,
                             .index = pr.index,
                             .invalidation = pr.record.op() == v1::RECORD_OP_INVALIDATE,
                             .record_hash = job.batch.header->record_hashes(static_cast<int>(i))};
      pr.version_bytes.reserve(version_head_capacity(head, bytes.size()) + kVersionTailCapacity);
      append_version_head(pr.version_bytes, head, *key->second,
                          version_ad(job.agent_key_id, job.seq, pr.index), as_bytes(bytes));
      pr.version_head_size = pr.version_bytes.size();
    }
    // Indexed under its canonical form, as validation found it.
    if (pr.verdict.ok() && !pr.verdict.subject.empty())
      pr.subject_key =
          subject_key(0, store.subject_token(pr.verdict.subject), pr.stored_key, &job.memory);
  }
}

void IngestService::Impl::writer_loop() {
  while (true) {
    std::vector<JobPtr> group;
    {
      std::unique_lock lock(mu);
      commit_cv.wait_for(lock, std::chrono::milliseconds(250),
                         [&] { return queue.group_ready() || (stopping && queue.size() == 0); });
      if (stopping && queue.size() == 0) break;
      // The prepared prefixes of the lanes, round robin, each lane in arrival order.
      group = queue.take_group(options.max_group, options.max_group_records);
    }
    if (group.empty()) {
      // Idle: audit refusal summaries that are due, sign a checkpoint if entries have waited
      // long enough, and merge a closed partition's subject runs if a group that closed two
      // left one. A failure here is retried on the next idle pass (nothing was committed).
      (void)store.env().update([&](store::WriteTxn& txn) -> Status {
        GONGSHU_RETURN_IF_ERROR(audit_summaries(txn, nullptr));
        GONGSHU_RETURN_IF_ERROR(store.audit().checkpoint_if_due(txn));
        return write_subject_entries(txn, store.db().subject_runs, store.db().subjects, {},
                                     next_version_of(txn, store.db()))
            .map([](size_t) {});
      });
      continue;
    }
    commit_group(group);
    {
      std::lock_guard lock(mu);
      for (auto& job : group) to_send.push_back(job);
    }
    // An eventfd write fails only when its counter would overflow, when it is readable anyway.
    const uint64_t one = 1;
    if (::write(wake.get(), &one, sizeof one) < 0) {
    }
  }
  std::lock_guard lock(mu);
  writer_done = true;
}

Status IngestService::Impl::audit_summaries(store::WriteTxn& txn,
                                            std::vector<audit::Appended>* appended) {
  const int64_t now = store.clock().now_ms();
  std::map<std::string, std::map<std::string, uint64_t>> counted;
  {
    std::lock_guard lock(mu);
    counted.swap(net_refusals);
  }
  auto entry = [&](const std::string& key, std::string_view action) {
    v1::AuditEntry e;
    e.mutable_principal()->set_key_id(key);
    e.mutable_principal()->set_role("agent");
    if (auto id = directory.by_key_id(key)) e.mutable_principal()->set_agency(id->agency);
    e.set_action(std::string(action));
    e.set_decision(v1::DECISION_DENY);
    e.set_purpose("aggregation per catalog (R-10)");
    return e;
  };
  // Frames the net thread answered or dropped without a job: the first of a key's minute in an
  // entry of their own, like refused batches, the rest into its summary.
  for (const auto& [key, kinds] : counted) {
    for (const auto& [kind, n] : kinds) {
      const bool own_entry = n == 1 && digest.note(key, kind, now, 1);
      if (!own_entry && n > 1) digest.note(key, kind, now, n);
      if (!own_entry) continue;
      v1::AuditEntry e = entry(key, "ingest_refused");
      e.set_detail(kind);
      GONGSHU_TRY(audit::Appended a, store.audit().append(txn, e));
      if (appended) appended->push_back(a);
    }
  }
  if (!digest.any_due(now)) return {};
  for (const RefusalDigest::Summary& s : digest.due(now)) {
    v1::AuditEntry e = entry(s.key, "ingest_refused_summary");
    e.set_record_count(s.total);
    e.set_detail(RefusalDigest::describe(s));
    GONGSHU_TRY(audit::Appended a, store.audit().append(txn, e));
    if (appended) appended->push_back(a);
    summaries.fetch_add(1, std::memory_order_relaxed);
  }
  return {};
}

Status IngestService::Impl::refuse(store::WriteTxn& txn, Job& job,
                                   std::vector<audit::Appended>& appended) {
  const std::string kind = v1::BatchErrorCode_Name(job.refusal->code);
  if (digest.note(job.agent_key_id, kind, store.clock().now_ms())) {
    v1::AuditEntry e = agent_entry(job, "ingest_refused");
    e.set_decision(v1::DECISION_DENY);
    e.set_purpose("aggregation per catalog (R-10)");
    e.set_detail(kind + ": " + job.refusal->message);
    GONGSHU_TRY(audit::Appended a, store.audit().append(txn, e));
    appended.push_back(a);
  } else {
    appended.push_back(audit::Appended{});  // summarised: one slot per job all the same
  }
  job.ack.Clear();
  job.ack.set_batch_seq(job.seq);
  job.ack.set_error(job.refusal->code);
  job.ack.set_error_message(job.refusal->message);
  return {};
}

Result<bool> IngestService::Impl::answer_if_seen(store::WriteTxn& txn, Job& job,
                                                 const GroupWrites& writes, const std::string& bkey,
                                                 std::vector<audit::Appended>& appended) {
  std::string first_hash;
  const Job* in_group = nullptr;
  stored::Batch earlier;
  if (auto it = writes.batches.find(bkey); it != writes.batches.end()) {
    in_group = it->second;
    first_hash.assign(in_group->batch_hash.begin(), in_group->batch_hash.end());
  } else if (auto existing = store.db().batches.get(txn, as_bytes(bkey))) {
    if (!earlier.ParseFromArray(existing->data(), static_cast<int>(existing->size()))) {
      return fail(ErrorCode::kCorrupt, "stored batch " + job.agent_key_id + "/" +
                                           std::to_string(job.seq) + " does not parse");
    }
    first_hash = earlier.batch_hash();
  } else {
    return false;
  }
  if (first_hash != std::string(job.batch_hash.begin(), job.batch_hash.end())) {
    set_refusal(job, v1::BATCH_SEQ_CONFLICT,
                "batch " + std::to_string(job.seq) + " was already stored with different content");
    GONGSHU_RETURN_IF_ERROR(refuse(txn, job, appended));
    return true;
  }
  // A re-sent batch: answer with what was stored; record the replay (summarised when a key
  // re-sends more than a few a minute).
  if (digest.note(job.agent_key_id, "duplicate", store.clock().now_ms())) {
    v1::AuditEntry e = agent_entry(job, "ingest_duplicate");
    e.set_detail("re-sent batch answered with its stored receipt; nothing stored");
    GONGSHU_TRY(audit::Appended a, store.audit().append(txn, e));
    appended.push_back(a);
  } else {
    appended.push_back(audit::Appended{});
  }
  job.ack.Clear();
  job.ack.set_batch_seq(job.seq);
  job.ack.set_duplicate(true);
  if (in_group) {
    job.copy_of = in_group;  // its answer is complete once the group's receipts are made
  } else {
    job.ack.set_accepted(earlier.accepted());
    *job.ack.mutable_statuses() = earlier.statuses();
    *job.ack.mutable_receipt() = earlier.receipt();
  }
  return true;
}

Status IngestService::Impl::apply(store::WriteTxn& txn, Job& job, GroupWrites& writes,
                                  std::vector<audit::Appended>& appended) {
  const auto& db = store.db();
  int64_t now = store.clock().now_ms();
  const std::string bkey(as_chars(batch_key_of(job.agent_key_id, job.seq)));
  GONGSHU_TRY(bool seen, answer_if_seen(txn, job, writes, bkey, appended));
  if (seen) return {};

  // Versions are numbered before the audit entry is written, so the entry can name them.
  std::vector<PreparedRecord*> to_store;
  job.ack.Clear();
  job.ack.set_batch_seq(job.seq);
  // A record's head as this group has it (read_heads read every accepted record's).
  auto head_of = [&](const PreparedRecord& pr) -> GroupWrites::Head& {
    GONGSHU_CHECK(pr.head_slot < writes.heads.size() &&
                  writes.heads[pr.head_slot].key == pr.stored_key);
    return writes.heads[pr.head_slot];
  };
  // Records accepted earlier in this batch exist for an invalidation that follows them (kept
  // only when the batch has an invalidation).
  std::unordered_set<std::string_view> accepted_here;
  const bool invalidates =
      std::any_of(job.records.begin(), job.records.end(), [](const PreparedRecord& pr) {
        return pr.verdict.ok() && pr.record.op() == v1::RECORD_OP_INVALIDATE;
      });
  std::string dataset_name;
  bool mixed = false;
  for (auto& pr : job.records) {
    if (pr.verdict.ok() && pr.record.op() == v1::RECORD_OP_INVALIDATE) {
      bool exists = accepted_here.count(pr.stored_key) || head_of(pr).head.current_version() != 0;
      if (!exists)
        pr.verdict = catalog::Verdict::refusal(
            v1::RECORD_STATUS_NOT_FOUND, "record_key",
            "no record '" + std::string(pr.record.record_key()) + "' to invalidate");
    }
    if (!pr.verdict.ok()) {
      auto* st = job.ack.add_statuses();
      st->set_index(pr.index);
      st->set_code(pr.verdict.code);
      st->set_field(pr.verdict.field);
      st->set_reason(pr.verdict.reason);
      continue;
    }
    to_store.push_back(&pr);
    if (invalidates) accepted_here.insert(pr.stored_key);
    if (dataset_name.empty()) dataset_name = pr.record.dataset();
    if (dataset_name != pr.record.dataset()) mixed = true;
  }
  uint64_t first_version = writes.next_version;

  v1::AuditEntry e = agent_entry(job, "ingest");
  e.set_dataset(mixed ? "*" : dataset_name);
  e.set_purpose("aggregation per catalog (R-10)");
  e.set_policy_rule("ingest.provider");
  e.set_decision(v1::DECISION_ALLOW);
  e.set_record_count(to_store.size());
  auto* ref = e.add_refs();
  ref->set_kind("batch_hash");
  ref->set_value(hex_encode(job.batch_hash));
  if (!to_store.empty()) {
    ref = e.add_refs();
    ref->set_kind("versions");
    ref->set_value(std::to_string(first_version) + "-" +
                   std::to_string(first_version + to_store.size() - 1));
  }
  e.set_detail(std::to_string(to_store.size()) + " accepted, " +
               std::to_string(job.ack.statuses_size()) + " rejected");
  GONGSHU_TRY(audit::Appended a, store.audit().append(txn, e));
  appended.push_back(a);

  for (PreparedRecord* pr : to_store) {
    const catalog::RecordView& r = pr->record;
    uint64_t version = writes.next_version++;
    GroupWrites::Head& written = head_of(*pr);
    written.changed = true;
    stored::RecordHead& head = written.head;
    auto ds_it = writes.datasets.find(r.dataset());
    if (ds_it == writes.datasets.end()) {
      ds_it = writes.datasets.emplace(std::string(r.dataset()), stored::DatasetState()).first;
      if (auto v = db.datasets.get(txn, r.dataset()))
        ds_it->second.ParseFromArray(v->data(), static_cast<int>(v->size()));
    }
    stored::DatasetState& ds = ds_it->second;
    bool invalidation = r.op() == v1::RECORD_OP_INVALIDATE;
    if (head.current_version() == 0) ds.set_records(ds.records() + 1);
    if (invalidation && head.valid()) ds.set_invalidated(ds.invalidated() + 1);
    if (!invalidation && head.current_version() != 0 && !head.valid())
      ds.set_invalidated(ds.invalidated() - 1);
    ds.set_versions(ds.versions() + 1);

    pr->version_bytes.resize(pr->version_head_size);
    append_version_tail(pr->version_bytes, now, a.seq, head.current_version());
    GONGSHU_RETURN_IF_ERROR(db.versions.append(txn, version, as_bytes(pr->version_bytes)));

    head.set_current_version(version);
    head.set_valid(!invalidation);
    head.set_versions(head.versions() + 1);
    if (!pr->subject_key.empty()) {
      set_subject_prefix(pr->subject_key, subject_run_start(writes.first_version, version));
      writes.subjects.push_back(pr->subject_key);
    }
  }
  job.ack.set_accepted(static_cast<uint32_t>(to_store.size()));

  if (!job.stored) {
    // The header (a hash per record) moves from the opened batch, which needs it no more: both
    // live on the job's arena, so this is a pointer swap, not a copy. Done once, so a retried
    // transaction finds it here.
    job.stored = google::protobuf::Arena::CreateMessage<stored::Batch>(&job.arena);
    job.stored->mutable_header()->Swap(job.batch.header);
    job.stored->set_signature(job.batch.signature.data(), job.batch.signature.size());
  }
  stored::Batch& b = *job.stored;
  b.clear_receipt();
  *b.mutable_statuses() = job.ack.statuses();
  b.set_accepted(job.ack.accepted());
  b.set_batch_hash(job.batch_hash.data(), job.batch_hash.size());
  b.set_first_version(first_version);
  // Put by commit_group with its receipt, once the whole group is appended.
  writes.batches.emplace(bkey, &job);

  if (auto p = db.principals.get(txn, job.agent_key_id)) {
    stored::Principal principal;
    if (principal.ParseFromArray(p->data(), static_cast<int>(p->size()))) {
      principal.set_last_seen_ms(now);
      principal.set_batches(principal.batches() + 1);
      principal.set_last_batch_seq(std::max(principal.last_batch_seq(), job.seq));
      GONGSHU_RETURN_IF_ERROR(
          db.principals.put(txn, job.agent_key_id, as_bytes(principal.SerializeAsString())));
    }
  }
  return {};
}

void IngestService::Impl::commit_group(std::vector<JobPtr>& group) {
  const auto& db = store.db();
  std::vector<audit::Appended> appended;
  auto t_start = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point t_built;
  auto status = store.env().update([&](store::WriteTxn& txn) -> Status {
    appended.clear();
    GroupWrites writes;
    size_t records = 0;
    for (const auto& job : group) records += job->records.size();
    writes.subjects.reserve(records);
    auto heads = db.records.write_cursor(txn);
    read_heads(group, heads, writes);
    writes.next_version = writes.first_version = next_version_of(txn, db);
    for (auto& job : group) {
      job->ack.Clear();
      job->copy_of = nullptr;
      if (job->refusal) {
        GONGSHU_RETURN_IF_ERROR(refuse(txn, *job, appended));
      } else {
        GONGSHU_RETURN_IF_ERROR(apply(txn, *job, writes, appended));
      }
    }
    for (auto& [name, ds] : writes.datasets) {
      GONGSHU_RETURN_IF_ERROR(db.datasets.put(txn, name, as_bytes(ds.SerializeAsString())));
    }
    {
      std::string bytes;
      for (const GroupWrites::Head& h : writes.heads) {
        if (!h.changed) continue;
        bytes.clear();
        h.head.AppendToString(&bytes);
        GONGSHU_RETURN_IF_ERROR(heads.put_ascending(as_bytes(h.key), as_bytes(bytes)));
      }
    }
    {
      // The group's subject entries: a run at the end of the runs, or into the partition the
      // group closed, if it closed one.
      GONGSHU_RETURN_IF_ERROR(write_subject_entries(
          txn, db.subject_runs, db.subjects, std::move(writes.subjects), writes.next_version));
    }
    uint8_t nv[8];
    put_be64(nv, writes.next_version);
    GONGSHU_RETURN_IF_ERROR(db.meta.put(txn, kNextVersionKey, ByteView(nv, 8)));
    // Receipts name the tree after every append of this commit.
    std::string bytes;
    for (size_t i = 0; i < group.size(); ++i) {
      Job& job = *group[i];
      if (job.refusal || job.ack.duplicate()) continue;
      *job.ack.mutable_receipt() = store.audit().receipt(txn, job.batch_hash, appended[i]);
      *job.stored->mutable_receipt() = job.ack.receipt();
      bytes.clear();
      job.stored->AppendToString(&bytes);
      GONGSHU_RETURN_IF_ERROR(
          db.batches.put(txn, batch_key_of(job.agent_key_id, job.seq), as_bytes(bytes)));
    }
    for (auto& job : group) {
      if (!job->copy_of) continue;
      job->ack.set_accepted(job->copy_of->ack.accepted());
      *job->ack.mutable_statuses() = job->copy_of->ack.statuses();
      *job->ack.mutable_receipt() = job->copy_of->ack.receipt();
    }
    GONGSHU_RETURN_IF_ERROR(audit_summaries(txn, nullptr));
    GONGSHU_RETURN_IF_ERROR(store.audit().checkpoint_if_due(txn));
    t_built = std::chrono::steady_clock::now();
    return {};
  });
  auto t_end = std::chrono::steady_clock::now();
  auto ns = [](auto d) {
    return uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(d).count());
  };
  if (status) {
    apply_ns.fetch_add(ns(t_built - t_start), std::memory_order_relaxed);
    commit_ns.fetch_add(ns(t_end - t_built), std::memory_order_relaxed);
  }
  commits.fetch_add(1, std::memory_order_relaxed);
  uint64_t group_accepted = 0;
  for (auto& job : group) {
    if (!status) {
      // Nothing was stored; the agent keeps the batch and resends it.
      job->ack.Clear();
      job->ack.set_batch_seq(job->seq);
      job->ack.set_error(v1::BATCH_INTERNAL);
      job->ack.set_error_message("daemon could not store the batch: " + status.error().message());
      continue;
    }
    if (job->refusal && job->ack.error() != v1::BATCH_OK) {
      refused.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    batches.fetch_add(1, std::memory_order_relaxed);
    if (job->ack.duplicate()) {
      duplicates.fetch_add(1, std::memory_order_relaxed);
    } else {
      accepted.fetch_add(job->ack.accepted(), std::memory_order_relaxed);
      group_accepted += job->ack.accepted();
      rejected.fetch_add(static_cast<uint64_t>(job->ack.statuses_size()),
                         std::memory_order_relaxed);
    }
  }
  if (group_accepted > 0) accepted_window.add(group_accepted);
}

IngestService::IngestService(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

IngestService::~IngestService() { stop(); }

Result<std::unique_ptr<IngestService>> IngestService::start(
    wire::Context& context, const wire::ZapHandler& zap, DaemonStore& store, Directory& directory,
    CatalogView& catalog, Quarantine& quarantine, IngestOptions options) {
  wire::ServerOptions so;
  so.zap_domain = "gongshu.ingest";
  so.max_message_size = options.limits.max_batch_bytes + 4096;
  GONGSHU_TRY(wire::ServerChannel channel,
              wire::ServerChannel::create(context, zap, store.daemon_key(), so));
  GONGSHU_TRY(std::string bound,
              with_context(channel.bind(options.endpoint), "ingest " + options.endpoint));
  Fd wake(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake.valid()) return fail_errno("ingest: eventfd", errno);
  auto impl = std::make_unique<Impl>(store, directory, catalog, quarantine, std::move(options),
                                     std::move(channel), std::move(wake));
  impl->endpoint = bound;
  Impl* p = impl.get();
  // Named threads make `top -H` and profiles readable.
  const unsigned workers = std::max(1u, p->options.workers);
  p->spent.resize(workers);
  std::latch niced(workers);
  std::mutex problem_mu;
  for (unsigned i = 0; i < workers; ++i) {
    p->worker_threads.emplace_back([p, i, &niced, &problem_mu] {
      pthread_setname_np(pthread_self(), "gs-ingest-work");
      if (std::string problem = p->lower_worker_priority(); !problem.empty()) {
        std::lock_guard lock(problem_mu);
        p->scheduling_problem = std::move(problem);
      }
      niced.count_down();
      p->worker_loop(i);
    });
  }
  niced.wait();
  // Named from here, so every thread has its name once start() returns.
  p->writer_thread = std::thread([p] { p->writer_loop(); });
  pthread_setname_np(p->writer_thread.native_handle(), "gs-ingest-write");
  p->net_thread = std::thread([p] { p->net_loop(); });
  pthread_setname_np(p->net_thread.native_handle(), "gs-ingest-net");
  return std::unique_ptr<IngestService>(new IngestService(std::move(impl)));
}

const std::string& IngestService::endpoint() const { return impl_->endpoint; }

void IngestService::stop() {
  if (!impl_) return;
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->work_cv.notify_all();
  impl_->commit_cv.notify_all();
  for (auto& t : impl_->worker_threads) {
    if (t.joinable()) t.join();
  }
  if (impl_->writer_thread.joinable()) impl_->writer_thread.join();
  if (impl_->net_thread.joinable()) impl_->net_thread.join();
}

const std::string& IngestService::scheduling_problem() const { return impl_->scheduling_problem; }

std::string IngestService::failure() const {
  std::lock_guard lock(impl_->mu);
  return impl_->failed;
}

IngestStats IngestService::stats() const {
  IngestStats s;
  s.batches = impl_->batches.load();
  s.records_accepted = impl_->accepted.load();
  s.records_rejected = impl_->rejected.load();
  s.duplicates = impl_->duplicates.load();
  s.refused = impl_->refused.load();
  s.commits = impl_->commits.load();
  s.writer_apply_ns = impl_->apply_ns.load();
  s.writer_commit_ns = impl_->commit_ns.load();
  s.prepare_ns = impl_->prepare_ns.load();
  s.busy = impl_->busy.load();
  s.dropped = impl_->dropped.load();
  s.cuts = impl_->cuts.load();
  s.quarantines = impl_->quarantines.load();
  s.summaries = impl_->summaries.load();
  s.last_minute = impl_->accepted_window.last_minute();
  std::lock_guard lock(impl_->mu);
  s.queued = impl_->queue.size();
  s.awaiting_worker = impl_->queue.unstarted();
  s.awaiting_writer = impl_->queue.prepared();
  return s;
}

std::map<std::string, AgentActivity> IngestService::agent_activity() const {
  return impl_->activity.snapshot();
}

}  // namespace gongshu::daemon
