#include "core/wire/curve_key.h"

#include "core/util/encoding.h"

namespace gongshu::wire {

Result<CurveKey> curve_key_of(const crypto::PublicKey& ed25519) {
  return with_context(ed25519.curve_public(), "CURVE key");
}

std::string curve_key_hex(const CurveKey& key) { return hex_encode(ByteView(key)); }

}  // namespace gongshu::wire
