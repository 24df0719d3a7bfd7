// gongshu-audit prove / check-proof: self-contained inclusion proofs (core/audit/proof_file.h)
// that show one entry is in the log under a signed checkpoint and reveal no other entry.

#include <iostream>
#include <memory>
#include <string>

#include "core/audit/entry.h"
#include "core/audit/export_file.h"
#include "core/audit/proof_file.h"
#include "core/util/i18n.h"
#include "tools/audit/commands.h"
#include "tools/audit/common.h"
#include "tools/audit/report.h"  // Reason: a refusal in English (--json) and translated

namespace gongshu::audit_cli {
namespace {

constexpr std::string_view kInclusionFirstLine =
    "gongshu inclusion proof v1\n";  // i18n-exempt: format

// The tree size of the last checkpoint frame in the export, nullopt when it has none. Reads the
// frames without hashing; prove_inclusion does the real work.
Result<std::optional<uint64_t>> latest_checkpoint_size(const std::string& path) {
  GONGSHU_TRY(audit::ExportReader reader, audit::ExportReader::open(path));
  std::optional<uint64_t> latest;
  while (true) {
    GONGSHU_TRY(auto frame, with_context(reader.next(), path));
    if (!frame) break;
    if (frame->type != audit::FrameType::kCheckpoint) continue;
    GONGSHU_TRY(audit::CheckpointBody body,
                with_context(audit::parse_checkpoint_note_unverified(as_chars(frame->data)),
                             trf("{}: checkpoint at byte offset {}", path, frame->offset)));
    latest = body.size;
  }
  return latest;
}

struct ProveArgs {
  std::string export_path;
  uint64_t seq = 0;
  std::string out;
  uint64_t checkpoint_size = 0;
};

int run_prove(const ProveArgs& a) {
  auto fail_with = [](const std::string& why) {
    std::cerr << "gongshu-audit prove: " << why << "\n";  // i18n-exempt: program, command
    return kExitError;
  };
  uint64_t size = a.checkpoint_size;
  if (size == 0) {
    // Find the latest checkpoint here: prove_inclusion's own default (size 0) takes the last
    // checkpoint of the export without checking that there is one.
    auto latest = latest_checkpoint_size(a.export_path);
    if (!latest) return fail_with(latest.error().message());
    if (!*latest)
      return fail_with(trf("{}: the export has no checkpoint to prove against", a.export_path));
    size = **latest;
  }
  auto proof = audit::prove_inclusion(a.export_path, a.seq, size);
  if (!proof) return fail_with(proof.error().message());
  if (auto s = write_output(a.out, audit::format_inclusion_proof(*proof)); !s) {
    return fail_with(s.error().message());
  }
  if (a.out != "-") {
    std::cout << trf("wrote the inclusion proof of entry {} under the checkpoint at tree size {} "
                     "({} path hashes) to {}",
                     proof->seq, proof->tree_size, proof->path.size(), a.out)
              << "\n";
  }
  return kExitOk;
}

struct CheckProofArgs {
  std::string proof_file;
  std::vector<std::string> keys;
  bool json = false;
};

int run_check_proof(const CheckProofArgs& a) {
  // --json: the reason in English; otherwise on stderr in the reader's language.
  auto error = [&a](const Reason& why) {
    if (a.json) {
      JsonWriter w;
      w.begin_object().field("status", "error").field("reason", why.english).end_object();
      std::cout << w.str() << "\n";
    } else {
      std::cerr << "gongshu-audit check-proof: "  // i18n-exempt: program and command names
                << printable(why.text) << "\n";
    }
    return kExitError;
  };
  auto keys = parse_keys(a.keys);
  if (!keys) return error(as_is(keys.error().message()));
  auto text = read_small_file(a.proof_file, kMaxProofFile);
  if (!text) return error(as_is(text.error().message()));
  if (text->substr(0, kInclusionFirstLine.size()) != kInclusionFirstLine) {
    return error(reason(tr_noop("{}: not an inclusion proof (it does not start with '{}')"),
                        {a.proof_file, std::string(kInclusionFirstLine.substr(
                                           0, kInclusionFirstLine.size() - 1))}));
  }
  auto proof = audit::parse_inclusion_proof(*text);
  Result<audit::CheckedInclusion> checked =
      proof ? audit::check_inclusion_proof(*proof, *keys) : tl::unexpected(proof.error());
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
  audit::Hash h = audit::entry_hash(proof->entry);
  const auto& cp = checked->checkpoint;
  if (a.json) {
    JsonWriter w;
    w.begin_object()
        .field("status", "ok")
        .field("origin", cp.origin)
        .field("tree_size", cp.size)
        .field("root", hex(cp.root))
        .field("root_base64", b64(cp.root));
    w.key("entry").begin_object();
    entry_json_fields(w, checked->entry, h);
    w.end_object().end_object();
    std::cout << w.str() << "\n";
  } else {
    std::cout << trf("OK: entry {} is in log {} at tree size {}, root {}", checked->entry.seq(),
                     printable(cp.origin), cp.size, hex(cp.root))
              << "\n";
    std::cout << entry_text(checked->entry, h);
  }
  return kExitOk;
}

}  // namespace

void add_inclusion_commands(CLI::App& app, int* exit_code) {
  auto p = std::make_shared<ProveArgs>();
  CLI::App* prove = app.add_subcommand(
      "prove",
      tr("Write an inclusion proof for one entry: the entry's bytes, the Merkle path from it to\n"
         "the root of a signed checkpoint, and that checkpoint. The proof reveals no other entry,\n"
         "so it can be handed to a court, an inspector or the data subject. Check it with\n"
         "check-proof. The export must be a full export (from entry 1); verify it first."));
  prove->add_option("export", p->export_path, tr("The audit export file"))->required();
  prove->add_option("--seq", p->seq, tr("The sequence number of the entry to prove"))
      ->required()
      ->check(CLI::PositiveNumber);
  prove->add_option("--out", p->out, tr("The proof file to write ('-' for standard output)"))
      ->required();
  prove->add_option("--checkpoint-size", p->checkpoint_size,
                    tr("Prove against the export's checkpoint at this tree size (default: the\n"
                       "latest checkpoint; it must cover the entry)"));
  prove->footer(
      tr("Exit status: 0 written; 2 could not (no such entry or checkpoint, the export is\n"
         "damaged or unreadable, usage error)."));
  prove->callback([p, exit_code] { *exit_code = run_prove(*p); });

  auto c = std::make_shared<CheckProofArgs>();
  CLI::App* check = app.add_subcommand(
      "check-proof",
      tr("Check an inclusion proof written by prove: the checkpoint's signature by the daemon's\n"
         "key, that the entry is the one the proof names, and the Merkle path from the entry to\n"
         "the checkpoint's root. Prints OK and the entry, or FAILED and why."));
  check->add_option("proof", c->proof_file, tr("The inclusion proof file"))->required();
  check->add_option("--key", c->keys, tr(kKeyHelp))->allow_extra_args(false)->required();
  check->add_flag("--json", c->json, tr("Print the result as one JSON object"));
  check->footer(
      tr("Exit status: 0 the proof holds; 1 it does not (bad signature, wrong key, the\n"
         "path or entry was altered); 2 could not run (unreadable file, not an inclusion\n"
         "proof, malformed key, usage error)."));
  check->callback([c, exit_code] { *exit_code = run_check_proof(*c); });
}

}  // namespace gongshu::audit_cli
