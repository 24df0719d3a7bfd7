#include "core/crypto/keyed_hash.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "core/crypto/sodium_init.h"
#include "core/util/check.h"
#include "core/util/fd.h"

namespace gongshu::crypto {

Digest keyed_hash(const SecretBytes& key, std::string_view domain, ByteView data) {
  crypto_init();
  GONGSHU_CHECK(key.size() >= crypto_generichash_KEYBYTES_MIN &&
                key.size() <= crypto_generichash_KEYBYTES_MAX);
  crypto_generichash_state st;
  GONGSHU_CHECK(crypto_generichash_init(&st, key.data(), key.size(), 32) == 0);
  crypto_generichash_update(&st, reinterpret_cast<const uint8_t*>(domain.data()), domain.size());
  const uint8_t zero = 0;
  crypto_generichash_update(&st, &zero, 1);
  crypto_generichash_update(&st, data.data(), data.size());
  Digest out;
  crypto_generichash_final(&st, out.data(), out.size());
  sodium_memzero(&st, sizeof st);
  return out;
}

Result<SecretBytes> load_secret_file(const std::string& path, size_t size) {
  auto ctx = [&](const std::string& why) { return "secret file " + path + ": " + why; };
  int raw = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (raw < 0) {
    if (errno == ELOOP)
      return fail(ErrorCode::kPermissionDenied, ctx("is a symbolic link; refusing to follow it"));
    return fail_errno(ctx("open"), errno);
  }
  Fd fd(raw);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return fail_errno(ctx("stat"), errno);
  if (!S_ISREG(st.st_mode)) return fail(ErrorCode::kInvalidArgument, ctx("not a regular file"));
  if (st.st_mode & 077)
    return fail(ErrorCode::kPermissionDenied,
                ctx("readable by group or others; run chmod 600 on it"));
  if (st.st_uid != ::geteuid() && st.st_uid != 0)
    return fail(ErrorCode::kPermissionDenied, ctx("owned by another user"));
  if (static_cast<size_t>(st.st_size) != size) {
    return fail(ErrorCode::kInvalidArgument,
                ctx(std::to_string(st.st_size) + " bytes, expected " + std::to_string(size)));
  }
  SecretBytes out(size);
  size_t got = 0;
  while (got < size) {
    ssize_t n = ::read(fd.get(), out.data() + got, size - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail_errno(ctx("read"), n < 0 ? errno : EIO);
    got += static_cast<size_t>(n);
  }
  return out;
}

Status create_secret_file(const std::string& path, size_t size) {
  SecretBytes s = SecretBytes::random(size);
  return write_new_file(path, s.view(), 0600);
}

}  // namespace gongshu::crypto
