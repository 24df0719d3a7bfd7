#include "daemon/version_encoding.h"

#include "daemon/stored.pb.h"

namespace gongshu::daemon {
namespace {

using stored::Version;

constexpr uint32_t kVarint = 0;
constexpr uint32_t kLengthDelimited = 2;
constexpr size_t kMaxVarint = 10;

void put_varint(std::pmr::string& out, uint64_t v) {
  char buf[kMaxVarint];
  size_t n = 0;
  while (v >= 0x80) {
    buf[n++] = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  buf[n++] = static_cast<char>(v);
  out.append(buf, n);
}

void put_tag(std::pmr::string& out, int field, uint32_t wire_type) {
  put_varint(out, (static_cast<uint64_t>(field) << 3) | wire_type);
}

// proto3 leaves out fields holding their default value.
void put_uint(std::pmr::string& out, int field, uint64_t v) {
  if (v == 0) return;
  put_tag(out, field, kVarint);
  put_varint(out, v);
}

void put_bytes(std::pmr::string& out, int field, std::string_view v) {
  if (v.empty()) return;
  put_tag(out, field, kLengthDelimited);
  put_varint(out, v.size());
  out.append(v);
}

// A tag and length-prefixed field: at most two 10-byte varints around the bytes.
constexpr size_t field_capacity(size_t bytes) { return 2 * kMaxVarint + bytes; }

}  // namespace

size_t version_head_capacity(const VersionHead& h, size_t record_size) {
  return field_capacity(h.dataset.size()) + field_capacity(h.record_key.size()) +
         field_capacity(h.agency.size()) + field_capacity(h.agent_key_id.size()) +
         3 * field_capacity(0) + field_capacity(record_size + crypto::kAeadOverhead) +
         field_capacity(h.record_hash.size());
}

void append_version_head(std::pmr::string& out, const VersionHead& h, const crypto::DataKey& key,
                         ByteView ad, ByteView record) {
  put_bytes(out, Version::kDatasetFieldNumber, h.dataset);
  put_bytes(out, Version::kRecordKeyFieldNumber, h.record_key);
  put_bytes(out, Version::kAgencyFieldNumber, h.agency);
  put_bytes(out, Version::kAgentKeyIdFieldNumber, h.agent_key_id);
  put_uint(out, Version::kBatchSeqFieldNumber, h.batch_seq);
  put_uint(out, Version::kIndexFieldNumber, h.index);
  put_uint(out, Version::kInvalidationFieldNumber, h.invalidation ? 1 : 0);
  // The sealed record is never empty (it carries the nonce and tag): encrypted in place.
  const size_t sealed = record.size() + crypto::kAeadOverhead;
  put_tag(out, Version::kSealedRecordFieldNumber, kLengthDelimited);
  put_varint(out, sealed);
  const size_t at = out.size();
  out.resize(at + sealed);
  crypto::aead_encrypt_into(key, ad, record, {reinterpret_cast<uint8_t*>(out.data()) + at, sealed});
  put_bytes(out, Version::kRecordHashFieldNumber, h.record_hash);
}

void append_version_tail(std::pmr::string& out, int64_t received_at_ms, uint64_t audit_seq,
                         uint64_t previous_version) {
  // sint64: zigzag encoded.
  const uint64_t zigzag =
      (static_cast<uint64_t>(received_at_ms) << 1) ^ static_cast<uint64_t>(received_at_ms >> 63);
  put_uint(out, Version::kReceivedAtMsFieldNumber, zigzag);
  put_uint(out, Version::kAuditSeqFieldNumber, audit_seq);
  put_uint(out, Version::kPreviousVersionFieldNumber, previous_version);
}

}  // namespace gongshu::daemon
