// LogLimiter: keeps a repeated message from flooding the journal. journald drops a service's
// messages once it passes its rate limit (by default 10,000 in 30 s), and what it drops are the
// daemon's real messages as much as the repeated one; so a source that can repeat — protobuf's
// parser on hostile input, one complaint per record — goes through a LogLimiter, which passes at
// most `per_minute` messages a minute for each kind and then one line saying how many of that
// kind it held back.
//
// Thread-safe: log() may be called from any thread. The Logger must outlive it.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "core/sys/logger.h"

namespace gongshu::sys {

class LogLimiter {
 public:
  explicit LogLimiter(const Logger& log, unsigned per_minute = 10)
      : log_(log), per_minute_(per_minute) {}

  // Logs message at level unless `kind` has had per_minute messages in its current minute; a
  // held-back message is counted, and the first message of kind's next minute is preceded by
  // "N messages of kind were held back". now: the caller's clock (tests inject it).
  void log(Level level, std::string_view kind, std::string_view message,
           std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());

  // Messages held back so far, over every kind (for tests and status).
  uint64_t held_back() const;

 private:
  struct Window {
    std::chrono::steady_clock::time_point start;
    unsigned passed = 0;
    uint64_t held = 0;
  };
  const Logger& log_;
  unsigned per_minute_;
  mutable std::mutex mu_;
  std::map<std::string, Window, std::less<>> kinds_;
  uint64_t held_total_ = 0;
};

}  // namespace gongshu::sys
