// The real gongshud under a fake service manager: the test is the other end of NOTIFY_SOCKET
// and sends the signals systemd would send (DESIGN §9; ../shared/systemd-notes.md).

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <exception>
#include <regex>

#include "core/sys/notifier.h"
#include "tests/core/sys/notify_socket.h"
#include "tests/support/test_support.h"

namespace gongshu::sys {
namespace {

using gongshu::testing::binary_path;
using gongshu::testing::read_text;
using gongshu::testing::TempDir;
using gongshu::testing::write_text;
using std::chrono::milliseconds;
using testing::Child;
using testing::NotifyMessage;
using testing::NotifySocket;

// Variables a test runner started by systemd would pass on; the daemon must not see them.
const std::set<std::string> kForeign = {"NOTIFY_SOCKET", "WATCHDOG_USEC",        "WATCHDOG_PID",
                                        "INVOCATION_ID", "JOURNAL_STREAM",       "LISTEN_FDS",
                                        "LISTEN_PID",    "CREDENTIALS_DIRECTORY"};

struct DaemonDir {
  DaemonDir() {
    auto r = gongshu::testing::run_process({binary_path("bin/gongshud"), "init", "--state", state(),
                                            "--operator-key-out", dir.file("op.key")});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    write_config(good_config());
  }
  std::string state() const { return dir.file("state"); }
  std::string config() const { return dir.file("gongshud.toml"); }
  std::string log() const { return dir.file("gongshud.log"); }
  std::string good_config() const {
    return "[daemon]\nstate_dir = \"" + state() +
           "\"\n[ingest]\nendpoint = \"tcp://127.0.0.1:*\"\n"
           "[api]\nendpoint = \"tcp://127.0.0.1:*\"\n";
  }
  void write_config(const std::string& text) const { write_text(config(), text, 0644); }
  TempDir dir;
};

// Prints the daemon's output when a REQUIRE fails (CHECK failures are visible on their own).
struct PrintLogOnFailure {
  explicit PrintLogOnFailure(std::string log_path) : path(std::move(log_path)) {}
  ~PrintLogOnFailure() {
    if (std::uncaught_exceptions() > 0) {
      std::fprintf(stderr, "--- %s ---\n%s---\n", path.c_str(), read_text(path).c_str());
    }
  }
  std::string path;
};

// "tcp://127.0.0.1:40123" in daemon.info -> 40123 for `key`.
int port_of(const std::string& info, const std::string& key) {
  std::smatch m;
  std::regex re(key + " = \"tcp://127\\.0\\.0\\.1:([0-9]+)\"");
  if (!std::regex_search(info, m, re)) return -1;
  return std::stoi(m[1]);
}

bool accepts_connections(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(uint16_t(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

TEST_CASE("gongshud speaks the notify protocol: ready, status, watchdog, reload, stop") {
  DaemonDir d;
  NotifySocket sock(d.dir.file("notify"));
  Child daemon({binary_path("bin/gongshud"), "run", "--config", d.config()},
               {{"NOTIFY_SOCKET", sock.path()}, {"WATCHDOG_USEC", "400000"}}, kForeign, d.log());
  PrintLogOnFailure print(d.log());

  // READY=1 comes from the main process, and only once the sockets accept connections.
  auto ready = sock.expect_line("READY=1");
  REQUIRE(ready);
  CHECK(ready->pid == daemon.pid());
  std::string info = read_text(d.state() + "/daemon.info");
  int ingest = port_of(info, "ingest"), api = port_of(info, "api");
  REQUIRE(ingest > 0);
  REQUIRE(api > 0);
  CHECK(accepts_connections(ingest));
  CHECK(accepts_connections(api));

  auto status = sock.expect([](const NotifyMessage& m) { return m.value("STATUS").has_value(); });
  REQUIRE(status);
  CHECK_FALSE(status->value("STATUS")->empty());

  // WATCHDOG=1 keeps coming, at least twice per WATCHDOG_USEC.
  auto first = sock.expect_line("WATCHDOG=1");
  REQUIRE(first);
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 4; ++i) REQUIRE(sock.expect_line("WATCHDOG=1", milliseconds(5000)));
  CHECK(std::chrono::steady_clock::now() - t0 < milliseconds(4 * 400));

  SECTION("SIGHUP with a good configuration: RELOADING=1 with MONOTONIC_USEC, then READY=1") {
    uint64_t before = monotonic_usec();
    daemon.signal(SIGHUP);
    auto reloading = sock.expect_line("RELOADING=1");
    REQUIRE(reloading);
    auto usec = reloading->value("MONOTONIC_USEC");
    REQUIRE(usec);
    CHECK(std::stoull(*usec) >= before);
    CHECK(std::stoull(*usec) <= monotonic_usec());
    CHECK(reloading->pid == daemon.pid());
    REQUIRE(sock.expect_line("READY=1"));
    CHECK(daemon.running());
  }

  SECTION("SIGHUP with a bad configuration keeps the daemon running") {
    d.write_config("[ingest]\nendpoint = 7400\n");
    daemon.signal(SIGHUP);
    REQUIRE(sock.expect_line("RELOADING=1"));
    REQUIRE(sock.expect_line("READY=1"));
    // Still alive and still served: the watchdog keeps coming and the sockets still answer.
    REQUIRE(sock.expect_line("WATCHDOG=1", milliseconds(5000)));
    CHECK(daemon.running());
    CHECK(accepts_connections(api));
    // A file that does not parse at all is refused the same way.
    d.write_config("[daemon\n");
    daemon.signal(SIGHUP);
    REQUIRE(sock.expect_line("RELOADING=1"));
    REQUIRE(sock.expect_line("READY=1"));
    REQUIRE(sock.expect_line("WATCHDOG=1", milliseconds(5000)));
    CHECK(daemon.running());
  }

  // SIGTERM: STOPPING=1, then a clean exit.
  daemon.signal(SIGTERM);
  auto stopping = sock.expect_line("STOPPING=1");
  REQUIRE(stopping);
  CHECK(stopping->pid == daemon.pid());
  auto code = daemon.wait_exit();
  REQUIRE(code);
  CHECK(*code == 0);
}

TEST_CASE("gongshud without NOTIFY_SOCKET runs and stops on SIGTERM and SIGINT") {
  for (int sig : {SIGTERM, SIGINT}) {
    DaemonDir d;
    Child daemon({binary_path("bin/gongshud"), "run", "--config", d.config()}, {}, kForeign,
                 d.log());
    PrintLogOnFailure print(d.log());
    REQUIRE(gongshu::testing::wait_until(
        [&] { return port_of(read_text(d.state() + "/daemon.info"), "api") > 0; }));
    CHECK(daemon.running());
    daemon.signal(sig);
    auto code = daemon.wait_exit();
    REQUIRE(code);
    CHECK(*code == 0);
  }
}

TEST_CASE("gongshud that cannot start never says READY=1") {
  DaemonDir d;
  NotifySocket sock(d.dir.file("notify"));
  SECTION("a store that cannot be opened exits 1") {
    d.write_config("[daemon]\nstate_dir = \"" + d.dir.file("missing") + "\"\n");
    Child daemon({binary_path("bin/gongshud"), "run", "--config", d.config()},
                 {{"NOTIFY_SOCKET", sock.path()}}, kForeign, d.log());
    auto code = daemon.wait_exit();
    REQUIRE(code);
    CHECK(*code == 1);
  }
  SECTION("a bad configuration exits 2") {
    d.write_config("[daemon]\nstate_dir = 3\n");
    Child daemon({binary_path("bin/gongshud"), "run", "--config", d.config()},
                 {{"NOTIFY_SOCKET", sock.path()}}, kForeign, d.log());
    auto code = daemon.wait_exit();
    REQUIRE(code);
    CHECK(*code == 2);
  }
  CHECK_FALSE(sock.expect_line("READY=1", milliseconds(200)));
  for (const auto& m : sock.skipped()) CHECK_FALSE(m.has("READY=1"));
}

}  // namespace
}  // namespace gongshu::sys
