// Enrollment tokens (DESIGN §4, issue: enrollment). `gongshuctl enroll-token create` prints one
// copyable line; `gongshu-agent enroll TOKEN` needs nothing else to find and trust the daemon:
//
//   gsenroll1.<base64( u8 version=1 || daemon public key (32) || secret (16) ||
//                      u16 BE length || api endpoint (UTF-8) || first 4 bytes of SHA-256 of
//                      everything before )>
//
// The daemon stores only SHA-256(secret), with the agency, the expiry and whether it was used;
// the token is one-time, expiring and agency-scoped. The checksum catches copy errors before any
// network traffic. Pure functions; thread-safe.
#pragma once

#include <array>
#include <string>
#include <string_view>

#include "core/crypto/identity.h"
#include "core/util/error.h"

namespace gongshu::wire {

inline constexpr std::string_view kEnrollTokenPrefix = "gsenroll1.";

struct EnrollTokenData {
  crypto::PublicKey daemon_key;
  std::array<uint8_t, 16> secret{};
  std::string api_endpoint;
};

std::string format_enroll_token(const EnrollTokenData& data);
Result<EnrollTokenData> parse_enroll_token(std::string_view token);

// What the daemon stores and looks up: hex of SHA-256(secret).
std::string enroll_secret_hash(const std::array<uint8_t, 16>& secret);

}  // namespace gongshu::wire
