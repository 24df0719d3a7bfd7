// core/cluster/timing.h with a fake monotonic clock: the step-down arithmetic and the candidate
// delay.
#include "core/cluster/timing.h"

#include <catch2/catch.hpp>

namespace gongshu::cluster {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST_CASE("timing: may_acknowledge until t0 + ttl - margin, t0 the send instant", "[cluster]") {
  FakeMonoClock clock;
  LeaseTimer timer(LeaseTiming{seconds(5), milliseconds(1000)});
  CHECK_FALSE(timer.held());
  CHECK_FALSE(timer.may_acknowledge(clock.now()));
  CHECK_FALSE(timer.ack_deadline());

  const MonoTime t0 = clock.now();
  clock.advance(milliseconds(700));  // the reply took 700 ms: t0 is still the send instant
  timer.succeeded(t0, seconds(5));
  REQUIRE(timer.ack_deadline());
  CHECK(*timer.ack_deadline() == t0 + milliseconds(4000));
  CHECK(timer.may_acknowledge(t0 + milliseconds(3999)));
  CHECK_FALSE(timer.may_acknowledge(t0 + milliseconds(4000)));  // the deadline itself: no
  CHECK_FALSE(timer.may_acknowledge(t0 + seconds(60)));

  // A later renewal moves the bound; an answer to an older request never moves it back.
  const MonoTime t1 = t0 + milliseconds(1000);
  timer.succeeded(t1, seconds(5));
  CHECK(*timer.ack_deadline() == t1 + milliseconds(4000));
  timer.succeeded(t0 + milliseconds(500), seconds(5));
  CHECK(*timer.ack_deadline() == t1 + milliseconds(4000));

  // etcd reporting a shorter TTL than configured counts; a longer one does not.
  const MonoTime t2 = t1 + milliseconds(1000);
  timer.succeeded(t2, seconds(3));
  CHECK(*timer.ack_deadline() == t2 + milliseconds(2000));
  const MonoTime t3 = t2 + milliseconds(1000);
  timer.succeeded(t3, seconds(60));
  CHECK(*timer.ack_deadline() == t3 + milliseconds(4000));

  timer.lost();
  CHECK_FALSE(timer.held());
  CHECK_FALSE(timer.may_acknowledge(t3));
}

TEST_CASE("timing: a renewal is due every ttl/5 after the last attempt", "[cluster]") {
  FakeMonoClock clock;
  LeaseTimer timer(LeaseTiming{seconds(5), milliseconds(1000)});
  CHECK(timer.timing().renew_interval() == milliseconds(1000));
  CHECK(timer.renew_due(clock.now()));  // never attempted
  timer.attempted(clock.now());
  CHECK_FALSE(timer.renew_due(clock.now()));
  clock.advance(milliseconds(999));
  CHECK_FALSE(timer.renew_due(clock.now()));
  clock.advance(milliseconds(1));
  CHECK(timer.renew_due(clock.now()));

  LeaseTiming explicit_every{seconds(3), milliseconds(1000), milliseconds(400)};
  CHECK(explicit_every.renew_interval() == milliseconds(400));
}

TEST_CASE("timing: settings that cannot hold a lease are refused", "[cluster]") {
  CHECK(LeaseTiming{}.check());
  CHECK(LeaseTiming{seconds(3), milliseconds(1000)}.check());
  CHECK_FALSE(LeaseTiming{seconds(0), milliseconds(1)}.check());
  CHECK_FALSE(LeaseTiming{seconds(5), milliseconds(0)}.check());
  CHECK_FALSE(LeaseTiming{seconds(5), milliseconds(5000)}.check());
  // Renewing every 2.5 s leaves one renewal in 4 s: one lost keepalive would end leadership.
  auto r = LeaseTiming{seconds(5), milliseconds(1000), milliseconds(2500)}.check();
  REQUIRE_FALSE(r);
  CHECK(r.error().message().find("two renewals") != std::string::npos);
}

TEST_CASE("timing: the candidate delay grows with how far behind, to a cap", "[cluster]") {
  const CandidatePolicy p{milliseconds(500), std::chrono::microseconds(1000), milliseconds(5000)};
  CHECK(candidate_delay(0, p) == milliseconds(0));
  CHECK(candidate_delay(1, p) == milliseconds(501));
  CHECK(candidate_delay(100, p) == milliseconds(600));
  CHECK(candidate_delay(4500, p) == milliseconds(5000));
  CHECK(candidate_delay(4499, p) == milliseconds(4999));
  CHECK(candidate_delay(1'000'000, p) == milliseconds(5000));
  CHECK(candidate_delay(UINT64_MAX, p) == milliseconds(5000));  // no overflow
  // Monotone: further behind never stands sooner.
  milliseconds last{0};
  for (uint64_t b : {0ull, 1ull, 2ull, 10ull, 999ull, 1000ull, 4000ull, 10'000ull}) {
    CHECK(candidate_delay(b, p) >= last);
    last = candidate_delay(b, p);
  }
  const CandidatePolicy flat{milliseconds(300), std::chrono::microseconds(0), milliseconds(5000)};
  CHECK(candidate_delay(1'000'000, flat) == milliseconds(300));
}

}  // namespace
}  // namespace gongshu::cluster
