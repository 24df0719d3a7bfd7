#include "core/sys/signals.h"

#include <pthread.h>
#include <time.h>

#include <cerrno>

#include "core/util/check.h"

namespace gongshu::sys {

SignalSet SignalSet::block(std::initializer_list<int> signals) {
  sigset_t set;
  sigemptyset(&set);
  for (int s : signals) GONGSHU_CHECK(sigaddset(&set, s) == 0);
  // Fails only for an invalid `how`; a broken invariant.
  GONGSHU_CHECK(pthread_sigmask(SIG_BLOCK, &set, nullptr) == 0);
  return SignalSet(set);
}

SignalSet SignalSet::block_service_signals() { return block({SIGTERM, SIGINT, SIGHUP}); }

std::optional<int> SignalSet::wait(std::chrono::milliseconds timeout) const {
  if (timeout.count() < 0) timeout = std::chrono::milliseconds(0);
  timespec ts{};
  ts.tv_sec = time_t(timeout.count() / 1000);
  ts.tv_nsec = long(timeout.count() % 1000) * 1'000'000L;
  int sig = ::sigtimedwait(&set_, nullptr, &ts);
  if (sig > 0) return sig;
  // EAGAIN: the timeout passed; EINTR: another signal's handler ran. Both are "nothing yet".
  GONGSHU_CHECK(errno == EAGAIN || errno == EINTR);
  return std::nullopt;
}

void ignore_sigpipe() {
  struct sigaction sa {};
  sa.sa_handler = SIG_IGN;
  sigemptyset(&sa.sa_mask);
  GONGSHU_CHECK(::sigaction(SIGPIPE, &sa, nullptr) == 0);
}

}  // namespace gongshu::sys
