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
#include <mutex>
#include <thread>
#include <vector>

#include "core/util/check.h"
#include "core/util/fd.h"
#include "core/util/i18n.h"
#include "core/util/wire_reader.h"
#include "core/wire/codec.h"
#include "core/wire/poller.h"
#include "core/wire/server_channel.h"
#include "daemon/fair_queue.h"
#include "daemon/ingest_apply.h"
#include "daemon/ingest_job.h"
#include "daemon/ingest_prepare.h"

namespace gongshu::daemon {
namespace {

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
  std::deque<JobPtr> held;    // replicated: answered jobs whose acks wait for the sync set
};

// The batch_seq of a SealedBatch frame, read without parsing the rest (field 1, a varint); 0 if
// the frame does not start like one. Only to name the batch in a busy answer.
uint64_t peek_batch_seq(ByteView payload) {
  WireReader r(as_chars(payload));
  uint32_t field = 0, type = 0;
  uint64_t seq = 0;
  if (r.tag(field, type) && field == 1 && type == WireReader::kVarint && r.varint(seq)) return seq;
  return 0;
}

}  // namespace

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
  NetRefusals net_refusals;
  std::string failed;  // under mu: why the socket stopped serving
  // Answered jobs, by the worker that prepared them: the worker frees its own allocations (a
  // batch's are thousands), which the allocator serves from per-thread caches, instead of the
  // net thread freeing what another thread allocated.
  std::vector<std::vector<JobPtr>> spent;
  bool stopping = false;  // no new jobs; drain what is queued
  bool writer_done = false;

  std::atomic<uint64_t> busy{0}, dropped{0}, cuts{0}, quarantines{0}, prepare_ns{0};
  std::atomic<uint64_t> not_leader{0}, acks_withheld{0};
  std::atomic<int64_t> last_ack_mono_ns{0};
  AgentActivityMap activity;  // in memory only: no store write per batch
  IngestWriter writer;        // the writer thread's

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
        queue(options.max_queue, options.per_key.max_queue_per_agent),
        wake(std::move(wake_fd)),
        writer(s, d, options.per_key.audited_refusals_per_minute) {
    writer.log = options.log;
  }

  void net_loop();
  // What the net thread does with one frame: drop it, answer it busy, or queue a job.
  void admit(wire::Incoming in, NetState& net);
  // Answers the frame `payload` from `to` busy, naming its batch so the agent resends it.
  void answer_busy(const wire::RoutingId& to, ByteView payload, std::string_view why,
                   int64_t retry_after_ms);
  // Replicated mode: the answer of a node that does not lead (cluster_gate.h), naming the leader.
  void not_leader_ack(v1::BatchAck& ack) const {
    const LeaderHint h = options.gate->leader();
    ack.set_error(v1::BATCH_INTERNAL);
    ack.set_error_message(not_leader_text(h.ingest));
    ack.set_leader_ingest(h.ingest);
    ack.set_retry_after_ms(h.ingest.empty() ? 500 : 0);
  }
  // Cuts every connection if a key connected since the last check has been revoked (checked
  // every 250 ms), or at once when `now` (a revoked or quarantined key is still connected).
  void cut_connections(NetState& net, int64_t now_ms, bool now);
  void fail_socket(std::string why);
  // Lowers the calling worker's priority by options.worker_nice; says why not if it cannot.
  std::string lower_worker_priority() const;
  void worker_loop(unsigned index);
  void writer_loop();
  // The refusals the net thread counted since the writer last took them.
  NetRefusals take_net_refusals() {
    std::lock_guard lock(mu);
    NetRefusals out;
    out.swap(net_refusals);
    return out;
  }
  // Puts back refusals taken for a transaction that failed, for the next one to audit.
  void give_back_net_refusals(const NetRefusals& counted) {
    std::lock_guard lock(mu);
    for (const auto& [key, kinds] : counted) {
      for (const auto& [kind, n] : kinds) net_refusals[key][kind] += n;
    }
  }
};

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
    fail_socket(trf("ingest: cutting a revoked key's connections: {}", s.error().message()));
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
      // Refusal kinds: audit entries' details (po/README.md), not translated.
      ++net_refusals[key][revoked ? "revoked key, frame dropped"    // i18n-exempt
                                  : "quarantined, frame dropped"];  // i18n-exempt
    }
    cut_connections(net, now, true);
    return;
  }
  if (options.gate && !options.gate->may_write()) {
    // Not the leader: the agent moves to the one named (or, none known, tries again).
    not_leader.fetch_add(1, std::memory_order_relaxed);
    v1::BatchAck ack;
    ack.set_batch_seq(peek_batch_seq(in.payload));
    not_leader_ack(ack);
    if (auto bytes = wire::encode(ack)) (void)channel.send(in.from, *bytes);
    return;
  }
  auto [kit, fresh] = net.keys.try_emplace(key);
  NetState::Key& k = kit->second;
  const double per_ms = options.per_key.waste_per_minute / 60'000.0;
  if (fresh) {
    k.tokens = options.per_key.waste_burst;
  } else if (now > k.refilled_ms) {
    k.tokens =
        std::min<double>(options.per_key.waste_burst, k.tokens + (now - k.refilled_ms) * per_ms);
  }
  k.refilled_ms = now;
  k.seen_ms = now;
  if (k.tokens < 1) {
    if (now - k.throttled_since_ms >= 1000) {
      k.throttled_since_ms = now;
      k.throttled = 0;
    }
    if (++k.throttled >= options.per_key.quarantine_after) {
      // Still sending as fast as it can with its allowance spent: stop answering it at all.
      quarantine.add(key, now + int64_t{options.per_key.quarantine_s} * 1000);
      quarantines.fetch_add(1, std::memory_order_relaxed);
      {
        std::lock_guard lock(mu);
        ++net_refusals[key]["quarantined for " +  // i18n-exempt: an audit entry's detail
                            std::to_string(options.per_key.quarantine_s) +
                            " s: flooding after its allowance was spent"];  // i18n-exempt
      }
      k.throttled = 0;
      cut_connections(net, now, true);
      return;
    }
    const int64_t wait = per_ms > 0 ? static_cast<int64_t>((1 - k.tokens) / per_ms) + 1 : 60'000;
    answer_busy(
        in.from, in.payload,
        "daemon is busy: this key's refused and re-sent batches are "  // i18n-exempt: protocol
        "throttled; resend later",
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
    answer_busy(
        job->from, job->payload,
        // The agent's answer: protocol text (po/README.md).
        stopping ? "daemon is stopping; resend later"  // i18n-exempt
        : pushed == FairQueue<JobPtr>::Push::kLaneFull
            ? "daemon is busy: this key's share of the queue is full; resend later"  // i18n-exempt
            : "daemon is busy: the queue is full; resend later",                     // i18n-exempt
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
      fail_socket(trf("ingest: waiting on the socket: {}", ready.error().message()));
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
        fail_socket(trf("ingest: receiving: {}", in.error().message()));
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
    if (options.repl_synced_seq) {
      // Semi-synchronous: a stored batch's ack waits (in arrival order) until the synchronous
      // replicas have fsynced its commit; the rest of `out` waits behind it.
      for (auto& job : out) net.held.push_back(std::move(job));
      out.clear();
      const uint64_t synced = net.held.empty() ? 0 : options.repl_synced_seq();
      const bool acking = !options.gate || options.gate->may_acknowledge();
      while (!net.held.empty()) {
        auto& job = net.held.front();
        if (acking && job->ack.error() == v1::BATCH_OK && job->repl_seq > synced) break;
        out.push_back(std::move(job));
        net.held.pop_front();
      }
    }
    const int64_t now = store.clock().now_ms();
    for (const auto& job : out) {
      if (options.gate && job->ack.error() == v1::BATCH_OK && !options.gate->may_acknowledge()) {
        // Stored, but this node no longer holds a lease etcd is bound to honour: no ack. The
        // agent re-sends to the leader (docs/replication.md §5).
        acks_withheld.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      if (job->ack.error() == v1::BATCH_OK)
        last_ack_mono_ns.store(std::chrono::steady_clock::now().time_since_epoch().count(),
                               std::memory_order_relaxed);
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
    prepare_batch(PrepareContext{store, directory, catalog, activity, options.limits}, *job);
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

void IngestService::Impl::writer_loop() {
  while (true) {
    std::vector<JobPtr> group;
    {
      std::unique_lock lock(mu);
      commit_cv.wait_for(lock, std::chrono::milliseconds(250),
                         [&] { return queue.group_ready() || (stopping && queue.size() == 0); });
      if (stopping && queue.size() == 0) break;
      // The prepared prefixes of the lanes, round robin, each lane in arrival order.
      group = queue.take_group(options.max_group, options.per_key.max_group_records);
    }
    if (group.empty()) {
      // Idle: summaries, checkpoint, subject runs (IngestWriter::idle). A failure commits
      // nothing and loses no refusal: idle() leaves its digest as it was, and the refusals taken
      // for it go back, so the next pass audits them all.
      // A node that does not lead writes nothing of its own (the refusals wait for its term).
      if (options.gate && !options.gate->may_write()) continue;
      NetRefusals counted = take_net_refusals();
      if (!writer.idle(counted)) give_back_net_refusals(counted);
      continue;
    }
    if (options.gate && !options.gate->may_write()) {
      // Leadership ended while these waited: this node writes nothing more (a deposed leader's
      // store must not grow), and says who leads now.
      for (auto& job : group) {
        job->ack.Clear();
        job->ack.set_batch_seq(job->seq);  // the frame itself is freed once prepared
        not_leader_ack(job->ack);
      }
      not_leader.fetch_add(group.size(), std::memory_order_relaxed);
    } else {
      NetRefusals counted = take_net_refusals();
      if (!writer.commit_group(group, counted)) give_back_net_refusals(counted);
      if (options.repl_last_seq) {
        const uint64_t seq = options.repl_last_seq();  // this group's seq or a later one
        for (auto& job : group) job->repl_seq = seq;
      }
    }
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
  if (!wake.valid()) return fail_errno(tr("ingest: eventfd"), errno);
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

void IngestService::wake_net() {
  const uint64_t one = 1;
  if (::write(impl_->wake.get(), &one, sizeof one) < 0) {
  }
}

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
  s.batches = impl_->writer.counters.batches.load();
  s.records_accepted = impl_->writer.counters.accepted.load();
  s.records_rejected = impl_->writer.counters.rejected.load();
  s.duplicates = impl_->writer.counters.duplicates.load();
  s.refused = impl_->writer.counters.refused.load();
  s.commits = impl_->writer.counters.commits.load();
  s.writer_apply_ns = impl_->writer.counters.apply_ns.load();
  s.writer_commit_ns = impl_->writer.counters.commit_ns.load();
  s.prepare_ns = impl_->prepare_ns.load();
  s.busy = impl_->busy.load();
  s.dropped = impl_->dropped.load();
  s.cuts = impl_->cuts.load();
  s.quarantines = impl_->quarantines.load();
  s.summaries = impl_->writer.counters.summaries.load();
  s.not_leader = impl_->not_leader.load();
  s.acks_withheld = impl_->acks_withheld.load();
  s.last_ack_mono_ns = impl_->last_ack_mono_ns.load();
  s.last_minute = impl_->writer.counters.accepted_window.last_minute();
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
