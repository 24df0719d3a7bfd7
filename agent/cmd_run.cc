// gongshu-agent run: the service loop (agent/service.h) until SIGTERM or SIGINT, speaking the
// systemd notify protocol (core/sys) when started by systemd: READY=1 once the spool is open and
// the inputs listen, STATUS= with the service's summary, WATCHDOG=1 from the main loop,
// STOPPING=1 when the drain begins. SIGHUP re-reads and checks the configuration file.

#include <csignal>
#include <iostream>
#include <memory>

#include "agent/cmd_common.h"
#include "agent/commands.h"
#include "agent/service.h"
#include "core/sys/harden.h"
#include "core/sys/logger.h"
#include "core/sys/notifier.h"

namespace gongshu::agent {
namespace {

std::atomic<bool> g_stop{false};
std::atomic<bool> g_reload{false};
extern "C" void on_stop_signal(int) { g_stop.store(true); }
extern "C" void on_reload_signal(int) { g_reload.store(true); }

// Relays the service's events to systemd and handles SIGHUP on the main loop's thread.
class SystemdObserver final : public ServiceObserver {
 public:
  SystemdObserver(std::string config_path, const sys::Logger& log)
      : config_path_(std::move(config_path)),
        log_(log),
        notifier_(sys::Notifier::from_environment()) {}

  void ready() override {
    report(notifier_.ready());
    log_.notice(tr("ready"));
  }
  void status(const std::string& line) override { report(notifier_.status(line)); }
  void stopping() override {
    report(notifier_.stopping());
    log_.notice(tr("stopping; waiting for in-flight acknowledgements"));
  }
  void alive() override {
    if (g_reload.exchange(false)) reload();
    auto period = notifier_.watchdog_ping_period();
    if (!period) return;
    auto now = std::chrono::steady_clock::now();
    if (now - last_ping_ >= *period) {
      report(notifier_.watchdog());
      last_ping_ = now;
    }
  }

 private:
  // The running service keeps its settings; a reload checks the file so that a bad edit is
  // caught now, not at the next restart.
  void reload() {
    report(notifier_.send("RELOADING=1\nMONOTONIC_USEC=" +  // i18n-exempt: sd_notify protocol
                          std::to_string(sys::monotonic_usec())));
    auto c = load_config(config_path_);
    if (!c) {
      log_.warning(
          trf("reload: {}; the running configuration stays in force", c.error().message()));
    } else {
      log_.notice(trf("reload: {} is valid; its changes apply at the next restart", config_path_));
    }
    report(notifier_.ready());
  }
  void report(const Status& s) {
    if (!s && !warned_) {
      log_.warning(trf("cannot notify the service manager: {}", s.error().message()));
      warned_ = true;
    }
  }

  std::string config_path_;
  const sys::Logger& log_;
  sys::Notifier notifier_;
  std::chrono::steady_clock::time_point last_ping_{};
  bool warned_ = false;
};

}  // namespace

void add_run_command(CLI::App& app, int* exit_code) {
  auto config = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand(
      "run",
      tr("Run the agent service: batch spooled records ([batch] max_records, max_delay_ms), "
         "sign\n"
         "and seal them, forward them to the daemon with up to [batch] window batches in flight,\n"
         "reconnecting with backoff and resending whatever is unacknowledged; watch the drop\n"
         "directory ([agent] drop_dir) and serve the local socket ([agent] ipc); refresh the\n"
         "catalog. Under systemd (Type=notify): READY=1, STATUS=, WATCHDOG=1. SIGHUP: check the\n"
         "configuration file. SIGTERM/SIGINT: stop accepting, wait for in-flight acks up to\n"
         "[limits] shutdown_timeout_ms, exit 0."));
  add_config_option(cmd, config.get());
  cmd->callback([config, exit_code] {
    const sys::Logger log = sys::Logger::for_process("gongshu-agent");
    if (auto h = sys::harden_process(); !h) log.warning(h.error().message());
    auto c = load_config(*config);
    if (!c) return void(*exit_code = report("run", c.error()));
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGTERM, &sa, nullptr);
    ::sigaction(SIGINT, &sa, nullptr);
    struct sigaction hup {};
    hup.sa_handler = on_reload_signal;
    sigemptyset(&hup.sa_mask);
    ::sigaction(SIGHUP, &hup, nullptr);
    ::signal(SIGPIPE, SIG_IGN);
    SystemdObserver observer(*config, log);
    auto s = run_service(*c, g_stop, observer, SystemClock::instance());
    if (!s) return void(*exit_code = report("run", s.error()));
    *exit_code = 0;
  });
}

}  // namespace gongshu::agent
