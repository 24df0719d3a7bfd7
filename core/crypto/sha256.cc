#include "core/crypto/sha256.h"

#include <openssl/evp.h>

#include "core/util/check.h"

namespace gongshu::crypto {
namespace {

const EVP_MD* sha256_md() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  GONGSHU_CHECK_MSG(md != nullptr, "OpenSSL has no SHA256");
  return md;
}

}  // namespace

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  GONGSHU_CHECK(ctx_ != nullptr);
  GONGSHU_CHECK(EVP_DigestInit_ex2(ctx_, sha256_md(), nullptr) == 1);
}

Sha256::~Sha256() { EVP_MD_CTX_free(ctx_); }

Sha256& Sha256::update(ByteView data) {
  GONGSHU_CHECK(EVP_DigestUpdate(ctx_, data.data(), data.size()) == 1);
  return *this;
}

Digest Sha256::finish() {
  Digest d;
  unsigned int len = 0;
  GONGSHU_CHECK(EVP_DigestFinal_ex(ctx_, d.data(), &len) == 1 && len == d.size());
  GONGSHU_CHECK(EVP_DigestInit_ex2(ctx_, nullptr, nullptr) == 1);
  return d;
}

Digest sha256(ByteView data) {
  thread_local Sha256 h;
  return h.update(data).finish();
}

Digest domain_hash(std::string_view domain, ByteView data) {
  thread_local Sha256 h;
  return h.update(domain).update_byte(0).update(data).finish();
}

}  // namespace gongshu::crypto
