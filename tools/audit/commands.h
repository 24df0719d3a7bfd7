// The subcommands of gongshu-audit, the security officers' offline verifier (DESIGN §7). Each
// add_* function registers its subcommands on the app; when a subcommand runs, its callback
// stores the process exit status in *exit_code. Results go to std::cout, diagnostics and
// progress to std::cerr.
//
// Exit status, the same for every subcommand:
//   0  the check passed / the output was produced;
//   1  a check ran and failed: tampering, a fork, a proof that does not prove;
//   2  the command could not run: usage error, unreadable or wrong kind of file, bad key.
#pragma once

#include <CLI/CLI.hpp>

namespace gongshu::audit_cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitError = 2;

// verify EXPORT --key HEX [--receipts DIR] [--checkpoint FILE] [--json] [--progress]
void add_verify_command(CLI::App& app, int* exit_code);
// prove EXPORT --seq N --out FILE [--checkpoint-size S]; check-proof FILE --key HEX [--json]
void add_inclusion_commands(CLI::App& app, int* exit_code);
// prove-consistency EXPORT --old-size M [--new-size N] --out FILE;
// consistency OLD_CHECKPOINT NEW_CHECKPOINT PROOF --key HEX [--json]
void add_consistency_commands(CLI::App& app, int* exit_code);
// checkpoint EXPORT [--size N]
void add_checkpoint_command(CLI::App& app, int* exit_code);
// show EXPORT [--seq N] [--json]
void add_show_command(CLI::App& app, int* exit_code);
// report EXPORT --key HEX --from DATE --to DATE --out FILE [--checkpoint FILE] [--excerpt]
//        [--json]
void add_report_command(CLI::App& app, int* exit_code);

}  // namespace gongshu::audit_cli
