// Symmetric encryption for data at rest: XChaCha20-Poly1305 (IETF) under a 32-byte DataKey,
// with a random 24-byte nonce per message (safe to pick at random at this nonce size) and
// associated data that binds a ciphertext to where it is stored (dataset, record key, version),
// so a ciphertext moved to another slot fails to open.
//
// Layout of a box: nonce (24) || ciphertext || tag (16).
#pragma once

#include "core/crypto/secret_bytes.h"
#include "core/util/bytes.h"
#include "core/util/error.h"

namespace gongshu::crypto {

inline constexpr size_t kDataKeySize = 32;
inline constexpr size_t kAeadOverhead = 24 + 16;

class DataKey {
 public:
  static DataKey generate();
  static Result<DataKey> from_secret(SecretBytes key);
  const SecretBytes& secret() const { return key_; }

 private:
  explicit DataKey(SecretBytes key) : key_(std::move(key)) {}
  SecretBytes key_;
};

Bytes aead_encrypt(const DataKey& key, ByteView associated, ByteView plaintext);
// The same into out, which must hold plaintext.size() + kAeadOverhead bytes (for writing the
// box straight into the message that stores it).
void aead_encrypt_into(const DataKey& key, ByteView associated, ByteView plaintext,
                       std::span<uint8_t> out);
// Fails with kUnauthenticated when the box, the key or the associated data do not match.
Result<Bytes> aead_decrypt(const DataKey& key, ByteView associated, ByteView box);

// Wraps a secret (a dataset key) under a key-encryption key; unwrap reverses it into protected
// memory, so the unwrapped key never sits in ordinary heap memory.
Bytes wrap_secret(const DataKey& kek, ByteView associated, const SecretBytes& secret);
Result<SecretBytes> unwrap_secret(const DataKey& kek, ByteView associated, ByteView box);

}  // namespace gongshu::crypto
