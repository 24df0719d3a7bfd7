// SHA-256 through OpenSSL (CPU SHA instructions where the machine has them).
// Sha256 is an incremental hasher that is reset and reused, so hot paths (the audit verifier
// hashes millions of entries) pay no allocation per message. One Sha256 per thread; it is not
// thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "core/util/bytes.h"

typedef struct evp_md_ctx_st EVP_MD_CTX;

namespace gongshu::crypto {

struct DirectFunctions;
using Digest = std::array<uint8_t, 32>;

class Sha256 {
 public:
  // How the hasher reaches OpenSSL's SHA-256. kDirect calls the implementation of the provider
  // that EVP_MD_fetch chose through that provider's public dispatch table (provider-digest(7)),
  // reusing one context; kEvp goes through EVP_Digest*, whose re-initialisation in OpenSSL 3.0
  // frees and re-allocates the provider context for every message (a quarter of the cost of
  // hashing an audit entry, two fifths of a Merkle node). kAuto is kDirect when the provider
  // exposes the functions, kEvp otherwise; both give the same digests (tested).
  enum class Path { kAuto, kDirect, kEvp };

  explicit Sha256(Path path = Path::kAuto);
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  Sha256& update(ByteView data);
  Sha256& update(std::string_view s) { return update(as_bytes(s)); }
  Sha256& update_byte(uint8_t b) { return update(ByteView(&b, 1)); }
  // Returns the digest and resets the hasher for the next message.
  Digest finish();

  // Whether this hasher took the direct path.
  bool direct() const { return direct_ != nullptr; }

 private:
  const DirectFunctions* direct_ = nullptr;  // the provider's functions (kDirect)
  void* direct_ctx_ = nullptr;               // and its context
  EVP_MD_CTX* evp_ctx_ = nullptr;
};

// One-shot digest; uses a per-thread Sha256.
Digest sha256(ByteView data);
inline Digest sha256(std::string_view s) { return sha256(as_bytes(s)); }

// SHA-256(domain || 0x00 || data): the domain-separated hashes of DESIGN §5 (for example
// record_hash = SHA-256("gongshu.record.v1\0" || record_bytes)).
Digest domain_hash(std::string_view domain, ByteView data);

}  // namespace gongshu::crypto
