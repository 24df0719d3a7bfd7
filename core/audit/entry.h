// Audit entries (DESIGN §7). An entry is a gongshu.v1.AuditEntry protobuf whose stored bytes
// are hashed exactly as stored: entry_hash(n) = SHA-256(0x00 || entry_bytes(n)). The writer
// always emits the fields in number order, so every entry starts with a fixed prefix
//
//   0x08 <varint seq> 0x12 0x20 <32 bytes prev_hash>
//
// which lets a verifier check sequence and chain without a protobuf parser (and refuse any entry
// whose prefix is not canonical). Functions here are pure and thread-safe.
#pragma once

#include <cstdint>
#include <string>

#include "core/audit/merkle.h"
#include "core/util/bytes.h"
#include "core/util/error.h"
#include "gongshu/v1/audit.pb.h"

namespace gongshu::audit {

inline constexpr size_t kMaxEntrySize = 64 * 1024;

struct EntryPrefix {
  uint64_t seq = 0;
  Hash prev_hash{};
};

// Parses the canonical prefix; kCorrupt says what is wrong.
Result<EntryPrefix> parse_entry_prefix(ByteView entry);

inline Hash entry_hash(ByteView entry) { return leaf_hash(entry); }

// Serialises entry with seq and prev_hash set; the result starts with the canonical prefix.
void encode_entry(uint64_t seq, const Hash& prev_hash, v1::AuditEntry& entry, std::string* out);

// Full parse for display; checks the prefix too, and that protobuf reads the same seq and
// prev_hash from the whole entry (kCorrupt otherwise).
Result<v1::AuditEntry> decode_entry(ByteView entry);

std::string_view decision_name(v1::Decision d);

}  // namespace gongshu::audit
