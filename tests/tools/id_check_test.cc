// gongshuctl id check, driven through the real binary.
#include <catch2/catch.hpp>

#include <string>

#include "tests/support/test_support.h"

namespace gongshu::ctl {
namespace {

using testing::run_process;

const std::string kCtl = testing::binary_path("bin/gongshuctl");

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST_CASE("id check: valid values exit 0 and show their details") {
  auto r = run_process(
      {kCtl, "id", "check", "11010519491231002x", "110105491231002", "91350100M000100Y56"});
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());
  CHECK(contains(r.out, "11010519491231002X  valid  citizen_id\n"));
  CHECK(contains(r.out, "110105"));
  CHECK(contains(r.out, "1949-12-31"));
  CHECK(contains(r.out, "female"));
  CHECK(contains(r.out, "from a 15-digit first-generation number"));
  CHECK(contains(r.out, "91350100M000100Y56  valid  credit_code\n"));
  CHECK(contains(r.out, "fails its GB 11714 check: check character should be 4, found 5"));
}

TEST_CASE("id check: any invalid value exits 1 with its reason") {
  auto r = run_process({kCtl, "id", "check", "11010519491231002X", "110105194912310021",
                        "11010519491231002", "110105299912310012"});
  CHECK(r.exit_code == 1);
  CHECK(contains(r.out, "11010519491231002X  valid  citizen_id\n"));
  CHECK(contains(r.out, "110105194912310021  INVALID  citizen_id\n"));
  CHECK(contains(r.out, "check character should be X, found 1"));
  CHECK(contains(r.out, "wrong length 17"));
  CHECK(contains(r.out, "birth date 2999-12-31 is in the future"));
}

TEST_CASE("id check: hostile bytes are escaped, not echoed") {
  auto r = run_process({kCtl, "id", "check", "12\x1b[31m\xff"});
  CHECK(r.exit_code == 1);
  CHECK(contains(r.out, "invalid UTF-8 at byte 8"));
  CHECK(contains(r.out, "12\\x1b[31m\\xff  INVALID  unknown\n"));
  CHECK_FALSE(contains(r.out, "\x1b"));
}

TEST_CASE("id check --json") {
  auto r = run_process(
      {kCtl, "id", "check", "--json", "11010519491231002X", "91350100M000100Y44", "\xff"});
  CHECK(r.exit_code == 1);
  CHECK(r.out ==
        "[{\"kind\":\"citizen_id\",\"valid\":true,\"normalized\":\"11010519491231002X\","
        "\"region_code\":\"110105\",\"birth_date\":\"1949-12-31\",\"sex\":\"female\","
        "\"converted_from_15\":false,\"warnings\":[]},"
        "{\"kind\":\"credit_code\",\"valid\":false,\"normalized\":\"91350100M000100Y44\","
        "\"reason\":\"check character should be 3, found 4\",\"warnings\":[]},"
        "{\"kind\":\"unknown\",\"valid\":false,\"normalized\":null,"
        "\"reason\":\"invalid UTF-8 at byte 1\",\"warnings\":[]}]\n");

  auto ok = run_process({kCtl, "id", "check", "91350100M000100Y43", "--json"});
  CHECK(ok.exit_code == 0);
  CHECK(ok.out ==
        "[{\"kind\":\"credit_code\",\"valid\":true,\"normalized\":\"91350100M000100Y43\","
        "\"warnings\":[]}]\n");
}

TEST_CASE("id usage errors exit 2 and --help explains") {
  CHECK(run_process({kCtl, "id", "check"}).exit_code == 2);
  CHECK(run_process({kCtl, "id", "check", "--json"}).exit_code == 2);
  CHECK(run_process({kCtl, "id"}).exit_code == 2);
  CHECK(run_process({kCtl, "id", "frobnicate", "1"}).exit_code == 2);
  auto help = run_process({kCtl, "id", "check", "--help"});
  CHECK(help.exit_code == 0);
  CHECK(contains(help.out, "GB 11643"));
  CHECK(contains(help.out, "--json"));
}

}  // namespace
}  // namespace gongshu::ctl
