// Identity keys (DESIGN §4). Every principal has one Ed25519 key pair. Its public key, written
// as 64 lowercase hex characters, names the principal everywhere; its key id is the first 16 hex
// characters of SHA-256(public key). The X25519 form of the same key pair (libsodium's
// conversion) is the principal's ZeroMQ CURVE key, so one public key serves both purposes.
//
// IdentityKey owns the secret half in SecretBytes. Signing is domain-separated: the signed bytes
// are domain || 0x00 || message, so a signature made for one purpose can never be replayed as
// another. IdentityKey is immutable after creation and safe to share between threads.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/crypto/secret_bytes.h"
#include "core/util/bytes.h"
#include "core/util/error.h"

namespace gongshu::crypto {

inline constexpr size_t kPublicKeySize = 32;
inline constexpr size_t kSignatureSize = 64;

using Signature = std::array<uint8_t, kSignatureSize>;

class PublicKey {
 public:
  PublicKey() = default;  // all zero; not a usable key
  static Result<PublicKey> from_bytes(ByteView b);
  static Result<PublicKey> from_hex(std::string_view hex);

  const std::array<uint8_t, kPublicKeySize>& bytes() const { return bytes_; }
  ByteView view() const { return {bytes_.data(), bytes_.size()}; }
  std::string hex() const;
  std::string key_id() const;  // first 16 hex of SHA-256(public key)

  // The X25519 public key for CURVE; fails for a point that is not a valid Ed25519 key.
  Result<std::array<uint8_t, 32>> curve_public() const;

  bool operator==(const PublicKey&) const = default;
  auto operator<=>(const PublicKey&) const = default;

 private:
  std::array<uint8_t, kPublicKeySize> bytes_{};
};

// Verifies a domain-separated signature made by IdentityKey::sign.
bool verify(const PublicKey& key, std::string_view domain, ByteView message, const Signature& sig);
// Verifies a signature over exactly message (formats fixed by an outside spec, e.g. C2SP notes).
bool verify_raw(const PublicKey& key, ByteView message, const Signature& sig);

class IdentityKey {
 public:
  static IdentityKey generate();
  // From the 32-byte Ed25519 seed.
  static Result<IdentityKey> from_seed(const SecretBytes& seed);

  IdentityKey(IdentityKey&&) noexcept = default;
  IdentityKey& operator=(IdentityKey&&) noexcept = default;

  const PublicKey& public_key() const { return public_; }
  // The 32-byte seed, for writing the key file.
  SecretBytes seed() const;
  // The X25519 key pair of the same key, for CURVE and sealed boxes: converted once, when the
  // key is made, not per use.
  const SecretBytes& curve_secret() const { return curve_secret_; }
  const std::array<uint8_t, 32>& curve_public() const { return curve_public_; }

  Signature sign(std::string_view domain, ByteView message) const;
  Signature sign_raw(ByteView message) const;

 private:
  IdentityKey(SecretBytes secret, PublicKey pub);
  SecretBytes secret_;  // libsodium's 64-byte Ed25519 secret key (seed || public key)
  PublicKey public_;
  SecretBytes curve_secret_;
  std::array<uint8_t, 32> curve_public_{};
};

}  // namespace gongshu::crypto
