// gongshu-audit show: prints the entries and checkpoints of an export for people (text) or
// programs (JSON Lines). It decodes; it does not verify.

#include <iostream>
#include <memory>
#include <string>

#include "core/audit/checkpoint.h"
#include "core/audit/entry.h"
#include "core/audit/export_file.h"
#include "core/util/encoding.h"
#include "core/util/i18n.h"
#include "tools/audit/commands.h"
#include "tools/audit/common.h"

namespace gongshu::audit_cli {
namespace {

struct Args {
  std::string export_path;
  uint64_t seq = 0;
  bool json = false;
};

// Prints one entry frame; false if its bytes do not decode (then they are printed in hex).
bool show_entry(const Args& a, const audit::Frame& f) {
  audit::Hash h = audit::entry_hash(f.data);
  auto e = audit::decode_entry(f.data);
  if (!e) {
    if (a.json) {
      JsonWriter w;
      w.begin_object()
          .field("type", "undecodable_entry")
          .field("offset", f.offset)
          .field("reason", e.error().message())
          .field("entry_hash", hex(h))
          .field("bytes", hex_encode(f.data))
          .end_object();
      std::cout << w.str() << "\n";
    } else {
      std::cout << trf("undecodable entry at byte offset {}: {}", f.offset,
                       printable(e.error().message()))
                << "\n  " << trf("bytes: {}", hex_encode(f.data)) << "\n";
    }
    return false;
  }
  if (a.json) {
    JsonWriter w;
    w.begin_object().field("type", "entry");
    entry_json_fields(w, *e, h);
    w.end_object();
    std::cout << w.str() << "\n";
  } else {
    std::cout << entry_text(*e, h);
  }
  return true;
}

// Prints one checkpoint frame; false if it does not parse as a checkpoint note.
bool show_checkpoint(const Args& a, const audit::Frame& f) {
  std::string_view note = as_chars(f.data);
  auto body = audit::parse_checkpoint_note_unverified(note);
  if (a.json) {
    JsonWriter w;
    w.begin_object().field("type", "checkpoint").field("offset", f.offset);
    if (body) {
      w.field("origin", body->origin)
          .field("tree_size", body->size)
          .field("root", hex(body->root))
          .field("root_base64", b64(body->root))
          .field("chain", hex(body->chain));
    } else {
      w.field("reason", body.error().message());
    }
    w.field("note", note).end_object();
    std::cout << w.str() << "\n";
  } else if (body) {
    // TRANSLATORS: the labels line up in a column (a Chinese character is two columns wide).
    std::cout << trf("checkpoint at tree size {} (signature not checked here)", body->size)
              << "\n  " << trf("origin:        {}", printable(body->origin)) << "\n  "
              << trf("root:          {}", hex(body->root)) << "\n  "
              << trf("chain:         {}", hex(body->chain)) << "\n";
    // The signature lines, after the blank line that ends the body.
    std::string_view sigs = note.substr(note.rfind("\n\n") + 2);
    while (!sigs.empty()) {
      size_t nl = sigs.find('\n');
      std::cout << "  " << trf("signature:     {}", printable(sigs.substr(0, nl))) << "\n";
      sigs.remove_prefix(nl == std::string_view::npos ? sigs.size() : nl + 1);
    }
  } else {
    std::cout << trf("unreadable checkpoint at byte offset {}: {}", f.offset,
                     printable(body.error().message()))
              << "\n  " << trf("note: {}", printable(note)) << "\n";
  }
  return body.has_value();
}

int run_show(const Args& a) {
  auto reader = audit::ExportReader::open(a.export_path);
  if (!reader) {
    std::cerr << "gongshu-audit show: "  // i18n-exempt: program and command names
              << reader.error().message() << "\n";
    return kExitError;
  }
  bool all_decoded = true;
  bool found = false;
  while (true) {
    auto frame = reader->next();
    if (!frame) {
      std::cout.flush();
      std::cerr << "gongshu-audit show: "  // i18n-exempt: program and command names
                << a.export_path << ": " << frame.error().message() << "\n";
      return kExitError;
    }
    if (!*frame) break;
    const audit::Frame& f = **frame;
    if (f.type == audit::FrameType::kCheckpoint) {
      if (a.seq == 0) all_decoded &= show_checkpoint(a, f);
      continue;
    }
    if (a.seq != 0) {
      auto prefix = audit::parse_entry_prefix(f.data);
      if (!prefix || prefix->seq != a.seq) continue;
      found = true;
      all_decoded &= show_entry(a, f);
      break;
    }
    all_decoded &= show_entry(a, f);
  }
  if (a.seq != 0 && !found) {
    std::cerr << "gongshu-audit show: "  // i18n-exempt: program and command names
              << trf("entry {} is not in {}", a.seq, a.export_path) << "\n";
    return kExitError;
  }
  return all_decoded ? kExitOk : kExitFailed;
}

}  // namespace

void add_show_command(CLI::App& app, int* exit_code) {
  auto a = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand(
      "show",
      tr("Print the entries and checkpoints of an export in file order: every field of each\n"
         "entry (seq, time in UTC, the accountable principal's key id, role and agency, action,\n"
         "dataset, purpose, policy rule and version, decision, record count, references, detail,\n"
         "prev_hash and the entry's own hash) and each checkpoint's tree size, root and\n"
         "signature lines. show decodes; it does not verify: run verify for that.\n"
         "With --json, prints one JSON object per line (JSON Lines), each with a \"type\" of\n"
         "\"entry\" or \"checkpoint\"."));
  cmd->add_option("export", a->export_path, tr("The audit export file"))->required();
  cmd->add_option("--seq", a->seq, tr("Print only the entry with this sequence number"))
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--json", a->json, tr("Print JSON Lines instead of text"));
  cmd->footer(
      tr("Exit status: 0 printed; 1 some entry or checkpoint could not be decoded (it is\n"
         "printed raw); 2 could not run (unreadable file, not an export, damaged framing,\n"
         "no entry with --seq, usage error)."));
  cmd->callback([a, exit_code] { *exit_code = run_show(*a); });
}

}  // namespace gongshu::audit_cli
