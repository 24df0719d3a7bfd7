#include "core/util/encoding.h"

#include <array>
#include <cstdint>

namespace gongshu {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";
constexpr char kBase64Alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kZ85Alphabet[] =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Reverse table for an alphabet; -1 marks characters outside it.
template <size_t N>
constexpr std::array<int8_t, 256> reverse_table(const char (&alphabet)[N]) {
  std::array<int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (size_t i = 0; i + 1 < N; ++i) t[static_cast<uint8_t>(alphabet[i])] = static_cast<int8_t>(i);
  return t;
}

constexpr auto kBase64Reverse = reverse_table(kBase64Alphabet);
constexpr auto kZ85Reverse = reverse_table(kZ85Alphabet);

std::string at_position(size_t pos) { return " at position " + std::to_string(pos + 1); }

}  // namespace

std::string hex_encode(ByteView data) {
  std::string out;
  out.resize(data.size() * 2);
  for (size_t i = 0; i < data.size(); ++i) {
    out[2 * i] = kHexDigits[data[i] >> 4];
    out[2 * i + 1] = kHexDigits[data[i] & 0x0f];
  }
  return out;
}

Result<Bytes> hex_decode(std::string_view text) {
  if (text.size() % 2 != 0) {
    return fail(ErrorCode::kInvalidArgument, "hex: odd length " + std::to_string(text.size()));
  }
  Bytes out(text.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = hex_value(text[2 * i]);
    int lo = hex_value(text[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return fail(ErrorCode::kInvalidArgument,
                  "hex: bad character" + at_position(hi < 0 ? 2 * i : 2 * i + 1));
    }
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return out;
}

std::string base64_encode(ByteView data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    uint32_t v = uint32_t(data[i]) << 16 | uint32_t(data[i + 1]) << 8 | data[i + 2];
    out.push_back(kBase64Alphabet[v >> 18]);
    out.push_back(kBase64Alphabet[(v >> 12) & 63]);
    out.push_back(kBase64Alphabet[(v >> 6) & 63]);
    out.push_back(kBase64Alphabet[v & 63]);
  }
  size_t rest = data.size() - i;
  if (rest > 0) {
    uint32_t v = uint32_t(data[i]) << 16 | (rest == 2 ? uint32_t(data[i + 1]) << 8 : 0);
    out.push_back(kBase64Alphabet[v >> 18]);
    out.push_back(kBase64Alphabet[(v >> 12) & 63]);
    out.push_back(rest == 2 ? kBase64Alphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

Result<Bytes> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) {
    return fail(ErrorCode::kInvalidArgument,
                "base64: length " + std::to_string(text.size()) + " is not a multiple of 4");
  }
  size_t pad = 0;
  if (!text.empty() && text.back() == '=')
    pad = (text.size() >= 2 && text[text.size() - 2] == '=') ? 2 : 1;
  Bytes out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    uint32_t v = 0;
    for (size_t j = 0; j < 4; ++j) {
      size_t pos = i + j;
      char c = text[pos];
      int d;
      if (c == '=' && pos >= text.size() - pad) {
        d = 0;
      } else {
        d = kBase64Reverse[static_cast<uint8_t>(c)];
        if (d < 0)
          return fail(ErrorCode::kInvalidArgument, "base64: bad character" + at_position(pos));
      }
      v = v << 6 | uint32_t(d);
    }
    out.push_back(uint8_t(v >> 16));
    out.push_back(uint8_t(v >> 8));
    out.push_back(uint8_t(v));
  }
  out.resize(out.size() - pad);
  // Canonical form only: the bits dropped by padding must be zero, so one byte string has one
  // encoding (signed notes compare encodings).
  if (pad > 0) {
    char last = text[text.size() - pad - 1];
    int d = kBase64Reverse[static_cast<uint8_t>(last)];
    int mask = pad == 1 ? 0x3 : 0xf;
    if (d & mask) return fail(ErrorCode::kInvalidArgument, "base64: non-canonical padding bits");
  }
  return out;
}

Result<std::string> z85_encode(ByteView data) {
  if (data.size() % 4 != 0) {
    return fail(ErrorCode::kInvalidArgument,
                "z85: length " + std::to_string(data.size()) + " is not a multiple of 4");
  }
  std::string out;
  out.reserve(data.size() / 4 * 5);
  for (size_t i = 0; i < data.size(); i += 4) {
    uint32_t v = get_be32(&data[i]);
    char block[5];
    for (int j = 4; j >= 0; --j) {
      block[j] = kZ85Alphabet[v % 85];
      v /= 85;
    }
    out.append(block, 5);
  }
  return out;
}

Result<Bytes> z85_decode(std::string_view text) {
  if (text.size() % 5 != 0) {
    return fail(ErrorCode::kInvalidArgument,
                "z85: length " + std::to_string(text.size()) + " is not a multiple of 5");
  }
  Bytes out;
  out.reserve(text.size() / 5 * 4);
  for (size_t i = 0; i < text.size(); i += 5) {
    uint64_t v = 0;
    for (size_t j = 0; j < 5; ++j) {
      int d = kZ85Reverse[static_cast<uint8_t>(text[i + j])];
      if (d < 0)
        return fail(ErrorCode::kInvalidArgument, "z85: bad character" + at_position(i + j));
      v = v * 85 + uint64_t(d);
    }
    if (v > 0xffffffffu)
      return fail(ErrorCode::kInvalidArgument, "z85: block overflows" + at_position(i));
    uint8_t b[4];
    put_be32(b, uint32_t(v));
    out.insert(out.end(), b, b + 4);
  }
  return out;
}

}  // namespace gongshu
