#include "core/crypto/aead.h"

#include <sodium.h>

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <cstring>

#include "core/crypto/sodium_init.h"
#include "core/util/check.h"

namespace gongshu::crypto {

static_assert(kDataKeySize == crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
static_assert(kAeadOverhead == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES +
                                   crypto_aead_xchacha20poly1305_ietf_ABYTES);

DataKey DataKey::generate() { return DataKey(SecretBytes::random(kDataKeySize)); }

Result<DataKey> DataKey::from_secret(SecretBytes key) {
  if (key.size() != kDataKeySize) {
    return fail(ErrorCode::kInvalidArgument,
                "data key: " + std::to_string(key.size()) + " bytes, expected 32");
  }
  return DataKey(std::move(key));
}

namespace {

// Random 24-byte nonces drawn from a per-thread pool refilled 4 KiB at a time: one getrandom
// call per 170 nonces instead of one per record. Still uniformly random, so XChaCha20's 192-bit
// nonces stay safe to pick at random.
// A forked child must never reuse its parent's pool (a repeated nonce under one key breaks
// XChaCha20-Poly1305), so a fork invalidates every pool.
std::atomic<uint64_t> fork_generation{0};

void random_nonce(uint8_t* nonce) {
  constexpr size_t kNonce = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
  constexpr size_t kPool = 170 * kNonce;
  // Registers the fork handler once, on first use; the flag itself is never read.
  [[maybe_unused]] static const bool registered = [] {
    pthread_atfork(nullptr, nullptr, [] { fork_generation.fetch_add(1); });
    return true;
  }();
  thread_local uint8_t pool[kPool];
  thread_local size_t used = kPool;
  thread_local uint64_t generation = 0;
  if (used == kPool || generation != fork_generation.load(std::memory_order_relaxed)) {
    generation = fork_generation.load(std::memory_order_relaxed);
    randombytes_buf(pool, kPool);
    used = 0;
  }
  std::memcpy(nonce, pool + used, kNonce);
  sodium_memzero(pool + used, kNonce);  // a nonce is handed out once
  used += kNonce;
}

// Encrypts into out (sized by the caller to plaintext + overhead).
void encrypt_into(const DataKey& key, ByteView ad, const uint8_t* pt, size_t pt_len, uint8_t* out) {
  crypto_init();
  uint8_t* nonce = out;
  random_nonce(nonce);
  unsigned long long clen = 0;
  GONGSHU_CHECK(crypto_aead_xchacha20poly1305_ietf_encrypt(
                    out + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, &clen, pt, pt_len,
                    ad.data(), ad.size(), nullptr, nonce, key.secret().data()) == 0);
}

Status decrypt_into(const DataKey& key, ByteView ad, ByteView box, uint8_t* out) {
  if (box.size() < kAeadOverhead) {
    return fail(ErrorCode::kCorrupt, "encrypted value: " + std::to_string(box.size()) +
                                         " bytes is shorter than the 40-byte overhead");
  }
  unsigned long long mlen = 0;
  const uint8_t* nonce = box.data();
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          out, &mlen, nullptr, box.data() + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
          box.size() - crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, ad.data(), ad.size(), nonce,
          key.secret().data()) != 0) {
    return fail(ErrorCode::kUnauthenticated, "encrypted value: authentication failed");
  }
  return {};
}

}  // namespace

Bytes aead_encrypt(const DataKey& key, ByteView associated, ByteView plaintext) {
  Bytes out(plaintext.size() + kAeadOverhead);
  encrypt_into(key, associated, plaintext.data(), plaintext.size(), out.data());
  return out;
}

void aead_encrypt_into(const DataKey& key, ByteView associated, ByteView plaintext,
                       std::span<uint8_t> out) {
  GONGSHU_CHECK(out.size() == plaintext.size() + kAeadOverhead);
  encrypt_into(key, associated, plaintext.data(), plaintext.size(), out.data());
}

Result<Bytes> aead_decrypt(const DataKey& key, ByteView associated, ByteView box) {
  Bytes out(box.size() >= kAeadOverhead ? box.size() - kAeadOverhead : 0);
  GONGSHU_RETURN_IF_ERROR(decrypt_into(key, associated, box, out.data()));
  return out;
}

Status aead_decrypt_into(const DataKey& key, ByteView associated, ByteView box,
                         std::span<uint8_t> out) {
  GONGSHU_CHECK(box.size() < kAeadOverhead || out.size() == box.size() - kAeadOverhead);
  return decrypt_into(key, associated, box, out.data());
}

namespace {

static_assert(kSegmentSaltSize == crypto_core_hchacha20_INPUTBYTES);
static_assert(kSegmentTagSize == crypto_aead_chacha20poly1305_ietf_ABYTES);
static_assert(crypto_aead_chacha20poly1305_ietf_NPUBBYTES == 12);

// The ChaCha20-Poly1305-IETF nonce of a segment message, as XChaCha20 forms it from the last 8
// bytes of its 24-byte nonce (here be64(counter)): four zero bytes, then those 8.
std::array<uint8_t, 12> segment_nonce(uint64_t counter) {
  std::array<uint8_t, 12> n{};
  put_be64(n.data() + 4, counter);
  return n;
}

}  // namespace

AeadSegment AeadSegment::start(const DataKey& key) {
  crypto_init();
  AeadSegment s;
  std::array<uint8_t, kSegmentSaltSize> salt;
  randombytes_buf(salt.data(), salt.size());
  GONGSHU_CHECK(s.reset(key, ByteView(salt.data(), salt.size())).has_value());
  return s;
}

Result<AeadSegment> AeadSegment::resume(const DataKey& key, ByteView salt) {
  crypto_init();
  AeadSegment s;
  GONGSHU_RETURN_IF_ERROR(s.reset(key, salt));
  return s;
}

Status AeadSegment::reset(const DataKey& key, ByteView salt) {
  if (salt.size() != kSegmentSaltSize) {
    return fail(ErrorCode::kCorrupt,
                "segment salt: " + std::to_string(salt.size()) + " bytes, expected 16");
  }
  std::copy(salt.begin(), salt.end(), salt_.begin());
  // XChaCha20's subkey for every nonce that starts with this salt (libsodium's
  // crypto_aead_xchacha20poly1305_ietf_* compute exactly this per message).
  crypto_core_hchacha20(subkey_.data(), salt_.data(), key.secret().data(), nullptr);
  return {};
}

void AeadSegment::encrypt_into(uint64_t counter, ByteView associated, ByteView plaintext,
                               std::span<uint8_t> out) const {
  GONGSHU_CHECK(out.size() == plaintext.size() + kSegmentTagSize);
  const auto nonce = segment_nonce(counter);
  unsigned long long clen = 0;
  GONGSHU_CHECK(crypto_aead_chacha20poly1305_ietf_encrypt(
                    out.data(), &clen, plaintext.data(), plaintext.size(), associated.data(),
                    associated.size(), nullptr, nonce.data(), subkey_.data()) == 0);
}

Status AeadSegment::decrypt_into(uint64_t counter, ByteView associated, ByteView sealed,
                                 std::span<uint8_t> out) const {
  if (sealed.size() < kSegmentTagSize) {
    return fail(ErrorCode::kCorrupt, "encrypted value: " + std::to_string(sealed.size()) +
                                         " bytes is shorter than the 16-byte tag");
  }
  GONGSHU_CHECK(out.size() == sealed.size() - kSegmentTagSize);
  const auto nonce = segment_nonce(counter);
  unsigned long long mlen = 0;
  if (crypto_aead_chacha20poly1305_ietf_decrypt(out.data(), &mlen, nullptr, sealed.data(),
                                                sealed.size(), associated.data(), associated.size(),
                                                nonce.data(), subkey_.data()) != 0) {
    return fail(ErrorCode::kUnauthenticated, "encrypted value: authentication failed");
  }
  return {};
}

Bytes wrap_secret(const DataKey& kek, ByteView associated, const SecretBytes& secret) {
  Bytes out(secret.size() + kAeadOverhead);
  encrypt_into(kek, associated, secret.data(), secret.size(), out.data());
  return out;
}

Result<SecretBytes> unwrap_secret(const DataKey& kek, ByteView associated, ByteView box) {
  SecretBytes out(box.size() >= kAeadOverhead ? box.size() - kAeadOverhead : 0);
  GONGSHU_RETURN_IF_ERROR(decrypt_into(kek, associated, box, out.data()));
  return out;
}

}  // namespace gongshu::crypto
