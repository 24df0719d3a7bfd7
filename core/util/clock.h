// Clock: the one source of wall time for code that must be testable. Production code takes a
// Clock& (usually SystemClock::instance()); tests pass a FakeClock they advance by hand.
// Both are safe to call from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

namespace gongshu {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall time, nanoseconds since the Unix epoch (UTC).
  virtual int64_t now_ns() const = 0;
  int64_t now_ms() const { return now_ns() / 1'000'000; }
  int64_t now_s() const { return now_ns() / 1'000'000'000; }
};

class SystemClock final : public Clock {
 public:
  static const SystemClock& instance();
  int64_t now_ns() const override;
};

class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t start_ns) : ns_(start_ns) {}
  int64_t now_ns() const override { return ns_.load(std::memory_order_relaxed); }
  void set_ns(int64_t ns) { ns_.store(ns, std::memory_order_relaxed); }
  void advance(std::chrono::nanoseconds d) { ns_.fetch_add(d.count(), std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> ns_;
};

// Civil date (proleptic Gregorian) of a day count since 1970-01-01, and back. Used to check
// birth dates in citizen IDs and to print times without locale or time-zone state.
struct CivilDate {
  int year;
  unsigned month;  // 1..12
  unsigned day;    // 1..31
  bool operator==(const CivilDate&) const = default;
};
int64_t days_from_civil(CivilDate d);
CivilDate civil_from_days(int64_t days);
bool is_valid_civil_date(int year, unsigned month, unsigned day);

// "2026-11-27T03:02:30Z" (UTC, second precision).
std::string format_utc(int64_t unix_ns);

}  // namespace gongshu
