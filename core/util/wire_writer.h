// The protocol buffers varint as its serialisation writes it: the one writer for the hot paths
// that build a message or a record by hand (core/batch's sealed header, core/replication's write
// set codec and stream message), beside WireReader (core/util/wire_reader.h) which reads it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace gongshu {

// Bytes `v` takes as a varint: 1 to 10.
constexpr size_t varint_size(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

// Writes `v` at `p` (which has varint_size(v) bytes) and returns the byte after it.
inline uint8_t* put_varint(uint8_t* p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<uint8_t>(v) | 0x80;
    v >>= 7;
  }
  *p++ = static_cast<uint8_t>(v);
  return p;
}

// Appends `v` to `out`.
inline void put_varint(std::string& out, uint64_t v) {
  uint8_t buf[10];
  out.append(reinterpret_cast<const char*>(buf), static_cast<size_t>(put_varint(buf, v) - buf));
}

}  // namespace gongshu
