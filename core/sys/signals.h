// SignalSet: process signals taken synchronously by one thread, instead of by handlers.
//
// block() blocks the given signals in the calling thread. Threads inherit the mask of the thread
// that creates them, so calling it in main() before any other thread exists blocks the signals
// in every thread of the process; the signals then stay pending until a wait() takes them. This
// is how a daemon's main loop handles SIGTERM, SIGINT and SIGHUP with no async-signal-safety
// concerns, and wakes up regularly (the timeout) to ping the watchdog.
//
// The set is a value; copying it copies the set, not the blocking. Signals stay blocked when it
// is destroyed (unblocking could deliver a pending SIGTERM with its default, fatal action).
// wait() may be called from any thread that has the signals blocked, one at a time.
#pragma once

#include <signal.h>

#include <chrono>
#include <initializer_list>
#include <optional>

namespace gongshu::sys {

class SignalSet {
 public:
  // Blocks signals in the calling thread (see above: call before starting threads).
  static SignalSet block(std::initializer_list<int> signals);
  // SIGTERM, SIGINT and SIGHUP: what a service manager and an operator send a daemon.
  static SignalSet block_service_signals();

  // Takes one pending signal of the set, waiting at most timeout. nullopt when the timeout
  // passed first, or when the wait was interrupted by a signal outside the set.
  std::optional<int> wait(std::chrono::milliseconds timeout) const;

  bool contains(int signal) const { return sigismember(&set_, signal) == 1; }

 private:
  explicit SignalSet(const sigset_t& set) : set_(set) {}
  sigset_t set_;
};

// SIGPIPE's default action kills the process on a write to a closed socket or pipe; daemons
// ignore it and handle EPIPE where it happens.
void ignore_sigpipe();

}  // namespace gongshu::sys
