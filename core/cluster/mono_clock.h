// MonoClock: the monotonic time the leadership logic reasons with (core/cluster/leadership.h).
// Step-down safety is arithmetic on the instants a keepalive was sent, so it must never use wall
// time (which NTP may step). Production code passes SteadyMonoClock::instance(); unit tests pass
// a FakeMonoClock they move by hand. Both are safe to call from any thread.
#pragma once

#include <atomic>
#include <chrono>

namespace gongshu::cluster {

using MonoTime = std::chrono::steady_clock::time_point;

class MonoClock {
 public:
  virtual ~MonoClock() = default;
  virtual MonoTime now() const = 0;
};

class SteadyMonoClock final : public MonoClock {
 public:
  static const SteadyMonoClock& instance();
  MonoTime now() const override { return std::chrono::steady_clock::now(); }
};

// Starts at the steady clock's epoch plus start; moves only when told.
class FakeMonoClock final : public MonoClock {
 public:
  explicit FakeMonoClock(std::chrono::nanoseconds start = std::chrono::hours(1))
      : ns_(start.count()) {}
  MonoTime now() const override {
    return MonoTime(std::chrono::nanoseconds(ns_.load(std::memory_order_relaxed)));
  }
  void advance(std::chrono::nanoseconds d) { ns_.fetch_add(d.count(), std::memory_order_relaxed); }
  void set(MonoTime t) { ns_.store(t.time_since_epoch().count(), std::memory_order_relaxed); }

 private:
  std::atomic<std::chrono::nanoseconds::rep> ns_;
};

}  // namespace gongshu::cluster
