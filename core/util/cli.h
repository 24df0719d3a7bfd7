// run_cli: how every gongshu binary turns a CLI11 parse into an exit status, so that they all
// behave alike: --help and --version exit 0, a usage error prints CLI11's message and exits 2,
// and otherwise the exit code the chosen subcommand's callback stored is returned. CLI11 runs
// the callbacks during parse. Header-only (CLI11 is header-only); main() threads only.
#pragma once

#include <CLI/CLI.hpp>

namespace gongshu {

inline constexpr int kExitUsage = 2;

inline int run_cli(CLI::App& app, int argc, char** argv, const int& exit_code) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  }
  return exit_code;
}

}  // namespace gongshu
