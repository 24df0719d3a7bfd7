// The subcommands of gongshu-agent. Each add_* function registers its subcommand(s) on the app;
// when one runs, its callback stores the process exit code in *exit_code: 0 success, 1 the
// command ran and found a problem (records rejected, the daemon refused us), 2 it could not run
// (usage, configuration, spool). Results go to stdout, diagnostics to stderr.
#pragma once

#include <CLI/CLI.hpp>

namespace gongshu::agent {

void add_enroll_command(CLI::App& app, int* exit_code);
void add_run_command(CLI::App& app, int* exit_code);
void add_submit_command(CLI::App& app, int* exit_code);
void add_status_command(CLI::App& app, int* exit_code);
void add_rejected_commands(CLI::App& app, int* exit_code);
void add_receipts_commands(CLI::App& app, int* exit_code);
void add_catalog_commands(CLI::App& app, int* exit_code);
void add_rotate_key_command(CLI::App& app, int* exit_code);
// trust-daemon-key FILE: the daemon's next key from a rotation statement (agent/daemon_key.h).
void add_trust_key_command(CLI::App& app, int* exit_code);

}  // namespace gongshu::agent
