// Checkpoints (DESIGN §7): a C2SP tlog-checkpoint body
//
//   <origin>\n<tree size>\n<base64 root>\nchain <base64 entry_hash(size)>\n
//
// signed as a C2SP signed-note by the daemon's Ed25519 key: the body, a blank line, and one line
// per signature, "— <key name> <base64(key id (4) || signature (64))>\n", where the key name is
// the origin and key id = SHA-256(name || 0x0A || 0x01 || public key)[0:4]. The signature is over
// the body bytes exactly. While a daemon key rotation is pending, notes carry two signature
// lines (the current key's, then the next key's), so a verifier holding either key accepts
// them. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/audit/merkle.h"
#include "core/crypto/identity.h"
#include "core/util/error.h"

namespace gongshu::audit {

inline constexpr size_t kMaxNoteSize = 16 * 1024;

struct CheckpointBody {
  std::string origin;
  uint64_t size = 0;
  Hash root{};
  Hash chain{};  // entry_hash(size)
  bool operator==(const CheckpointBody&) const = default;
};

std::string format_checkpoint_body(const CheckpointBody& body);
Result<CheckpointBody> parse_checkpoint_body(std::string_view body);

// The signed note for body, signed by key under the key name body.origin.
std::string sign_checkpoint(const CheckpointBody& body, const crypto::IdentityKey& key);
// The signed note with one signature line per key, in the order given (keys must not be empty).
std::string sign_checkpoint(const CheckpointBody& body,
                            std::span<const crypto::IdentityKey* const> keys);

// Splits a note into body and signature lines, checks that one signature line is a valid
// signature by key (matching key id), and parses the body. kUnauthenticated when no line
// verifies; kCorrupt when the note is malformed.
Result<CheckpointBody> verify_checkpoint(std::string_view note, const crypto::PublicKey& key);
// As above, accepting a valid signature by any one of keys; a line whose key id matches one of
// keys but whose signature is invalid is an error (kUnauthenticated) even if another verifies.
// signer (optional) receives the key that verified.
Result<CheckpointBody> verify_checkpoint(std::string_view note,
                                         std::span<const crypto::PublicKey> keys,
                                         crypto::PublicKey* signer = nullptr);

// Parses the body of a note without checking signatures (for display).
Result<CheckpointBody> parse_checkpoint_note_unverified(std::string_view note);

// The 4-byte C2SP key id of an Ed25519 key under a key name.
std::array<uint8_t, 4> note_key_id(std::string_view name, const crypto::PublicKey& key);

}  // namespace gongshu::audit
