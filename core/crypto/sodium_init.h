// crypto_init(): the one-time libsodium initialisation. Every factory in core/crypto calls it,
// so callers never need to; calling it again is cheap. A failure is a broken environment and
// aborts (GONGSHU_CHECK).
#pragma once

namespace gongshu::crypto {
void crypto_init();
}  // namespace gongshu::crypto
