// core/util/failpoint.h: a failpoint is on only when GONGSHU_FAILPOINTS names it exactly (the
// crash itself is driven through gongshud in tests/daemon/alerts_test.cc).
#include "core/util/failpoint.h"

#include <catch2/catch.hpp>
#include <cstdlib>

namespace gongshu {

TEST_CASE("failpoints are off unless GONGSHU_FAILPOINTS names them exactly") {
  ::unsetenv("GONGSHU_FAILPOINTS");
  CHECK_FALSE(failpoint_enabled("alert_before_announce"));
  ::setenv("GONGSHU_FAILPOINTS", "x,alert_before_announce,y", 1);
  CHECK(failpoint_enabled("alert_before_announce"));
  CHECK(failpoint_enabled("x"));
  CHECK(failpoint_enabled("y"));
  CHECK_FALSE(failpoint_enabled("alert"));
  CHECK_FALSE(failpoint_enabled("alert_before_announce_"));
  CHECK_FALSE(failpoint_enabled(""));
  ::setenv("GONGSHU_FAILPOINTS", "", 1);
  CHECK_FALSE(failpoint_enabled("x"));
  ::unsetenv("GONGSHU_FAILPOINTS");
}

}  // namespace gongshu
