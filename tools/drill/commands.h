// The subcommands of gongshu-drill, the emergency team's drill runner (docs/drills.md). Each
// add_* registers a subcommand whose callback stores the process exit status in *exit_code.
// Results go to std::cout, progress and diagnostics to std::cerr.
//
// Exit status:
//   0  every expectation of every drill held (run), the report verifies (verify-report);
//   1  a drill failed (the step, the expectation and the evidence are printed), or the report
//      was altered;
//   2  could not run: usage, a bad plan, a missing binary, a sandbox that could not be built.
#pragma once

#include <CLI/CLI.hpp>

namespace gongshu::drill {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitError = 2;

void add_list_command(CLI::App& app, int* exit_code);
void add_show_command(CLI::App& app, int* exit_code);
void add_run_command(CLI::App& app, int* exit_code);
void add_verify_report_command(CLI::App& app, int* exit_code);

}  // namespace gongshu::drill
