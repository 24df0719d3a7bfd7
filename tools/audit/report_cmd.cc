// gongshu-audit report: the officers' report from an audit export that verifies. The
// export is verified and read in one pass (audit::verify_export with on_entry/on_checkpoint),
// so the figures come from exactly the bytes verified; nothing is written unless it verifies.

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "core/audit/checkpoint.h"
#include "core/audit/entry.h"
#include "core/audit/verify.h"
#include "core/util/clock.h"
#include "tools/audit/commands.h"
#include "tools/audit/common.h"
#include "tools/audit/report.h"
#include "tools/audit/report_render.h"

namespace gongshu::audit_cli {
namespace {

struct ReportArgs {
  std::string export_path;
  std::vector<std::string> keys;
  std::string from;
  std::string to;
  std::string out;
  std::string checkpoint_file;
  bool excerpt = false;
  bool json = false;
};

// --json: {"status", "reason"} on stdout, the reason in English (machine output does not change
// with the language); otherwise the reason on stderr in the reader's language.
int report_error(const ReportArgs& a, int code, const std::string& status, const Reason& why) {
  if (a.json) {
    JsonWriter w;
    w.begin_object().field("status", status).field("reason", why.english).end_object();
    std::cout << w.str() << "\n";
  } else {
    std::cerr << "gongshu-audit report: "  // i18n-exempt: program and command names
              << printable(why.text) << "\n";
  }
  return code;
}

int run_report(const ReportArgs& a) {
  if (a.json && a.out == "-")
    return report_error(a, kExitError, "error",
                        reason(tr_noop("--out - and --json both write to stdout")));
  Reason why;
  auto period = parse_period(a.from, a.to, &why);
  if (!period) return report_error(a, kExitError, "error", why);
  auto keys = parse_keys(a.keys);
  if (!keys) return report_error(a, kExitError, "error", as_is(keys.error().message()));

  ReportBuilder builder(*period);
  audit::VerifyOptions opts;
  opts.more_keys = std::move(*keys);
  opts.allow_excerpt = a.excerpt;
  if (!a.checkpoint_file.empty()) {
    // Its signature, size and root are checked by the verifier, against the keys it learns.
    auto note = read_small_file(a.checkpoint_file, audit::kMaxNoteSize);
    if (!note)
      return report_error(a, kExitError, "error",
                          reason(tr_noop("--checkpoint: {}"), {note.error().message()}));
    opts.trusted_checkpoint = std::move(*note);
  }
  opts.on_entry = [&builder](uint64_t seq, ByteView bytes) {
    auto e = audit::decode_entry(bytes);
    builder.add(seq, e ? std::optional<v1::AuditEntry>(std::move(*e)) : std::nullopt);
  };
  opts.on_checkpoint = [&builder](uint64_t size) { builder.checkpoint(size); };
  const audit::VerifyReport r = audit::verify_export(a.export_path, opts);
  switch (r.status) {
    case audit::VerifyStatus::kOk:
      break;
    case audit::VerifyStatus::kTampered:
      if (r.failing_seq) {
        return report_error(
            a, kExitFailed, "tampered",
            reason(tr_noop("the export does not verify, so no report is made: entry {}: {}"),
                   {std::to_string(r.failing_seq), r.reason}));
      }
      return report_error(
          a, kExitFailed, "tampered",
          reason(tr_noop("the export does not verify, so no report is made: {}"), {r.reason}));
    case audit::VerifyStatus::kError:
      return report_error(a, kExitError, "error", as_is(r.reason));
  }

  ExportFacts facts;
  facts.path = a.export_path;
  facts.origin = r.origin;
  facts.first_seq = r.first_seq;
  facts.last_seq = r.last_seq;
  facts.checkpoints = r.checkpoints;
  facts.signed_through = r.last_checkpoint_size;
  facts.full = r.full;
  if (r.full) facts.root_hex = hex(r.root);
  for (const auto& k : r.trusted_keys) facts.key_ids.push_back(k.key_id());
  const ReportFigures figures = std::move(builder).finish(std::move(facts));

  const int64_t now = SystemClock::instance().now_ms();
  if (auto s = write_output(a.out, report_html(figures, now)); !s)
    return report_error(a, kExitError, "error",
                        reason(tr_noop("--out {}: {}"), {a.out, s.error().message()}));
  if (a.json) {
    std::cout << report_json(figures, now) << "\n";
  } else {
    std::cout << trf("report written to {0}: {1} .. {2} (Beijing time), {3} entries in the "
                     "period, {4} data accesses allowed, {5} denied, {6} denials in all, {7} "
                     "alerts",
                     printable(a.out), date_text(figures.period.from), date_text(figures.period.to),
                     figures.in_period, figures.access_allowed, figures.access_denied,
                     figures.denials, figures.alerts.size())
              << "\n";
    if (figures.unsigned_tail) {
      std::cout << "  "
                << trnf("left out: {} entry after the last checkpoint (not signed)",
                        "left out: {} entries after the last checkpoint (not signed)",
                        static_cast<unsigned long>(figures.unsigned_tail), figures.unsigned_tail)
                << "\n";
    }
    if (figures.undecodable) {
      std::cout << "  "
                << trnf("left out: {} entry that does not decode",
                        "left out: {} entries that do not decode",
                        static_cast<unsigned long>(figures.undecodable), figures.undecodable)
                << "\n";
    }
  }
  return kExitOk;
}

}  // namespace

void add_report_command(CLI::App& app, int* exit_code) {
  auto a = std::make_shared<ReportArgs>();
  CLI::App* cmd = app.add_subcommand(
      "report",
      tr("The officers' report (R-27) for a period, built offline from an audit export that\n"
         "verifies (the same checks as verify, in the same pass; an export that does not verify\n"
         "gets no report). Figures: data access per dataset, agency, role, purpose and action, "
         "per\n"
         "day; sharing and open-data use per agreement; denials per policy rule; alerts and how\n"
         "fast they were acknowledged; third-party activity and sessions; destruction; quality "
         "and\n"
         "objections. Only entries covered by a signed checkpoint are counted.\n"
         "Writes one self-contained HTML page (Chinese with English labels, SVG charts, no "
         "script,\n"
         "printable); --json prints the same figures as one JSON object. How to read it:\n"
         "docs/reports.md."));
  cmd->add_option("export", a->export_path, tr("The audit export file (gongshuctl audit export)"))
      ->required();
  cmd->add_option("--key", a->keys, tr(kKeyHelp))->allow_extra_args(false)->required();
  cmd->add_option("--from", a->from,
                  tr("First day of the period, YYYY-MM-DD, a Beijing calendar day "
                     "(Asia/Shanghai,\n"
                     "UTC+08:00)"))
      ->required();
  cmd->add_option("--to", a->to,
                  trf("Last day of the period (included), YYYY-MM-DD, Beijing time; at most {} "
                      "days after --from",
                      kMaxReportDays))
      ->required();
  cmd->add_option("--out", a->out, tr("The HTML file to write (replaced atomically; - for stdout)"))
      ->required();
  cmd->add_option("--checkpoint", a->checkpoint_file,
                  tr("A signed checkpoint note kept from an earlier verification (gongshu-audit\n"
                     "checkpoint), as for verify: an export that was cut short or rolled back\n"
                     "before it gets no report"));
  cmd->add_flag("--excerpt", a->excerpt,
                tr("Accept an export that does not start at entry 1 (gongshuctl audit export\n"
                   "--from N), as verify --excerpt does"));
  cmd->add_flag("--json", a->json,
                tr("Print the report's figures as one JSON object on stdout (English keys, times\n"
                   "in UTC ISO-8601), beside the HTML file"));
  cmd->footer(
      tr("Exit status: 0 report written; 1 the export does not verify (tampering: the reason\n"
         "names the first failing entry); 2 could not run (bad date, missing or unreadable "
         "file,\n"
         "not an export, malformed key, usage error)."));
  cmd->callback([a, exit_code] { *exit_code = run_report(*a); });
}

}  // namespace gongshu::audit_cli
