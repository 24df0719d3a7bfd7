#include "core/crypto/sodium_init.h"

#include <sodium.h>

#include "core/util/check.h"

namespace gongshu::crypto {

void crypto_init() {
  static const bool ok = sodium_init() >= 0;
  GONGSHU_CHECK_MSG(ok, "sodium_init failed");
}

}  // namespace gongshu::crypto
