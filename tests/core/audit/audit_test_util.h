// Helpers for the audit tests: build a real store-backed log, export it, and edit export files
// frame by frame to simulate tampering.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/audit/export_file.h"
#include "core/audit/log.h"
#include "core/store/env.h"
#include "core/util/clock.h"
#include "tests/support/test_support.h"

namespace gongshu::audit::testing {

// A daemon-side audit log in its own temporary LMDB.
struct TestLog {
  explicit TestLog(const crypto::IdentityKey& key, uint64_t checkpoint_every = 1000,
                   std::string origin = "gongshu.test/audit");
  // Appends n entries, txn_size per transaction, with checkpoint_if_due after each transaction
  // and, if final_checkpoint, a checkpoint at the end. variant changes the entries' content, so
  // two logs of the same size differ.
  std::vector<Appended> append(uint64_t n, uint64_t txn_size = 100, bool final_checkpoint = true,
                               int variant = 0);
  std::string export_to(const std::string& path, uint64_t from = 0, uint64_t to = 0);

  gongshu::testing::TempDir dir;
  FakeClock clock{int64_t(1795748550) * 1'000'000'000};
  std::unique_ptr<store::Env> env;
  std::unique_ptr<AuditLog> log;
  uint64_t appended = 0;
};

v1::AuditEntry sample_entry(uint64_t i, int variant = 0);

struct RawFrame {
  FrameType type;
  Bytes data;
};
std::vector<RawFrame> read_frames(const std::string& path);
void write_frames(const std::string& path, const std::vector<RawFrame>& frames);
// Index into frames of the entry with this seq.
size_t entry_frame_index(const std::vector<RawFrame>& frames, uint64_t seq);

}  // namespace gongshu::audit::testing
