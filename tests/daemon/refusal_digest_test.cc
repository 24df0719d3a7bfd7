#include "daemon/refusal_digest.h"

#include <catch2/catch.hpp>

namespace gongshu::daemon {
namespace {

TEST_CASE("a flood of refusals from one key: a few audited, the rest summarised once a window") {
  RefusalDigest d(60'000, 3);
  int64_t t = 1'000'000;
  int audited = 0;
  for (int i = 0; i < 10'000; ++i) audited += d.note("k1", "BATCH_MALFORMED", t + i) ? 1 : 0;
  CHECK(audited == 3);
  CHECK(d.due(t + 30'000).empty());  // the window has not passed
  auto s = d.due(t + 60'000);
  REQUIRE(s.size() == 1);
  CHECK(s[0].key == "k1");
  CHECK(s[0].total == 9'997);
  CHECK(s[0].by_kind.at("BATCH_MALFORMED") == 9'997);
  CHECK(RefusalDigest::describe(s[0]).find("BATCH_MALFORMED 9997") != std::string::npos);

  SECTION("a key still flooding gets only a summary a window, no new individual entries") {
    int more = 0;
    for (int i = 0; i < 1000; ++i) more += d.note("k1", "duplicate", t + 61'000 + i) ? 1 : 0;
    d.note("k1", "throttled", t + 62'000, 500);
    CHECK(more == 0);
    auto next = d.due(t + 121'000);
    REQUIRE(next.size() == 1);
    CHECK(next[0].total == 1'500);
    CHECK(next[0].by_kind.at("throttled") == 500);
  }
  SECTION("a key that went quiet is audited one by one again later") {
    CHECK(d.due(t + 200'000).empty());
    CHECK(d.note("k1", "BATCH_MALFORMED", t + 200'000));
  }
}

TEST_CASE("keys are counted apart") {
  RefusalDigest d(60'000, 1);
  CHECK(d.note("a", "x", 0));
  CHECK(d.note("b", "x", 0));
  CHECK_FALSE(d.note("a", "x", 1));
  CHECK(d.any_due(60'000));
  auto s = d.due(60'000);
  REQUIRE(s.size() == 1);
  CHECK(s[0].key == "a");
}

TEST_CASE("counts given at once are never audited one by one") {
  RefusalDigest d(60'000, 3);
  CHECK_FALSE(d.note("a", "throttled", 0, 40));
  CHECK(d.due(60'000).at(0).total == 40);
}

}  // namespace
}  // namespace gongshu::daemon
