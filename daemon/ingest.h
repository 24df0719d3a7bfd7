// IngestService: the pipeline of DESIGN §5–§6 behind the ingest socket.
//
//   net thread   receives SealedBatch frames, queues a job in arrival order, sends acks
//   workers      open the seal, verify the agent's signature and every record hash, parse and
//                validate each record against the catalog (the daemon never trusts the agent),
//                encrypt it into its stored version; and free the jobs they prepared once acked
//   writer       takes the prepared jobs in arrival order and group-commits them: records,
//                versions, subject index, dedup marker, audit entries and receipts in ONE
//                LMDB transaction; acks are released only after that commit is durable
//
// Arrival order is kept from socket to commit (jobs are prepared in parallel but committed in
// the order they arrived), so one agent's batches are applied in the order it sent them.
// A bad record is rejected alone with a reason; a bad batch (unopenable, bad signature, wrong
// key, malformed, too large, sequence conflict) is refused whole and audited; a re-sent batch
// gets its stored receipt and is never stored twice.
//
// Threads: start() spawns them; stop() stops accepting, finishes every queued job, sends its
// ack and joins. stats() and agent_activity() may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "core/batch/batch.h"
#include "core/sys/logger.h"
#include "core/wire/context.h"
#include "core/wire/zap_handler.h"
#include "daemon/cluster_gate.h"
#include "daemon/config.h"
#include "daemon/daemon_store.h"
#include "daemon/directory.h"
#include "daemon/quarantine.h"
#include "daemon/status.h"

namespace gongshu::daemon {

struct IngestOptions {
  std::string endpoint = "tcp://127.0.0.1:7400";
  unsigned workers = 2;
  size_t max_group = 64;  // batches per commit
  // How much lower the workers' scheduling priority is than the rest of the daemon's (nice,
  // 0-19). The single writer is the pipeline's serial stage: when the cores are busy, a worker
  // preparing a batch the writer cannot take yet must not delay the commit that acks the ones
  // before it. Measured on 2 cores: ~+25% records/s at 10 over 0 (bench/ingest).
  unsigned worker_nice = 10;
  size_t max_queue = 512;  // jobs waiting; beyond it new batches are answered busy (resend later)
  IngestLimits per_key;    // what one agent key may take (daemon/config.h)
  batch::Limits limits;
  // Where the writer says that the store is full, and again when it has room (null: nowhere).
  const sys::Logger* log = nullptr;
  // Replicated mode (daemon/cluster_gate.h): batches are taken only while gate->may_write(),
  // others answered "not leader" naming the leader; an ack is withheld once
  // gate->may_acknowledge() is false. Null (one node): always taken and acknowledged.
  const LeaderGate* gate = nullptr;
  // Replicated data path, semi-synchronous (daemon/cluster_replication.h): last_seq() is read
  // right after each group's commit; that group's acks go once synced_seq() reaches it (and
  // may_acknowledge()). The net thread never blocks on it: wake_net() rouses it when a
  // replica's ack moves. Null: acks go after the local commit.
  std::function<uint64_t()> repl_last_seq;
  std::function<uint64_t()> repl_synced_seq;
};

struct IngestStats {
  uint64_t batches = 0;  // acknowledged (stored or duplicate)
  uint64_t records_accepted = 0;
  uint64_t records_rejected = 0;
  uint64_t duplicates = 0;
  uint64_t refused = 0;      // batches refused whole
  uint64_t busy = 0;         // frames answered busy (queue, lane or waste bucket full)
  uint64_t dropped = 0;      // frames dropped: malformed, or from a key revoked since its handshake
  uint64_t cuts = 0;         // times every connection was cut (a key revoked or quarantined)
  uint64_t quarantines = 0;  // keys quarantined for flooding
  uint64_t summaries = 0;    // audit entries summarising refusals not audited one by one
  uint64_t commits = 0;
  uint64_t queued = 0;            // jobs in the pipeline now
  uint64_t awaiting_worker = 0;   // of those, waiting for a worker to open and verify them
  uint64_t awaiting_writer = 0;   // of those, prepared and waiting for the writer's commit
  uint64_t last_minute = 0;       // records accepted in the last 60 seconds
  uint64_t writer_apply_ns = 0;   // writer time building transactions
  uint64_t writer_commit_ns = 0;  // writer time in durable commits (fsync)
  uint64_t prepare_ns = 0;        // worker time opening, verifying, validating (all workers)
  // Replicated mode: batches refused because this node does not lead, acks withheld because it
  // stopped leading (or its lease ran out) after storing them, and when (CLOCK_MONOTONIC ns) the
  // last ack of a stored batch was sent (0: none).
  uint64_t not_leader = 0;
  uint64_t acks_withheld = 0;
  int64_t last_ack_mono_ns = 0;
};

class IngestService {
 public:
  static Result<std::unique_ptr<IngestService>> start(wire::Context& context,
                                                      const wire::ZapHandler& zap,
                                                      DaemonStore& store, Directory& directory,
                                                      CatalogView& catalog, Quarantine& quarantine,
                                                      IngestOptions options);
  ~IngestService();
  IngestService(const IngestService&) = delete;
  IngestService& operator=(const IngestService&) = delete;

  const std::string& endpoint() const;  // the bound endpoint (with the OS-chosen port)
  void stop();
  // Rouses the net thread to look again at the acks held for the synchronous replicas (any
  // thread; the replication ack listener).
  void wake_net();
  IngestStats stats() const;
  // Why the workers run at the daemon's own priority instead of worker_nice lower (setpriority
  // refused, e.g. by a seccomp filter); empty when they were set as configured.
  const std::string& scheduling_problem() const;
  // Why the ingest socket stopped serving (it failed, or could not listen again after cutting
  // a revoked key's connections); empty while it is healthy. The daemon exits on it, so that
  // systemd restarts it instead of it running deaf.
  std::string failure() const;
  // What this run learnt about each agent without writing it to the store: when its last frame
  // arrived and the spool backlog it reported (SealedBatch.reported_backlog, advisory).
  std::map<std::string, AgentActivity> agent_activity() const;

  struct Impl;

 private:
  explicit IngestService(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace gongshu::daemon
