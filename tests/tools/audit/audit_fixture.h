// Real audit logs for the gongshu-audit tests: an AuditLog in LMDB in a temporary directory,
// filled with entries and exported with export_log exactly as the daemon would; plus helpers to
// take an export apart into frames and put a tampered one back together.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/audit/export_log.h"
#include "core/audit/log.h"
#include "core/crypto/identity.h"
#include "core/store/env.h"
#include "core/util/clock.h"
#include "tests/support/test_support.h"

namespace gongshu::audit_test {

inline const std::string kAudit = testing::binary_path("bin/gongshu-audit");
inline constexpr std::string_view kOrigin = "gongshu.test/audit";

inline bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// A daemon key from a fixed seed byte, so two logs can share a signer.
crypto::IdentityKey test_key(uint8_t seed_byte);

class TestLog {
 public:
  // A log signed by key (which must outlive it), checkpointed every checkpoint_every entries.
  // variant changes the entries' text, so two logs of the same size differ (a fork).
  TestLog(const crypto::IdentityKey& key, std::string variant, uint64_t checkpoint_every = 100);
  ~TestLog();

  // Appends n entries in one transaction, writing checkpoints as they fall due.
  void append(uint64_t n);
  // Appends one entry and returns a receipt for it, as the daemon does for a batch.
  v1::Receipt append_with_receipt();
  // Writes a checkpoint at the current size.
  std::string checkpoint();

  // Exports entries [from, to] (0, 0: up to the latest checkpoint) to path.
  void export_to(const std::string& path, uint64_t from = 0, uint64_t to = 0) const;

  audit::TreeHead head() const;
  std::string checkpoint_at(uint64_t size) const;
  std::string entry_bytes(uint64_t seq) const;

 private:
  v1::AuditEntry make_entry(uint64_t n) const;

  testing::TempDir dir_;
  std::string variant_;
  FakeClock clock_;
  std::unique_ptr<store::Env> env_;
  std::unique_ptr<audit::AuditLog> log_;
};

// One frame of an export file, as bytes.
struct RawFrame {
  uint8_t type;
  std::string data;
};

// Splits an export file's bytes into frames (the file must be well formed).
std::vector<RawFrame> read_frames(const std::string& path);
// Writes "GSAUDIT1\n" and the frames to path.
void write_frames(const std::string& path, const std::vector<RawFrame>& frames);
// Index in frames of the entry with this seq.
size_t entry_index(const std::vector<RawFrame>& frames, uint64_t seq);
// Index in frames of the checkpoint for this tree size.
size_t checkpoint_index(const std::vector<RawFrame>& frames, uint64_t size);

}  // namespace gongshu::audit_test
