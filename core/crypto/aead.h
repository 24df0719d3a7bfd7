// Symmetric encryption for data at rest: XChaCha20-Poly1305 (IETF) under a 32-byte DataKey,
// with a random 24-byte nonce per message (safe to pick at random at this nonce size) and
// associated data that binds a ciphertext to where it is stored (dataset, record key, version),
// so a ciphertext moved to another slot fails to open.
//
// Layout of a box: nonce (24) || ciphertext || tag (16).
#pragma once

#include <array>
#include <cstdint>

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
// The same into out, which must hold box.size() - kAeadOverhead bytes (a buffer kept from message
// to message); out's contents are unspecified on failure.
Status aead_decrypt_into(const DataKey& key, ByteView associated, ByteView box,
                         std::span<uint8_t> out);

// A segment: many messages sealed under one key with one key derivation (the records of one
// spool write transaction). Every message of a segment is an ordinary XChaCha20-Poly1305-IETF
// box under `key` whose 24-byte nonce is salt || be64(counter): the segment's salt (16 random
// bytes, drawn by start()) followed by the message's counter. XChaCha20 derives a subkey for
// every message (HChaCha20 of the key and the nonce's first 16 bytes); the messages of a segment
// share those 16 bytes, so the segment derives it once and seals each message with
// ChaCha20-Poly1305-IETF under it — the very steps libsodium's XChaCha20-Poly1305 takes, and the
// same bytes: salt || be64(counter) || sealed opens with aead_decrypt (tests/core/crypto checks
// it). Nothing new is built: only the derivation is not repeated.
//
// Nonces never repeat as long as a counter is used once per segment for sealing (the spool uses
// each record's sequence number, itself used once) and salts differ: 128 random bits each, so
// two segments collide with probability 2^-128 per pair.
//
// Layout of a segment message: ciphertext || tag (16); the salt and the counter are kept by the
// caller. Not thread-safe (reset() changes the subkey); the subkey lives in protected memory.
inline constexpr size_t kSegmentSaltSize = 16;
inline constexpr size_t kSegmentTagSize = 16;

class AeadSegment {
 public:
  // A new segment under key, with a fresh random salt.
  static AeadSegment start(const DataKey& key);
  // An existing segment (its salt read back), to open its messages. salt: kSegmentSaltSize bytes.
  static Result<AeadSegment> resume(const DataKey& key, ByteView salt);
  // Switches this object to another segment of the same or another key without allocating.
  Status reset(const DataKey& key, ByteView salt);

  ByteView salt() const { return {salt_.data(), salt_.size()}; }
  // out: plaintext.size() + kSegmentTagSize bytes.
  void encrypt_into(uint64_t counter, ByteView associated, ByteView plaintext,
                    std::span<uint8_t> out) const;
  // sealed: ciphertext || tag; out: sealed.size() - kSegmentTagSize bytes. kUnauthenticated when
  // the key, salt, counter, associated data or bytes do not match; kCorrupt when too short.
  Status decrypt_into(uint64_t counter, ByteView associated, ByteView sealed,
                      std::span<uint8_t> out) const;

 private:
  AeadSegment() : subkey_(kDataKeySize) {}
  std::array<uint8_t, kSegmentSaltSize> salt_{};
  SecretBytes subkey_;
};

// Wraps a secret (a dataset key) under a key-encryption key; unwrap reverses it into protected
// memory, so the unwrapped key never sits in ordinary heap memory.
Bytes wrap_secret(const DataKey& kek, ByteView associated, const SecretBytes& secret);
Result<SecretBytes> unwrap_secret(const DataKey& kek, ByteView associated, ByteView box);

}  // namespace gongshu::crypto
