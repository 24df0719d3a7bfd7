#include "core/crypto/secret_bytes.h"

#include <sodium.h>

#include <utility>

#include "core/crypto/sodium_init.h"
#include "core/util/check.h"

namespace gongshu::crypto {

SecretBytes::SecretBytes(size_t size) : size_(size) {
  crypto_init();
  if (size == 0) return;
  data_ = static_cast<uint8_t*>(sodium_malloc(size));
  GONGSHU_CHECK_MSG(data_ != nullptr, "sodium_malloc failed");
  sodium_memzero(data_, size);
}

SecretBytes SecretBytes::random(size_t size) {
  SecretBytes s(size);
  if (size > 0) randombytes_buf(s.data_, size);
  return s;
}

SecretBytes SecretBytes::copy_of(ByteView data) {
  SecretBytes s(data.size());
  if (!data.empty()) std::copy(data.begin(), data.end(), s.data_);
  return s;
}

SecretBytes::SecretBytes(SecretBytes&& o) noexcept
    : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}

SecretBytes& SecretBytes::operator=(SecretBytes&& o) noexcept {
  if (this != &o) {
    if (data_) sodium_free(data_);
    data_ = std::exchange(o.data_, nullptr);
    size_ = std::exchange(o.size_, 0);
  }
  return *this;
}

SecretBytes::~SecretBytes() {
  if (data_) sodium_free(data_);  // sodium_free wipes before releasing
}

bool SecretBytes::equals(const SecretBytes& other) const {
  if (size_ != other.size_) return false;
  if (size_ == 0) return true;
  return sodium_memcmp(data_, other.data_, size_) == 0;
}

}  // namespace gongshu::crypto
