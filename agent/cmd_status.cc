// gongshu-agent status: what is spooled, in flight, acknowledged and rejected, the last receipt,
// and whether the daemon is reachable (a short probe of the ingest endpoint).

#include <iostream>
#include <memory>
#include <optional>
#include <thread>

#include "agent/api_client.h"
#include "agent/cmd_common.h"
#include "agent/commands.h"
#include "agent/daemon_key.h"
#include "agent/forwarder.h"
#include "core/util/encoding.h"
#include "core/util/json.h"
#include "core/util/printable.h"
#include "core/util/refusal_text.h"
#include "core/wire/client_channel.h"
#include "core/wire/context.h"

namespace gongshu::agent {
namespace {

// Microseconds as milliseconds with one decimal, for people ("12.3").
std::string ms_text(uint64_t us) {
  return std::to_string(us / 1000) + "." + std::to_string(us % 1000 / 100);
}

struct Probe {
  std::string state = "not probed";  // i18n-exempt: the JSON value; shown through tr()
  bool problem = false;
};

Probe probe_daemon(const AgentConfig& config, const DaemonTarget& target,
                   std::chrono::milliseconds timeout) {
  Probe p;
  auto key = load_agent_key(config.key_file);
  if (!key) return {"no agent key: " + key.error().message(), true};  // i18n-exempt: JSON value
  auto context = wire::Context::create();
  if (!context) return {context.error().message(), true};
  auto ch = wire::ClientChannel::create(*context, *key, target.key);
  if (!ch || !ch->connect(target.ingest)) return {tr_noop("cannot open a channel"), true};
  auto deadline = std::chrono::steady_clock::now() + timeout;
  wire::HandshakeState st = wire::HandshakeState::kNotConnected;
  while (std::chrono::steady_clock::now() < deadline) {
    // Receiving only drives the handshake; the probe reads its state, not messages or errors.
    (void)ch->receive(std::chrono::milliseconds(50));
    st = ch->handshake_state();
    if (st != wire::HandshakeState::kNotConnected) break;
  }
  switch (st) {
    case wire::HandshakeState::kConnected:
      return {tr_noop("reachable"), false};
    case wire::HandshakeState::kRefused:
      return {tr_noop("refused our key: not enrolled or revoked"), true};
    case wire::HandshakeState::kFailed:
      return {tr_noop("handshake failed: the daemon's key is not the one we expect"), true};
    default:
      return {tr_noop("unreachable"), false};
  }
}

}  // namespace

void add_status_command(CLI::App& app, int* exit_code) {
  struct Options {
    std::string config;
    bool json = false;
    bool no_probe = false;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "status",
      tr("Show the spool (records waiting, batches in flight), what the daemon acknowledged and\n"
         "rejected, the last receipt, the catalog, and whether the daemon is reachable (a "
         "2-second\n"
         "handshake probe of the ingest endpoint unless --no-probe). Exit 1 when the daemon\n"
         "refuses this agent's key."));
  add_config_option(cmd, &o->config);
  cmd->add_flag("--json", o->json, tr("Print the status as JSON"));
  cmd->add_flag("--no-probe", o->no_probe, tr("Do not contact the daemon"));
  cmd->callback([o, exit_code] {
    auto loaded = load_config_and_spool(o->config);
    if (!loaded) return void(*exit_code = report("status", loaded.error()));
    Spool& spool = *loaded->spool;
    auto began = spool.env().begin_read();
    if (!began) return void(*exit_code = report("status", began.error()));
    std::optional<store::ReadTxn> txn;
    txn.emplace(std::move(*began));
    auto enrollment = spool.enrollment(*txn);
    auto target = daemon_target(loaded->config, spool, *txn);
    uint64_t next_pending = spool.get_u64(*txn, kNextPending);
    uint64_t up_to = spool.get_u64(*txn, kBatchedUpTo);
    uint64_t waiting = next_pending > up_to + 1 ? next_pending - 1 - up_to : 0;
    uint64_t spooled = spool.pending_records(*txn);  // records, not entries (spool.h)
    uint64_t outbox = spool.outbox().count(*txn);
    uint64_t outbox_records = 0;
    {
      store::Cursor cur = spool.outbox().cursor(*txn);
      for (auto e = cur.first(); e; e = cur.next()) {
        if (auto d = decode_outbox(e->value)) outbox_records += d->count;
      }
    }
    uint64_t acked = spool.get_u64(*txn, kCountAckedRecords);
    uint64_t acked_batches = spool.get_u64(*txn, kCountAckedBatches);
    uint64_t accepted = spool.get_u64(*txn, kCountAccepted);
    uint64_t rej_local = spool.get_u64(*txn, kCountRejectedLocal);
    uint64_t rej_daemon = spool.get_u64(*txn, kCountRejectedDaemon);
    uint64_t next_seq = std::max<uint64_t>(spool.get_u64(*txn, kNextBatchSeq), 1);
    uint64_t catalog_count = spool.catalog().count(*txn);
    int64_t catalog_ms = int64_t(spool.get_u64(*txn, kCatalogRefreshedMs));
    uint64_t last_batch = spool.get_u64(*txn, kLastReceiptSeq);
    v1::Receipt receipt;
    bool have_receipt = false;
    if (auto v = spool.receipts().get(*txn, last_batch)) {
      agentpb::StoredReceipt sr;
      have_receipt =
          sr.ParseFromArray(v->data(), int(v->size())) && receipt.ParseFromString(sr.receipt());
    }
    // A daemon key announced by a rotation statement and not yet in use (agent/daemon_key.h).
    std::optional<crypto::PublicKey> next_key =
        target ? next_daemon_key(spool, *txn, target->key) : std::nullopt;
    agentpb::ServiceState service;
    if (auto v = spool.get_meta(*txn, kServiceState)) {
      // Only shown, so no reason to fail status: a state that does not parse shows as none
      // (stopped), not as whatever part of it was read.
      if (!service.ParseFromArray(v->data(), int(v->size()))) service.Clear();
    }
    txn.reset();  // the probe may take seconds: do not hold the snapshot meanwhile

    Probe probe;
    if (!target) {
      probe = {tr_noop("not enrolled"), false};
    } else if (!o->no_probe) {
      probe = probe_daemon(loaded->config, *target, std::chrono::seconds(2));
    }
    // The JSON value; people read service_shown.
    std::string service_text = service.pid() != 0
                                   ? "running (pid " +  // i18n-exempt: the JSON value
                                         std::to_string(service.pid()) + ")"
                                   : "stopped";
    const std::string service_shown =
        service.pid() != 0 ? trf("running (pid {})", service.pid()) : tr("stopped");
    if (o->json) {
      JsonWriter w;
      w.begin_object();
      w.field("enrolled", enrollment.has_value());
      if (enrollment) {
        w.field("agency", enrollment->agency())
            .field("agent_key_id", enrollment->agent_key_id())
            .field("ingest", target ? target->ingest : "")
            .field("daemon_key_id", target ? target->key.key_id() : "")
            .field("daemon_next_key_id", next_key ? next_key->key_id() : "");
      }
      w.field("daemon", probe.state)
          .field("daemon_reachable", probe.state == "reachable")
          .field("service", service_text)
          .field("service_daemon_state", service.daemon_state())
          .field("service_last_error", service.last_error())
          .field("service_last_error_code", service.last_error_code())
          // The daemon's English reason and the batch it refused (empty and 0 otherwise): for
          // scripts, which never parse the translated service_last_error text.
          .field("service_last_error_reason", service.last_error_reason())
          .field("service_last_error_batch", service.last_error_batch())
          .field("spooled", spooled)
          .field("waiting", waiting)
          .field("in_flight_batches", outbox)
          .field("in_flight_records", outbox_records)
          .field("accepted", accepted)
          .field("acknowledged", acked)
          .field("acknowledged_batches", acked_batches)
          .field("rejected", rej_local + rej_daemon)
          .field("rejected_by_agent", rej_local)
          .field("rejected_by_daemon", rej_daemon)
          .field("next_batch_seq", next_seq)
          // Of the service's last (up to 1,024) acknowledged batches, send to ack; 0 when none.
          .field("ack_p50_us", service.ack_p50_us())
          .field("ack_p99_us", service.ack_p99_us())
          .field("acks_timed", service.acks_timed())
          .field("catalog_datasets", catalog_count)
          .field("catalog_refreshed", format_ms(catalog_ms));
      if (have_receipt) {
        w.key("last_receipt")
            .begin_object()
            .field("batch_seq", last_batch)
            .field("audit_seq", receipt.seq())
            .field("tree_size", receipt.tree_size())
            .field("issued_at", format_ms(receipt.issued_at_ms()))
            .end_object();
      } else {
        w.key("last_receipt").null();
      }
      w.end_object();
      std::cout << w.str() << "\n";
    } else {
      // TRANSLATORS: the labels of `gongshu-agent status` line up in a column (a Chinese
      // character is two columns wide).
      if (enrollment) {
        std::cout << trf("agent:         {} of agency {}", enrollment->agent_key_id(),
                         printable(enrollment->agency()))
                  << "\n";
      } else {
        std::cout << tr("agent:         not enrolled (gongshu-agent enroll TOKEN)") << "\n";
      }
      const std::string state = tr(probe.state.c_str());
      std::cout << (target ? trf("daemon:        {} ({})", state, printable(target->ingest))
                           : trf("daemon:        {}", state))
                << "\n";
      std::string service_line = service_shown;
      if (service.pid() != 0 && !service.daemon_state().empty()) {
        service_line = trf("{}, daemon {}", service_shown, printable(service.daemon_state()));
      }
      if (!service.last_error_code().empty()) {
        // A refused batch: its class in the reader's language, the daemon's reason as sent.
        service_line +=
            "; " +
            trf("batch {} refused by the daemon: {}: {}", service.last_error_batch(),
                service.last_error_code(),
                printable(explain_refusal(service.last_error_code(), service.last_error_reason())));
      } else if (!service.last_error_msgid().empty()) {
        // Stored as msgid and arguments (English in --json): shown in the reader's language.
        const Said error{service.last_error_msgid().c_str(),
                         {service.last_error_args().begin(), service.last_error_args().end()}};
        service_line += "; " + printable(error.translated());
      } else if (!service.last_error().empty()) {
        service_line += "; " + printable(service.last_error());
      }
      std::cout << trf("service:       {}", service_line) << "\n"
                << trf("spooled:       {} records not yet acknowledged ({} waiting for a batch)",
                       spooled, waiting)
                << "\n"
                << trf("in flight:     {} batches, {} records", outbox, outbox_records) << "\n"
                << trf("acknowledged:  {} records in {} batches", acked, acked_batches) << "\n";
      if (service.acks_timed() > 0) {
        const uint64_t kept = std::min<uint64_t>(service.acks_timed(), AckTimes::kKept);
        std::cout << trf("ack time:      p50 {} ms, p99 {} ms (the last {} batches sent to stored)",
                         ms_text(service.ack_p50_us()), ms_text(service.ack_p99_us()), kept)
                  << "\n";
      }
      std::cout << trf("rejected:      {} ({} by this agent, {} by the daemon)",
                       rej_local + rej_daemon, rej_local, rej_daemon)
                << "\n";
      if (have_receipt) {
        std::cout << trf("last receipt:  batch {}, audit entry {}, tree size {}, issued {}",
                         last_batch, receipt.seq(), receipt.tree_size(),
                         format_local_ms(receipt.issued_at_ms()))
                  << "\n";
      } else {
        std::cout << tr("last receipt:  none") << "\n";
      }
      std::cout << trf("next batch:    {}", next_seq) << "\n"
                << trf("catalog:       {} datasets, refreshed {}", catalog_count,
                       format_local_ms(catalog_ms))
                << "\n";
    }
    *exit_code = probe.problem ? 1 : 0;
  });
}

}  // namespace gongshu::agent
