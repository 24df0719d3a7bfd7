// SecretBytes: the only container for secret key material. The bytes live in sodium_malloc
// memory (guard pages, mlocked, excluded from core dumps) and are wiped on destruction. They are
// never converted to std::string, never printed, and compared only in constant time.
// Move-only; a moved-from SecretBytes is empty.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/util/bytes.h"

namespace gongshu::crypto {

class SecretBytes {
 public:
  SecretBytes() = default;
  // size zero-filled bytes in protected memory.
  explicit SecretBytes(size_t size);
  static SecretBytes random(size_t size);
  static SecretBytes copy_of(ByteView data);

  SecretBytes(SecretBytes&& o) noexcept;
  SecretBytes& operator=(SecretBytes&& o) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  ~SecretBytes();

  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  ByteView view() const { return {data_, size_}; }

  // Constant-time comparison (sodium_memcmp); different sizes compare unequal.
  bool equals(const SecretBytes& other) const;

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace gongshu::crypto
