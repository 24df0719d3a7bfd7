#include "core/wire/enroll_token.h"

#include <cstring>

#include "core/crypto/sha256.h"
#include "core/util/encoding.h"

namespace gongshu::wire {

std::string format_enroll_token(const EnrollTokenData& d) {
  Bytes body;
  body.push_back(1);
  append(body, d.daemon_key.view());
  body.insert(body.end(), d.secret.begin(), d.secret.end());
  body.push_back(static_cast<uint8_t>(d.api_endpoint.size() >> 8));
  body.push_back(static_cast<uint8_t>(d.api_endpoint.size()));
  append(body, d.api_endpoint);
  auto sum = crypto::sha256(body);
  body.insert(body.end(), sum.begin(), sum.begin() + 4);
  return std::string(kEnrollTokenPrefix) + base64_encode(body);
}

Result<EnrollTokenData> parse_enroll_token(std::string_view token) {
  // Tolerate the whitespace a copy from a terminal brings along.
  while (!token.empty() && (token.front() == ' ' || token.front() == '\n' || token.front() == '\t'))
    token.remove_prefix(1);
  while (!token.empty() && (token.back() == ' ' || token.back() == '\n' || token.back() == '\r' ||
                            token.back() == '\t'))
    token.remove_suffix(1);
  if (token.size() > 2048) return fail(ErrorCode::kInvalidArgument, "enrollment token: too long");
  if (token.substr(0, kEnrollTokenPrefix.size()) != kEnrollTokenPrefix) {
    return fail(ErrorCode::kInvalidArgument,
                "enrollment token: does not start with " + std::string(kEnrollTokenPrefix));
  }
  GONGSHU_TRY(Bytes b, with_context(base64_decode(token.substr(kEnrollTokenPrefix.size())),
                                    "enrollment token"));
  constexpr size_t kFixed = 1 + 32 + 16 + 2 + 4;
  if (b.size() < kFixed) return fail(ErrorCode::kInvalidArgument, "enrollment token: truncated");
  auto sum = crypto::sha256(ByteView(b.data(), b.size() - 4));
  if (std::memcmp(sum.data(), b.data() + b.size() - 4, 4) != 0) {
    return fail(ErrorCode::kInvalidArgument,
                "enrollment token: checksum mismatch (copied incompletely?)");
  }
  if (b[0] != 1)
    return fail(ErrorCode::kInvalidArgument,
                "enrollment token: unknown version " + std::to_string(b[0]));
  EnrollTokenData d;
  GONGSHU_TRY(d.daemon_key, crypto::PublicKey::from_bytes(ByteView(b.data() + 1, 32)));
  std::memcpy(d.secret.data(), b.data() + 33, 16);
  size_t len = size_t(b[49]) << 8 | b[50];
  if (51 + len + 4 != b.size())
    return fail(ErrorCode::kInvalidArgument, "enrollment token: bad endpoint length");
  d.api_endpoint.assign(reinterpret_cast<const char*>(b.data() + 51), len);
  return d;
}

std::string enroll_secret_hash(const std::array<uint8_t, 16>& secret) {
  return hex_encode(crypto::sha256(ByteView(secret.data(), secret.size())));
}

}  // namespace gongshu::wire
