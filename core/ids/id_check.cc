#include "core/ids/id_check.h"

#include "core/ids/citizen_id.h"
#include "core/ids/credit_code.h"
#include "core/ids/normalize.h"

namespace gongshu::ids {
namespace {

// 17 ASCII digits then a digit or X.
bool has_citizen_id_shape(std::string_view t) {
  if (t.size() != 18) return false;
  for (size_t i = 0; i < 17; ++i) {
    if (t[i] < '0' || t[i] > '9') return false;
  }
  return (t[17] >= '0' && t[17] <= '9') || t[17] == 'X';
}

}  // namespace

std::string_view id_kind_name(IdKind kind) {
  switch (kind) {
    case IdKind::kUnknown:
      return "unknown";
    case IdKind::kCitizenId:
      return "citizen_id";
    case IdKind::kCreditCode:
      return "credit_code";
  }
  return "unknown";
}

std::string_view sex_name(Sex sex) { return sex == Sex::kMale ? "male" : "female"; }

IdCheck check_identifier(std::string_view raw, const Clock& clock) {
  auto normalized = normalize_identifier(raw);
  if (!normalized) {
    IdCheck r;
    r.reason = normalized.error().message();
    return r;
  }
  // The check_* functions normalise again; normalised text is a fixed point, and at most
  // kMaxIdentifierBytes long, so that costs little and keeps one entry point per kind.
  const std::string& t = *normalized;
  const size_t length = utf8_length(t);
  if (length == 15) return check_citizen_id(t, clock);
  if (length == 18) {
    if (!has_citizen_id_shape(t)) return check_credit_code(t);
    IdCheck citizen = check_citizen_id(t, clock);
    if (citizen.valid) return citizen;
    IdCheck credit = check_credit_code(t);
    return credit.valid ? credit : citizen;
  }
  IdCheck r;
  r.normalized = std::move(*normalized);
  r.reason = "wrong length " + std::to_string(length) +
             ", expected 18 (citizen ID or credit code) or 15 (first-generation citizen ID)";
  return r;
}

}  // namespace gongshu::ids
