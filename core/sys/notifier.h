// Notifier: the service manager's notify protocol (sd_notify(3)) for a Type=notify service.
//
// The service manager passes NOTIFY_SOCKET (an AF_UNIX datagram socket) and, with WatchdogSec=,
// WATCHDOG_USEC (and WATCHDOG_PID) in the environment. from_environment() reads them once; every
// call then sends one datagram. Without NOTIFY_SOCKET (a daemon started by hand or by a test)
// every call is a successful no-op, so callers never branch on "are we under systemd".
//
// The protocol as gongshu uses it:
//   ready()      READY=1         after start-up finished (store open, sockets bound), and again
//                                after a reload finished (successfully or not)
//   status(s)    STATUS=s        one line for `systemctl status`; newlines are replaced
//   reloading()  RELOADING=1 + MONOTONIC_USEC=<CLOCK_MONOTONIC now>   on SIGHUP, before reloading
//   stopping()   STOPPING=1      on SIGTERM, before draining
//   watchdog()   WATCHDOG=1      at least every watchdog_interval() / 2 from the loop whose
//                                stall must restart the service
//
// Failures to send (the manager went away, the socket is full) are returned, not logged: the
// caller decides. Status text goes to the service manager and the journal: never put secrets
// in it. Thread-safe: every call is a self-contained sendmsg(2) with no state kept here.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

#include "core/util/error.h"

namespace gongshu::sys {

class Notifier {
 public:
  // Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID from the environment. The variables are
  // left in place (gongshu daemons start no children that could misuse them).
  static Notifier from_environment();

  // True when NOTIFY_SOCKET was set: messages go somewhere.
  bool enabled() const { return enabled_; }

  // The watchdog timeout the manager enforces, when the watchdog is on for this process.
  // Ping at least twice per interval (see watchdog_ping_period()).
  std::optional<std::chrono::microseconds> watchdog_interval() const { return watchdog_; }
  // Half the watchdog interval, as sd_watchdog_enabled(3) recommends; nullopt without watchdog.
  std::optional<std::chrono::milliseconds> watchdog_ping_period() const;

  Status ready() const;
  Status status(std::string_view text) const;
  Status reloading() const;
  Status stopping() const;
  Status watchdog() const;

  // Sends an arbitrary state string ("KEY=value\nKEY=value"); the calls above use it.
  Status send(std::string_view state) const;

 private:
  Notifier(bool enabled, std::optional<std::chrono::microseconds> watchdog)
      : enabled_(enabled), watchdog_(watchdog) {}
  bool enabled_;
  std::optional<std::chrono::microseconds> watchdog_;
};

// CLOCK_MONOTONIC now, in microseconds: the MONOTONIC_USEC= value of a reload.
uint64_t monotonic_usec();

}  // namespace gongshu::sys
