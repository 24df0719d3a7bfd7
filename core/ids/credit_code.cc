#include "core/ids/credit_code.h"

#include <array>
#include <string>

#include "core/ids/normalize.h"

namespace gongshu::ids {
namespace {

constexpr std::string_view kCharset = "0123456789ABCDEFGHJKLMNPQRTUWXY";
constexpr std::array<int, 17> kWeights = {1,  3,  9,  27, 19, 26, 16, 17, 20,
                                          29, 25, 13, 8,  24, 10, 30, 28};
constexpr std::array<int, 8> kOrgWeights = {3, 7, 9, 10, 5, 8, 4, 2};

// Value of each ASCII character in the GB 32100 set, -1 for characters outside it.
constexpr std::array<int8_t, 128> kValues = [] {
  std::array<int8_t, 128> v{};
  v.fill(-1);
  for (size_t i = 0; i < kCharset.size(); ++i) v[static_cast<size_t>(kCharset[i])] = int8_t(i);
  return v;
}();

int value_of(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u < kValues.size() ? kValues[u] : -1;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Checks the normalised text `t`; returns the reason it is invalid, or an empty string when it
// is valid, in which case GB 11714 findings are added to r.warnings.
std::string check_normalized(std::string_view t, IdCheck& r) {
  const size_t length = utf8_length(t);
  if (length != 18) return "wrong length " + std::to_string(length) + ", expected 18";
  if (const size_t i = first_non_ascii(t); i != t.size()) return bad_character_reason(t, i);
  for (size_t i = 0; i < 18; ++i) {
    if (value_of(t[i]) < 0) return bad_character_reason(t, i);
    if (i >= 2 && i < 8 && !is_digit(t[i])) return bad_character_reason(t, i);
  }
  const char expected = *credit_code_check_char(t.substr(0, 17));
  if (t[17] != expected) {
    return std::string("check character should be ") + expected + ", found " + t[17];
  }

  const std::string_view org = t.substr(8, 9);
  const char org_expected = *organization_code_check_char(org.substr(0, 8));
  if (org[8] != org_expected) {
    r.warnings.push_back("organisation code " + std::string(org) +
                         " (positions 9-17) fails its GB 11714 check: check character should be " +
                         org_expected + ", found " + org[8]);
  }
  return {};
}

}  // namespace

std::optional<char> credit_code_check_char(std::string_view body) {
  if (body.size() != 17) return std::nullopt;
  int sum = 0;
  for (size_t i = 0; i < 17; ++i) {
    const int v = value_of(body[i]);
    if (v < 0) return std::nullopt;
    sum += v * kWeights[i];
  }
  return kCharset[(31 - sum % 31) % 31];
}

std::optional<char> organization_code_check_char(std::string_view body) {
  if (body.size() != 8) return std::nullopt;
  int sum = 0;
  for (size_t i = 0; i < 8; ++i) {
    const char c = body[i];
    int v;
    if (c >= '0' && c <= '9') {
      v = c - '0';
    } else if (c >= 'A' && c <= 'Z') {
      v = c - 'A' + 10;
    } else {
      return std::nullopt;
    }
    sum += v * kOrgWeights[i];
  }
  const int check = 11 - sum % 11;
  if (check == 10) return 'X';
  if (check == 11) return '0';
  return static_cast<char>('0' + check);
}

IdCheck check_credit_code(std::string_view raw) {
  IdCheck r;
  r.kind = IdKind::kCreditCode;
  auto normalized = normalize_identifier(raw);
  if (!normalized) {
    r.reason = normalized.error().message();
    return r;
  }
  r.normalized = std::move(*normalized);
  r.reason = check_normalized(r.normalized, r);
  r.valid = r.reason.empty();
  return r;
}

}  // namespace gongshu::ids
