// gongshu-audit verify: checks an audit export with nothing but the file and the daemon's public
// key (core/audit/verify.h), optionally against receipts and a previously trusted checkpoint.

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "core/audit/checkpoint.h"
#include "core/audit/receipt.h"
#include "core/audit/verify.h"
#include "core/util/i18n.h"
#include "tools/audit/commands.h"
#include "tools/audit/common.h"
#include "tools/audit/report.h"

namespace gongshu::audit_cli {
namespace {

// More receipt files than this in one directory is a mistake, not an officer's collection.
constexpr size_t kMaxReceipts = 1'000'000;

// Every regular, non-hidden file in dir, sorted by name, parsed as a receipt; nullopt and *why
// when they cannot be read.
std::optional<std::vector<audit::ReceiptInput>> load_receipts(const std::string& dir, Reason* why) {
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  if (ec) {
    *why = as_is("--receipts " + dir + ": " + ec.message());  // i18n-exempt: option and OS text
    return std::nullopt;
  }
  std::vector<std::string> names;
  for (const auto& e : it) {
    std::string name = e.path().filename().string();
    if (name.empty() || name[0] == '.') continue;
    if (!e.is_regular_file(ec)) continue;
    if (names.size() == kMaxReceipts) {
      *why =
          reason(tr_noop("--receipts {}: more than {} files"), {dir, std::to_string(kMaxReceipts)});
      return std::nullopt;
    }
    names.push_back(std::move(name));
  }
  std::sort(names.begin(), names.end());
  std::vector<audit::ReceiptInput> out;
  out.reserve(names.size());
  for (const auto& name : names) {
    std::string path = (std::filesystem::path(dir) / name).string();
    auto text = read_small_file(path, kMaxReceiptFile);
    auto r = text
                 ? with_context(audit::parse_receipt_text(*text), "receipt " + path)  // i18n-exempt
                 : tl::unexpected(text.error());
    if (!r) {
      *why = as_is(r.error().message());
      return std::nullopt;
    }
    out.push_back({name, std::move(*r)});
  }
  return out;
}

std::string mib(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
  return buf;
}

// Progress on stderr: redrawn in place on a terminal, one line per report otherwise. On a
// terminal nothing is shown for a file verified before the first report.
class Progress {
 public:
  Progress(bool forced, bool tty) : forced_(forced), tty_(tty) {}
  void operator()(uint64_t done, uint64_t total) {
    if (!forced_ && !shown_ && done >= total) return;
    shown_ = true;
    unsigned pct = total ? static_cast<unsigned>(done * 100 / total) : 100;
    std::cerr << (tty_ ? "\r" : "")
              << "gongshu-audit verify: "  // i18n-exempt: program and command names
              << trf("{}% ({} of {})", pct, mib(done), mib(total)) << (tty_ ? "" : "\n")
              << std::flush;
  }
  void finish() {
    if (shown_ && tty_) std::cerr << "\n";
  }

 private:
  bool forced_;
  bool tty_;
  bool shown_ = false;
};

struct VerifyArgs {
  std::string export_path;
  std::vector<std::string> keys;
  std::string receipts_dir;
  std::string checkpoint_file;
  bool excerpt = false;
  bool json = false;
  bool progress = false;
};

// --json: the reason in English on stdout; otherwise on stderr in the reader's language.
int report_error(const VerifyArgs& a, const Reason& why) {
  if (a.json) {
    JsonWriter w;
    w.begin_object().field("status", "error").field("reason", why.english).end_object();
    std::cout << w.str() << "\n";
  } else {
    std::cerr << "gongshu-audit verify: "  // i18n-exempt: program and command names
              << printable(why.text) << "\n";
  }
  return kExitError;
}

void print_ok(const VerifyArgs& a, const audit::VerifyReport& r,
              const std::optional<audit::CheckpointBody>& trusted) {
  if (a.json) {
    JsonWriter w;
    w.begin_object()
        .field("status", "ok")
        .field("entries", r.entries)
        .field("first_seq", r.first_seq)
        .field("last_seq", r.last_seq)
        .field("full", r.full);
    if (r.full) {
      w.field("tree_size", r.tree_size)
          .field("root", hex(r.root))
          .field("root_base64", b64(r.root));
    } else {
      w.key("tree_size").null().key("root").null().key("root_base64").null();
    }
    w.field("origin", r.origin)
        .field("checkpoints", r.checkpoints)
        .field("last_checkpoint_size", r.last_checkpoint_size)
        .field("unsigned_tail", r.unsigned_tail)
        .field("receipts", r.receipts);
    w.key("key_rotations").begin_array();
    for (const auto& k : r.key_rotations) w.value(k);
    w.end_array();
    w.key("trusted_keys").begin_array();
    for (const auto& k : r.trusted_keys) w.value(k.hex());
    w.end_array();
    if (trusted) {
      w.field("trusted_checkpoint_size", trusted->size);
    } else {
      w.key("trusted_checkpoint_size").null();
    }
    w.end_object();
    std::cout << w.str() << "\n";
    return;
  }
  std::string seqs = "seq " + std::to_string(r.first_seq) + ".." + std::to_string(r.last_seq);
  if (r.full) {
    std::cout << trf("OK: {} entries ({}), tree size {}, root {}", r.entries, seqs, r.tree_size,
                     hex(r.root))
              << "\n";
    std::cout << "  " << trf("root (base64): {}", b64(r.root)) << "\n";
  } else {
    std::cout << trf("OK: {} entries ({}), excerpt: chain and checkpoint signatures verified; "
                     "tree roots need the entries from seq 1",
                     r.entries, seqs)
              << "\n";
  }
  std::cout << "  " << trf("origin:        {}", printable(r.origin)) << "\n";
  std::cout << "  "
            << trf("checkpoints:   {} verified, the last at tree size {}", r.checkpoints,
                   r.last_checkpoint_size)
            << "\n";
  if (r.unsigned_tail > 0) {
    std::cout << "  "
              << trf("unsigned tail: {} entries after the last checkpoint are chained but not "
                     "yet signed",
                     r.unsigned_tail)
              << "\n";
  }
  if (!a.receipts_dir.empty())
    std::cout << "  " << trf("receipts:      {} verified", r.receipts) << "\n";
  for (const auto& k : r.key_rotations) {
    std::cout << "  " << trf("key rotation:  entry {}", k) << "\n";
  }
  if (trusted) {
    std::cout << "  "
              << trf("trusted checkpoint: tree size {} is consistent with the export",
                     trusted->size)
              << "\n";
  }
}

void print_tampered(const VerifyArgs& a, const audit::VerifyReport& r) {
  if (a.json) {
    JsonWriter w;
    w.begin_object().field("status", "tampered");
    if (r.failing_seq) {
      w.field("failing_seq", r.failing_seq);
    } else {
      w.key("failing_seq").null();
    }
    w.field("reason", r.reason)
        .field("entries_checked", r.entries)
        .field("checkpoints_checked", r.checkpoints)
        .end_object();
    std::cout << w.str() << "\n";
    return;
  }
  if (r.failing_seq) {
    std::cout << trf("FAILED at entry {}: {}", r.failing_seq, printable(r.reason)) << "\n";
  } else {
    std::cout << trf("FAILED: {}", printable(r.reason)) << "\n";
  }
  std::cout << "  "
            << trf("checked before the failure: {} entries, {} checkpoints", r.entries,
                   r.checkpoints)
            << "\n";
}

int run_verify(const VerifyArgs& a) {
  auto keys = parse_keys(a.keys);
  if (!keys) return report_error(a, as_is(keys.error().message()));
  audit::VerifyOptions opts;
  opts.more_keys = std::move(*keys);
  opts.allow_excerpt = a.excerpt;
  if (!a.receipts_dir.empty()) {
    Reason why;
    auto receipts = load_receipts(a.receipts_dir, &why);
    if (!receipts) return report_error(a, why);
    opts.receipts = std::move(*receipts);
  }
  std::optional<audit::CheckpointBody> trusted;
  if (!a.checkpoint_file.empty()) {
    auto note = read_small_file(a.checkpoint_file, audit::kMaxNoteSize);
    if (!note)
      return report_error(a, reason(tr_noop("--checkpoint: {}"), {note.error().message()}));
    auto body = audit::parse_checkpoint_note_unverified(*note);
    if (!body) {
      return report_error(a, reason(tr_noop("--checkpoint {}: not a checkpoint note: {}"),
                                    {a.checkpoint_file, body.error().message()}));
    }
    trusted = *body;
    opts.trusted_checkpoint = std::move(*note);
  }
  auto progress = std::make_shared<Progress>(a.progress, ::isatty(STDERR_FILENO) == 1);
  if (a.progress || ::isatty(STDERR_FILENO) == 1) {
    opts.progress = [progress](uint64_t done, uint64_t total) { (*progress)(done, total); };
  }
  audit::VerifyReport r = audit::verify_export(a.export_path, opts);
  progress->finish();
  switch (r.status) {
    case audit::VerifyStatus::kOk:
      print_ok(a, r, trusted);
      return kExitOk;
    case audit::VerifyStatus::kTampered:
      print_tampered(a, r);
      return kExitFailed;
    case audit::VerifyStatus::kError:
      break;
  }
  return report_error(a, as_is(r.reason));
}

}  // namespace

void add_verify_command(CLI::App& app, int* exit_code) {
  auto a = std::make_shared<VerifyArgs>();
  CLI::App* cmd = app.add_subcommand(
      "verify",
      tr("Verify an audit export offline with nothing but the file and the daemon's public key.\n"
         "Recomputes every entry hash, the hash chain (no gaps, no reordering), the Merkle tree,\n"
         "and every checkpoint's signature and root. Receipts and a checkpoint kept from earlier\n"
         "catch what an export alone cannot show: truncation, rollback and forks.\n"
         "Prints OK with the entry count, tree size and root, or FAILED with the first failing\n"
         "entry and why."));
  cmd->add_option("export", a->export_path, tr("The audit export file (gongshuctl audit export)"))
      ->required();
  cmd->add_option("--key", a->keys,
                  tr("The daemon's Ed25519 public key, 64 hex characters (repeatable). Keys the\n"
                     "export's daemon key rotations hand over to, by statements signed with a\n"
                     "trusted key, are trusted from there on."))
      ->allow_extra_args(false)
      ->required();
  cmd->add_option("--receipts", a->receipts_dir,
                  tr("A directory of receipt files (text form); each must be for an entry in the\n"
                     "export under the export's root at the receipt's tree size. Hidden files and\n"
                     "non-regular files are skipped."));
  cmd->add_option(
      "--checkpoint", a->checkpoint_file,
      tr("A signed checkpoint note trusted from earlier (gongshu-audit checkpoint); the\n"
         "export must reach its tree size with the same root"));
  cmd->add_flag("--excerpt", a->excerpt,
                tr("Accept an export that does not start at entry 1 (an excerpt): its chain and\n"
                   "checkpoint signatures are checked, its roots cannot be. Without this flag\n"
                   "missing leading entries are tampering."));
  cmd->add_flag("--json", a->json, tr("Print the result as one JSON object"));
  cmd->add_flag("--progress", a->progress,
                tr("Report progress on stderr even when stderr is not a terminal"));
  cmd->footer(
      tr("Exit status: 0 verified; 1 tampering found (the export, a receipt or the trusted\n"
         "checkpoint disagrees); 2 could not run (missing or unreadable file, not an export,\n"
         "malformed key, receipt or checkpoint file, usage error)."));
  cmd->callback([a, exit_code] { *exit_code = run_verify(*a); });
}

}  // namespace gongshu::audit_cli
