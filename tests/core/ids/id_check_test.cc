#include "core/ids/id_check.h"

#include <catch2/catch.hpp>

#include <random>
#include <string>

#include "core/util/clock.h"
#include "tests/core/ids/reference.h"

namespace gongshu::ids {
namespace {

using testing::utc_ns;

bool printable_ascii(std::string_view s) {
  for (char c : s) {
    if (c < 0x20 || c > 0x7E) return false;
  }
  return true;
}

TEST_CASE("names", "[ids]") {
  CHECK(id_kind_name(IdKind::kUnknown) == "unknown");
  CHECK(id_kind_name(IdKind::kCitizenId) == "citizen_id");
  CHECK(id_kind_name(IdKind::kCreditCode) == "credit_code");
  CHECK(sex_name(Sex::kMale) == "male");
  CHECK(sex_name(Sex::kFemale) == "female");
}

TEST_CASE("check_identifier picks the kind from the shape", "[ids]") {
  const FakeClock clock(utc_ns({2026, 1, 15}));
  struct Case {
    std::string input;
    IdKind kind;
    bool valid;
    std::string normalized;
    std::string reason;
  };
  const std::string len =
      ", expected 18 (citizen ID or credit code) or 15 (first-generation citizen ID)";
  const Case cases[] = {
      {"11010519491231002X", IdKind::kCitizenId, true, "11010519491231002X", ""},
      {" 11010519491231002x ", IdKind::kCitizenId, true, "11010519491231002X", ""},
      {"110105491231002", IdKind::kCitizenId, true, "11010519491231002X", ""},
      {"91350100M000100Y43", IdKind::kCreditCode, true, "91350100M000100Y43", ""},
      {"91350100m000100y43", IdKind::kCreditCode, true, "91350100M000100Y43", ""},
      // Valid both ways (check 3 under both schemes): the citizen ID wins.
      {"110105199001010563", IdKind::kCitizenId, true, "110105199001010563", ""},
      // A citizen-ID shape that fails as one (check should be X) but is a valid credit code.
      {"110105199001030020", IdKind::kCreditCode, true, "110105199001030020", ""},
      {"110000000000000022", IdKind::kCreditCode, true, "110000000000000022", ""},
      // Citizen-ID shape, valid as neither: the citizen ID reason is reported.
      {"110105194912310021", IdKind::kCitizenId, false, "110105194912310021",
       "check character should be X, found 1"},
      {"110105203101010017", IdKind::kCitizenId, false, "110105203101010017",
       "birth date 2031-01-01 is in the future"},
      {"91350100M000100Y44", IdKind::kCreditCode, false, "91350100M000100Y44",
       "check character should be 3, found 4"},
      {"91350100I000100Y43", IdKind::kCreditCode, false, "91350100I000100Y43",
       "bad character 'I' at position 9"},
      {"11010519491231002Q", IdKind::kCreditCode, false, "11010519491231002Q",
       "check character should be B, found Q"},
      {"11010549123100X", IdKind::kCitizenId, false, "11010549123100X",
       "bad character 'X' at position 15"},
      {"11010519491231002", IdKind::kUnknown, false, "11010519491231002", "wrong length 17" + len},
      {"abc", IdKind::kUnknown, false, "ABC", "wrong length 3" + len},
      {"", IdKind::kUnknown, false, "", "empty identifier"},
      {"\xE3\x80\x80", IdKind::kUnknown, false, "", "empty identifier"},
      {"1101051949123\x80"
       "1002X",
       IdKind::kUnknown, false, "", "invalid UTF-8 at byte 14"},
      {std::string(10000, '9'), IdKind::kUnknown, false, "",
       "too long: 10000 bytes after trimming, at most 64"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.input);
    const IdCheck r = check_identifier(c.input, clock);
    CHECK(r.kind == c.kind);
    CHECK(r.valid == c.valid);
    CHECK(r.normalized == c.normalized);
    CHECK(r.reason == c.reason);
    CHECK(r.citizen.has_value() == (c.valid && c.kind == IdKind::kCitizenId));
  }
}

TEST_CASE("check_identifier reports details and warnings of the kind it chose", "[ids]") {
  const FakeClock clock(utc_ns({2026, 1, 15}));
  const IdCheck citizen = check_identifier("110105491231002", clock);
  REQUIRE(citizen.citizen);
  CHECK(citizen.citizen->region_code == "110105");
  CHECK(citizen.citizen->birth_date == CivilDate{1949, 12, 31});
  CHECK(citizen.citizen->sex == Sex::kFemale);
  CHECK(citizen.citizen->converted_from_15);

  const IdCheck credit = check_identifier("91350100M000100Y56", clock);
  CHECK(credit.valid);
  CHECK(credit.kind == IdKind::kCreditCode);
  CHECK(credit.warnings.size() == 1);
}

TEST_CASE("garbage never crashes and always gets a printable reason", "[ids]") {
  const FakeClock clock(utc_ns({2026, 1, 15}));
  std::mt19937_64 rng(64);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<int> length(0, 100);
  // Pieces that make near-identifiers: digits, letters, full-width forms, spaces, broken UTF-8.
  const std::string pieces[] = {"0",
                                "1",
                                "2",
                                "9",
                                "X",
                                "x",
                                "M",
                                "Y",
                                "I",
                                " ",
                                "\t",
                                "-",
                                "\xE3\x80\x80",
                                "\xEF\xBC\x91",
                                "\xEF\xBD\x98",
                                "\xC3\xA9",
                                "\xE3\x80",
                                "\x80",
                                "\xFF",
                                std::string(1, '\0')};
  std::uniform_int_distribution<size_t> piece(0, std::size(pieces) - 1);
  for (int n = 0; n < 20000; ++n) {
    std::string input;
    const int len = length(rng);
    if (n % 2 == 0) {
      for (int i = 0; i < len; ++i) input.push_back(char(byte(rng)));
    } else {
      for (int i = 0; i < len / 4; ++i) input += pieces[piece(rng)];
    }
    const IdCheck r = check_identifier(input, clock);
    if (r.valid) {
      REQUIRE(r.reason.empty());
      REQUIRE(r.normalized.size() == 18);
      REQUIRE(printable_ascii(r.normalized));
    } else {
      REQUIRE_FALSE(r.reason.empty());
      REQUIRE(printable_ascii(r.reason));
    }
    for (const auto& w : r.warnings) REQUIRE(printable_ascii(w));
  }
}

}  // namespace
}  // namespace gongshu::ids
