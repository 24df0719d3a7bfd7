#include "core/crypto/identity.h"

#include <sodium.h>

#include "core/crypto/sha256.h"
#include "core/crypto/sodium_init.h"
#include "core/util/check.h"
#include "core/util/encoding.h"

namespace gongshu::crypto {
namespace {

// domain || 0x00 || message, the bytes every domain-separated signature covers.
Bytes domain_message(std::string_view domain, ByteView message) {
  Bytes m;
  m.reserve(domain.size() + 1 + message.size());
  append(m, domain);
  m.push_back(0);
  append(m, message);
  return m;
}

}  // namespace

Result<PublicKey> PublicKey::from_bytes(ByteView b) {
  if (b.size() != kPublicKeySize) {
    return fail(ErrorCode::kInvalidArgument,
                "public key: " + std::to_string(b.size()) + " bytes, expected 32");
  }
  PublicKey k;
  std::copy(b.begin(), b.end(), k.bytes_.begin());
  return k;
}

Result<PublicKey> PublicKey::from_hex(std::string_view hex) {
  if (hex.size() != 2 * kPublicKeySize) {
    return fail(ErrorCode::kInvalidArgument,
                "public key: " + std::to_string(hex.size()) + " hex characters, expected 64");
  }
  GONGSHU_TRY(Bytes b, with_context(hex_decode(hex), "public key"));
  return from_bytes(b);
}

std::string PublicKey::hex() const { return hex_encode(view()); }

std::string PublicKey::key_id() const { return hex_encode(sha256(view())).substr(0, 16); }

Result<std::array<uint8_t, 32>> PublicKey::curve_public() const {
  crypto_init();
  std::array<uint8_t, 32> out;
  if (crypto_sign_ed25519_pk_to_curve25519(out.data(), bytes_.data()) != 0) {
    return fail(ErrorCode::kInvalidArgument,
                "public key " + key_id() + ": not a valid Ed25519 point");
  }
  return out;
}

bool verify(const PublicKey& key, std::string_view domain, ByteView message, const Signature& sig) {
  return verify_raw(key, domain_message(domain, message), sig);
}

bool verify_raw(const PublicKey& key, ByteView message, const Signature& sig) {
  crypto_init();
  return crypto_sign_verify_detached(sig.data(), message.data(), message.size(),
                                     key.bytes().data()) == 0;
}

IdentityKey IdentityKey::generate() {
  crypto_init();
  SecretBytes sk(crypto_sign_SECRETKEYBYTES);
  std::array<uint8_t, 32> pk;
  GONGSHU_CHECK(crypto_sign_keypair(pk.data(), sk.data()) == 0);
  return IdentityKey(std::move(sk), *PublicKey::from_bytes(pk));
}

Result<IdentityKey> IdentityKey::from_seed(const SecretBytes& seed) {
  crypto_init();
  if (seed.size() != crypto_sign_SEEDBYTES) {
    return fail(ErrorCode::kInvalidArgument,
                "identity key: seed of " + std::to_string(seed.size()) + " bytes, expected 32");
  }
  SecretBytes sk(crypto_sign_SECRETKEYBYTES);
  std::array<uint8_t, 32> pk;
  GONGSHU_CHECK(crypto_sign_seed_keypair(pk.data(), sk.data(), seed.data()) == 0);
  return IdentityKey(std::move(sk), *PublicKey::from_bytes(pk));
}

SecretBytes IdentityKey::seed() const {
  SecretBytes s(crypto_sign_SEEDBYTES);
  GONGSHU_CHECK(crypto_sign_ed25519_sk_to_seed(s.data(), secret_.data()) == 0);
  return s;
}

IdentityKey::IdentityKey(SecretBytes secret, PublicKey pub)
    : secret_(std::move(secret)), public_(pub), curve_secret_(32) {
  GONGSHU_CHECK(crypto_sign_ed25519_sk_to_curve25519(curve_secret_.data(), secret_.data()) == 0);
  // The public half of a key libsodium made is always a valid point.
  GONGSHU_CHECK(crypto_sign_ed25519_pk_to_curve25519(curve_public_.data(), pub.bytes().data()) ==
                0);
}

Signature IdentityKey::sign(std::string_view domain, ByteView message) const {
  return sign_raw(domain_message(domain, message));
}

Signature IdentityKey::sign_raw(ByteView message) const {
  Signature sig;
  GONGSHU_CHECK(crypto_sign_detached(sig.data(), nullptr, message.data(), message.size(),
                                     secret_.data()) == 0);
  return sig;
}

}  // namespace gongshu::crypto
