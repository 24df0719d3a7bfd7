// The gongshud service loop (daemon/service.h) driven through its seams: a recording observer in
// place of systemd and signals handed over in place of the process's. The daemon is real: its
// own state directory, sockets on 127.0.0.1 with OS-chosen ports, the shipped policy.
#include "daemon/service.h"

#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <condition_variable>
#include <csignal>
#include <deque>
#include <fstream>
#include <mutex>
#include <thread>
#include <vector>

#include "daemon/daemon.h"
#include "tests/support/test_support.h"

namespace gongshu::daemon {
namespace {

using gongshu::testing::TempDir;
using gongshu::testing::wait_until;
using namespace std::chrono_literals;

// Signals as a test sends them: taken in order by the loop's wait().
class FakeSignals final : public SignalSource {
 public:
  void send(int sig) {
    {
      std::lock_guard lock(mu_);
      pending_.push_back(sig);
    }
    cv_.notify_all();
  }
  std::optional<int> wait(std::chrono::milliseconds timeout) override {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, timeout, [&] { return !pending_.empty(); })) return std::nullopt;
    int sig = pending_.front();
    pending_.pop_front();
    return sig;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<int> pending_;
};

// Every report of the loop, in order: "ready", "status: <line>", "reloading", "stopping",
// "watchdog".
class RecordingObserver final : public ServiceObserver {
 public:
  explicit RecordingObserver(std::optional<std::chrono::milliseconds> watchdog = std::nullopt)
      : watchdog_(watchdog) {}
  void ready() override { add("ready"); }
  void status(const std::string& line) override { add("status: " + line); }
  void reloading() override { add("reloading"); }
  void stopping() override { add("stopping"); }
  void watchdog() override { add("watchdog"); }
  std::optional<std::chrono::milliseconds> watchdog_period() const override { return watchdog_; }

  std::vector<std::string> events() const {
    std::lock_guard lock(mu_);
    return events_;
  }
  size_t count(std::string_view prefix) const {
    size_t n = 0;
    for (const auto& e : events())
      if (e.rfind(prefix, 0) == 0) ++n;
    return n;
  }
  // The report that followed the n-th ready (the status line every ready is followed by).
  std::optional<std::string> after_ready(size_t n) const {
    auto e = events();
    for (size_t i = 0; i + 1 < e.size(); ++i) {
      if (e[i] == "ready" && --n == 0) return e[i + 1];
    }
    return std::nullopt;
  }

 private:
  void add(std::string e) {
    std::lock_guard lock(mu_);
    events_.push_back(std::move(e));
  }
  std::optional<std::chrono::milliseconds> watchdog_;
  mutable std::mutex mu_;
  std::vector<std::string> events_;
};

// A state directory made by `gongshud init` and a configuration file for it.
struct ServiceSetup {
  ServiceSetup() {
    REQUIRE(init_state(dir.file("state"), dir.file("operator.key"), "gongshu.test/audit",
                       SystemClock::instance()));
    write_config("");
  }
  // The configuration of the state directory, with extra appended.
  void write_config(const std::string& extra) {
    std::ofstream out(config_path, std::ios::trunc);
    out << "[daemon]\nstate_dir = \"" << dir.file("state") << "\"\n"
        << "[ingest]\nendpoint = \"tcp://127.0.0.1:*\"\n"
        << "[api]\nendpoint = \"tcp://127.0.0.1:*\"\n"
        << "[policy]\ndir = \"" << GONGSHU_SOURCE_DIR << "/policies/policy\"\n"
        << "[limits]\nmap_size_mb = 1024\n"
        << extra;
  }

  TempDir dir;
  std::string config_path = dir.file("gongshud.toml");
  sys::Logger log{"gongshud-test", sys::Logger::Target::kLine, STDERR_FILENO};
};

TEST_CASE("the service is ready, reports its figures and pings the watchdog until SIGTERM") {
  ServiceSetup s;
  FakeSignals signals;
  RecordingObserver observer(20ms);
  ServiceOptions options;
  options.status_period = 50ms;
  std::atomic<int> code{-1};
  std::thread t([&] {
    code = serve(s.config_path, signals, observer, s.log, SystemClock::instance(), options);
  });
  REQUIRE(wait_until([&] { return observer.count("ready") == 1; }));
  CHECK(::access(s.dir.file("state/daemon.info").c_str(), R_OK) == 0);
  // The figures at start and then every status period; the watchdog every 20 ms.
  REQUIRE(wait_until([&] { return observer.count("status: serving;") >= 3; }));
  REQUIRE(wait_until([&] { return observer.count("watchdog") >= 3; }));
  CHECK(code == -1);

  signals.send(SIGTERM);
  t.join();
  CHECK(code == kExitOk);
  auto events = observer.events();
  REQUIRE(!events.empty());
  CHECK(events.front() == "ready");
  CHECK(observer.count("stopping") == 1);
  CHECK(events.back() == "status: stopping: draining in-flight batches");
}

TEST_CASE("a bad configuration on reload is refused, says why, and the service keeps running") {
  ServiceSetup s;
  FakeSignals signals;
  RecordingObserver observer;
  std::atomic<int> code{-1};
  std::thread t(
      [&] { code = serve(s.config_path, signals, observer, s.log, SystemClock::instance()); });
  REQUIRE(wait_until([&] { return observer.count("ready") == 1; }));

  s.write_config("[api]\nno_such_key = 1\n");
  signals.send(SIGHUP);
  REQUIRE(wait_until([&] { return observer.after_ready(2).has_value(); }));
  CHECK(observer.count("reloading") == 1);
  CHECK(observer.after_ready(2)->find("; last reload refused: ") != std::string::npos);
  CHECK(code == -1);

  // A policy directory that does not load is refused whole, the running policy stays.
  TempDir bad_policy;
  { std::ofstream(bad_policy.file("broken.toml")) << "this is not toml [\n"; }
  {
    std::ofstream out(s.config_path, std::ios::trunc);
    out << "[daemon]\nstate_dir = \"" << s.dir.file("state") << "\"\n"
        << "[policy]\ndir = \"" << bad_policy.path() << "\"\n";
  }
  signals.send(SIGHUP);
  REQUIRE(wait_until([&] { return observer.after_ready(3).has_value(); }));
  CHECK(observer.after_ready(3)->find("; last reload refused: ") != std::string::npos);

  // A good file again: the refusal is no longer reported.
  s.write_config("");
  signals.send(SIGHUP);
  REQUIRE(wait_until([&] { return observer.after_ready(4).has_value(); }));
  CHECK(observer.after_ready(4)->rfind("status: serving;", 0) == 0);
  CHECK(observer.after_ready(4)->find("last reload refused") == std::string::npos);

  signals.send(SIGINT);
  t.join();
  CHECK(code == kExitOk);
}

TEST_CASE("a configuration that does not load is exit 2, a daemon that cannot start exit 1") {
  ServiceSetup s;
  FakeSignals signals;
  RecordingObserver observer;
  CHECK(serve(s.dir.file("missing.toml"), signals, observer, s.log, SystemClock::instance()) ==
        kExitConfig);
  CHECK(observer.events().empty());

  // A state directory with no store in it: the daemon cannot start.
  TempDir empty;
  {
    std::ofstream out(s.config_path, std::ios::trunc);
    out << "[daemon]\nstate_dir = \"" << empty.path() << "\"\n";
  }
  CHECK(serve(s.config_path, signals, observer, s.log, SystemClock::instance()) == kExitFailed);
  REQUIRE(observer.events().size() == 1);
  CHECK(observer.events().front().rfind("status: start failed: ", 0) == 0);
}

// A socket that fails cannot be made to from outside; the loop's answer to it is what is tested.
class FailingDaemon final : public ServedDaemon {
 public:
  using ServedDaemon::ServedDaemon;
  std::string failure() const override {
    std::lock_guard lock(mu_);
    return failure_;
  }
  void fail(std::string why) {
    std::lock_guard lock(mu_);
    failure_ = std::move(why);
  }

 private:
  mutable std::mutex mu_;
  std::string failure_;
};

TEST_CASE("a failed ingest socket stops the service with a non-zero exit and says why") {
  ServiceSetup s;
  auto config = load_config(s.config_path);
  REQUIRE(config);
  auto daemon = Daemon::start(*config, SystemClock::instance());
  REQUIRE(daemon);
  FailingDaemon served(**daemon);
  FakeSignals signals;
  RecordingObserver observer;
  ServiceOptions options;
  options.status_period = 50ms;
  std::atomic<int> code{-1};
  std::thread t([&] {
    code = serve_started(served, s.config_path, *config, signals, observer, s.log, options);
  });
  REQUIRE(wait_until([&] { return observer.count("ready") == 1; }));
  served.fail("ingest: receiving: the socket failed");
  t.join();
  CHECK(code == kExitFailed);
  auto events = observer.events();
  CHECK(events.back() == "status: failed: ingest: receiving: the socket failed");
  CHECK(observer.count("stopping") == 0);
}

}  // namespace
}  // namespace gongshu::daemon
