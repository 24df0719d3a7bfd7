// The command groups of gongshuctl. Each add_* function registers its subcommands on the app;
// when a subcommand runs, its callback stores the process exit code in *exit_code
// (0 success, 1 the command ran and found a problem, 2 it could not run / usage error).
// Output goes to std::cout, diagnostics to std::cerr.
#pragma once

#include <CLI/CLI.hpp>

namespace gongshu::ctl {

void add_keygen_command(CLI::App& app, int* exit_code);
void add_id_commands(CLI::App& app, int* exit_code);
// agency, catalog, enroll-token, agent, record: registries kept by gongshud.
void add_registry_commands(CLI::App& app, int* exit_code);
// audit head | checkpoint | export.
void add_audit_commands(CLI::App& app, int* exit_code);
// policy check | validate: offline decisions and explanations (core/policy).
void add_policy_commands(CLI::App& app, int* exit_code);

}  // namespace gongshu::ctl
