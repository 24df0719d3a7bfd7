// The stored::Version encoding (daemon/stored.proto) written on the ingest path without building
// the message: a worker appends the fields it knows, encrypting the record straight into place,
// and the single writer appends the three only it knows. Each part is encoded exactly as
// protobuf encodes those fields (proto3: default values left out, fields in number order), and
// protobuf reads the concatenation as one message. tests/daemon/version_encoding_test holds both
// parts to what the generated code writes and reads.
#pragma once

#include <cstdint>
#include <memory_resource>
#include <string>
#include <string_view>

#include "core/crypto/aead.h"
#include "core/util/bytes.h"

namespace gongshu::daemon {

// What a worker knows of a version (fields 1-6, 8-10).
struct VersionHead {
  std::string_view dataset;
  std::string_view record_key;
  std::string_view agency;
  std::string_view agent_key_id;
  uint64_t batch_seq = 0;
  uint32_t index = 0;
  bool invalidation = false;
  std::string_view record_hash;
};

// The most bytes append_version_head() adds for a record of `record_size` bytes.
size_t version_head_capacity(const VersionHead& head, size_t record_size);

// Appends the head's fields with sealed_record = the record under `key` and `ad`
// (crypto::aead_encrypt).
void append_version_head(std::pmr::string& out, const VersionHead& head, const crypto::DataKey& key,
                         ByteView ad, ByteView record);

// The most bytes append_version_tail() adds.
inline constexpr size_t kVersionTailCapacity = 3 * 11;

// Appends the fields the writer alone knows: received_at_ms (7), audit_seq (11) and
// previous_version (12).
void append_version_tail(std::pmr::string& out, int64_t received_at_ms, uint64_t audit_seq,
                         uint64_t previous_version);

}  // namespace gongshu::daemon
