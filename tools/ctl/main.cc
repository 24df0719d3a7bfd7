// gongshuctl: the operators' command line. Parses the command line and runs the chosen
// command; every command lives in the gongshu_ctl library.

#include <exception>
#include <iostream>

#include "core/util/cli.h"
#include "core/util/i18n.h"
#include "core/util/i18n_cli.h"
#include "core/util/version.h"
#include "tools/ctl/commands.h"
#include "tools/ctl/drill_cmd.h"

int main(int argc, char** argv) {
  gongshu::i18n::init("gongshu-tools");
  try {
    CLI::App app{
        gongshu::tr("gongshuctl — manage the gongshu public-data platform: keys, identifiers, and "
                    "(with a\nrunning gongshud) agencies, the catalog, agreements, queries and the "
                    "audit log.")};
    app.require_subcommand(1);
    app.set_version_flag("--version", std::string("gongshuctl ") + gongshu::kVersion);
    int exit_code = 2;
    gongshu::ctl::add_keygen_command(app, &exit_code);
    gongshu::ctl::add_id_commands(app, &exit_code);
    gongshu::ctl::add_registry_commands(app, &exit_code);
    gongshu::ctl::add_audit_commands(app, &exit_code);
    gongshu::ctl::add_policy_commands(app, &exit_code);
    gongshu::ctl::add_access_commands(app, &exit_code);
    gongshu::ctl::add_agreement_commands(app, &exit_code);
    gongshu::ctl::add_principal_commands(app, &exit_code);
    gongshu::ctl::add_backup_commands(app, &exit_code);
    gongshu::ctl::add_status_command(app, &exit_code);
    gongshu::ctl::add_daemon_key_commands(app, &exit_code);
    gongshu::ctl::add_alert_commands(app, &exit_code);
    gongshu::ctl::add_dataset_commands(app, &exit_code);
    gongshu::ctl::add_objection_commands(app, &exit_code);
    gongshu::ctl::add_consent_commands(app, &exit_code);
    gongshu::ctl::add_quality_commands(app, &exit_code);
    gongshu::ctl::add_drill_commands(app, &exit_code);
    gongshu::ctl::add_cluster_commands(app, &exit_code);
    gongshu::i18n::localize_cli(app);
    return gongshu::run_cli(app, argc, argv, exit_code);
  } catch (const std::exception& e) {
    std::cerr << "gongshuctl: "  // i18n-exempt: the program name
              << gongshu::trf("internal error: {}", e.what()) << "\n";
    return 2;
  }
}
