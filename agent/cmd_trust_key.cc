// gongshu-agent trust-daemon-key FILE: for an agent that was offline while the daemon announced
// its next key (agent/daemon_key.h). The statement file comes from `gongshuctl daemon-key
// statement --out FILE`; it is accepted only when its old key is the daemon key this agent
// trusts and both signatures verify. The next handshake failure then tries the new key.

#include <iostream>
#include <memory>

#include "agent/api_client.h"
#include "agent/cmd_common.h"
#include "agent/commands.h"
#include "agent/daemon_key.h"
#include "core/util/fd.h"

namespace gongshu::agent {

void add_trust_key_command(CLI::App& app, int* exit_code) {
  struct Options {
    std::string config;
    std::string file;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "trust-daemon-key",
      tr("Learn the daemon's next key from a rotation statement file (`gongshuctl daemon-key\n"
         "statement --out FILE`), for an agent that was offline while the daemon announced it.\n"
         "The statement must be signed by the daemon key this agent trusts and by the new key;\n"
         "anything else is refused. `run` switches to the new key when the daemon uses it.\n"
         "Exit status: 0 accepted (or already trusted); 1 refused; 2 could not run."));
  cmd->add_option("FILE", o->file, tr("The rotation statement"))->required();
  add_config_option(cmd, &o->config);
  cmd->callback([o, exit_code] {
    constexpr const char* kName = "trust-daemon-key";
    auto loaded = load_config_and_spool(o->config);
    if (!loaded) return void(*exit_code = report(kName, loaded.error()));
    auto bytes = read_file(o->file, audit::kMaxRotationText);
    if (!bytes) return void(*exit_code = report(kName, bytes.error()));
    Spool& spool = *loaded->spool;
    StatementOutcome outcome{};
    audit::RotationStatement st;
    auto s = spool.env().update([&](store::WriteTxn& txn) -> Status {
      GONGSHU_TRY(DaemonTarget target, daemon_target(loaded->config, spool, txn));
      GONGSHU_TRY(outcome, with_context(accept_daemon_key_statement(spool, txn, target.key,
                                                                    as_chars(*bytes), &st),
                                        o->file));
      return {};
    });
    if (!s) {
      bool refused = s.error().code() == ErrorCode::kUnauthenticated ||
                     s.error().code() == ErrorCode::kCorrupt;
      return void(*exit_code = report(kName, s.error(), refused ? 1 : 2));
    }
    switch (outcome) {
      case StatementOutcome::kStored:
        std::cout << trf("accepted: daemon key {} succeeds {}; `run` uses it once the daemon does",
                         st.new_key.key_id(), st.old_key.key_id())
                  << "\n";
        break;
      case StatementOutcome::kAlreadyKnown:
        std::cout << trf("already known: daemon key {} succeeds {}", st.new_key.key_id(),
                         st.old_key.key_id())
                  << "\n";
        break;
      case StatementOutcome::kAlreadyTrusted:
        std::cout << trf("nothing to do: this agent already trusts daemon key {}",
                         st.new_key.key_id())
                  << "\n";
        break;
    }
    *exit_code = 0;
  });
}

}  // namespace gongshu::agent
