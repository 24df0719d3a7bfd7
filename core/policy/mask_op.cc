#include "core/policy/mask_op.h"

#include <charconv>
#include <cstdint>
#include <cstdio>

#include "core/catalog/dataset.h"
#include "core/crypto/keyed_hash.h"
#include "core/policy/text_mask.h"
#include "core/util/clock.h"
#include "core/util/encoding.h"

namespace gongshu::policy {
namespace {

constexpr std::string_view kTokenDomain = "gongshu.mask-token.v1";
constexpr size_t kTokenBytes = 16;
constexpr int64_t kMsPerDay = 86'400'000;
constexpr int64_t kChinaOffsetMs = 8 * 3'600'000;

std::optional<unsigned> parse_count(std::string_view s) {
  unsigned v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

void redact(v1::FieldValue& value) {
  if (value.kind_case() == v1::FieldValue::kText) {
    value.set_text(std::string(kRedacted));
  } else {
    value.Clear();
  }
}

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

std::string mask_text(const MaskOp& op, v1::PiiKind kind, std::string_view text) {
  switch (op.kind) {
    case MaskKind::kKeepFirst:
      return mask_characters(text, op.first, 0);
    case MaskKind::kKeepLast:
      return mask_characters(text, 0, op.last);
    case MaskKind::kKeepEnds:
      return mask_characters(text, op.first, op.last);
    case MaskKind::kYear:
      return kind == v1::PII_CITIZEN_ID ? citizen_id_year_only(text) : text_date_year_only(text);
    case MaskKind::kRegion:
      if (kind == v1::PII_CITIZEN_ID) return generalise_citizen_id(text, op.level);
      if (kind == v1::PII_CREDIT_CODE) return generalise_credit_code(text, op.level);
      return generalise_address(text, op.level);
    default:
      return std::string(kRedacted);
  }
}

bool usable_token_key(const crypto::SecretBytes& key) {
  return key.size() >= 16 && key.size() <= 64;
}

}  // namespace

Result<MaskOp> parse_mask_op(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return fail(ErrorCode::kInvalidArgument,
                "mask '" + std::string(text) + "': " + std::string(why));
  };
  if (text == "keep") return MaskOp::keep();
  if (text == "drop") return MaskOp::drop();
  if (text == "redact") return MaskOp::redact();
  if (text == "year") return MaskOp{MaskKind::kYear};
  if (text == "token") return MaskOp{MaskKind::kToken};
  if (text == "region") return MaskOp{MaskKind::kRegion, 0, 0, 6};
  if (text.starts_with("region:")) {
    auto level = parse_count(text.substr(7));
    if (!level || (*level != 2 && *level != 4 && *level != 6))
      return bad("region level must be 2 (province), 4 (city) or 6 (county)");
    return MaskOp{MaskKind::kRegion, 0, 0, uint8_t(*level)};
  }
  auto count = [&](std::string_view s) -> std::optional<uint8_t> {
    auto n = parse_count(s);
    if (!n || *n > kMaxKeptCharacters) return std::nullopt;
    return uint8_t(*n);
  };
  if (text.starts_with("keep_first:")) {
    auto n = count(text.substr(11));
    if (!n || *n == 0) return bad("keep_first:N needs N in 1..32");
    return MaskOp{MaskKind::kKeepFirst, *n, 0};
  }
  if (text.starts_with("keep_last:")) {
    auto n = count(text.substr(10));
    if (!n || *n == 0) return bad("keep_last:N needs N in 1..32");
    return MaskOp{MaskKind::kKeepLast, 0, *n};
  }
  if (text.starts_with("keep_ends:")) {
    std::string_view rest = text.substr(10);
    auto colon = rest.find(':');
    std::optional<uint8_t> a, b;
    if (colon != std::string_view::npos) {
      a = count(rest.substr(0, colon));
      b = count(rest.substr(colon + 1));
    }
    if (!a || !b || *a + *b == 0) return bad("keep_ends:N:M needs N, M in 0..32, not both 0");
    return MaskOp{MaskKind::kKeepEnds, *a, *b};
  }
  return bad(
      "unknown mask; use keep, drop, redact, keep_first:N, keep_last:N, keep_ends:N:M, year, "
      "region[:2|4|6] or token");
}

std::string mask_op_text(const MaskOp& op) {
  switch (op.kind) {
    case MaskKind::kKeep:
      return "keep";
    case MaskKind::kDrop:
      return "drop";
    case MaskKind::kRedact:
      return "redact";
    case MaskKind::kKeepFirst:
      return "keep_first:" + std::to_string(op.first);
    case MaskKind::kKeepLast:
      return "keep_last:" + std::to_string(op.last);
    case MaskKind::kKeepEnds:
      return "keep_ends:" + std::to_string(op.first) + ":" + std::to_string(op.last);
    case MaskKind::kYear:
      return "year";
    case MaskKind::kRegion:
      return op.level == 6 ? std::string("region") : "region:" + std::to_string(op.level);
    case MaskKind::kToken:
      return "token";
  }
  return "redact";
}

bool is_anonymising(const MaskOp& op) {
  switch (op.kind) {
    case MaskKind::kDrop:
    case MaskKind::kRedact:
    case MaskKind::kYear:
    case MaskKind::kRegion:
    case MaskKind::kToken:
      return true;
    default:
      return false;
  }
}

std::optional<std::string> op_misfit(const MaskOp& op, v1::PiiKind kind) {
  const std::string kind_name(catalog::pii_kind_name(kind));
  switch (op.kind) {
    case MaskKind::kRegion:
      if (kind == v1::PII_CITIZEN_ID || kind == v1::PII_CREDIT_CODE || kind == v1::PII_ADDRESS)
        return std::nullopt;
      return "region applies to citizen_id, credit_code and address, not " + kind_name;
    case MaskKind::kYear:
      if (kind == v1::PII_CITIZEN_ID || kind == v1::PII_BIRTH_DATE || kind == v1::PII_OTHER ||
          kind == v1::PII_NONE)
        return std::nullopt;
      return "year applies to citizen_id, birth_date, other and none, not " + kind_name;
    case MaskKind::kKeepFirst:
    case MaskKind::kKeepLast:
    case MaskKind::kKeepEnds:
      if (kind == v1::PII_BIOMETRIC) return "a biometric value cannot be partly kept";
      return std::nullopt;
    default:
      return std::nullopt;
  }
}

std::optional<std::string> mask_token(const crypto::SecretBytes& key, v1::PiiKind kind,
                                      const v1::FieldValue& value) {
  if (!usable_token_key(key)) return std::nullopt;
  // Canonical bytes: kind number, then a type tag and the value, so equal values of one kind
  // give equal tokens whatever field or dataset they come from.
  std::string data;
  data.push_back(char('0' + int(kind)));
  switch (value.kind_case()) {
    case v1::FieldValue::kText:
      data.append("s").append(value.text());
      break;
    case v1::FieldValue::kInteger:
      data.append("i").append(std::to_string(value.integer()));
      break;
    case v1::FieldValue::kReal: {
      char buf[40];
      std::snprintf(buf, sizeof buf, "r%.17g", value.real());
      data.append(buf);
      break;
    }
    case v1::FieldValue::kBoolean:
      data.append(value.boolean() ? "b1" : "b0");
      break;
    case v1::FieldValue::kBlob:
      data.append("x").append(value.blob());
      break;
    case v1::FieldValue::kDateDays:
      data.append("d").append(std::to_string(value.date_days()));
      break;
    case v1::FieldValue::kTimestampMs:
      data.append("t").append(std::to_string(value.timestamp_ms()));
      break;
    case v1::FieldValue::KIND_NOT_SET:
      data.append("n");
      break;
  }
  crypto::Digest d = crypto::keyed_hash(key, kTokenDomain, as_bytes(data));
  return "tk_" + hex_encode(ByteView(d.data(), kTokenBytes));
}

bool mask_in_place(const MaskOp& op, v1::PiiKind kind, v1::FieldValue& value,
                   const crypto::SecretBytes& token_key) {
  switch (op.kind) {
    case MaskKind::kKeep:
      return true;
    case MaskKind::kDrop:
      return false;
    case MaskKind::kRedact:
      redact(value);
      return true;
    case MaskKind::kToken: {
      auto t = mask_token(token_key, kind, value);
      if (t) {
        value.set_text(std::move(*t));
      } else {
        redact(value);
      }
      return true;
    }
    case MaskKind::kYear:
      if (value.kind_case() == v1::FieldValue::kDateDays) {
        value.set_integer(civil_from_days(value.date_days()).year);
        return true;
      }
      if (value.kind_case() == v1::FieldValue::kTimestampMs) {
        const int64_t ms = value.timestamp_ms();
        // Saturate far-out instants rather than overflow; they are not real birth dates.
        const int64_t local = ms > INT64_MAX - kChinaOffsetMs ? ms : ms + kChinaOffsetMs;
        value.set_integer(civil_from_days(floor_div(local, kMsPerDay)).year);
        return true;
      }
      break;
    case MaskKind::kKeepFirst:
    case MaskKind::kKeepLast:
    case MaskKind::kKeepEnds:
    case MaskKind::kRegion:
      break;
  }
  if (value.kind_case() == v1::FieldValue::kText) {
    value.set_text(mask_text(op, kind, value.text()));
  } else {
    redact(value);
  }
  return true;
}

std::optional<v1::FieldValue> apply_mask(const MaskOp& op, v1::PiiKind kind,
                                         const v1::FieldValue& value,
                                         const crypto::SecretBytes& token_key) {
  v1::FieldValue out = value;
  if (!mask_in_place(op, kind, out, token_key)) return std::nullopt;
  return out;
}

std::optional<std::string> mask_string(const MaskOp& op, v1::PiiKind kind, std::string_view text,
                                       const crypto::SecretBytes& token_key) {
  if (op.kind == MaskKind::kKeep) return std::string(text);
  if (op.kind == MaskKind::kDrop) return std::nullopt;
  v1::FieldValue v;
  v.set_text(std::string(text));
  mask_in_place(op, kind, v, token_key);
  return v.text();
}

}  // namespace gongshu::policy
