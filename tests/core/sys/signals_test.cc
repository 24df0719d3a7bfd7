#include "core/sys/signals.h"

#include <pthread.h>

#include <catch2/catch.hpp>
#include <thread>

namespace gongshu::sys {
namespace {

using std::chrono::milliseconds;

// SIGUSR1/SIGUSR2 stand in for the service signals, which would disturb the test runner.
TEST_CASE("SignalSet takes blocked signals synchronously, with a timeout") {
  auto set = SignalSet::block({SIGUSR1, SIGUSR2});
  CHECK(set.contains(SIGUSR1));
  CHECK_FALSE(set.contains(SIGTERM));

  auto start = std::chrono::steady_clock::now();
  CHECK_FALSE(set.wait(milliseconds(50)));
  CHECK(std::chrono::steady_clock::now() - start >= milliseconds(50));

  ::raise(SIGUSR2);  // blocked: stays pending instead of killing the process
  auto sig = set.wait(milliseconds(5000));
  REQUIRE(sig);
  CHECK(*sig == SIGUSR2);
  CHECK_FALSE(set.wait(milliseconds(0)));
}

TEST_CASE("threads started after block() inherit the mask") {
  auto set = SignalSet::block({SIGUSR1});
  sigset_t seen;
  sigemptyset(&seen);
  std::thread t([&] { pthread_sigmask(SIG_BLOCK, nullptr, &seen); });
  t.join();
  CHECK(sigismember(&seen, SIGUSR1) == 1);
  // A signal sent to the process while every thread blocks it waits for wait().
  ::kill(::getpid(), SIGUSR1);
  auto sig = set.wait(milliseconds(5000));
  REQUIRE(sig);
  CHECK(*sig == SIGUSR1);
}

}  // namespace
}  // namespace gongshu::sys
