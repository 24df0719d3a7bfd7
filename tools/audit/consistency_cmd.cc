// gongshu-audit prove-consistency / consistency: proofs that the log at a later tree size
// extends the log at an earlier one (RFC 6962 §2.1.2), i.e. that history was neither rewritten
// nor forked between two signed checkpoints.

#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "core/audit/checkpoint.h"
#include "core/audit/proof_file.h"
#include "core/util/i18n.h"
#include "tools/audit/commands.h"
#include "tools/audit/common.h"
#include "tools/audit/report.h"

namespace gongshu::audit_cli {
namespace {

// The file format's first line: never translated.
constexpr std::string_view kConsistencyFirstLine = "gongshu consistency proof v1\n";  // i18n-exempt

struct ProveArgs {
  std::string export_path;
  uint64_t old_size = 0;
  uint64_t new_size = 0;
  std::string out;
};

int run_prove_consistency(const ProveArgs& a) {
  auto proof = audit::prove_consistency(a.export_path, a.old_size, a.new_size);
  if (!proof) {
    std::cerr << "gongshu-audit prove-consistency: "  // i18n-exempt: program and command names
              << proof.error().message() << "\n";
    return kExitError;
  }
  if (auto s = write_output(a.out, audit::format_consistency_proof(*proof)); !s) {
    std::cerr << "gongshu-audit prove-consistency: "  // i18n-exempt: program and command names
              << s.error().message() << "\n";
    return kExitError;
  }
  if (a.out != "-") {
    std::cout << trf("wrote the consistency proof from tree size {} to tree size {} ({} path "
                     "hashes) to {}",
                     proof->old_size, proof->new_size, proof->path.size(), a.out)
              << "\n";
  }
  return kExitOk;
}

struct CheckArgs {
  std::string old_checkpoint;
  std::string new_checkpoint;
  std::string proof_file;
  std::vector<std::string> keys;
  bool json = false;
};

int run_consistency(const CheckArgs& a) {
  // --json: the reason in English; otherwise on stderr in the reader's language.
  auto error = [&a](const Reason& why) {
    if (a.json) {
      JsonWriter w;
      w.begin_object().field("status", "error").field("reason", why.english).end_object();
      std::cout << w.str() << "\n";
    } else {
      std::cerr << "gongshu-audit consistency: "  // i18n-exempt: program and command names
                << printable(why.text) << "\n";
    }
    return kExitError;
  };
  auto keys = parse_keys(a.keys);
  if (!keys) return error(as_is(keys.error().message()));
  // Files that cannot be read, or are not a checkpoint note / consistency proof at all, mean
  // the check could not run; everything after that is the check itself.
  auto read_note = [](const std::string& path, Reason* why) -> std::optional<std::string> {
    auto note = read_small_file(path, audit::kMaxNoteSize);
    if (!note) {
      *why = as_is(note.error().message());
      return std::nullopt;
    }
    if (auto body = audit::parse_checkpoint_note_unverified(*note); !body) {
      *why = reason(tr_noop("{}: not a checkpoint note: {}"), {path, body.error().message()});
      return std::nullopt;
    }
    return std::move(*note);
  };
  Reason why;
  auto old_note = read_note(a.old_checkpoint, &why);
  if (!old_note) return error(why);
  auto new_note = read_note(a.new_checkpoint, &why);
  if (!new_note) return error(why);
  auto text = read_small_file(a.proof_file, kMaxProofFile);
  if (!text) return error(as_is(text.error().message()));
  if (text->substr(0, kConsistencyFirstLine.size()) != kConsistencyFirstLine) {
    return error(reason(tr_noop("{}: not a consistency proof (it does not start with '{}')"),
                        {a.proof_file, std::string(kConsistencyFirstLine.substr(
                                           0, kConsistencyFirstLine.size() - 1))}));
  }
  auto proof = audit::parse_consistency_proof(*text);
  auto checked = proof ? audit::check_consistency_proof(*old_note, *new_note, *proof, *keys)
                       : tl::unexpected(proof.error());
  if (!checked) {
    if (a.json) {
      JsonWriter w;
      w.begin_object()
          .field("status", "failed")
          .field("reason", checked.error().message())
          .end_object();
      std::cout << w.str() << "\n";
    } else {
      std::cout << trf("FAILED: {}", printable(checked.error().message())) << "\n";
    }
    return kExitFailed;
  }
  const auto& [older, newer] = *checked;
  if (a.json) {
    JsonWriter w;
    w.begin_object()
        .field("status", "ok")
        .field("origin", older.origin)
        .field("old_size", older.size)
        .field("old_root", hex(older.root))
        .field("new_size", newer.size)
        .field("new_root", hex(newer.root))
        .end_object();
    std::cout << w.str() << "\n";
  } else {
    std::cout << trf("OK: the log {} at tree size {} extends the log at tree size {}",
                     printable(older.origin), newer.size, older.size)
              << "\n"
              << "  " << trf("old root: {}", hex(older.root)) << "\n"
              << "  " << trf("new root: {}", hex(newer.root)) << "\n";
  }
  return kExitOk;
}

}  // namespace

void add_consistency_commands(CLI::App& app, int* exit_code) {
  auto p = std::make_shared<ProveArgs>();
  CLI::App* prove = app.add_subcommand(
      "prove-consistency",
      tr("Write a consistency proof showing that the log at tree size N extends the log at tree\n"
         "size M: every entry up to M is unchanged. Together with the signed checkpoints at M and\n"
         "N (gongshu-audit checkpoint) anyone can check it with the consistency command. The\n"
         "export must be a full export (from entry 1); verify it first."));
  prove->add_option("export", p->export_path, tr("The audit export file"))->required();
  prove->add_option("--old-size", p->old_size, tr("The earlier tree size M (at least 1)"))
      ->required()
      ->check(CLI::PositiveNumber);
  prove->add_option("--new-size", p->new_size,
                    tr("The later tree size N (default: the number of entries in the export)"));
  prove->add_option("--out", p->out, tr("The proof file to write ('-' for standard output)"))
      ->required();
  prove->footer(
      tr("Exit status: 0 written; 2 could not (sizes out of range, the export is damaged\n"
         "or unreadable, usage error)."));
  prove->callback([p, exit_code] { *exit_code = run_prove_consistency(*p); });

  auto c = std::make_shared<CheckArgs>();
  CLI::App* check = app.add_subcommand(
      "consistency",
      tr("Check that the log named by NEW_CHECKPOINT extends the log named by OLD_CHECKPOINT,\n"
         "using a proof from prove-consistency: both checkpoints must be signed by the daemon's\n"
         "key, name the same log and the proof's sizes, and the proof must lead from the old root\n"
         "to the new one. A failure means history was rewritten or forked between them."));
  check->add_option("old_checkpoint", c->old_checkpoint, tr("The earlier signed checkpoint note"))
      ->required();
  check->add_option("new_checkpoint", c->new_checkpoint, tr("The later signed checkpoint note"))
      ->required();
  check->add_option("proof", c->proof_file, tr("The consistency proof file"))->required();
  check->add_option("--key", c->keys, tr(kKeyHelp))->allow_extra_args(false)->required();
  check->add_flag("--json", c->json, tr("Print the result as one JSON object"));
  check->footer(
      tr("Exit status: 0 consistent; 1 not (bad signature, different logs, sizes that\n"
         "do not match the proof, a proof that does not hold); 2 could not run\n"
         "(unreadable file, not a checkpoint note or consistency proof, malformed key,\n"
         "usage error)."));
  check->callback([c, exit_code] { *exit_code = run_consistency(*c); });
}

}  // namespace gongshu::audit_cli
