// Byte containers and big-endian integer coding, shared by every module that builds a byte
// layout (keys in LMDB, signed messages, export frames). Views never own; they live as long as
// the buffer they point into.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace gongshu {

using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;

inline ByteView as_bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
inline std::string_view as_chars(ByteView b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}
inline Bytes to_bytes(std::string_view s) { return Bytes(s.begin(), s.end()); }

inline void append(Bytes& out, ByteView b) { out.insert(out.end(), b.begin(), b.end()); }
inline void append(Bytes& out, std::string_view s) { append(out, as_bytes(s)); }

// Bytewise order and equality, as LMDB orders keys.
inline bool bytes_less(ByteView a, ByteView b) { return as_chars(a) < as_chars(b); }
inline bool bytes_equal(ByteView a, ByteView b) { return as_chars(a) == as_chars(b); }

inline void put_be32(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v >> 24);
  p[1] = uint8_t(v >> 16);
  p[2] = uint8_t(v >> 8);
  p[3] = uint8_t(v);
}
inline void put_be64(uint8_t* p, uint64_t v) {
  put_be32(p, uint32_t(v >> 32));
  put_be32(p + 4, uint32_t(v));
}
inline uint32_t get_be32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}
inline uint64_t get_be64(const uint8_t* p) {
  return (uint64_t(get_be32(p)) << 32) | get_be32(p + 4);
}
inline void append_be32(Bytes& out, uint32_t v) {
  uint8_t b[4];
  put_be32(b, v);
  out.insert(out.end(), b, b + 4);
}
inline void append_be64(Bytes& out, uint64_t v) {
  uint8_t b[8];
  put_be64(b, v);
  out.insert(out.end(), b, b + 8);
}

}  // namespace gongshu
