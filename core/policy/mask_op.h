// MaskOp: what happens to one field value on its way to a reader (DESIGN §8, R-15, R-26), and
// apply_mask(), which does it. Masks are type-aware: each op says what it does to text, dates,
// timestamps and the other value kinds, and a value it cannot handle is redacted (fail
// closed). Written in policy files as:
//
//   keep              the value unchanged
//   drop              the field is removed from the row
//   redact            text becomes "***"; any other value becomes null (no kind set)
//   keep_first:N      text: the first N characters kept, every other one '*' (UTF-8 aware);
//   keep_last:N         other values are redacted. At least one character is always masked.
//   keep_ends:N:M     first N and last M kept (a phone number: keep_ends:3:4 -> 138****5678)
//   year              date / timestamp (UTC+8) -> integer year; citizen ID -> only the birth
//                     year digits shown; text "1990-03-07" -> "1990"; anything else redacted
//   region[:L]        L = 2 province, 4 city, 6 county / district (default 6): citizen IDs and
//                     credit codes keep their region digits, addresses their leading units
//                     (core/policy/text_mask.h); anything else redacted
//   token             a keyed stable token "tk_" + 32 hex characters: BLAKE2b keyed with the
//                     daemon's masking key over the PII kind and the value. Equal values give
//                     equal tokens under one key, so rows can be counted and joined, but without
//                     the key nobody can recompute a token from a guessed ID number. Never an
//                     unkeyed hash.
//
// Pure functions; safe from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/crypto/secret_bytes.h"
#include "core/util/error.h"
#include "gongshu/v1/catalog.pb.h"
#include "gongshu/v1/record.pb.h"

namespace gongshu::policy {

enum class MaskKind : uint8_t {
  kKeep,
  kDrop,
  kRedact,
  kKeepFirst,
  kKeepLast,
  kKeepEnds,
  kYear,
  kRegion,
  kToken,
};

struct MaskOp {
  MaskKind kind = MaskKind::kRedact;
  uint8_t first = 0;  // characters kept at the start (keep_first, keep_ends)
  uint8_t last = 0;   // characters kept at the end (keep_last, keep_ends)
  uint8_t level = 6;  // region: 2, 4 or 6
  bool operator==(const MaskOp&) const = default;

  static constexpr MaskOp keep() { return {MaskKind::kKeep}; }
  static constexpr MaskOp drop() { return {MaskKind::kDrop}; }
  static constexpr MaskOp redact() { return {MaskKind::kRedact}; }
};

inline constexpr size_t kMaxKeptCharacters = 32;

// Parses the policy-file form above ("keep_first:1", "region:4", ...). Errors say why.
Result<MaskOp> parse_mask_op(std::string_view text);
// The policy-file form of op; parse_mask_op(mask_op_text(op)) == op.
std::string mask_op_text(const MaskOp& op);

// Whether op anonymises a personal value in the sense of R-15 (匿名化): the reader cannot get
// the person's identifying value back. drop, redact, year, region and token do; keep does not,
// and neither do the partial keeps (they are desensitisation, 脱敏, fit for display to staff,
// not for opening data).
bool is_anonymising(const MaskOp& op);

// Whether op is meaningful for a field of this PII kind; the loader refuses the others with a
// reason (region for a phone number, year for a name). nullopt: it is; otherwise why not.
std::optional<std::string> op_misfit(const MaskOp& op, v1::PiiKind kind);

// Masks `value`, a field of PII kind `kind`, with op. Returns the masked value, or nullopt when
// the field is to be dropped. token_key is used only by token; a key that is not 16..64 bytes
// makes token redact (fail closed) rather than fall back to anything unkeyed.
std::optional<v1::FieldValue> apply_mask(const MaskOp& op, v1::PiiKind kind,
                                         const v1::FieldValue& value,
                                         const crypto::SecretBytes& token_key);

// The same, in place; returns false when the field is to be dropped (value is then unchanged).
bool mask_in_place(const MaskOp& op, v1::PiiKind kind, v1::FieldValue& value,
                   const crypto::SecretBytes& token_key);

// Masks a bare string (record keys, subject identifiers, reasons) as if it were a text value;
// returns nullopt when op is drop.
std::optional<std::string> mask_string(const MaskOp& op, v1::PiiKind kind, std::string_view text,
                                       const crypto::SecretBytes& token_key);

// The token of `value` (see `token` above), or nullopt when the key is not usable.
std::optional<std::string> mask_token(const crypto::SecretBytes& key, v1::PiiKind kind,
                                      const v1::FieldValue& value);

}  // namespace gongshu::policy
