// What the libFuzzer targets under fuzz/ share: the fixed keys their seed corpora were made with
// (so a seed's signatures verify and the fuzzer starts deep inside the verifiers), a catalog
// schema with every field type, a check that reports a disagreement as a crash, and inputs
// handed to path- or descriptor-based readers through a scratch file or a memfd.
//
// Header-only; each target is one process and runs inputs one at a time, so the function-local
// statics here are built once and never raced.
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <google/protobuf/stubs/logging.h>

#include "core/audit/checkpoint.h"
#include "core/audit/entry.h"
#include "core/audit/key_rotation.h"
#include "core/audit/merkle.h"
#include "core/catalog/dataset.h"
#include "core/crypto/identity.h"
#include "core/crypto/secret_bytes.h"
#include "core/util/check.h"
#include "core/util/clock.h"
#include "core/util/fd.h"

// A property the target holds the code under test to; false is a finding (libFuzzer keeps the
// input as a crash reproducer).
#define GONGSHU_FUZZ_CHECK(cond, what)                                                      \
  do {                                                                                      \
    if (!(cond)) {                                                                          \
      std::fprintf(stderr, "fuzz: disagreement: %s (%s) at %s:%d\n", what, #cond, __FILE__, \
                   __LINE__);                                                               \
      std::abort();                                                                         \
    }                                                                                       \
  } while (0)

namespace gongshu::fuzz {

inline std::string_view text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Key n (its seed is 32 bytes of n): 1 the daemon's, 2 an agent's, 3 the daemon's next key.
inline const crypto::IdentityKey& fixed_key(uint8_t n) {
  static crypto::IdentityKey* keys[256] = {};
  if (keys[n] == nullptr) {
    crypto::SecretBytes seed(32);
    for (size_t i = 0; i < seed.size(); ++i) seed.data()[i] = n;
    auto key = crypto::IdentityKey::from_seed(seed);
    GONGSHU_CHECK(key.has_value());
    keys[n] = new crypto::IdentityKey(std::move(*key));
  }
  return *keys[n];
}
inline const crypto::IdentityKey& daemon_key() { return fixed_key(1); }
inline const crypto::IdentityKey& agent_key() { return fixed_key(2); }
inline const crypto::IdentityKey& next_daemon_key() { return fixed_key(3); }

inline constexpr std::string_view kOrigin = "gongshu.fuzz/audit";

// The audit log the seed exports and proofs were made from: kLogSize entries, chained, with a
// daemon key rotation from daemon_key() to next_daemon_key() announced at entry kRotateSeq and
// activated at kActivateSeq (so the verifier's rotation path is reached from the seeds).
inline constexpr uint64_t kLogSize = 24;
inline constexpr uint64_t kRotateSeq = 10;
inline constexpr uint64_t kActivateSeq = 17;

struct SampleLog {
  std::vector<std::string> entries;  // entries[i] is entry i + 1, as stored
  audit::MemoryTree tree;
  // The signed note for the tree of the first `size` entries, signed by the key in force then
  // (both keys between rotation and activation, as the daemon does).
  std::string checkpoint(uint64_t size) const {
    audit::CheckpointBody body;
    body.origin = std::string(kOrigin);
    body.size = size;
    body.root = audit::subtree_root(tree, 0, size);
    body.chain = audit::entry_hash(as_bytes(entries[size - 1]));
    std::vector<const crypto::IdentityKey*> keys;
    if (size < kActivateSeq) keys.push_back(&daemon_key());
    if (size >= kRotateSeq) keys.push_back(&next_daemon_key());
    return audit::sign_checkpoint(body, keys);
  }
};

inline const SampleLog& sample_log() {
  static const SampleLog* log = [] {
    auto* out = new SampleLog;
    const audit::RotationStatement statement = audit::make_rotation_statement(
        std::string(kOrigin), daemon_key(), next_daemon_key(), 1795748550000);
    audit::Hash prev{};
    for (uint64_t seq = 1; seq <= kLogSize; ++seq) {
      v1::AuditEntry e;
      e.set_time_ms(1795748550000 + int64_t(seq));
      e.mutable_principal()->set_key_id(agent_key().public_key().key_id());
      e.mutable_principal()->set_role(seq % 3 ? "agent" : "operator");
      e.mutable_principal()->set_agency("sjz-fuzz");
      e.set_action(seq % 5 ? "ingest" : "query");
      e.set_dataset("fuzz.all_types");
      e.set_decision(seq % 7 ? v1::DECISION_ALLOW : v1::DECISION_DENY);
      e.set_record_count(seq);
      auto* ref = e.add_refs();
      ref->set_kind("batch");
      ref->set_value("agent/" + std::to_string(seq));
      if (seq == kRotateSeq || seq == kActivateSeq) {
        e.set_action(
            std::string(seq == kRotateSeq ? audit::kRotateAction : audit::kActivateAction));
        auto* r = e.add_refs();
        r->set_kind(std::string(audit::kRotationRef));
        r->set_value(audit::format_rotation_text(statement));
      }
      std::string bytes;
      audit::encode_entry(seq, prev, e, &bytes);
      prev = audit::entry_hash(as_bytes(bytes));
      out->tree.append(prev);
      out->entries.push_back(std::move(bytes));
    }
    return out;
  }();
  return *log;
}

// A dataset with a field of every type and both identifier kinds (seed records and input
// files name it).
inline constexpr std::string_view kSchemaToml = R"(
[dataset]
id = "fuzz.all_types"
name = "every type"
provider = "sjz-fuzz"
grade = "general-1"
open = "closed"
share = "conditional"
update_frequency = "daily"
subject = "person"
category = "population"

[[field]]
name = "citizen_id"
type = "text"
pii = "citizen_id"
required = true

[[field]]
name = "name"
type = "text"
pii = "name"

[[field]]
name = "credit_code"
type = "text"
pii = "credit_code"

[[field]]
name = "count"
type = "integer"

[[field]]
name = "ratio"
type = "real"

[[field]]
name = "flag"
type = "boolean"

[[field]]
name = "photo"
type = "blob"

[[field]]
name = "born"
type = "date"
pii = "birth_date"

[[field]]
name = "seen"
type = "timestamp"
)";

inline const catalog::DatasetSchema& schema() {
  static const catalog::DatasetSchema* s = [] {
    auto entry = catalog::parse_dataset_toml(kSchemaToml, "fuzz.toml");
    GONGSHU_CHECK(entry.has_value());
    return new catalog::DatasetSchema(std::move(*entry));
  }();
  return *s;
}

// 2026-11-27, fixed so that a verdict does not depend on when the fuzzer runs.
inline const Clock& clock() {
  static const FakeClock c{int64_t{1795748550} * 1'000'000'000};
  return c;
}

// protobuf logs every refused UTF-8 string; the fuzzers would print little else.
inline void quiet_protobuf() { google::protobuf::SetLogHandler(nullptr); }

// The path of this process's scratch file (mode 0600, under $TMPDIR or /tmp), removed at exit.
inline const std::string& scratch_path() {
  static const std::string path = [] {
    const char* dir = std::getenv("TMPDIR");
    return std::string(dir && *dir ? dir : "/tmp") + "/gongshu-fuzz-" + std::to_string(::getpid());
  }();
  // Registered once the path is built, so it runs before the path is destroyed.
  [[maybe_unused]] static const bool removed_at_exit =
      std::atexit([] { ::unlink(scratch_path().c_str()); }) == 0;
  return path;
}

// Writes data to the scratch file, replacing what the previous input left, and returns its path.
inline const std::string& scratch_file(std::string_view data) {
  const std::string& path = scratch_path();
  ::unlink(path.c_str());
  auto fd = Fd::open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
  GONGSHU_CHECK(fd.has_value());
  GONGSHU_CHECK(fd->write_all(as_bytes(data)).has_value());
  return path;
}

// An anonymous in-memory file holding data, positioned at its start.
inline Fd memory_file(std::string_view data) {
  Fd fd(::memfd_create("gongshu-fuzz", MFD_CLOEXEC));
  GONGSHU_CHECK(fd.valid());
  GONGSHU_CHECK(fd.write_all(as_bytes(data)).has_value());
  GONGSHU_CHECK(::lseek(fd.get(), 0, SEEK_SET) == 0);
  return fd;
}

}  // namespace gongshu::fuzz
