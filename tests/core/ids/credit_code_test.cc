#include "core/ids/credit_code.h"

#include <catch2/catch.hpp>

#include <random>
#include <string>

#include "tests/core/ids/reference.h"

namespace gongshu::ids {
namespace {

using testing::kUsccCharset;
using testing::ref_credit_check;
using testing::ref_org_check;
using testing::with_credit_check;

TEST_CASE("credit code arithmetic agrees with hand-computed examples", "[ids]") {
  // 91350100M000100Y4: values 9 1 3 5 0 1 0 0 21 0 0 0 1 0 0 30 4 (M = 21, Y = 30 in the set)
  // times 1 3 9 27 19 26 16 17 20 29 25 13 8 24 10 30 28:
  // 9+3+27+135+0+26+0+0+420+0+0+0+8+0+0+900+112 = 1640; 1640 mod 31 = 28; 31 - 28 = 3.
  CHECK(ref_credit_check("91350100M000100Y4") == '3');
  CHECK(credit_code_check_char("91350100M000100Y4") == '3');
  // Position 17 changed to 5: 1640 - 4*28 + 5*28 = 1668; 1668 mod 31 = 25; 31 - 25 = 6.
  CHECK(ref_credit_check("91350100M000100Y5") == '6');
  CHECK(credit_code_check_char("91350100M000100Y5") == '6');
  // GB 11714 over M000100Y (M = 22, Y = 34 there) times 3 7 9 10 5 8 4 2:
  // 66+0+0+0+5+0+0+68 = 139; 139 mod 11 = 7; 11 - 7 = 4.
  CHECK(ref_org_check("M000100Y") == '4');
  CHECK(organization_code_check_char("M000100Y") == '4');
  // 4*3 = 12; 12 mod 11 = 1; 11 - 1 = 10 -> X.
  CHECK(organization_code_check_char("40000000") == 'X');
  // Sum 0; 11 - 0 = 11 -> 0.
  CHECK(organization_code_check_char("00000000") == '0');
}

TEST_CASE("check character functions refuse bad bodies", "[ids]") {
  CHECK_FALSE(credit_code_check_char("91350100M000100Y"));
  CHECK_FALSE(credit_code_check_char("91350100M000100Y43"));
  CHECK_FALSE(credit_code_check_char("91350100I000100Y4"));
  CHECK_FALSE(credit_code_check_char("91350100m000100Y4"));
  CHECK_FALSE(organization_code_check_char("M000100"));
  CHECK_FALSE(organization_code_check_char("m000100Y"));
  CHECK_FALSE(organization_code_check_char("M000-00Y"));
}

TEST_CASE("valid credit codes", "[ids]") {
  struct Case {
    std::string input;
    std::string normalized;
    std::vector<std::string> warnings;
  };
  std::string wide;  // 91350100M000100Y43 in full-width characters, with a lower-case m
  for (char c : std::string("91350100m000100Y43")) {
    if (c >= '0' && c <= '9') {
      wide += "\xEF\xBC";
      wide.push_back(char(0x90 + (c - '0')));
    } else if (c >= 'A' && c <= 'Z') {
      wide += "\xEF\xBC";
      wide.push_back(char(0xA1 + (c - 'A')));
    } else {
      wide += "\xEF\xBD";
      wide.push_back(char(0x81 + (c - 'a')));
    }
  }
  const Case cases[] = {
      {"91350100M000100Y43", "91350100M000100Y43", {}},
      {"91350100m000100y43", "91350100M000100Y43", {}},
      {"\xE3\x80\x80 91350100M000100Y43\n", "91350100M000100Y43", {}},
      {wide, "91350100M000100Y43", {}},
      {"91350100M000100Y56",
       "91350100M000100Y56",
       {"organisation code M000100Y5 (positions 9-17) fails its GB 11714 check: check character "
        "should be 4, found 5"}},
      // An all-digit code; its organisation code 000000002 should end in 0.
      {"110000000000000022",
       "110000000000000022",
       {"organisation code 000000002 (positions 9-17) fails its GB 11714 check: check character "
        "should be 0, found 2"}},
      {with_credit_check("Y1100000M00010049"), with_credit_check("Y1100000M00010049"), {}},
  };
  for (const auto& c : cases) {
    CAPTURE(c.input);
    const IdCheck r = check_credit_code(c.input);
    CHECK(r.reason == "");
    CHECK(r.valid);
    CHECK(r.kind == IdKind::kCreditCode);
    CHECK(r.normalized == c.normalized);
    CHECK(r.warnings == c.warnings);
    CHECK_FALSE(r.citizen);
  }
}

TEST_CASE("invalid credit codes say why", "[ids]") {
  struct Case {
    std::string input;
    std::string reason;
  };
  const Case cases[] = {
      {"91350100M000100Y4", "wrong length 17, expected 18"},
      {"91350100M000100Y433", "wrong length 19, expected 18"},
      {"110105491231002", "wrong length 15, expected 18"},
      {"91350100I000100Y43", "bad character 'I' at position 9"},
      {"O1350100M000100Y43", "bad character 'O' at position 1"},
      {"9S350100M000100Y43", "bad character 'S' at position 2"},
      {"91350100M000V00Y43", "bad character 'V' at position 13"},
      {"91350100M000100Z43", "bad character 'Z' at position 16"},
      {"9135A100M000100Y43", "bad character 'A' at position 5"},  // region code is digits
      {"913501X0M000100Y43", "bad character 'X' at position 7"},
      {"91350100M000100Y4-", "bad character '-' at position 18"},
      {"91350100M000 00Y43", "bad character U+0020 at position 13"},
      {"91350100M000100Y4\xC3\xA9", "bad character U+00E9 at position 18"},
      {"91350100M000100Y44", "check character should be 3, found 4"},
      {"91350100M000100Y4A", "check character should be 3, found A"},
      {"91350100M000100Y53", "check character should be 6, found 3"},
      {"11010519491231002X", "check character should be B, found X"},
      {"", "empty identifier"},
      {"\xC0\xAF", "invalid UTF-8 at byte 1"},
      {std::string(65, 'A'), "too long: 65 bytes after trimming, at most 64"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.input);
    const IdCheck r = check_credit_code(c.input);
    CHECK_FALSE(r.valid);
    CHECK(r.kind == IdKind::kCreditCode);
    CHECK(r.reason == c.reason);
    CHECK(r.warnings.empty());
  }
}

TEST_CASE("random valid credit codes validate and every single change is caught", "[ids]") {
  std::mt19937_64 rng(32100);
  std::uniform_int_distribution<size_t> any(0, kUsccCharset.size() - 1);
  std::uniform_int_distribution<int> digit(0, 9);
  int mutants = 0;
  int warned = 0;
  for (int n = 0; n < 1000; ++n) {
    std::string body;
    for (int i = 0; i < 17; ++i) {
      body.push_back(i >= 2 && i < 8 ? char('0' + digit(rng)) : kUsccCharset[any(rng)]);
    }
    const std::string code = with_credit_check(body);
    CAPTURE(code);
    REQUIRE(credit_code_check_char(body) == ref_credit_check(body));
    const IdCheck r = check_credit_code(code);
    REQUIRE(r.valid);
    const bool org_ok = ref_org_check(code.substr(8, 8)) == code[16];
    REQUIRE(r.warnings.size() == (org_ok ? 0u : 1u));
    if (!org_ok) ++warned;
    for (size_t pos = 0; pos < code.size(); ++pos) {
      for (char ch : kUsccCharset) {
        if (ch == code[pos]) continue;
        std::string mutant = code;
        mutant[pos] = ch;
        const IdCheck m = check_credit_code(mutant);
        if (m.valid) FAIL("mutant " << mutant << " of " << code << " validates");
        REQUIRE_FALSE(m.reason.empty());
        ++mutants;
      }
    }
  }
  CHECK(mutants == 1000 * 18 * 30);
  CHECK(warned > 0);  // random organisation codes mostly fail GB 11714; the path is exercised
}

}  // namespace
}  // namespace gongshu::ids
