// CurveKey: a principal's X25519 public key as it appears in a CURVE handshake and in a ZAP
// request. gongshu names principals by their Ed25519 public key (DESIGN §4); the CURVE key is
// derived from it, and a ZAP handler only ever sees the derived form. So a daemon that registers
// principals by Ed25519 key keeps a map CurveKey -> principal, filled with curve_key_of().
//
// A plain value type; safe to copy and share.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "core/crypto/identity.h"
#include "core/util/error.h"

namespace gongshu::wire {

using CurveKey = std::array<uint8_t, 32>;

// The CURVE (X25519) public key of an Ed25519 public key. Fails (kInvalidArgument) for bytes
// that are not a valid Ed25519 point.
Result<CurveKey> curve_key_of(const crypto::PublicKey& ed25519);

// 64 lowercase hex characters, for messages and logs.
std::string curve_key_hex(const CurveKey& key);

}  // namespace gongshu::wire
