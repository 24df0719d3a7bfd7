// gongshud: the city data authority's daemon. `init` creates a state directory; `run` serves
// until SIGTERM or SIGINT, then drains in-flight batches and exits 0.

#include <signal.h>

#include <CLI/CLI.hpp>
#include <exception>
#include <iostream>

#include "core/util/version.h"
#include "daemon/daemon.h"

namespace {

int run(const std::string& config_path) {
  auto config = gongshu::daemon::load_config(config_path);
  if (!config) {
    std::cerr << "gongshud: " << config.error().message() << "\n";
    return 2;
  }
  // Signals are taken synchronously by this thread; every thread started below inherits the mask.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  auto daemon = gongshu::daemon::Daemon::start(*config, gongshu::SystemClock::instance());
  if (!daemon) {
    std::cerr << "gongshud: " << daemon.error().message() << "\n";
    return 1;
  }
  if (auto s = gongshu::daemon::write_info_file(config->state_dir, **daemon); !s) {
    std::cerr << "gongshud: " << s.error().message() << "\n";
    return 1;
  }
  std::cerr << "gongshud " << gongshu::kVersion << ": ready; ingest "
            << (*daemon)->ingest_endpoint() << ", api " << (*daemon)->api_endpoint() << ", key "
            << (*daemon)->public_key().key_id() << "\n";
  while (true) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) continue;
    if (sig == SIGHUP) {
      std::cerr << "gongshud: SIGHUP: nothing to reload in this version\n";
      continue;
    }
    break;
  }
  std::cerr << "gongshud: stopping; draining in-flight batches\n";
  (*daemon)->stop();
  auto stats = (*daemon)->ingest_stats();
  std::cerr << "gongshud: stopped after " << stats.batches << " batches, " << stats.records_accepted
            << " records\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    CLI::App app{"gongshud — the gongshu public-data platform daemon (city data authority)"};
    app.set_version_flag("--version", std::string("gongshud ") + gongshu::kVersion);
    app.require_subcommand(1);
    std::string state, operator_out, origin = "gongshu/audit", config;
    auto* init = app.add_subcommand(
        "init",
        "Create a state directory: the daemon's identity key, the storage master key,\n"
        "an empty store with its first audit entry, and the first operator's key.");
    init->add_option("--state", state, "State directory to create")->required();
    init->add_option("--operator-key-out", operator_out,
                     "Where to write the first operator's key file (0600)")
        ->required();
    init->add_option("--audit-origin", origin, "Name of the audit log in checkpoints")
        ->capture_default_str();
    auto* runc =
        app.add_subcommand("run", "Serve the ingest and api sockets until SIGTERM or SIGINT.");
    runc->add_option("--config", config, "TOML configuration file")->required();
    int code = 2;
    init->callback([&] {
      auto r = gongshu::daemon::init_state(state, operator_out, origin,
                                           gongshu::SystemClock::instance());
      if (!r) {
        std::cerr << "gongshud init: " << r.error().message() << "\n";
        code = 1;
        return;
      }
      std::cout << "state directory:   " << state << "\n"
                << "daemon public key: " << r->daemon_key.hex() << "\n"
                << "daemon key id:     " << r->daemon_key.key_id() << "\n"
                << "operator key id:   " << r->operator_key.key_id() << " (key file "
                << operator_out << ")\n";
      code = 0;
    });
    runc->callback([&] { code = run(config); });
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
      return 2;
    }
    return code;
  } catch (const std::exception& e) {
    std::cerr << "gongshud: " << e.what() << "\n";
    return 2;
  }
}
