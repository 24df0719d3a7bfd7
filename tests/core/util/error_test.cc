#include "core/util/error.h"

#include <catch2/catch.hpp>

namespace gongshu {
namespace {

Result<int> parse_positive(int v) {
  if (v <= 0)
    return fail(ErrorCode::kInvalidArgument, "value " + std::to_string(v) + " is not positive");
  return v;
}

Result<int> doubled(int v) {
  GONGSHU_TRY(int x, with_context(parse_positive(v), "doubling"));
  return 2 * x;
}

Status check_all(int a, int b) {
  GONGSHU_RETURN_IF_ERROR(parse_positive(a));
  GONGSHU_RETURN_IF_ERROR(parse_positive(b));
  return {};
}

TEST_CASE("Result carries a value or an error with context") {
  auto ok = doubled(21);
  REQUIRE(ok);
  CHECK(*ok == 42);

  auto bad = doubled(-1);
  REQUIRE(!bad);
  CHECK(bad.error().code() == ErrorCode::kInvalidArgument);
  CHECK(bad.error().message() == "doubling: value -1 is not positive");
}

TEST_CASE("GONGSHU_RETURN_IF_ERROR stops at the first failure") {
  CHECK(check_all(1, 2));
  auto s = check_all(1, 0);
  REQUIRE(!s);
  CHECK(s.error().message() == "value 0 is not positive");
}

TEST_CASE("fail_errno maps errno to a code") {
  CHECK(fail_errno("open x", ENOENT).value().code() == ErrorCode::kNotFound);
  CHECK(fail_errno("open x", EACCES).value().code() == ErrorCode::kPermissionDenied);
  CHECK(fail_errno("open x", EIO).value().code() == ErrorCode::kIo);
  CHECK(fail_errno("open x", ENOENT).value().message().rfind("open x: ", 0) == 0);
  CHECK(error_code_name(ErrorCode::kCorrupt) == "corrupt");
}

}  // namespace
}  // namespace gongshu
