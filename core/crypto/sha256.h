// SHA-256 through OpenSSL's EVP interface (CPU SHA instructions where the machine has them).
// Sha256 is an incremental hasher that can be reset and reused, which avoids a context
// allocation per hash on hot paths (the audit verifier hashes millions of entries). One Sha256
// per thread; it is not thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "core/util/bytes.h"

typedef struct evp_md_ctx_st EVP_MD_CTX;

namespace gongshu::crypto {

using Digest = std::array<uint8_t, 32>;

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  Sha256& update(ByteView data);
  Sha256& update(std::string_view s) { return update(as_bytes(s)); }
  Sha256& update_byte(uint8_t b) { return update(ByteView(&b, 1)); }
  // Returns the digest and resets the hasher for the next message.
  Digest finish();

 private:
  EVP_MD_CTX* ctx_;
};

// One-shot digest; uses a per-thread Sha256.
Digest sha256(ByteView data);
inline Digest sha256(std::string_view s) { return sha256(as_bytes(s)); }

// SHA-256(domain || 0x00 || data): the domain-separated hashes of DESIGN §5 (for example
// record_hash = SHA-256("gongshu.record.v1\0" || record_bytes)).
Digest domain_hash(std::string_view domain, ByteView data);

}  // namespace gongshu::crypto
