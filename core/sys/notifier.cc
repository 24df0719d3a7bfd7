#include "core/sys/notifier.h"

#include <systemd/sd-daemon.h>
#include <time.h>

#include <algorithm>
#include <cstdlib>
#include <string>

namespace gongshu::sys {

Notifier Notifier::from_environment() {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  bool enabled = socket != nullptr && *socket != '\0';
  std::optional<std::chrono::microseconds> watchdog;
  uint64_t usec = 0;
  // > 0 only when WATCHDOG_USEC is valid and WATCHDOG_PID (if set) names this process.
  if (enabled && sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
    watchdog = std::chrono::microseconds(usec);
  }
  return Notifier(enabled, watchdog);
}

std::optional<std::chrono::milliseconds> Notifier::watchdog_ping_period() const {
  if (!watchdog_) return std::nullopt;
  auto half = std::chrono::duration_cast<std::chrono::milliseconds>(*watchdog_ / 2);
  return std::max(half, std::chrono::milliseconds(1));
}

Status Notifier::send(std::string_view state) const {
  if (!enabled_) return {};
  std::string text(state);
  int r = sd_notify(0, text.c_str());
  if (r < 0) return fail_errno("sd_notify", -r);
  return {};
}

Status Notifier::ready() const { return send("READY=1"); }

Status Notifier::status(std::string_view text) const {
  std::string s = "STATUS=";
  for (char c : text) s.push_back(c == '\n' || c == '\r' ? ' ' : c);
  return send(s);
}

Status Notifier::reloading() const {
  return send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(monotonic_usec()));
}

Status Notifier::stopping() const { return send("STOPPING=1"); }

Status Notifier::watchdog() const { return send("WATCHDOG=1"); }

uint64_t monotonic_usec() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1'000'000u + uint64_t(ts.tv_nsec) / 1'000u;
}

}  // namespace gongshu::sys
