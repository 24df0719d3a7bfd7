// gongshu-audit: the security officers' offline audit verifier. Parses the command line and
// runs the chosen subcommand; every subcommand lives in the gongshu_audit_cli library.

#include <exception>
#include <iostream>

#include "core/util/cli.h"
#include "core/util/i18n.h"
#include "core/util/i18n_cli.h"
#include "core/util/version.h"
#include "tools/audit/commands.h"

int main(int argc, char** argv) {
  gongshu::i18n::init("gongshu-tools");
  try {
    CLI::App app{gongshu::tr(
        "gongshu-audit — verify gongshu audit exports offline, with nothing but the export and\n"
        "the daemon's public key; prove and check single entries and the consistency of the\n"
        "log between two signed checkpoints; show entries. The format is in\n"
        "docs/audit-format.md.")};
    app.require_subcommand(1);
    app.set_version_flag("--version", std::string("gongshu-audit ") + gongshu::kVersion);
    app.footer(gongshu::tr(
        "Exit status: 0 verified / done; 1 a check failed (tampering, fork, a proof that does\n"
        "not hold); 2 could not run (usage error, unreadable file, malformed key).\n"
        "Run 'gongshu-audit <command> --help' for each command."));
    int exit_code = gongshu::audit_cli::kExitError;
    gongshu::audit_cli::add_verify_command(app, &exit_code);
    gongshu::audit_cli::add_inclusion_commands(app, &exit_code);
    gongshu::audit_cli::add_consistency_commands(app, &exit_code);
    gongshu::audit_cli::add_checkpoint_command(app, &exit_code);
    gongshu::audit_cli::add_show_command(app, &exit_code);
    gongshu::audit_cli::add_report_command(app, &exit_code);
    gongshu::i18n::localize_cli(app);
    return gongshu::run_cli(app, argc, argv, exit_code);
  } catch (const std::exception& e) {
    std::cerr << "gongshu-audit: "  // i18n-exempt: the program name
              << gongshu::trf("internal error: {}", e.what()) << "\n";
    return gongshu::audit_cli::kExitError;
  }
}
