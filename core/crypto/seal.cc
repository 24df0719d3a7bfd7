#include "core/crypto/seal.h"

#include <sodium.h>

#include "core/crypto/sodium_init.h"

namespace gongshu::crypto {

static_assert(kSealOverhead == crypto_box_curve25519xchacha20poly1305_SEALBYTES);

Status seal_into(const PublicKey& recipient, ByteView plaintext, std::span<uint8_t> out) {
  if (out.size() != plaintext.size() + kSealOverhead) {
    return fail(ErrorCode::kInvalidArgument,
                "seal: " + std::to_string(out.size()) + " bytes of room for " +
                    std::to_string(plaintext.size()) + " bytes sealed");
  }
  crypto_init();
  GONGSHU_TRY(auto curve_pk, recipient.curve_public());
  if (crypto_box_curve25519xchacha20poly1305_seal(out.data(), plaintext.data(), plaintext.size(),
                                                  curve_pk.data()) != 0) {
    return fail(ErrorCode::kInternal, "seal: libsodium refused the recipient key");
  }
  return {};
}

Result<Bytes> seal(const PublicKey& recipient, ByteView plaintext) {
  Bytes out(plaintext.size() + kSealOverhead);
  GONGSHU_RETURN_IF_ERROR(seal_into(recipient, plaintext, out));
  return out;
}

Result<Bytes> open_sealed(const IdentityKey& recipient, ByteView sealed) {
  if (sealed.size() < kSealOverhead) {
    return fail(ErrorCode::kCorrupt, "sealed message: " + std::to_string(sealed.size()) +
                                         " bytes is shorter than the 48-byte overhead");
  }
  Bytes out(sealed.size() - kSealOverhead);
  if (crypto_box_curve25519xchacha20poly1305_seal_open(out.data(), sealed.data(), sealed.size(),
                                                       recipient.curve_public().data(),
                                                       recipient.curve_secret().data()) != 0) {
    return fail(ErrorCode::kUnauthenticated, "sealed message: does not open with this key");
  }
  return out;
}

}  // namespace gongshu::crypto
