// gongshu-drill: the emergency team's drill runner (应急演练). Parses the command line and runs
// the chosen subcommand; everything else lives in the gongshu_drill library.

#include <exception>
#include <iostream>

#include "core/util/cli.h"
#include "core/util/i18n.h"
#include "core/util/i18n_cli.h"
#include "core/util/version.h"
#include "tools/drill/commands.h"

int main(int argc, char** argv) {
  gongshu::i18n::init("gongshu-tools");
  try {
    CLI::App app{gongshu::tr(
        "gongshu-drill — 应急演练 emergency drills: run incident scenarios "
        "(policies/drills/*.toml)\n"
        "against a throwaway platform built from the real binaries, timed step by step, checked\n"
        "for lost or doubled records and an intact audit log, with a signed report.\n"
        "docs/drills.md is the emergency team's handbook.")};
    app.require_subcommand(1);
    app.set_version_flag("--version", std::string("gongshu-drill ") + gongshu::kVersion);
    app.footer(gongshu::tr(
        "Exit status: 0 every expectation held / report verified; 1 a drill failed (step,\n"
        "expectation, evidence) / report altered; 2 could not run."));
    int exit_code = gongshu::drill::kExitError;
    gongshu::drill::add_list_command(app, &exit_code);
    gongshu::drill::add_show_command(app, &exit_code);
    gongshu::drill::add_run_command(app, &exit_code);
    gongshu::drill::add_verify_report_command(app, &exit_code);
    gongshu::i18n::localize_cli(app);
    return gongshu::run_cli(app, argc, argv, exit_code);
  } catch (const std::exception& e) {
    std::cerr << "gongshu-drill: "  // i18n-exempt: the program name
              << gongshu::trf("internal error: {}", e.what()) << "\n";
    return gongshu::drill::kExitError;
  }
}
