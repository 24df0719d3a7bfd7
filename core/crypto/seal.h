// Sealing to a public key (DESIGN §5): the sender makes an ephemeral X25519 key pair and
// encrypts with XChaCha20-Poly1305 under the shared secret with the recipient's X25519 key
// (libsodium's crypto_box_curve25519xchacha20poly1305_seal). The sealed bytes are
// ephemeral public key (32) || ciphertext || tag (16); only the recipient can open them, and the
// sender is anonymous — authenticity comes from the signature inside.
#pragma once

#include <span>

#include "core/crypto/identity.h"
#include "core/util/bytes.h"
#include "core/util/error.h"

namespace gongshu::crypto {

inline constexpr size_t kSealOverhead = 48;

Result<Bytes> seal(const PublicKey& recipient, ByteView plaintext);
// seal() into memory the caller owns, which must hold exactly plaintext.size() + kSealOverhead
// bytes (the agent seals a batch straight into the store page it is committed from). out may
// overlap plaintext.
Status seal_into(const PublicKey& recipient, ByteView plaintext, std::span<uint8_t> out);

// Opens bytes sealed to this identity. Fails with kUnauthenticated on any tampering.
Result<Bytes> open_sealed(const IdentityKey& recipient, ByteView sealed);

}  // namespace gongshu::crypto
