// The values etcd hands back through core/etcd: keys with their revisions, leases, and what a
// range or a transaction returned. Plain structs that own their bytes; keys and values are
// arbitrary bytes held in std::string (etcd stores bytes, the gateway carries them as base64).
//
// Revisions are etcd's: one counter for the whole key space, raised by every write. A key's
// create_revision is the revision of the write that created it (0: the key is absent, which is
// what a transaction compares to ask "is it absent?"); mod_revision is that of its last write;
// version counts its writes since creation.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace gongshu::etcd {

// An etcd lease. Keys attached to it are deleted when it expires or is revoked.
struct LeaseId {
  int64_t value = 0;
  friend bool operator==(LeaseId, LeaseId) = default;
};

struct KeyValue {
  std::string key;
  std::string value;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
  int64_t version = 0;
  int64_t lease = 0;  // 0: not attached to a lease
  friend bool operator==(const KeyValue&, const KeyValue&) = default;
};

// get(): the key if present, and the store's revision when etcd answered.
struct GetResult {
  std::optional<KeyValue> kv;
  int64_t revision = 0;
};

// get_prefix(): every key under the prefix, in key order, and the store's revision.
struct RangeResult {
  std::vector<KeyValue> kvs;
  int64_t revision = 0;
};

struct DeleteResult {
  int64_t deleted = 0;  // 0 when the key was absent (a value, not an error)
  int64_t revision = 0;
};

// time_to_live() of a live lease.
struct LeaseInfo {
  int64_t ttl_s = 0;          // seconds left
  int64_t granted_ttl_s = 0;  // what it was granted (or last kept alive) with
  std::vector<std::string> keys;
};

// create_if_absent(): created tells whether this call created the key. revision is the key's
// create_revision either way (for a leader key: the term of whoever holds it), and current is
// the key as it stands when this call did not create it.
struct CreateResult {
  bool created = false;
  int64_t revision = 0;
  std::optional<KeyValue> current;
};

}  // namespace gongshu::etcd
