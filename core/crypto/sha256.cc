#include "core/crypto/sha256.h"

#include <openssl/core_dispatch.h>
#include <openssl/evp.h>
#include <openssl/provider.h>

#include <string_view>

#include "core/util/check.h"

namespace gongshu::crypto {

// The SHA-256 functions of the provider behind sha256_md(). The EVP_MD is never freed, so the
// provider stays loaded and these pointers valid for the life of the process.
struct DirectFunctions {
  void* provider_ctx = nullptr;
  OSSL_FUNC_digest_newctx_fn* newctx = nullptr;
  OSSL_FUNC_digest_freectx_fn* freectx = nullptr;
  OSSL_FUNC_digest_init_fn* init = nullptr;
  OSSL_FUNC_digest_update_fn* update = nullptr;
  OSSL_FUNC_digest_final_fn* final = nullptr;

  bool complete() const { return newctx && freectx && init && update && final; }
};

namespace {

const EVP_MD* sha256_md() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  GONGSHU_CHECK_MSG(md != nullptr, "OpenSSL has no SHA256");
  return md;
}

// Whether the provider's ':'-separated name list holds `name`.
bool names_hold(std::string_view names, std::string_view name) {
  while (!names.empty()) {
    size_t colon = names.find(':');
    if (names.substr(0, colon) == name) return true;
    if (colon == std::string_view::npos) break;
    names.remove_prefix(colon + 1);
  }
  return false;
}

DirectFunctions find_direct_functions() {
  DirectFunctions f;
  const OSSL_PROVIDER* prov = EVP_MD_get0_provider(sha256_md());
  if (prov == nullptr) return f;
  int no_cache = 0;
  const OSSL_ALGORITHM* algs = OSSL_PROVIDER_query_operation(prov, OSSL_OP_DIGEST, &no_cache);
  if (algs == nullptr) return f;
  for (const OSSL_ALGORITHM* a = algs; a->algorithm_names != nullptr; ++a) {
    if (!names_hold(a->algorithm_names, "SHA2-256")) continue;
    for (const OSSL_DISPATCH* d = a->implementation; d->function_id != 0; ++d) {
      switch (d->function_id) {
        case OSSL_FUNC_DIGEST_NEWCTX:
          f.newctx = OSSL_FUNC_digest_newctx(d);
          break;
        case OSSL_FUNC_DIGEST_FREECTX:
          f.freectx = OSSL_FUNC_digest_freectx(d);
          break;
        case OSSL_FUNC_DIGEST_INIT:
          f.init = OSSL_FUNC_digest_init(d);
          break;
        case OSSL_FUNC_DIGEST_UPDATE:
          f.update = OSSL_FUNC_digest_update(d);
          break;
        case OSSL_FUNC_DIGEST_FINAL:
          f.final = OSSL_FUNC_digest_final(d);
          break;
        default:
          break;
      }
    }
    break;
  }
  OSSL_PROVIDER_unquery_operation(prov, OSSL_OP_DIGEST, algs);
  f.provider_ctx = OSSL_PROVIDER_get0_provider_ctx(prov);
  return f;
}

const DirectFunctions& direct_functions() {
  static const DirectFunctions f = find_direct_functions();
  return f;
}

}  // namespace

Sha256::Sha256(Path path) {
  const DirectFunctions& f = direct_functions();
  if (path != Path::kEvp && f.complete()) {
    direct_ctx_ = f.newctx(f.provider_ctx);
    if (direct_ctx_ != nullptr && f.init(direct_ctx_, nullptr) == 1) {
      direct_ = &f;
      return;
    }
    if (direct_ctx_ != nullptr) f.freectx(direct_ctx_);
    direct_ctx_ = nullptr;
  }
  GONGSHU_CHECK_MSG(path != Path::kDirect, "OpenSSL's SHA-256 provider has no usable dispatch");
  evp_ctx_ = EVP_MD_CTX_new();
  GONGSHU_CHECK(evp_ctx_ != nullptr);
  GONGSHU_CHECK(EVP_DigestInit_ex2(evp_ctx_, sha256_md(), nullptr) == 1);
}

Sha256::~Sha256() {
  if (direct_ != nullptr) direct_->freectx(direct_ctx_);
  EVP_MD_CTX_free(evp_ctx_);
}

Sha256& Sha256::update(ByteView data) {
  if (direct_ != nullptr) {
    GONGSHU_CHECK(direct_->update(direct_ctx_, data.data(), data.size()) == 1);
  } else {
    GONGSHU_CHECK(EVP_DigestUpdate(evp_ctx_, data.data(), data.size()) == 1);
  }
  return *this;
}

Digest Sha256::finish() {
  Digest d;
  if (direct_ != nullptr) {
    size_t len = 0;
    GONGSHU_CHECK(direct_->final(direct_ctx_, d.data(), &len, d.size()) == 1 && len == d.size());
    GONGSHU_CHECK(direct_->init(direct_ctx_, nullptr) == 1);
  } else {
    unsigned int len = 0;
    GONGSHU_CHECK(EVP_DigestFinal_ex(evp_ctx_, d.data(), &len) == 1 && len == d.size());
    GONGSHU_CHECK(EVP_DigestInit_ex2(evp_ctx_, nullptr, nullptr) == 1);
  }
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
