// gongshuctl audit head | checkpoint | export: the audit log as officers take it away.

#include <fcntl.h>
#include <unistd.h>

#include <iostream>
#include <memory>

#include "core/audit/checkpoint.h"
#include "core/util/encoding.h"
#include "core/util/fd.h"
#include "core/util/i18n.h"
#include "core/util/json.h"
#include "tools/ctl/commands.h"
#include "tools/ctl/daemon_client.h"
#include "tools/ctl/replica_lag.h"
#include "tools/ctl/table.h"

namespace gongshu::ctl {
namespace {

Result<std::string> fetch_checkpoint(DaemonClient& c, bool sign_now) {
  v1::ApiRequest req;
  if (sign_now) {
    req.mutable_audit_checkpoint();
  } else {
    req.mutable_audit_head();
  }
  GONGSHU_TRY(auto r, c.call(req));
  return r.audit_head().checkpoint();
}

int print_head(const std::string& note, bool json) {
  auto body = audit::parse_checkpoint_note_unverified(note);
  if (!body) return report_error(body.error());
  if (json) {
    JsonWriter w;
    w.begin_object()
        .field("origin", body->origin)
        .field("tree_size", body->size)
        .field("root", base64_encode(body->root))
        .field("note", note)
        .end_object();
    std::cout << w.str() << "\n";
  } else {
    std::cout << printable_lines(note);
  }
  return 0;
}

}  // namespace

void add_audit_commands(CLI::App& app, int* exit_code) {
  auto* audit = app.add_subcommand(
      "audit", tr("The audit log: signed checkpoints and exports for offline verification"));
  audit->require_subcommand(1);

  auto head_json = std::make_shared<bool>(false);
  auto conn = std::make_shared<ConnectOptions>();
  auto* head =
      audit->add_subcommand("head", tr("Print the latest signed checkpoint (a C2SP signed note)"));
  head->add_flag("--json", *head_json, tr("JSON output"));
  add_connect_options(head, conn.get());
  head->callback([conn, head_json, exit_code] {
    auto c = DaemonClient::connect(*conn);
    if (!c) return void(*exit_code = report_error(c.error()));
    auto note = fetch_checkpoint(**c, false);
    if (!note) return void(*exit_code = report_error(note.error()));
    *exit_code = print_head(*note, *head_json);
  });

  auto cp_json = std::make_shared<bool>(false);
  auto conn2 = std::make_shared<ConnectOptions>();
  auto* cp = audit->add_subcommand("checkpoint",
                                   tr("Ask the daemon to sign a checkpoint now and print it"));
  cp->add_flag("--json", *cp_json, tr("JSON output"));
  add_connect_options(cp, conn2.get());
  cp->callback([conn2, cp_json, exit_code] {
    auto c = DaemonClient::connect(*conn2);
    if (!c) return void(*exit_code = report_error(c.error()));
    auto note = fetch_checkpoint(**c, true);
    if (!note) return void(*exit_code = report_error(note.error()));
    *exit_code = print_head(*note, *cp_json);
  });

  struct ExportOpts {
    std::string out;
    uint64_t from = 1;
    uint64_t to = 0;
    bool progress = false;
  };
  auto ex = std::make_shared<ExportOpts>();
  auto conn3 = std::make_shared<ConnectOptions>();
  auto* exc = audit->add_subcommand(
      "export", tr("Write the audit log (or --from/--to a range) to FILE in the export format of\n"
                   "docs/audit-format.md. Without --to, the daemon first signs a checkpoint and\n"
                   "the export ends with it, so every entry is covered by a signature.\n"
                   "Verify it offline with: gongshu-audit verify FILE --key <daemon key>"));
  exc->add_option("--out", ex->out, tr("File to create"))->required();
  exc->add_option("--from", ex->from, tr("First entry (default 1)"));
  exc->add_option("--to", ex->to, tr("Last entry (default: a checkpoint signed now)"));
  exc->add_flag("--progress", ex->progress, tr("Show progress on stderr"));
  add_connect_options(exc, conn3.get());
  exc->callback([conn3, ex, exit_code] {
    auto c = DaemonClient::connect(*conn3);
    if (!c) return void(*exit_code = report_error(c.error()));
    uint64_t to = ex->to;
    if (to == 0) {
      auto note = fetch_checkpoint(**c, true);
      // A replica signs no checkpoint (its store is the leader's to write): the export ends at
      // the latest one it holds (docs/replication.md §6, reads on replicas).
      const bool replica =  // the daemon's refusal, protocol text
          !note && note.error().message().find("not leader") != std::string::npos;  // i18n-exempt
      if (replica) {
        note = fetch_checkpoint(**c, false);
        if (note)
          std::cerr << tr("this node is a replica: exporting up to its latest checkpoint\n");
      }
      if (!note) return void(*exit_code = report_error(note.error()));
      auto body = audit::parse_checkpoint_note_unverified(*note);
      if (!body) return void(*exit_code = report_error(body.error()));
      to = body->size;
    }
    bool progress = ex->progress || ::isatty(2);
    v1::ApiResponse last;  // the last chunk's answer: its replica lag, if a replica answered
    auto written =
        download_to_file(ex->out, 0640, "export", progress, [&](uint64_t offset) -> Result<Chunk> {
          v1::ApiRequest req;
          req.mutable_audit_export()->set_from_seq(ex->from);
          req.mutable_audit_export()->set_to_seq(to);
          req.mutable_audit_export()->set_offset(offset);
          GONGSHU_TRY(v1::ApiResponse r, (*c)->call(req));
          last.clear_replica_lag();
          if (r.has_replica_lag()) *last.mutable_replica_lag() = r.replica_lag();
          auto* chunk = r.mutable_audit_export();
          return Chunk{std::move(*chunk->mutable_data()), chunk->last(), 0};
        });
    if (!written) return void(*exit_code = report_error(written.error()));
    uint64_t offset = *written;
    std::cout << trf("exported entries {}..{} ({} bytes) to {}", ex->from, to, offset, ex->out)
              << "\n";
    print_replica_lag(last, std::cout);
    *exit_code = 0;
  });
}

}  // namespace gongshu::ctl
