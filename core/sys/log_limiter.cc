#include "core/sys/log_limiter.h"

namespace gongshu::sys {

void LogLimiter::log(Level level, std::string_view kind, std::string_view message,
                     std::chrono::steady_clock::time_point now) {
  uint64_t held = 0;
  {
    std::lock_guard lock(mu_);
    auto it = kinds_.find(kind);
    if (it == kinds_.end()) it = kinds_.emplace(std::string(kind), Window{now, 0, 0}).first;
    Window& w = it->second;
    if (now - w.start >= std::chrono::minutes(1)) {
      held = w.held;
      w = Window{now, 0, 0};
    }
    if (w.passed >= per_minute_) {
      ++w.held;
      ++held_total_;
      return;
    }
    ++w.passed;
  }
  if (held > 0) {
    log_.log(Level::kWarning, std::to_string(held) + " messages of kind '" + std::string(kind) +
                                  "' were held back in the last minute (at most " +
                                  std::to_string(per_minute_) + " a minute are logged)");
  }
  log_.log(level, message);
}

uint64_t LogLimiter::held_back() const {
  std::lock_guard lock(mu_);
  return held_total_;
}

}  // namespace gongshu::sys
