#include "core/sys/notifier.h"

#include <unistd.h>

#include <catch2/catch.hpp>

#include "tests/core/sys/notify_socket.h"
#include "tests/support/test_support.h"

namespace gongshu::sys {
namespace {

using std::chrono::milliseconds;
using testing::NotifySocket;
using testing::ScopedEnv;

TEST_CASE("Notifier sends each state as one datagram from this process") {
  gongshu::testing::TempDir dir;
  NotifySocket sock(dir.file("notify"));
  ScopedEnv socket_env("NOTIFY_SOCKET", sock.path());
  ScopedEnv usec("WATCHDOG_USEC", std::nullopt);
  Notifier n = Notifier::from_environment();
  REQUIRE(n.enabled());
  CHECK_FALSE(n.watchdog_interval());

  REQUIRE(n.ready());
  auto m = sock.receive(milliseconds(5000));
  REQUIRE(m);
  CHECK(m->text == "READY=1");
  CHECK(m->pid == ::getpid());

  REQUIRE(n.status("serving; 3 batches\nsecond line"));
  m = sock.receive(milliseconds(5000));
  REQUIRE(m);
  CHECK(m->text == "STATUS=serving; 3 batches second line");  // one line, always

  REQUIRE(n.watchdog());
  m = sock.receive(milliseconds(5000));
  REQUIRE(m);
  CHECK(m->text == "WATCHDOG=1");

  uint64_t before = monotonic_usec();
  REQUIRE(n.reloading());
  uint64_t after = monotonic_usec();
  m = sock.receive(milliseconds(5000));
  REQUIRE(m);
  CHECK(m->has("RELOADING=1"));
  auto usec_value = m->value("MONOTONIC_USEC");
  REQUIRE(usec_value);
  uint64_t sent = std::stoull(*usec_value);
  CHECK(sent >= before);
  CHECK(sent <= after);

  REQUIRE(n.stopping());
  m = sock.receive(milliseconds(5000));
  REQUIRE(m);
  CHECK(m->text == "STOPPING=1");
}

TEST_CASE("Notifier is a successful no-op without NOTIFY_SOCKET") {
  ScopedEnv socket_env("NOTIFY_SOCKET", std::nullopt);
  ScopedEnv usec("WATCHDOG_USEC", "100000");
  Notifier n = Notifier::from_environment();
  CHECK_FALSE(n.enabled());
  CHECK_FALSE(n.watchdog_interval());
  CHECK(n.ready());
  CHECK(n.status("x"));
  CHECK(n.watchdog());
  CHECK(n.reloading());
  CHECK(n.stopping());
}

TEST_CASE("Notifier reports a socket that went away") {
  gongshu::testing::TempDir dir;
  ScopedEnv socket_env("NOTIFY_SOCKET", dir.file("nobody-listens"));
  Notifier n = Notifier::from_environment();
  REQUIRE(n.enabled());
  auto s = n.ready();
  REQUIRE_FALSE(s);
  CHECK(s.error().message().find("sd_notify") != std::string::npos);
}

TEST_CASE("Notifier takes the watchdog interval from WATCHDOG_USEC for this pid only") {
  gongshu::testing::TempDir dir;
  NotifySocket sock(dir.file("notify"));
  ScopedEnv socket_env("NOTIFY_SOCKET", sock.path());
  ScopedEnv usec("WATCHDOG_USEC", "300000");
  SECTION("no WATCHDOG_PID: meant for whoever reads it") {
    ScopedEnv pid("WATCHDOG_PID", std::nullopt);
    Notifier n = Notifier::from_environment();
    REQUIRE(n.watchdog_interval());
    CHECK(n.watchdog_interval()->count() == 300000);
    REQUIRE(n.watchdog_ping_period());
    CHECK(n.watchdog_ping_period()->count() == 150);
  }
  SECTION("WATCHDOG_PID names this process") {
    ScopedEnv pid("WATCHDOG_PID", std::to_string(::getpid()));
    CHECK(Notifier::from_environment().watchdog_interval());
  }
  SECTION("WATCHDOG_PID names another process") {
    ScopedEnv pid("WATCHDOG_PID", std::to_string(::getppid()));
    CHECK_FALSE(Notifier::from_environment().watchdog_interval());
  }
  SECTION("a malformed WATCHDOG_USEC is no watchdog") {
    ScopedEnv pid("WATCHDOG_PID", std::nullopt);
    ScopedEnv bad("WATCHDOG_USEC", "soon");
    CHECK_FALSE(Notifier::from_environment().watchdog_interval());
  }
}

}  // namespace
}  // namespace gongshu::sys
