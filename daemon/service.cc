#include "daemon/service.h"

#include <algorithm>
#include <csignal>

#include "core/sys/log_limiter.h"
#include "core/sys/notifier.h"
#include "core/sys/signals.h"
#include "core/util/i18n.h"
#include "core/util/version.h"
#include "daemon/cluster_replication.h"
#include "daemon/daemon.h"
#include "daemon/protobuf_log.h"

namespace gongshu::daemon {
namespace {

using SteadyClock = std::chrono::steady_clock;

// The STATUS= line `systemctl status gongshud` shows, in the daemon's language.
std::string status_text(const IngestStats& s, const std::string& reload_error) {
  std::string t = trf(
      "serving; {} batches, {} records accepted, {} rejected, {} duplicate batches, {} refused; "
      "queue {}",
      s.batches, s.records_accepted, s.records_rejected, s.duplicates, s.refused, s.queued);
  if (!reload_error.empty()) t = trf("{}; last reload refused: {}", t, reload_error);
  return t;
}

// The service manager's notify protocol. A notify failure is worth one warning, not one per
// watchdog period.
class NotifierObserver final : public ServiceObserver {
 public:
  explicit NotifierObserver(const sys::Logger& log)
      : log_(log), notifier_(sys::Notifier::from_environment()) {}

  void ready() override { report(notifier_.ready()); }
  void status(const std::string& line) override { report(notifier_.status(line)); }
  void reloading() override { report(notifier_.reloading()); }
  void stopping() override { report(notifier_.stopping()); }
  void watchdog() override { report(notifier_.watchdog()); }
  std::optional<std::chrono::milliseconds> watchdog_period() const override {
    return notifier_.watchdog_ping_period();
  }

 private:
  void report(const Status& s) {
    if (s && failing_) log_.notice(tr("service manager notifications work again"));
    if (!s && !failing_)
      log_.warning(trf("cannot notify the service manager: {}", s.error().message()));
    failing_ = !s;
  }

  const sys::Logger& log_;
  const sys::Notifier notifier_;
  bool failing_ = false;
};

// The process's service signals, blocked and taken synchronously (core/sys/signals.h).
class ProcessSignals final : public SignalSource {
 public:
  explicit ProcessSignals(sys::SignalSet set) : set_(set) {}
  std::optional<int> wait(std::chrono::milliseconds timeout) override { return set_.wait(timeout); }

 private:
  sys::SignalSet set_;
};

void log_policy_in_force(const Daemon& daemon, const DaemonConfig& config, const sys::Logger& log) {
  log.notice(trf("policy {} from {} is in force", daemon.policy_version(), config.policy_dir));
}

}  // namespace

std::string ServedDaemon::failure() const { return daemon_.ingest_failure(); }

int serve_started(ServedDaemon& served, const std::string& config_path, DaemonConfig& config,
                  SignalSource& signals, ServiceObserver& observer, const sys::Logger& log,
                  ServiceOptions options) {
  Daemon& daemon = served.daemon();
  std::string reload_error;
  observer.ready();
  observer.status(status_text(daemon.ingest_stats(), reload_error));
  log.notice(trf("ready (version {}); ingest {}, api {}", kVersion, daemon.ingest_endpoint(),
                 daemon.api_endpoint()),
             {{"GONGSHU_DAEMON_KEY", daemon.public_key().key_id()}});
  if (const std::string& p = daemon.ingest_scheduling_problem(); !p.empty())
    log.warning(trf("ingest workers run at the daemon's priority: {}", p));
  if (daemon.policy_version().empty()) {
    log.warning(
        trf("no access policy is in force, every access is denied until a reload loads one: {}",
            daemon.policy_problem()));
  } else {
    log_policy_in_force(daemon, config, log);
  }

  const auto ping_period = observer.watchdog_period();
  auto next_ping = SteadyClock::now();
  auto next_status = SteadyClock::now() + options.status_period;
  while (true) {
    auto now = SteadyClock::now();
    if (std::string failure = served.failure(); !failure.empty()) {
      observer.status(trf("failed: {}", failure));
      log.error(trf("stopping: {}", failure));
      daemon.stop();
      return kExitFailed;
    }
    if (daemon.reseed_staged()) {
      observer.status(tr("re-seeding: restarting on a backup of the leader"));
      log.notice(tr("re-seeding: stopping to restore the leader's backup, then starting again"));
      daemon.stop();
      return kRestartToReseed;
    }
    if (ping_period && now >= next_ping) {
      observer.watchdog();
      next_ping = now + *ping_period;
    }
    // Replicated mode: the etcd lease is renewed from this loop, the one that pets the watchdog,
    // so a stuck loop stops both (daemon/cluster_node.h).
    ClusterNode* cluster = daemon.cluster();
    if (cluster) cluster->tick();
    if (now >= next_status) {
      observer.status(status_text(daemon.ingest_stats(), reload_error));
      next_status = now + options.status_period;
    }
    auto deadline = ping_period ? std::min(next_ping, next_status) : next_status;
    if (cluster) deadline = std::min(deadline, SteadyClock::now() + cluster->tick_period());
    auto sig = signals.wait(
        std::max(std::chrono::ceil<std::chrono::milliseconds>(deadline - SteadyClock::now()),
                 std::chrono::milliseconds(0)));
    if (!sig) continue;
    if (*sig != SIGHUP) break;

    observer.reloading();
    auto fresh = load_config(config_path);
    if (!fresh) {
      reload_error = fresh.error().message();
      log.warning(trf("reload refused, keeping the running configuration: {}", reload_error));
    } else {
      config = std::move(*fresh);
      reload_error.clear();
      log.notice(
          trf("reloaded {}: the configuration is valid; its settings apply at the next "
              "restart",
              config_path));
      if (auto s = daemon.reload(config); !s) {
        reload_error = s.error().message();
        log.warning(trf("policy reload refused, keeping the running policy: {}", reload_error));
      } else {
        log_policy_in_force(daemon, config, log);
      }
    }
    observer.ready();
    observer.status(status_text(daemon.ingest_stats(), reload_error));
  }

  observer.stopping();
  observer.status(tr("stopping: draining in-flight batches"));
  log.notice(tr("stopping; draining in-flight batches"));
  daemon.stop();
  auto stats = daemon.ingest_stats();
  log.notice(trf("stopped after {} batches, {} records accepted, {} rejected", stats.batches,
                 stats.records_accepted, stats.records_rejected));
  return kExitOk;
}

int serve(const std::string& config_path, SignalSource& signals, ServiceObserver& observer,
          const sys::Logger& log, const Clock& clock, ServiceOptions options) {
  auto config = load_config(config_path);
  if (!config) {
    log.error(config.error().message());
    return kExitConfig;
  }
  // Protobuf's complaints about hostile input go through a limiter, never one line per record.
  sys::LogLimiter limiter(log);
  route_protobuf_log(limiter);
  struct Unroute {
    ~Unroute() { unroute_protobuf_log(); }  // before the limiter goes
  } unroute;
  while (true) {
    // A replica's re-seed (daemon/cluster_replication.h) staged by the last run of this loop or
    // of a process that died before restoring it: restored with the store closed.
    if (config->cluster.replicated()) {
      if (auto r = restore_staged_reseed(*config, log); !r)
        log.error(trf("re-seed: the leader's backup did not restore, starting on the old store "
                      "(it re-seeds again): {}",
                      r.error().message()),
                  {{"GONGSHU_EVENT", "replica_reseed_failed"}});
    }
    auto daemon = Daemon::start(*config, clock, &log);
    if (!daemon) {
      observer.status(trf("start failed: {}", daemon.error().message()));
      log.error(trf("start failed: {}", daemon.error().message()));
      return kExitFailed;
    }
    if (auto s = write_info_file(config->state_dir, **daemon); !s) {
      log.error(s.error().message());
      (*daemon)->stop();
      return kExitFailed;
    }
    ServedDaemon served(**daemon);
    int code = serve_started(served, config_path, *config, signals, observer, log, options);
    if (code != kRestartToReseed) return code;
    // Again on the ports agents and operators were told.
    config->ingest_endpoint = (*daemon)->ingest_endpoint();
    config->api_endpoint = (*daemon)->api_endpoint();
  }
}

int run_service(const std::string& config_path, const sys::Logger& log) {
  // Taken synchronously by this thread; every thread Daemon::start creates inherits the mask.
  ProcessSignals signals(sys::SignalSet::block_service_signals());
  sys::ignore_sigpipe();
  NotifierObserver observer(log);
  return serve(config_path, signals, observer, log, SystemClock::instance());
}

}  // namespace gongshu::daemon
