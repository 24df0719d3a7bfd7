// gongshud: the city data authority's daemon. Parses the command line and calls: `init` creates
// a state directory (daemon/daemon.h); `run` serves as a Type=notify service until SIGTERM,
// SIGHUP reloading (daemon/service.h); `check-config` validates a configuration file and exits
// 0 or 2; `restore` puts a verified backup in place (daemon/backup.h).
//
// Exit codes (daemon/service.h): 0 stopped cleanly; 1 could not start or failed; 2 bad command
// line or bad configuration (the unit does not restart on 2: a restart cannot fix a file).

#include <CLI/CLI.hpp>
#include <exception>
#include <iostream>
#include <string>

#include "core/sys/harden.h"
#include "core/sys/logger.h"
#include "core/util/cli.h"
#include "core/util/i18n.h"
#include "core/util/i18n_cli.h"
#include "core/util/version.h"
#include "daemon/backup.h"
#include "daemon/daemon.h"
#include "daemon/service.h"

int main(int argc, char** argv) {
  // Journal lines and help in the daemon's locale (LANG of the unit; docs/language.md).
  gongshu::i18n::init("gongshu-daemon");
  using gongshu::tr;
  using gongshu::trf;
  using gongshu::daemon::kExitConfig;
  using gongshu::daemon::kExitFailed;
  using gongshu::daemon::kExitOk;
  const gongshu::sys::Logger log = gongshu::sys::Logger::for_process("gongshud");
  try {
    // Before anything reads a key: no core dumps, no ptrace by same-user processes.
    if (auto h = gongshu::sys::harden_process(); !h) {
      log.error(h.error().message());
      return kExitFailed;
    }
    CLI::App app{tr("gongshud — the gongshu public-data platform daemon (city data authority)")};
    app.set_version_flag("--version", std::string("gongshud ") + gongshu::kVersion);
    app.require_subcommand(1);
    std::string state, operator_out, origin = "gongshu/audit", config;
    auto* init = app.add_subcommand(
        "init", tr("Create a state directory: the daemon's identity key, the storage master key,\n"
                   "an empty store with its first audit entry, and the first operator's key."));
    init->add_option("--state", state, tr("State directory to create"))->required();
    init->add_option("--operator-key-out", operator_out,
                     tr("Where to write the first operator's key file (0600)"))
        ->required();
    init->add_option("--audit-origin", origin, tr("Name of the audit log in checkpoints"))
        ->capture_default_str();
    auto* runc = app.add_subcommand(
        "run", tr("Serve the ingest and api sockets until SIGTERM or SIGINT; SIGHUP reloads.\n"
                  "Speaks the systemd notify protocol when NOTIFY_SOCKET is set."));
    runc->add_option("--config", config, tr("TOML configuration file"))->required();
    auto* check = app.add_subcommand(
        "check-config", tr("Validate a configuration file (before `systemctl reload gongshud`)."));
    check->add_option("--config", config, tr("TOML configuration file"))->required();
    gongshu::daemon::RestoreOptions restore_opts;
    auto* restore = app.add_subcommand(
        "restore",
        tr("Restore a store from a backup made with `gongshuctl backup create`, with gongshud\n"
           "stopped. Before anything is put in place it checks the manifest's signature (against\n"
           "--daemon-key, else the public half of DIR/daemon.key), the data's SHA-256 and length,\n"
           "verifies the whole audit log of the restored store and its tree size and root against\n"
           "the manifest, and checks that the master key opens the restored data keys. Keys are "
           "not\n"
           "in a backup: DIR must hold the backed-up daemon's daemon.key, and its master key must\n"
           "be given (--master-key, a systemd credential, or DIR/master.key).\n"
           "A `restore` entry is then appended to the restored audit log.\n"
           "Exit 0 restored, 1 refused (tampered, wrong keys, a store already there) or failed."));
    restore->add_option("--from", restore_opts.from, tr("Backup file"))->required();
    restore
        ->add_option("--state", restore_opts.state_dir,
                     tr("State directory (holds daemon.key and master.key; receives store/)"))
        ->required();
    restore->add_option("--daemon-key", restore_opts.trusted_daemon_key,
                        tr("The daemon public key (64 hex) the backup must be signed by"));
    restore->add_option(
        "--master-key", restore_opts.master_key_path,
        tr("Storage master key file (default $CREDENTIALS_DIRECTORY/master.key when set,\n"
           "else DIR/master.key)"));
    restore->add_option("--audit-key", restore_opts.audit_keys,
                        tr("A further daemon public key (64 hex) the audit log may be signed by,\n"
                           "e.g. the original key of a daemon whose key was rotated (repeatable)"));
    restore->add_flag("--force", restore_opts.force,
                      tr("Replace the store DIR already holds (it is deleted once the restored "
                         "one is verified)"));
    int code = kExitConfig;
    restore->add_flag(
        "--replica", restore_opts.replica,
        tr("Re-seed a cluster replica (docs/replication.md): verify as usual but append no "
           "`restore` entry, so the store stays exactly its primary's and streams on from the "
           "backup's position"));
    restore->callback([&] {
      auto r = gongshu::daemon::restore_backup(restore_opts, gongshu::SystemClock::instance());
      if (!r) {
        log.error(trf("restore: {}", r.error().message()));
        code = kExitFailed;
        return;
      }
      const std::string into = restore_opts.state_dir + "/store";
      std::cout << (r->replaced ? trf("restored {} into {} (replacing the store that was there)",
                                      restore_opts.from, into)
                                : trf("restored {} into {}", restore_opts.from, into))
                << "\n"
                << trf("audit log verified: {} entries, {} signed checkpoints, tree size {} as "
                       "the manifest names",
                       r->verified_entries, r->checkpoints, r->manifest.tree_size)
                << "\n"
                << (restore_opts.replica
                        ? tr("replica re-seeded: no restore entry appended; start gongshud to "
                             "stream on from the primary")
                        : trf("restore recorded as audit entry {}", r->restore_seq))
                << "\n";
      for (const auto& d : r->shredded) {
        std::cout << trf("dataset {} cannot be read: destroyed (its key share is not in "
                         "{}/keyring) or never keyed",
                         d, restore_opts.state_dir)
                  << "\n";
      }
      code = kExitOk;
    });
    init->callback([&] {
      auto r = gongshu::daemon::init_state(state, operator_out, origin,
                                           gongshu::SystemClock::instance());
      if (!r) {
        log.error(trf("init: {}", r.error().message()));
        code = kExitFailed;
        return;
      }
      std::cout << trf("state directory:   {}", state) << "\n"
                << trf("daemon public key: {}", r->daemon_key.hex()) << "\n"
                << trf("daemon key id:     {}", r->daemon_key.key_id()) << "\n"
                << trf("operator key id:   {} (key file {})", r->operator_key.key_id(),
                       operator_out)
                << "\n";
      code = kExitOk;
    });
    runc->callback([&] { code = gongshu::daemon::run_service(config, log); });
    check->callback([&] {
      auto c = gongshu::daemon::load_config(config);
      if (!c) return log.error(c.error().message());
      std::cout << trf("{}: valid", config) << "\n";
      code = kExitOk;
    });
    gongshu::i18n::localize_cli(app);
    return gongshu::run_cli(app, argc, argv, code);
  } catch (const std::exception& e) {
    log.error(e.what());
    return kExitFailed;
  }
}
