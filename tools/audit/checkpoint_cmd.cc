// gongshu-audit checkpoint: prints one signed checkpoint note from an export, verbatim, so an
// officer can keep it as the trusted checkpoint for later verifications (verify --checkpoint)
// and consistency checks.

#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "core/audit/checkpoint.h"
#include "core/audit/entry.h"
#include "core/audit/export_file.h"
#include "core/util/i18n.h"
#include "tools/audit/commands.h"
#include "tools/audit/common.h"

namespace gongshu::audit_cli {
namespace {

struct Args {
  std::string export_path;
  uint64_t size = 0;
};

struct Found {
  std::string note;
  Status matches;  // whether the note agrees with the entries before it
};

// Streams the export, keeping the checkpoint at `size` (0: the last one) and checking that it
// agrees with the entries before it: its tree size, its chain hash and, for a full export, its
// root. The signature is not checked here: that needs the key, and verify does it.
Result<std::optional<Found>> find_checkpoint(const std::string& path, uint64_t size) {
  GONGSHU_TRY(audit::ExportReader reader, audit::ExportReader::open(path));
  audit::CompactRange range;
  audit::Hash last{};
  uint64_t entries = 0, first_seq = 0;
  std::optional<Found> found;
  while (true) {
    GONGSHU_TRY(auto frame, with_context(reader.next(), path));
    if (!frame) break;
    if (frame->type == audit::FrameType::kEntry) {
      GONGSHU_TRY(audit::EntryPrefix prefix,
                  with_context(audit::parse_entry_prefix(frame->data),
                               trf("{}: entry at byte offset {}", path, frame->offset)));
      if (entries == 0) first_seq = prefix.seq;
      if (prefix.seq != first_seq + entries) {
        return fail(ErrorCode::kCorrupt, trf("{}: expected entry {}, found {}; run verify", path,
                                             first_seq + entries, prefix.seq));
      }
      last = audit::entry_hash(frame->data);
      if (first_seq == 1) range.append(last);
      ++entries;
      continue;
    }
    std::string note(as_chars(frame->data));
    GONGSHU_TRY(audit::CheckpointBody body,
                with_context(audit::parse_checkpoint_note_unverified(note),
                             trf("{}: checkpoint at byte offset {}", path, frame->offset)));
    if (size != 0 && body.size != size) continue;
    Found f{std::move(note), {}};
    uint64_t here = entries ? first_seq + entries - 1 : 0;
    if (body.size != here) {
      f.matches = fail(ErrorCode::kCorrupt, trf("it follows entry {}", here));
    } else if (body.chain != last) {
      f.matches = fail(ErrorCode::kCorrupt, trf("its chain hash does not match entry {}", here));
    } else if (first_seq == 1 && body.root != range.root()) {
      f.matches = fail(ErrorCode::kCorrupt, tr("its root does not match the entries"));
    }
    found = std::move(f);
  }
  return found;
}

int run_checkpoint(const Args& a) {
  auto found = find_checkpoint(a.export_path, a.size);
  if (!found) {
    std::cerr << "gongshu-audit checkpoint: "  // i18n-exempt: program and command names
              << found.error().message() << "\n";
    return kExitError;
  }
  if (!*found) {
    std::cerr << "gongshu-audit checkpoint: "  // i18n-exempt: program and command names
              << (a.size ? trf("{} has no checkpoint at tree size {}", a.export_path, a.size)
                         : trf("{} has no checkpoint", a.export_path))
              << "\n";
    return kExitError;
  }
  if (!(*found)->matches) {
    const std::string why = (*found)->matches.error().message();
    std::cerr << "gongshu-audit checkpoint: "  // i18n-exempt: program and command names
              << (a.size ? trf("the export's checkpoint at tree size {} does not match its "
                               "entries: {}; run verify",
                               a.size, why)
                         : trf("the export's latest checkpoint does not match its entries: {}; "
                               "run verify",
                               why))
              << "\n";
    return kExitError;
  }
  std::cout << (*found)->note;
  return kExitOk;
}

}  // namespace

void add_checkpoint_command(CLI::App& app, int* exit_code) {
  auto a = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand(
      "checkpoint",
      tr("Print a signed checkpoint note from an export, verbatim (default: the latest one).\n"
         "Keep it: a later 'verify --checkpoint' proves the log was not rolled back or forked\n"
         "since, and 'consistency' checks proofs between two kept checkpoints. The note is "
         "checked\n"
         "against the export's entries but its signature is not: verify the export first."));
  cmd->add_option("export", a->export_path, tr("The audit export file"))->required();
  cmd->add_option("--size", a->size, tr("The tree size of the checkpoint to print"));
  cmd->footer(
      tr("Exit status: 0 printed; 2 could not (no checkpoint at that size, the checkpoint\n"
         "does not match the entries, the export is damaged or unreadable, usage error)."));
  cmd->callback([a, exit_code] { *exit_code = run_checkpoint(*a); });
}

}  // namespace gongshu::audit_cli
