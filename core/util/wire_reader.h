// WireReader: the protocol buffers wire format (varints, tags, length-delimited and fixed64
// fields) read strictly from a byte string, for the hot paths that read a message in place
// instead of parsing it (core/catalog/record_view.h, core/batch). Anything protobuf would read
// differently is a failure: a varint past 64 bits, a tag past 32 bits or naming field 0, a
// length past the end. The caller then parses with protobuf. No allocation; views only.
#pragma once

#include <cstdint>
#include <cstring>
#include <limits>
#include <string_view>

namespace gongshu {

class WireReader {
 public:
  static constexpr uint32_t kVarint = 0;
  static constexpr uint32_t kFixed64 = 1;
  static constexpr uint32_t kLengthDelimited = 2;

  explicit WireReader(std::string_view s) : p_(s.data()), end_(s.data() + s.size()) {}
  bool done() const { return p_ == end_; }

  bool varint(uint64_t& v) {
    v = 0;
    for (int i = 0; i < 10; ++i) {
      if (p_ == end_) return false;
      const auto b = static_cast<uint8_t>(*p_++);
      if (i == 9 && b > 1) return false;  // beyond 64 bits
      v |= static_cast<uint64_t>(b & 0x7F) << (7 * i);
      if (!(b & 0x80)) return true;
    }
    return false;
  }

  bool tag(uint32_t& field, uint32_t& wire_type) {
    uint64_t t;
    if (!varint(t) || t > std::numeric_limits<uint32_t>::max() || (t >> 3) == 0) return false;
    field = static_cast<uint32_t>(t >> 3);
    wire_type = static_cast<uint32_t>(t & 7);
    return true;
  }

  bool bytes(std::string_view& out) {
    uint64_t n;
    if (!varint(n) || n > static_cast<uint64_t>(end_ - p_) ||
        n > static_cast<uint64_t>(std::numeric_limits<int32_t>::max()))
      return false;
    out = std::string_view(p_, static_cast<size_t>(n));
    p_ += n;
    return true;
  }

  bool fixed64(uint64_t& v) {
    if (end_ - p_ < 8) return false;
    std::memcpy(&v, p_, 8);  // little-endian on every platform we build for
    p_ += 8;
    return true;
  }

 private:
  const char* p_;
  const char* end_;
};

// Marks field `number` (< 32) as seen in `seen`; false when it already was — a singular field
// given twice, which protobuf resolves (keeping the last, or merging) rather than refuses.
inline bool first_time(uint32_t& seen, uint32_t number) {
  if (number >= 32) return false;
  const uint32_t bit = uint32_t{1} << number;
  if (seen & bit) return false;
  seen |= bit;
  return true;
}

}  // namespace gongshu
