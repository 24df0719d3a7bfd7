// gongshud: the city data authority's daemon. `init` creates a state directory; `run` serves as
// a Type=notify service (DESIGN §9):
//
//   READY=1       once Daemon::start returned (store open, ZAP running, sockets bound)
//   STATUS=       live figures every few seconds
//   WATCHDOG=1    from the signal loop below: if it stalls, systemd restarts the daemon
//   SIGHUP        RELOADING=1 + MONOTONIC_USEC=, re-read and validate the configuration (a bad
//                 file keeps the running one and says why), reload the access policy (a bad
//                 policy keeps the running one and says why), READY=1
//   SIGTERM/INT   STOPPING=1, drain in-flight batches, exit 0
//
// `check-config` validates a configuration file and exits 0 or 2. `restore` puts a verified
// backup in place (daemon/backup.h).
//
// Exit codes: 0 stopped cleanly; 1 could not start or failed; 2 bad command line or bad
// configuration (the unit does not restart on 2: a restart cannot fix a file).

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <exception>
#include <iostream>
#include <string>

#include "core/sys/harden.h"
#include "core/sys/logger.h"
#include "core/sys/notifier.h"
#include "core/sys/signals.h"
#include "core/util/version.h"
#include "daemon/backup.h"
#include "daemon/daemon.h"
#include "daemon/protobuf_log.h"

namespace {

using gongshu::sys::Logger;
using gongshu::sys::Notifier;
using Clock = std::chrono::steady_clock;

constexpr auto kStatusPeriod = std::chrono::seconds(5);

std::string status_text(const gongshu::daemon::IngestStats& s, const std::string& reload_error) {
  std::string t = "serving; " + std::to_string(s.batches) + " batches, " +
                  std::to_string(s.records_accepted) + " records accepted, " +
                  std::to_string(s.records_rejected) + " rejected, " +
                  std::to_string(s.duplicates) + " duplicate batches, " +
                  std::to_string(s.refused) + " refused; queue " + std::to_string(s.queued);
  if (!reload_error.empty()) t += "; last reload refused: " + reload_error;
  return t;
}

// A notify failure is worth one warning, not one per watchdog period.
class NotifyReporter {
 public:
  explicit NotifyReporter(const Logger& log) : log_(log) {}
  void operator()(const gongshu::Status& s) {
    if (s && failing_) log_.notice("service manager notifications work again");
    if (!s && !failing_) log_.warning("cannot notify the service manager: " + s.error().message());
    failing_ = !s;
  }

 private:
  const Logger& log_;
  bool failing_ = false;
};

int run(const std::string& config_path, const Logger& log) {
  auto config = gongshu::daemon::load_config(config_path);
  if (!config) {
    log.error(config.error().message());
    return 2;
  }
  // Taken synchronously by this thread; every thread Daemon::start creates inherits the mask.
  auto signals = gongshu::sys::SignalSet::block_service_signals();
  gongshu::sys::ignore_sigpipe();
  const Notifier notifier = Notifier::from_environment();
  NotifyReporter notify(log);

  // Protobuf's complaints about hostile input go through a limiter, never one line per record.
  gongshu::sys::LogLimiter limiter(log);
  gongshu::daemon::route_protobuf_log(limiter);
  struct Unroute {
    ~Unroute() { gongshu::daemon::unroute_protobuf_log(); }  // before the limiter goes
  } unroute;
  auto daemon = gongshu::daemon::Daemon::start(*config, gongshu::SystemClock::instance());
  if (!daemon) {
    notify(notifier.status("start failed: " + daemon.error().message()));
    log.error("start failed: " + daemon.error().message());
    return 1;
  }
  if (auto s = gongshu::daemon::write_info_file(config->state_dir, **daemon); !s) {
    log.error(s.error().message());
    (*daemon)->stop();
    return 1;
  }
  const std::string key_id = (*daemon)->public_key().key_id();
  notify(notifier.ready());
  std::string reload_error;
  notify(notifier.status(status_text((*daemon)->ingest_stats(), reload_error)));
  log.notice(std::string("ready (version ") + gongshu::kVersion + "); ingest " +
                 (*daemon)->ingest_endpoint() + ", api " + (*daemon)->api_endpoint(),
             {{"GONGSHU_DAEMON_KEY", key_id}});
  if (const std::string& p = (*daemon)->ingest_scheduling_problem(); !p.empty())
    log.warning("ingest workers run at the daemon's priority: " + p);
  if ((*daemon)->policy_version().empty()) {
    log.warning("no access policy is in force, every access is denied until a reload loads one: " +
                (*daemon)->policy_problem());
  } else {
    log.notice("policy " + (*daemon)->policy_version() + " from " + config->policy_dir +
               " is in force");
  }

  const auto ping_period = notifier.watchdog_ping_period();
  auto next_ping = Clock::now();
  auto next_status = Clock::now() + kStatusPeriod;
  while (true) {
    auto now = Clock::now();
    // A socket that failed cannot be served again in this process: say so and exit non-zero,
    // so systemd restarts the daemon (and the watchdog is not fed by a deaf one).
    if (std::string failure = (*daemon)->ingest_failure(); !failure.empty()) {
      notify(notifier.status("failed: " + failure));
      log.error("stopping: " + failure);
      (*daemon)->stop();
      return 1;
    }
    if (ping_period && now >= next_ping) {
      notify(notifier.watchdog());
      next_ping = now + *ping_period;
    }
    if (now >= next_status) {
      notify(notifier.status(status_text((*daemon)->ingest_stats(), reload_error)));
      next_status = now + kStatusPeriod;
    }
    auto deadline = ping_period ? std::min(next_ping, next_status) : next_status;
    auto sig = signals.wait(std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()));
    if (!sig) continue;
    if (*sig != SIGHUP) break;

    // Reload. The configuration file is re-read and validated, and a valid one replaces the
    // running copy (its settings apply at the next restart, except the policy directory, which
    // is reloaded now); a bad one is refused and the running configuration stays.
    notify(notifier.reloading());
    auto fresh = gongshu::daemon::load_config(config_path);
    if (!fresh) {
      reload_error = fresh.error().message();
      log.warning("reload refused, keeping the running configuration: " + reload_error);
    } else {
      *config = std::move(*fresh);
      reload_error.clear();
      log.notice("reloaded " + config_path +
                 ": the configuration is valid; its settings apply at the next restart");
      // The access policy is reloaded now; a bad one is refused whole and the running one stays.
      if (auto s = (*daemon)->reload(*config); !s) {
        reload_error = s.error().message();
        log.warning("policy reload refused, keeping the running policy: " + reload_error);
      } else {
        log.notice("policy " + (*daemon)->policy_version() + " from " + config->policy_dir +
                   " is in force");
      }
    }
    notify(notifier.ready());
    notify(notifier.status(status_text((*daemon)->ingest_stats(), reload_error)));
  }

  notify(notifier.stopping());
  notify(notifier.status("stopping: draining in-flight batches"));
  log.notice("stopping; draining in-flight batches");
  (*daemon)->stop();
  auto stats = (*daemon)->ingest_stats();
  log.notice("stopped after " + std::to_string(stats.batches) + " batches, " +
             std::to_string(stats.records_accepted) + " records accepted, " +
             std::to_string(stats.records_rejected) + " rejected");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Logger log = Logger::for_process("gongshud");
  try {
    // Before anything reads a key: no core dumps, no ptrace by same-user processes.
    if (auto h = gongshu::sys::harden_process(); !h) {
      log.error(h.error().message());
      return 1;
    }
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
    auto* runc = app.add_subcommand(
        "run",
        "Serve the ingest and api sockets until SIGTERM or SIGINT; SIGHUP reloads.\n"
        "Speaks the systemd notify protocol when NOTIFY_SOCKET is set.");
    runc->add_option("--config", config, "TOML configuration file")->required();
    auto* check = app.add_subcommand(
        "check-config", "Validate a configuration file (before `systemctl reload gongshud`).");
    check->add_option("--config", config, "TOML configuration file")->required();
    gongshu::daemon::RestoreOptions restore_opts;
    auto* restore = app.add_subcommand(
        "restore",
        "Restore a store from a backup made with `gongshuctl backup create`, with gongshud\n"
        "stopped. Before anything is put in place it checks the manifest's signature (against\n"
        "--daemon-key, else the public half of DIR/daemon.key), the data's SHA-256 and length,\n"
        "verifies the whole audit log of the restored store and its tree size and root against\n"
        "the manifest, and checks that the master key opens the restored data keys. Keys are not\n"
        "in a backup: DIR must hold the backed-up daemon's daemon.key, and its master key must\n"
        "be given (--master-key, a systemd credential, or DIR/master.key).\n"
        "A `restore` entry is then appended to the restored audit log.\n"
        "Exit 0 restored, 1 refused (tampered, wrong keys, a store already there) or failed.");
    restore->add_option("--from", restore_opts.from, "Backup file")->required();
    restore
        ->add_option("--state", restore_opts.state_dir,
                     "State directory (holds daemon.key and master.key; receives store/)")
        ->required();
    restore->add_option("--daemon-key", restore_opts.trusted_daemon_key,
                        "The daemon public key (64 hex) the backup must be signed by");
    restore->add_option(
        "--master-key", restore_opts.master_key_path,
        "Storage master key file (default $CREDENTIALS_DIRECTORY/master.key when set,\n"
        "else DIR/master.key)");
    restore->add_option("--audit-key", restore_opts.audit_keys,
                        "A further daemon public key (64 hex) the audit log may be signed by,\n"
                        "e.g. the original key of a daemon whose key was rotated (repeatable)");
    restore->add_flag("--force", restore_opts.force,
                      "Replace the store DIR already holds (it is deleted once the restored one "
                      "is verified)");
    int code = 2;
    restore->callback([&] {
      auto r = gongshu::daemon::restore_backup(restore_opts, gongshu::SystemClock::instance());
      if (!r) {
        log.error("restore: " + r.error().message());
        code = 1;
        return;
      }
      std::cout << "restored " << restore_opts.from << " into " << restore_opts.state_dir
                << "/store" << (r->replaced ? " (replacing the store that was there)" : "") << "\n"
                << "audit log verified: " << r->verified_entries << " entries, " << r->checkpoints
                << " signed checkpoints, tree size " << r->manifest.tree_size
                << " as the manifest names\n"
                << "restore recorded as audit entry " << r->restore_seq << "\n";
      code = 0;
    });
    init->callback([&] {
      auto r = gongshu::daemon::init_state(state, operator_out, origin,
                                           gongshu::SystemClock::instance());
      if (!r) {
        log.error("init: " + r.error().message());
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
    runc->callback([&] { code = run(config, log); });
    check->callback([&] {
      auto c = gongshu::daemon::load_config(config);
      if (!c) return log.error(c.error().message());
      std::cout << config << ": valid\n";
      code = 0;
    });
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
    log.error(e.what());
    return 1;
  }
}
