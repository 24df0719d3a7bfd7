// Daemon key rotation statements (docs/audit-format.md, "Daemon key rotation"). When the
// daemon's identity key is rotated, the old key announces its successor with a statement naming
// the audit log's origin, the old and the new public key and the time, signed by the old key
// (so whoever trusts the old key may trust the new one) and by the new key (proof that the
// daemon holds it). Both signatures are domain-separated and cover the same bytes:
//
//   "gongshu.daemon-key-rotation.v1" || 0x00 || u32 BE len(origin) || origin ||
//   old public key (32) || new public key (32) || time_ms (i64 BE)
//
// The statement travels as a small text form (first line "gongshu daemon key rotation v1", then
// one "name value" line per field) in the key_rotate and key_activate audit entries, in the
// api's DaemonKeyStatus and in the file `gongshuctl daemon-key statement` writes. Pure
// functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/crypto/identity.h"
#include "core/util/error.h"

namespace gongshu::audit {

inline constexpr std::string_view kRotationDomain = "gongshu.daemon-key-rotation.v1";
inline constexpr std::string_view kRotationMagic = "gongshu daemon key rotation v1";
inline constexpr size_t kMaxRotationText = 2048;

// The audit actions that carry a statement, in a reference of kind kRotationRef.
inline constexpr std::string_view kRotateAction = "key_rotate";
inline constexpr std::string_view kActivateAction = "key_activate";
inline constexpr std::string_view kRotationRef = "rotation_statement";

struct RotationStatement {
  std::string origin;
  crypto::PublicKey old_key;
  crypto::PublicKey new_key;
  int64_t time_ms = 0;
  crypto::Signature old_signature{};
  crypto::Signature new_signature{};
};

// The bytes both signatures cover, without the domain prefix.
Bytes rotation_signed_bytes(const RotationStatement& s);

// A statement by old_key handing over to new_key, signed by both.
RotationStatement make_rotation_statement(std::string origin, const crypto::IdentityKey& old_key,
                                          const crypto::IdentityKey& new_key, int64_t time_ms);

// Checks both signatures (kUnauthenticated when one fails) and that the keys differ.
Status check_rotation_signatures(const RotationStatement& s);

std::string format_rotation_text(const RotationStatement& s);
// Parses the text form (at most kMaxRotationText bytes) and checks both signatures: a
// statement that parses is one whose keys really signed it. kCorrupt for a malformed text.
Result<RotationStatement> parse_rotation_text(std::string_view text);

}  // namespace gongshu::audit
