#include "agent/service.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <thread>

#include "agent/api_client.h"
#include "agent/drop_dir.h"
#include "agent/forwarder.h"
#include "agent/ipc_server.h"
#include "agent/key_rotation.h"
#include "agent/reenrollment.h"
#include "agent/resident.h"
#include "agent/spool.h"
#include "core/util/fd.h"
#include "core/util/i18n.h"
#include "core/wire/context.h"

namespace gongshu::agent {
namespace {

void log_line(const std::string& s) { std::fprintf(stderr, "gongshu-agent: %s\n", s.c_str()); }

Status write_state(Spool& spool, const ForwarderStatus& st, int64_t started_ms, int64_t now_ms,
                   bool stopped) {
  agentpb::ServiceState s;
  s.set_daemon_state(stopped ? "stopped" : std::string(wire::handshake_state_name(st.daemon)));
  s.set_updated_ms(now_ms);
  // Stored English (po/README.md), with its msgid and arguments for the reader's language.
  s.set_last_error(st.last_said.english());
  s.set_last_error_msgid(st.last_said.msgid);
  for (const auto& a : st.last_said.args) s.add_last_error_args(a);
  s.set_last_error_code(st.last_refusal.code);
  s.set_last_error_reason(st.last_refusal.reason);
  s.set_last_error_batch(st.last_refusal.batch);
  s.set_pid(stopped ? 0 : int32_t(::getpid()));
  s.set_started_ms(started_ms);
  s.set_ack_p50_us(uint64_t(st.ack_times.percentile(50).count()));
  s.set_ack_p99_us(uint64_t(st.ack_times.percentile(99).count()));
  s.set_acks_timed(st.ack_times.count());
  std::string bytes;
  s.SerializeToString(&bytes);
  return spool.env().update(
      [&](store::WriteTxn& txn) { return spool.put_meta(txn, kServiceState, as_bytes(bytes)); });
}

std::string status_line(const ForwarderStatus& st) {
  std::string s = trf(
      "daemon {}, {} batches unacknowledged ({} in flight), {} records acknowledged since start",
      wire::handshake_state_name(st.daemon), st.outbox, st.in_flight, st.acked_records);
  if (!st.last_error.empty()) s += "; " + st.last_error;
  return s;
}

// Sleeps up to d, waking early when stop is set.
void sleep_unless(const std::atomic<bool>& stop, std::chrono::milliseconds d) {
  auto end = std::chrono::steady_clock::now() + d;
  while (!stop.load() && std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace

Status run_service(const AgentConfig& config, const std::atomic<bool>& stop,
                   ServiceObserver& observer, const Clock& clock) {
  tune_heap(1);
  release_startup_pages();  // the dynamic linker's reading of every library's symbol tables
  // One service per state directory: two would both forward the same batches.
  GONGSHU_RETURN_IF_ERROR(make_state_dir(config.state_dir));
  auto lock = Fd::open(config.state_dir + "/run.lock", O_RDWR | O_CREAT, 0600);
  if (!lock) return tl::unexpected(std::move(lock).error());
  if (::flock(lock->get(), LOCK_EX | LOCK_NB) != 0) {
    return fail(
        ErrorCode::kAlreadyExists,
        trf("another `gongshu-agent run` is using {} (run.lock is held)", config.state_dir));
  }
  SpoolOptions so;
  so.max_bytes = config.limits.spool_max_bytes;
  so.segment_records = config.batch.max_records;  // whole segments fill a batch
  GONGSHU_TRY(std::unique_ptr<Spool> spool, Spool::open(config.state_dir, so));
  GONGSHU_TRY(crypto::IdentityKey key, load_agent_key(config.key_file));
  DaemonTarget target;
  {
    GONGSHU_TRY(store::ReadTxn txn, spool->env().begin_read());
    GONGSHU_TRY(target, daemon_target(config, *spool, txn));
    auto e = spool->enrollment(txn);
    // An unfinished key rotation (KEY_FILE.next present) may have named the new key in the
    // spool already; the rotator below finishes it before a batch is sealed.
    struct stat next_st;
    bool rotating = ::lstat(next_key_path(config).c_str(), &next_st) == 0;
    if (e && e->agent_key_id() != key.public_key().key_id() && !rotating) {
      return fail(ErrorCode::kInvalidArgument,
                  trf("the key in {} ({}) is not the enrolled agent key {}", config.key_file,
                      key.public_key().key_id(), e->agent_key_id()));
    }
  }
  if (target.ingest.empty()) {
    return fail(ErrorCode::kInvalidArgument,
                tr("no ingest endpoint: the enrollment named none; set [daemon] ingest"));
  }
  GONGSHU_TRY(wire::Context context, wire::Context::create());

  std::optional<IpcServer> ipc;
  if (!config.ipc_path.empty()) {
    auto bound = IpcServer::bind(config.ipc_path);
    if (!bound) return tl::unexpected(std::move(bound).error());
    ipc.emplace(std::move(*bound));
  }
  std::unique_ptr<DropDirWatcher> drop;
  if (!config.drop_dir.empty()) {
    ReaderLimits limits;
    limits.max_row_bytes = config.limits.max_line_bytes;
    drop = std::make_unique<DropDirWatcher>(*spool, clock, config.drop_dir,
                                            std::chrono::milliseconds(config.limits.drop_rescan_ms),
                                            limits, config.drop_encoding);
    GONGSHU_RETURN_IF_ERROR(drop->prepare());
  }

  std::atomic<bool> inputs_stop{false};
  std::vector<std::thread> threads;
  if (ipc) {
    threads.emplace_back([&] {
      if (auto s = ipc->run(*spool, clock, inputs_stop); !s) log_line(s.error().message());
    });
  }
  if (drop) {
    threads.emplace_back([&] {
      if (auto s = drop->run(inputs_stop); !s) log_line(s.error().message());
    });
  }
  threads.emplace_back([&] {
    while (!inputs_stop.load()) {
      // The key is read each time: a key rotation replaces the file under the running service.
      auto r = load_agent_key(config.key_file).and_then([&](const crypto::IdentityKey& k) {
        return refresh_catalog(context, config, k, *spool, clock, std::chrono::seconds(10),
                               &inputs_stop);
      });
      if (!r) log_line(trf("catalog refresh: {}", r.error().message()));
      sleep_unless(inputs_stop, std::chrono::seconds(config.limits.catalog_refresh_s));
    }
  });
  auto join_inputs = [&] {
    inputs_stop = true;
    for (auto& t : threads) t.join();
    threads.clear();
  };

  ForwarderOptions fo;
  fo.max_records = config.batch.max_records;
  fo.max_delay = std::chrono::milliseconds(config.batch.max_delay_ms);
  fo.window = config.batch.window;
  fo.ack_timeout = std::chrono::milliseconds(config.limits.ack_timeout_ms);
  fo.cluster_probe = std::chrono::milliseconds(config.limits.cluster_probe_ms);
  // A re-enrollment left batches of the previous key in the outbox (agent/reenrollment.h): the
  // forwarder, which would send them and seal more, starts only once the daemon has said which
  // of them it stored. Intake goes on meanwhile.
  bool ready_sent = false;
  for (std::string last_problem;;) {
    auto noted = [&]() -> Result<bool> {
      GONGSHU_TRY(store::ReadTxn txn, spool->env().begin_read());
      return read_reenrollment(*spool, txn).has_value();
    }();
    if (!noted) {
      join_inputs();
      return tl::unexpected(std::move(noted).error());
    }
    if (!*noted) break;
    if (!ready_sent) observer.ready();
    ready_sent = true;
    if (stop.load()) {
      join_inputs();
      return {};
    }
    auto r = reconcile_reenrollment(context, key, *spool, target, clock, std::chrono::seconds(10),
                                    &stop);
    if (r && *r) {
      log_line(
          trf("re-enrollment: of the previous key {}'s batches, {} were stored "
              "(acknowledged with their receipts) and {} ({} records) are sealed again "
              "under {}",
              (*r)->old_key_id, (*r)->stored_batches, (*r)->resealed_batches,
              (*r)->resealed_records, key.public_key().key_id()));
      if (auto w = foreign_batches_warning(**r); !w.empty()) {
        log_line(trf("re-enrollment: {}", w));
        observer.status(trf("warning: {}", w));
      }
      continue;
    }
    if (!r) {
      std::string problem = r.error().message();
      if (problem != last_problem) {
        log_line(trf("re-enrollment: {}; nothing is sent until it is answered", problem));
        observer.status(trf("waiting: {}", problem));
        ForwarderStatus waiting;  // for `gongshu-agent status`
        waiting.last_said = said(tr_noop("re-enrollment: {}"), problem);
        if (auto w = write_state(*spool, waiting, clock.now_ms(), clock.now_ms(), false); !w) {
          join_inputs();
          return w;
        }
      }
      last_problem = std::move(problem);
    }
    for (int i = 0; i < 30 && !stop.load(); ++i) {
      observer.alive();
      sleep_unless(stop, std::chrono::milliseconds(100));
    }
  }
  auto fwd = std::make_unique<Forwarder>(*spool, context, key, target, fo, clock);
  KeyRotator rotator(config, *spool, context, target, clock);
  int64_t started = clock.now_ms();
  // Start-up is over: what only it needed of the program's and the libraries' pages goes
  // (agent/resident.h); once more after the first acknowledged batch, when the code that
  // seals, sends and checks receipts has been initialised.
  release_startup_pages();
  bool released_after_first_ack = false;
  if (!ready_sent) observer.ready();
  Status result;
  std::string last_line;
  uint64_t foreign_logged = 0;  // fwd->status().foreign_receipts already in the journal
  auto last_status = std::chrono::steady_clock::now() - std::chrono::seconds(10);
  constexpr auto kReleaseEvery = std::chrono::milliseconds(100);
  auto last_release = std::chrono::steady_clock::now();
  const auto warm_start = last_release;
  constexpr auto kWarmUp = std::chrono::seconds(3);
  // The warm-up releases back off: 20 ms after start, then 40, 80, ... (8 in the first 3 s, not
  // 150). Each one drops every library's code pages, which the threads then fault in again, and
  // its TLB shootdown interrupts the other core (the daemon's): 70% of the main thread's CPU,
  // ~0.3 us per record of a 600,000-record drain (perf, issue 19). The peak they cut is in the
  // first tens of milliseconds.
  constexpr auto kWarmReleaseEvery = std::chrono::milliseconds(20);  // the map's
  constexpr auto kWarmPagesFirst = std::chrono::milliseconds(20);    // the pages': then x2 each
  auto warm_release_every = kWarmPagesFirst;
  auto last_warm_release = last_release;
  while (!stop.load()) {
    auto rotating = rotator.poll();
    if (!rotating) {
      result = tl::unexpected(std::move(rotating).error());
      break;
    }
    fwd->pause_batching(*rotating);
    if (auto s = fwd->step(std::chrono::milliseconds(50)); !s) {
      result = tl::unexpected(std::move(s).error());
      break;
    }
    // The forwarder releases what its steps read of the spool's map (after each step that read
    // any); what the other threads read goes every 100 ms. Released after every step here too,
    // the madvise over the whole map cost ~5% of a backlog's drain (issue 19).
    auto now = std::chrono::steady_clock::now();
    const bool warming = now - warm_start < kWarmUp;
    if (now - last_release >= (warming ? kWarmReleaseEvery : kReleaseEvery)) {
      release_mapping(spool->env());
      last_release = now;
    }
    if (warming && now - last_warm_release >= warm_release_every) {
      // While the service warms up, the code its threads run for the first time (sealing,
      // sending, the first acks) is faulted in beside the batch buffers they fill: without this,
      // those pages stayed until the first ack — late when the daemon is busy with other agents
      // — and their sum was the agent's peak (16.9 MiB of four agents draining at once).
      release_startup_pages();
      last_warm_release = now;
      warm_release_every *= 2;
    }
    if (*rotating && fwd->status().outbox == 0 && fwd->in_flight() == 0) {
      auto rotated = rotator.run(key, stop);
      if (!rotated) {
        result = tl::unexpected(std::move(rotated).error());
        break;
      }
      if (auto m = rotator.take_message(); !m.empty()) log_line(trf("key rotation: {}", m));
      if (*rotated) {
        // The old key's batches are all acknowledged; the rest of the spool goes under the new.
        fwd.reset();
        key = std::move(**rotated);
        fwd = std::make_unique<Forwarder>(*spool, context, key, rotator.target(), fo, clock);
      }
    }
    if (!released_after_first_ack && fwd->status().acked_batches > 0) {
      release_startup_pages();
      released_after_first_ack = true;
    }
    // The daemon's state and the last error are kept in the spool for `status`; they change
    // rarely. The status line (counters) goes to the observer at most once a second.
    bool changed = fwd->take_status_change();
    if (fwd->status().foreign_receipts > foreign_logged) {
      // Loud, in the journal: a batch under our number that is not ours (agent/forwarder.h).
      foreign_logged = fwd->status().foreign_receipts;
      log_line(fwd->status().last_error);
    }
    if (changed) {
      if (auto s = write_state(*spool, fwd->status(), started, clock.now_ms(), false); !s) {
        result = tl::unexpected(std::move(s).error());
        break;
      }
    }
    now = std::chrono::steady_clock::now();
    if (changed || now - last_status >= std::chrono::seconds(1)) {
      std::string line = status_line(fwd->status());
      if (line != last_line) observer.status(line);
      last_line = std::move(line);
      last_status = now;
    }
    observer.alive();
  }
  observer.stopping();
  join_inputs();
  if (result) {
    fwd->stop_new_batches();
    auto deadline = std::chrono::steady_clock::now() +
                    std::chrono::milliseconds(config.limits.shutdown_timeout_ms);
    while (fwd->in_flight() > 0 && std::chrono::steady_clock::now() < deadline) {
      if (auto s = fwd->step(std::chrono::milliseconds(20)); !s) {
        result = tl::unexpected(std::move(s).error());
        break;
      }
    }
    if (fwd->in_flight() > 0) {
      log_line(
          trf("{} batches still unacknowledged at shutdown; they are sent again at the next "
              "start",
              fwd->in_flight()));
    }
    // Like every other state write of the loop, a failure is the run's failure (unless it has
    // failed already): status would otherwise go on showing a running agent.
    auto stopped = write_state(*spool, fwd->status(), started, clock.now_ms(), true);
    if (!stopped && result) {
      result = tl::unexpected(std::move(stopped).error().with_context(tr("recording the stop")));
    }
  }
  return result;
}

}  // namespace gongshu::agent
