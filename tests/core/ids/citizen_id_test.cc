#include "core/ids/citizen_id.h"

#include <catch2/catch.hpp>

#include <cstdio>
#include <iterator>
#include <random>
#include <string>

#include "core/util/clock.h"
#include "tests/core/ids/reference.h"

namespace gongshu::ids {
namespace {

using testing::utc_ns;
using testing::with_citizen_check;

// 08:00 China Standard Time on 2026-01-15.
const int64_t kToday = utc_ns({2026, 1, 15});

TEST_CASE("reference arithmetic agrees with hand-computed examples", "[ids]") {
  // 1 1 0 1 0 5 1 9 4 9 1 2 3 1 0 0 2 times 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2:
  // 7+9+0+5+0+20+2+9+24+27+7+18+30+5+0+0+4 = 167; 167 mod 11 = 2; "10X98765432"[2] = X.
  CHECK(testing::ref_citizen_check("11010519491231002") == 'X');
  CHECK(citizen_id_check_char("11010519491231002") == 'X');
  // 4 4 0 3 0 0 1 9 9 0 0 3 0 7 1 2 3: 28+36+0+15+0+0+2+9+54+0+0+27+0+35+8+8+6 = 228;
  // 228 mod 11 = 8; "10X98765432"[8] = 4.
  CHECK(testing::ref_citizen_check("44030019900307123") == '4');
  CHECK(citizen_id_check_char("44030019900307123") == '4');
}

TEST_CASE("citizen_id_check_char matches the reference and refuses bad bodies", "[ids]") {
  std::mt19937_64 rng(11643);
  std::uniform_int_distribution<int> digit(0, 9);
  for (int n = 0; n < 5000; ++n) {
    std::string body;
    for (int i = 0; i < 17; ++i) body.push_back(char('0' + digit(rng)));
    CAPTURE(body);
    REQUIRE(citizen_id_check_char(body) == testing::ref_citizen_check(body));
  }
  CHECK_FALSE(citizen_id_check_char("1101051949123100"));
  CHECK_FALSE(citizen_id_check_char("110105194912310021"));
  CHECK_FALSE(citizen_id_check_char("1101051949123100X"));
  CHECK_FALSE(citizen_id_check_char(""));
}

TEST_CASE("is_known_province_code", "[ids]") {
  for (const char* code : {"11", "15", "21", "23", "31", "37", "41", "46", "50", "54", "61", "65",
                           "71", "81", "82", "83"}) {
    CAPTURE(code);
    CHECK(is_known_province_code(code));
  }
  for (const char* code : {"00", "10", "16", "20", "24", "30", "38", "40", "47", "49",  "55",
                           "60", "66", "70", "72", "80", "84", "90", "99", "1",  "111", "1A"}) {
    CAPTURE(code);
    CHECK_FALSE(is_known_province_code(code));
  }
}

TEST_CASE("valid citizen IDs", "[ids]") {
  const FakeClock clock(kToday);
  struct Case {
    std::string input;
    std::string normalized;
    CivilDate birth;
    Sex sex;
    bool converted;
  };
  const std::string fw_x = "\xEF\xBD\x98";  // full-width x, U+FF58
  std::string fw_digits;                    // 11010519491231002 in full-width digits
  for (char c : std::string("11010519491231002")) {
    fw_digits += "\xEF\xBC";
    fw_digits.push_back(char(0x90 + (c - '0')));
  }
  const Case cases[] = {
      {"11010519491231002X", "11010519491231002X", {1949, 12, 31}, Sex::kFemale, false},
      {"11010519491231002x", "11010519491231002X", {1949, 12, 31}, Sex::kFemale, false},
      {" \t11010519491231002X\r\n", "11010519491231002X", {1949, 12, 31}, Sex::kFemale, false},
      {"\xE3\x80\x80"
       "11010519491231002x\xE3\x80\x80",
       "11010519491231002X",
       {1949, 12, 31},
       Sex::kFemale,
       false},
      {fw_digits + fw_x, "11010519491231002X", {1949, 12, 31}, Sex::kFemale, false},
      {"440300199003071234", "440300199003071234", {1990, 3, 7}, Sex::kMale, false},
      // Earliest accepted date; its check digit: see the reference test above and with_check.
      {"320102190001010036", "320102190001010036", {1900, 1, 1}, Sex::kMale, false},
      {with_citizen_check("11010520000229004"),
       with_citizen_check("11010520000229004"),
       {2000, 2, 29},
       Sex::kFemale,
       false},
      // Born today (China Standard Time).
      {with_citizen_check("11010520260115001"),
       with_citizen_check("11010520260115001"),
       {2026, 1, 15},
       Sex::kMale,
       false},
      // Residence permits of Hong Kong, Macao and Taiwan residents.
      {with_citizen_check("81000019800101001"),
       with_citizen_check("81000019800101001"),
       {1980, 1, 1},
       Sex::kMale,
       false},
      {with_citizen_check("83000019851231002"),
       with_citizen_check("83000019851231002"),
       {1985, 12, 31},
       Sex::kFemale,
       false},
      // First-generation 15-digit numbers: "19" is inserted and the check computed.
      {"110105491231002", "11010519491231002X", {1949, 12, 31}, Sex::kFemale, true},
      {" 440301880822153 ",
       with_citizen_check("44030119880822153"),
       {1988, 8, 22},
       Sex::kMale,
       true},
      {fw_digits.substr(0, 6 * 3) + fw_digits.substr(8 * 3),
       "11010519491231002X",
       {1949, 12, 31},
       Sex::kFemale,
       true},
  };
  for (const auto& c : cases) {
    CAPTURE(c.input);
    const IdCheck r = check_citizen_id(c.input, clock);
    CHECK(r.reason == "");
    CHECK(r.valid);
    CHECK(r.kind == IdKind::kCitizenId);
    CHECK(r.normalized == c.normalized);
    CHECK(r.warnings.empty());
    REQUIRE(r.citizen);
    CHECK(r.citizen->region_code == c.normalized.substr(0, 6));
    CHECK(r.citizen->birth_date == c.birth);
    CHECK(r.citizen->sex == c.sex);
    CHECK(r.citizen->converted_from_15 == c.converted);
  }
}

TEST_CASE("invalid citizen IDs say why", "[ids]") {
  const FakeClock clock(kToday);
  struct Case {
    std::string input;
    std::string reason;
  };
  const std::string len = ", expected 18 (or 15 for a first-generation number)";
  const Case cases[] = {
      {"11010519491231002", "wrong length 17" + len},
      {"1101051949123100", "wrong length 16" + len},
      {"11010519491231002X1", "wrong length 19" + len},
      {"1", "wrong length 1" + len},
      {"\xEF\xBC\x91\xEF\xBC\x91", "wrong length 2" + len},  // characters, not bytes
      {"1101Q519491231002X", "bad character 'Q' at position 5"},
      {"X10105194912310021", "bad character 'X' at position 1"},
      {"11010519491231002A", "bad character 'A' at position 18"},
      {"11010519491231 02X", "bad character U+0020 at position 15"},
      {"1101051949-1231002", "bad character '-' at position 11"},
      {"11010519491231\xC3\xA9"
       "02X",
       "bad character U+00E9 at position 15"},
      {"11010549123100X", "bad character 'X' at position 15"},
      {"11010549I231002", "bad character 'I' at position 9"},
      {with_citizen_check("09010519491231002"), "unknown province code 09 in region code 090105"},
      {with_citizen_check("00000019491231002"), "unknown province code 00 in region code 000000"},
      {with_citizen_check("16010519491231002"), "unknown province code 16 in region code 160105"},
      {with_citizen_check("84000019491231002"), "unknown province code 84 in region code 840000"},
      {with_citizen_check("99010519491231002"), "unknown province code 99 in region code 990105"},
      {"090105491231002", "unknown province code 09 in region code 090105"},
      {"11010519900230001X", "impossible date 1990-02-30"},
      {"110105199013010018", "impossible date 1990-13-01"},
      {with_citizen_check("11010519900001001"), "impossible date 1990-00-01"},
      {with_citizen_check("11010519900100001"), "impossible date 1990-01-00"},
      {with_citizen_check("11010520230229001"), "impossible date 2023-02-29"},
      {with_citizen_check("11010519000229001"), "impossible date 1900-02-29"},  // not a leap year
      {with_citizen_check("11010500000000001"), "impossible date 0000-00-00"},
      {"110105490230002", "impossible date 1949-02-30"},
      {"110105189912310015", "birth date 1899-12-31 is before 1900-01-01"},
      {with_citizen_check("11010500010101001"), "birth date 0001-01-01 is before 1900-01-01"},
      {"110105203101010017", "birth date 2031-01-01 is in the future"},
      {with_citizen_check("11010520260116001"), "birth date 2026-01-16 is in the future"},
      {with_citizen_check("11010599991231001"), "birth date 9999-12-31 is in the future"},
      {"110105194912310021", "check character should be X, found 1"},
      {"110105194912310023", "check character should be X, found 3"},
      {"440300199003071230", "check character should be 4, found 0"},
      {"44030019900307123X", "check character should be 4, found X"},
      {"", "empty identifier"},
      {"  \xE3\x80\x80 ", "empty identifier"},
      {"1101051949\xFF"
       "1231002X",
       "invalid UTF-8 at byte 11"},
      {std::string(100, '1'), "too long: 100 bytes after trimming, at most 64"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.input);
    const IdCheck r = check_citizen_id(c.input, clock);
    CHECK_FALSE(r.valid);
    CHECK(r.kind == IdKind::kCitizenId);
    CHECK(r.reason == c.reason);
    CHECK_FALSE(r.citizen);
    CHECK(r.warnings.empty());
  }
}

TEST_CASE("invalid citizen IDs keep the normalised input", "[ids]") {
  const FakeClock clock(kToday);
  CHECK(check_citizen_id(" 110105194912310021 ", clock).normalized == "110105194912310021");
  CHECK(check_citizen_id("110105490230002", clock).normalized == "110105490230002");
  CHECK(check_citizen_id("12\xFF", clock).normalized == "");
}

TEST_CASE("today is the date in China Standard Time", "[ids]") {
  const std::string born_0615 = with_citizen_check("11010520300615001");
  // 23:00 CST on 2030-06-14: 15 June is tomorrow.
  FakeClock clock(utc_ns({2030, 6, 14}, 15));
  CHECK(check_citizen_id(born_0615, clock).reason == "birth date 2030-06-15 is in the future");
  // 00:00 CST on 2030-06-15, still 14 June in UTC.
  clock.set_ns(utc_ns({2030, 6, 14}, 16));
  CHECK(check_citizen_id(born_0615, clock).valid);
  CHECK(check_citizen_id(with_citizen_check("11010520300616001"), clock).reason ==
        "birth date 2030-06-16 is in the future");
}

// A random, valid 17-character body: a real province, a date between 1900-01-01 and `today`.
std::string random_body(std::mt19937_64& rng, int64_t today, CivilDate* birth) {
  static const char* const kProvinces[] = {"11", "12", "13", "14", "15", "21", "22", "23", "31",
                                           "32", "33", "34", "35", "36", "37", "41", "42", "43",
                                           "44", "45", "46", "50", "51", "52", "53", "54", "61",
                                           "62", "63", "64", "65", "71", "81", "82", "83"};
  std::uniform_int_distribution<size_t> province(0, std::size(kProvinces) - 1);
  std::uniform_int_distribution<int> digit(0, 9);
  std::uniform_int_distribution<int64_t> day(days_from_civil({1900, 1, 1}), today);
  *birth = civil_from_days(day(rng));
  char date[40];
  std::snprintf(date, sizeof date, "%04d%02u%02u", birth->year, birth->month, birth->day);
  std::string body = kProvinces[province(rng)];
  for (int i = 0; i < 4; ++i) body.push_back(char('0' + digit(rng)));
  body += date;
  for (int i = 0; i < 3; ++i) body.push_back(char('0' + digit(rng)));
  return body;
}

TEST_CASE("random valid citizen IDs validate and every single change is caught", "[ids]") {
  const FakeClock clock(kToday);
  const int64_t today = days_from_civil({2026, 1, 15});
  std::mt19937_64 rng(20260115);
  const std::string alphabet = "0123456789X";
  int mutants = 0;
  for (int n = 0; n < 1000; ++n) {
    CivilDate birth;
    const std::string id = with_citizen_check(random_body(rng, today, &birth));
    CAPTURE(id);
    const IdCheck r = check_citizen_id(id, clock);
    REQUIRE(r.valid);
    REQUIRE(r.citizen);
    REQUIRE(r.citizen->birth_date == birth);
    REQUIRE(r.citizen->sex == ((id[16] - '0') % 2 ? Sex::kMale : Sex::kFemale));
    for (size_t pos = 0; pos < id.size(); ++pos) {
      for (char ch : alphabet) {
        if (ch == id[pos]) continue;
        std::string mutant = id;
        mutant[pos] = ch;
        const IdCheck m = check_citizen_id(mutant, clock);
        if (m.valid) FAIL("mutant " << mutant << " of " << id << " validates");
        REQUIRE_FALSE(m.reason.empty());
        ++mutants;
      }
    }
  }
  CHECK(mutants == 1000 * 18 * 10);
}

TEST_CASE("random 15-digit numbers convert to the reference 18-digit form", "[ids]") {
  const FakeClock clock(kToday);
  std::mt19937_64 rng(1999);
  std::uniform_int_distribution<int64_t> day(days_from_civil({1900, 1, 1}),
                                             days_from_civil({1999, 12, 31}));
  for (int n = 0; n < 1000; ++n) {
    const CivilDate birth = civil_from_days(day(rng));
    char id15[64];
    std::snprintf(id15, sizeof id15, "320102%02d%02u%02u%03d", birth.year % 100, birth.month,
                  birth.day, n % 1000);
    const std::string body17 = std::string(id15, 6) + "19" + std::string(id15 + 6);
    CAPTURE(id15);
    const IdCheck r = check_citizen_id(id15, clock);
    REQUIRE(r.valid);
    REQUIRE(r.normalized == with_citizen_check(body17));
    REQUIRE(r.citizen->converted_from_15);
    REQUIRE(r.citizen->birth_date == birth);
  }
}

}  // namespace
}  // namespace gongshu::ids
