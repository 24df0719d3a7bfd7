// The gongshud service (`gongshud run`, DESIGN §9): start the daemon from its configuration file
// and serve until told to stop, reporting to the service manager as a Type=notify service:
//
//   ready()       once the daemon started (store open, ZAP running, sockets bound), and again
//                 after each reload, whatever its outcome
//   status(line)  the live figures at start, every status_period (5 s) and after a reload;
//                 "; last reload refused: <why>" while the last reload was refused; "start
//                 failed: <why>" / "failed: <why>" before a non-zero exit
//   reloading()   on SIGHUP, before the configuration file is re-read and validated: a valid one
//                 replaces the running copy (its settings apply at the next restart, except the
//                 access policy, which is reloaded now); a bad file, or a bad policy, is refused
//                 whole and the running one stays in force
//   stopping()    on SIGTERM or SIGINT, before in-flight batches are drained; then exit 0
//   watchdog()    every watchdog_period(), when the observer has one, from this loop: if the
//                 loop stalls the manager restarts the daemon
//
// A socket that failed cannot be served again in this process (Daemon::ingest_failure): the
// loop then says why, stops the daemon and exits kExitFailed, so the manager restarts it and the
// watchdog is not fed by a deaf daemon.
//
// ServiceObserver and SignalSource are the seams: run_service() binds them to systemd's notify
// protocol (core/sys/notifier.h) and to the process's blocked SIGTERM, SIGINT and SIGHUP
// (core/sys/signals.h); a test drives serve() with its own, without systemd or real signals.
// Every call of the observer and the signal source comes from the thread running serve().
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "core/sys/logger.h"
#include "core/util/clock.h"
#include "daemon/config.h"

namespace gongshu::daemon {

class Daemon;  // daemon/daemon.h

// gongshud's exit codes. The unit does not restart on kExitConfig: a restart cannot fix a file.
inline constexpr int kExitOk = 0;      // done; for run: stopped cleanly
inline constexpr int kExitFailed = 1;  // could not start, or failed while serving
inline constexpr int kExitConfig = 2;  // bad command line or bad configuration
// serve_started only, never an exit code: a replica's re-seed staged a backup of its leader;
// serve() restores it and starts the daemon again on the same ports (cluster_replication.h).
inline constexpr int kRestartToReseed = 3;

// What the service reports (the list above). The default does nothing and has no watchdog.
class ServiceObserver {
 public:
  virtual ~ServiceObserver() = default;
  virtual void ready() {}
  virtual void status(const std::string& /*line*/) {}
  virtual void reloading() {}
  virtual void stopping() {}
  virtual void watchdog() {}
  // How often watchdog() must be called; nullopt: never. Read once, when serving begins.
  virtual std::optional<std::chrono::milliseconds> watchdog_period() const { return std::nullopt; }
};

// Where the loop waits between its periodic duties: the next signal taken, or nullopt when
// timeout passed first. SIGHUP reloads; any other signal stops the service.
class SignalSource {
 public:
  virtual ~SignalSource() = default;
  virtual std::optional<int> wait(std::chrono::milliseconds timeout) = 0;
};

// The started daemon as the loop serves it. failure() is virtual so that a test can stand in
// for what it cannot provoke from outside, a socket that failed; the rest is the Daemon's.
class ServedDaemon {
 public:
  explicit ServedDaemon(Daemon& daemon) : daemon_(daemon) {}
  virtual ~ServedDaemon() = default;
  // Why serving cannot go on; empty while healthy. Default: Daemon::ingest_failure().
  virtual std::string failure() const;
  Daemon& daemon() const { return daemon_; }

 private:
  Daemon& daemon_;
};

struct ServiceOptions {
  std::chrono::milliseconds status_period = std::chrono::seconds(5);
};

// Loads config_path, routes protobuf's log through a limiter (daemon/protobuf_log.h), starts the
// Daemon, writes <state_dir>/daemon.info and serves until a stop signal or a failure. Returns
// the exit code: kExitOk, kExitConfig for a configuration that does not load, kExitFailed
// when the daemon could not start or failed. Errors are logged to log, once.
int serve(const std::string& config_path, SignalSource& signals, ServiceObserver& observer,
          const sys::Logger& log, const Clock& clock, ServiceOptions options = {});

// The loop itself, over a daemon already started from config (which a reload replaces). Calls
// ServedDaemon's Daemon::stop() before it returns kExitOk or kExitFailed.
int serve_started(ServedDaemon& served, const std::string& config_path, DaemonConfig& config,
                  SignalSource& signals, ServiceObserver& observer, const sys::Logger& log,
                  ServiceOptions options = {});

// `gongshud run`: blocks SIGTERM, SIGINT and SIGHUP in the calling thread (call it before any
// other thread exists: the daemon's threads inherit the mask), ignores SIGPIPE, and serve()s
// with the systemd notify protocol as observer (a no-op without NOTIFY_SOCKET); a notification
// that cannot be sent is logged once, not once per period.
int run_service(const std::string& config_path, const sys::Logger& log);

}  // namespace gongshu::daemon
