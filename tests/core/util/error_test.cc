#include "core/util/error.h"

#include <memory>
#include <type_traits>

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

// Result is a tl::expected that cannot be ignored (a discarded one does not compile; ctest
// result_nodiscard holds that). Everything else behaves as tl::expected does.
TEST_CASE("Result converts and chains like the tl::expected it is") {
  // From a tl::expected (what map() returns), and to a Result of a wider type.
  Result<int> mapped = parse_positive(2).map([](int v) { return v + 1; });
  REQUIRE(mapped);
  CHECK(*mapped == 3);
  Result<long> widened = parse_positive(5);
  CHECK(*widened == 5L);
  // and_then() over a callable returning a Result stays a Result, errors included.
  auto chained = parse_positive(3).and_then([](int v) { return doubled(v); });
  static_assert(std::is_same_v<decltype(chained), Result<int>>);
  CHECK(*chained == 6);
  auto stopped = check_all(1, -1).and_then([] { return check_all(1, 1); });
  static_assert(std::is_same_v<decltype(stopped), Status>);
  REQUIRE(!stopped);
  CHECK(stopped.error().message() == "value -1 is not positive");
  // Assigned from a value, an error or another Result.
  Result<int> r = 1;
  r = fail(ErrorCode::kNotFound, "gone");
  CHECK(r.error().code() == ErrorCode::kNotFound);
  r = 7;
  CHECK(*r == 7);
  const tl::expected<int, Error>& base = r;
  CHECK(*base == 7);
  // Move-only values.
  Result<std::unique_ptr<int>> owned = std::make_unique<int>(4);
  Result<std::unique_ptr<int>> moved = std::move(owned);
  CHECK(**moved == 4);
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
