#include "core/crypto/key_file.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <cstdio>
#include <optional>

#include "core/util/check.h"
#include "core/util/fd.h"

namespace gongshu::crypto {
namespace {

constexpr std::string_view kFormat = "gongshu-key-v1";
constexpr size_t kMaxKeyFileSize = 4096;

// Appends text to a SecretBytes-backed buffer of fixed capacity.
class SecretWriter {
 public:
  explicit SecretWriter(size_t capacity) : buf_(capacity) {}
  void put(std::string_view s) {
    GONGSHU_CHECK(len_ + s.size() <= buf_.size());
    std::memcpy(buf_.data() + len_, s.data(), s.size());
    len_ += s.size();
  }
  void put_hex_secret(const SecretBytes& s) {
    GONGSHU_CHECK(len_ + 2 * s.size() + 1 <= buf_.size());
    sodium_bin2hex(reinterpret_cast<char*>(buf_.data() + len_), 2 * s.size() + 1, s.data(),
                   s.size());
    len_ += 2 * s.size();
  }
  ByteView view() const { return {buf_.data(), len_}; }

 private:
  SecretBytes buf_;
  size_t len_ = 0;
};

struct Field {
  std::string_view name;
  std::string_view value;
};

bool is_name_char(char c) { return (c >= 'a' && c <= 'z') || c == '_'; }

// Parses one `name = "value"` line; nullopt with *why set when it does not fit the subset.
std::optional<Field> parse_line(std::string_view line, std::string* why) {
  size_t i = 0;
  while (i < line.size() && is_name_char(line[i])) ++i;
  if (i == 0) {
    *why = "expected a key name";
    return std::nullopt;
  }
  Field f{line.substr(0, i), {}};
  while (i < line.size() && line[i] == ' ') ++i;
  if (i >= line.size() || line[i] != '=') {
    *why = "expected '=' after " + std::string(f.name);
    return std::nullopt;
  }
  ++i;
  while (i < line.size() && line[i] == ' ') ++i;
  if (i >= line.size() || line[i] != '"') {
    *why = "expected a quoted string value";
    return std::nullopt;
  }
  size_t start = ++i;
  while (i < line.size() && line[i] != '"') {
    unsigned char c = static_cast<unsigned char>(line[i]);
    if (c < 0x20 || c >= 0x7f || c == '\\') {
      *why = "unsupported character in value";
      return std::nullopt;
    }
    ++i;
  }
  if (i >= line.size()) {
    *why = "unterminated string";
    return std::nullopt;
  }
  f.value = line.substr(start, i - start);
  ++i;
  while (i < line.size() && (line[i] == ' ' || line[i] == '\r')) ++i;
  if (i != line.size() && line[i] != '#') {
    *why = "unexpected text after the value";
    return std::nullopt;
  }
  return f;
}

}  // namespace

std::string_view key_kind_name(KeyKind kind) {
  switch (kind) {
    case KeyKind::kDaemon:
      return "daemon";
    case KeyKind::kAgent:
      return "agent";
    case KeyKind::kOperator:
      return "operator";
    case KeyKind::kOfficer:
      return "officer";
    case KeyKind::kAgency:
      return "agency";
    case KeyKind::kApplicant:
      return "applicant";
    case KeyKind::kLicensed:
      return "licensed";
    case KeyKind::kPublic:
      return "public";
    case KeyKind::kReviewer:
      return "reviewer";
  }
  return "unknown";
}

std::optional<KeyKind> parse_key_kind(std::string_view name) {
  for (KeyKind k :
       {KeyKind::kDaemon, KeyKind::kAgent, KeyKind::kOperator, KeyKind::kOfficer, KeyKind::kAgency,
        KeyKind::kApplicant, KeyKind::kLicensed, KeyKind::kPublic, KeyKind::kReviewer}) {
    if (key_kind_name(k) == name) return k;
  }
  return std::nullopt;
}

namespace {
// The key file's text in a buffer wiped when it goes (SecretWriter), handed to `write`.
template <typename Write>
Status write_key_text(KeyKind kind, const IdentityKey& key, Write&& write) {
  const PublicKey& pub = key.public_key();
  SecretWriter w(kMaxKeyFileSize);
  w.put("# gongshu identity key. Keep it secret: mode 0600, owned by the service user.\n");
  w.put("# The public key and key id below may be shared freely.\n");
  w.put("format = \"");
  w.put(kFormat);
  w.put("\"\nkind = \"");
  w.put(key_kind_name(kind));
  w.put("\"\npublic_key = \"");
  w.put(pub.hex());
  w.put("\"\nkey_id = \"");
  w.put(pub.key_id());
  w.put("\"\nsecret_seed = \"");
  w.put_hex_secret(key.seed());
  w.put("\"\n");
  return write(w.view());
}
}  // namespace

Status save_key_file(const std::string& path, KeyKind kind, const IdentityKey& key) {
  return write_key_text(kind, key, [&](ByteView text) {
    return with_context(write_new_file(path, text, 0600), "key file");
  });
}

Status save_key_file_atomic(const std::string& path, KeyKind kind, const IdentityKey& key) {
  // write_file_atomic leaves no PATH.tmp (which holds the secret seed) whichever step failed.
  return write_key_text(kind, key, [&](ByteView text) {
    return with_context(write_file_atomic(path, text, 0600), "key file");
  });
}

Result<KeyFile> load_key_file(const std::string& path) {
  auto ctx = [&](std::string why) { return "key file " + path + ": " + why; };
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
  if (st.st_mode & 077) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", unsigned(st.st_mode & 07777));
    return fail(ErrorCode::kPermissionDenied,
                ctx(std::string("mode ") + mode +
                    " lets group or others read the secret; run chmod 600 on it"));
  }
  if (st.st_uid != ::geteuid()) {
    return fail(ErrorCode::kPermissionDenied,
                ctx("owned by uid " + std::to_string(st.st_uid) + ", not by this user (uid " +
                    std::to_string(::geteuid()) + ")"));
  }
  if (st.st_size > static_cast<off_t>(kMaxKeyFileSize)) {
    return fail(ErrorCode::kInvalidArgument,
                ctx("larger than " + std::to_string(kMaxKeyFileSize) + " bytes"));
  }
  SecretBytes buf(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (got < buf.size()) {
    ssize_t n = ::read(fd.get(), buf.data() + got, buf.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_errno(ctx("read"), errno);
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  std::string_view text(reinterpret_cast<const char*>(buf.data()), got);

  std::string_view format, kind_name, public_hex, key_id, seed_hex;
  size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.empty() || line.front() == '#' || line == "\r") continue;
    std::string why;
    auto field = parse_line(line, &why);
    if (!field)
      return fail(ErrorCode::kInvalidArgument, ctx("line " + std::to_string(line_no) + ": " + why));
    std::string_view* slot = nullptr;
    if (field->name == "format") slot = &format;
    if (field->name == "kind") slot = &kind_name;
    if (field->name == "public_key") slot = &public_hex;
    if (field->name == "key_id") slot = &key_id;
    if (field->name == "secret_seed") slot = &seed_hex;
    if (slot == nullptr) {
      return fail(ErrorCode::kInvalidArgument,
                  ctx("line " + std::to_string(line_no) + ": unknown key '" +
                      std::string(field->name) + "'"));
    }
    if (!slot->empty()) {
      return fail(ErrorCode::kInvalidArgument,
                  ctx("line " + std::to_string(line_no) + ": duplicate key '" +
                      std::string(field->name) + "'"));
    }
    *slot = field->value;
  }
  if (format != kFormat)
    return fail(ErrorCode::kInvalidArgument, ctx("format is not " + std::string(kFormat)));
  auto kind = parse_key_kind(kind_name);
  if (!kind)
    return fail(ErrorCode::kInvalidArgument, ctx("unknown kind '" + std::string(kind_name) + "'"));
  if (seed_hex.size() != 64)
    return fail(ErrorCode::kInvalidArgument, ctx("secret_seed must be 64 hex characters"));

  SecretBytes seed(32);
  size_t seed_len = 0;
  if (sodium_hex2bin(seed.data(), seed.size(), seed_hex.data(), seed_hex.size(), nullptr, &seed_len,
                     nullptr) != 0 ||
      seed_len != 32) {
    return fail(ErrorCode::kInvalidArgument, ctx("secret_seed is not valid hex"));
  }
  GONGSHU_TRY(IdentityKey key, with_context(IdentityKey::from_seed(seed), ctx("secret_seed")));
  if (public_hex != key.public_key().hex()) {
    return fail(ErrorCode::kCorrupt, ctx("public_key does not match the secret key"));
  }
  if (key_id != key.public_key().key_id()) {
    return fail(ErrorCode::kCorrupt, ctx("key_id does not match the public key"));
  }
  return KeyFile{*kind, std::move(key)};
}

}  // namespace gongshu::crypto
