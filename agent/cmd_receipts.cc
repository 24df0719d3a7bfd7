// gongshu-agent receipts export --dir DIR: every receipt the daemon sent, one text file per
// batch (docs/protocol.md §Receipts), for `gongshu-audit verify --receipts DIR`.

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <iostream>
#include <memory>

#include "agent/cmd_common.h"
#include "agent/commands.h"
#include "core/audit/receipt.h"
#include "core/util/fd.h"

namespace gongshu::agent {

constexpr const char* kExport = "receipts export";  // i18n-exempt: the command's name

void add_receipts_commands(CLI::App& app, int* exit_code) {
  struct Options {
    std::string config;
    std::string dir;
  };
  auto o = std::make_shared<Options>();
  CLI::App* group =
      app.add_subcommand("receipts", tr("The daemon's signed receipts for our batches"));
  group->require_subcommand(1);
  CLI::App* exp = group->add_subcommand(
      "export",
      tr("Write each stored receipt to DIR/batch-NNNNNNNNNN.receipt in the text form that\n"
         "`gongshu-audit verify --receipts DIR` reads. Existing files are replaced."));
  add_config_option(exp, &o->config);
  exp->add_option("--dir", o->dir, tr("Directory to write (created if missing)"))->required();
  exp->callback([o, exit_code] {
    auto loaded = load_config_and_spool(o->config);
    if (!loaded) return void(*exit_code = report(kExport, loaded.error()));
    if (::mkdir(o->dir.c_str(), 0755) != 0 && errno != EEXIST) {
      return void(*exit_code = report(kExport, fail_errno(o->dir, errno).value()));
    }
    Spool& spool = *loaded->spool;
    auto txn = spool.env().begin_read();
    if (!txn) return void(*exit_code = report(kExport, txn.error()));
    size_t n = 0;
    store::Cursor cur = spool.receipts().cursor(*txn);
    for (auto e = cur.first(); e; e = cur.next()) {
      uint64_t seq = store::parse_u64_key(e->key).value_or(0);
      agentpb::StoredReceipt sr;
      v1::Receipt r;
      if (!sr.ParseFromArray(e->value.data(), int(e->value.size())) ||
          !r.ParseFromString(sr.receipt())) {
        std::cerr << "gongshu-agent receipts export: "  // i18n-exempt: program and command
                  << trf("receipt of batch {} is corrupt; skipped", seq) << "\n";
        continue;
      }
      char name[64];
      std::snprintf(name, sizeof name, "/batch-%010llu.receipt", (unsigned long long)seq);
      std::string text = audit::format_receipt_text(r);
      if (auto s = write_file_atomic(o->dir + name, as_bytes(text), 0644); !s) {
        return void(*exit_code = report(kExport, s.error()));
      }
      ++n;
    }
    std::cout << trnf("wrote {} receipt to {}", "wrote {} receipts to {}", n, n, o->dir) << "\n";
    *exit_code = 0;
  });
}

}  // namespace gongshu::agent
