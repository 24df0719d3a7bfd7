// gongshu-agent: the program each agency runs. Parses the command line and runs the chosen
// subcommand; everything lives in gongshu_agent_lib.

#include <exception>
#include <iostream>

#include "agent/commands.h"
#include "core/util/cli.h"
#include "core/util/i18n.h"
#include "core/util/i18n_cli.h"
#include "core/util/version.h"

int main(int argc, char** argv) {
  gongshu::i18n::init("gongshu-agent");
  try {
    CLI::App app{gongshu::tr(
        "gongshu-agent — validate, spool, sign, seal and forward an agency's records to the\n"
        "city data platform (gongshud), exactly once and in order.\n\n"
        "Inputs: `submit` (JSON Lines / CSV files), the drop directory ([agent] drop_dir: files\n"
        "named DATASET--anything.jsonl or DATASET--anything.csv, moved to done/ or failed/ with\n"
        "a .reason file), and the local socket ([agent] ipc: a SOCK_SEQPACKET Unix socket, one\n"
        "SubmitRequest per message, see agent/agent.proto; access is controlled by its\n"
        "directory's permissions). `run` is the service.")};
    app.require_subcommand(1);
    app.set_version_flag("--version", std::string("gongshu-agent ") + gongshu::kVersion);
    int exit_code = 2;
    gongshu::agent::add_enroll_command(app, &exit_code);
    gongshu::agent::add_run_command(app, &exit_code);
    gongshu::agent::add_submit_command(app, &exit_code);
    gongshu::agent::add_status_command(app, &exit_code);
    gongshu::agent::add_rejected_commands(app, &exit_code);
    gongshu::agent::add_receipts_commands(app, &exit_code);
    gongshu::agent::add_catalog_commands(app, &exit_code);
    gongshu::agent::add_rotate_key_command(app, &exit_code);
    gongshu::agent::add_trust_key_command(app, &exit_code);
    gongshu::i18n::localize_cli(app);
    return gongshu::run_cli(app, argc, argv, exit_code);
  } catch (const std::exception& e) {
    std::cerr << "gongshu-agent: "  // i18n-exempt: the program name
              << gongshu::trf("internal error: {}", e.what()) << "\n";
    return 2;
  }
}
