#include "core/audit/entry.h"

#include <cstring>

#include "core/util/check.h"

namespace gongshu::audit {

Result<EntryPrefix> parse_entry_prefix(ByteView entry) {
  if (entry.size() > kMaxEntrySize) {
    return fail(ErrorCode::kCorrupt, "entry of " + std::to_string(entry.size()) +
                                         " bytes exceeds the limit of " +
                                         std::to_string(kMaxEntrySize));
  }
  size_t i = 0;
  if (entry.empty() || entry[0] != 0x08)
    return fail(ErrorCode::kCorrupt, "entry does not start with field 1 (seq)");
  ++i;
  uint64_t seq = 0;
  for (unsigned shift = 0;; shift += 7) {
    if (i >= entry.size() || shift > 63)
      return fail(ErrorCode::kCorrupt, "entry seq varint is truncated or too long");
    uint8_t b = entry[i++];
    // The tenth byte may only carry the 64th bit.
    if (shift == 63 && (b & 0x7e))
      return fail(ErrorCode::kCorrupt, "entry seq varint overflows 64 bits");
    seq |= uint64_t(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      // Canonical varints only: no redundant trailing zero groups.
      if (b == 0 && shift > 0) return fail(ErrorCode::kCorrupt, "entry seq varint is not minimal");
      break;
    }
  }
  if (seq == 0) return fail(ErrorCode::kCorrupt, "entry seq is 0");
  if (i + 2 + 32 > entry.size() || entry[i] != 0x12 || entry[i + 1] != 0x20) {
    return fail(ErrorCode::kCorrupt, "entry lacks field 2 (prev_hash, 32 bytes) after seq");
  }
  EntryPrefix p;
  p.seq = seq;
  std::memcpy(p.prev_hash.data(), &entry[i + 2], 32);
  return p;
}

void encode_entry(uint64_t seq, const Hash& prev_hash, v1::AuditEntry& entry, std::string* out) {
  GONGSHU_CHECK(seq > 0);
  entry.set_seq(seq);
  entry.set_prev_hash(prev_hash.data(), prev_hash.size());
  out->clear();
  GONGSHU_CHECK(entry.SerializeToString(out));
}

Result<v1::AuditEntry> decode_entry(ByteView entry) {
  GONGSHU_TRY(EntryPrefix prefix, parse_entry_prefix(entry));
  v1::AuditEntry e;
  if (!e.ParseFromArray(entry.data(), static_cast<int>(entry.size()))) {
    return fail(ErrorCode::kCorrupt, "entry bytes do not parse as gongshu.v1.AuditEntry");
  }
  // protobuf keeps the last of a repeated field: an entry giving seq or prev_hash again would
  // read here as another entry than the one the verifier chained by its prefix.
  if (e.seq() != prefix.seq || e.prev_hash() != as_chars(prefix.prev_hash)) {
    return fail(ErrorCode::kCorrupt, "entry gives seq or prev_hash again after its prefix");
  }
  return e;
}

std::string_view decision_name(v1::Decision d) {
  switch (d) {
    case v1::DECISION_ALLOW:
      return "allow";
    case v1::DECISION_DENY:
      return "deny";
    case v1::DECISION_NONE:
      return "none";
    default:
      return "unknown";
  }
}

}  // namespace gongshu::audit
