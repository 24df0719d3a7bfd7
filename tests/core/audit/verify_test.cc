// Tampering of every kind the security officers care about is detected, and located, by the
// offline verifier working from the export file and the daemon's public key alone.
#include "core/audit/verify.h"

#include <catch2/catch.hpp>

#include <random>

#include "core/audit/entry.h"
#include "core/crypto/sha256.h"
#include "tests/core/audit/audit_test_util.h"

namespace gongshu::audit {
namespace {

using testing::RawFrame;
using testing::TestLog;

constexpr uint64_t kEntries = 3000;

// One log of 3,000 entries (checkpoints every 1,000 plus a final one at 3,000 — the export ends
// with it), built once: the tests copy and edit its export.
struct Fixture {
  Fixture() : log(key) {
    receipts_source = log.append(kEntries, 250, true);
    path = log.export_to(log.dir.file("audit.gsa"));
    frames = testing::read_frames(path);
  }
  crypto::IdentityKey key = crypto::IdentityKey::generate();
  TestLog log;
  std::vector<Appended> receipts_source;
  std::string path;
  std::vector<RawFrame> frames;
};

Fixture& fixture() {
  static Fixture f;
  return f;
}

VerifyReport verify_frames(const std::vector<RawFrame>& frames, VerifyOptions opts = {}) {
  gongshu::testing::TempDir dir;
  std::string p = dir.file("edited.gsa");
  testing::write_frames(p, frames);
  if (opts.key == crypto::PublicKey()) opts.key = fixture().key.public_key();
  return verify_export(p, opts);
}

TEST_CASE("an untouched export verifies") {
  auto& f = fixture();
  VerifyOptions opts;
  opts.key = f.key.public_key();
  uint64_t progress_calls = 0;
  opts.progress = [&](uint64_t done, uint64_t total) {
    CHECK(done <= total);
    ++progress_calls;
  };
  auto r = verify_export(f.path, opts);
  INFO(r.reason);
  REQUIRE(r.status == VerifyStatus::kOk);
  CHECK(r.entries == kEntries);
  CHECK(r.tree_size == kEntries);
  CHECK(r.full);
  CHECK(r.checkpoints == 3);
  CHECK(r.last_checkpoint_size == kEntries);
  CHECK(r.unsigned_tail == 0);
  CHECK(r.origin == "gongshu.test/audit");
  auto txn = std::move(*f.log.env->begin_read());
  CHECK(r.root == f.log.log->root_at(txn, kEntries));
  CHECK(progress_calls >= 1);
}

TEST_CASE("one flipped byte in any entry is detected and located") {
  auto& f = fixture();
  for (uint64_t seq : {uint64_t(1), uint64_t(2), uint64_t(999), uint64_t(1000), uint64_t(1001),
                       uint64_t(2048), kEntries - 1, kEntries}) {
    size_t idx = testing::entry_frame_index(f.frames, seq);
    size_t len = f.frames[idx].data.size();
    for (size_t pos = 0; pos < len; pos += (pos < 40 ? 1 : 7)) {
      auto edited = f.frames;
      edited[idx].data[pos] ^= 0x20;
      auto r = verify_frames(edited);
      INFO("seq " << seq << " byte " << pos << ": " << r.reason);
      REQUIRE(r.status == VerifyStatus::kTampered);
      // The chain breaks at the edited entry or its successor (which of the two was altered
      // cannot be told apart); the last entry is caught by the checkpoint that follows it.
      CHECK((r.failing_seq == seq || r.failing_seq == seq + 1));
    }
  }
}

TEST_CASE("a deleted entry is a gap at its seq") {
  auto& f = fixture();
  for (uint64_t seq : {uint64_t(1), uint64_t(500), uint64_t(1000), uint64_t(2999)}) {
    auto edited = f.frames;
    edited.erase(edited.begin() + static_cast<ptrdiff_t>(testing::entry_frame_index(edited, seq)));
    auto r = verify_frames(edited);
    INFO(r.reason);
    REQUIRE(r.status == VerifyStatus::kTampered);
    CHECK(r.failing_seq == seq);
    // Entry 1,000 is followed by its checkpoint, which then finds an entry missing.
    CHECK(r.reason.find(seq == 1      ? "missing"
                        : seq == 1000 ? "removed"
                                      : "gap") != std::string::npos);
  }
}

TEST_CASE("two swapped entries are detected at the first of them") {
  auto& f = fixture();
  for (uint64_t seq : {uint64_t(1), uint64_t(1234), uint64_t(2999)}) {
    auto edited = f.frames;
    size_t a = testing::entry_frame_index(edited, seq),
           b = testing::entry_frame_index(edited, seq + 1);
    std::swap(edited[a], edited[b]);
    auto r = verify_frames(edited);
    INFO(r.reason);
    REQUIRE(r.status == VerifyStatus::kTampered);
    CHECK(r.failing_seq == seq);
  }
}

TEST_CASE("a truncated tail is detected below a checkpoint, a receipt or a trusted checkpoint") {
  auto& f = fixture();
  SECTION("entries cut but the checkpoint kept: the checkpoint names more entries") {
    auto edited = f.frames;
    size_t cp_index = edited.size() - 1;  // the final checkpoint at 3,000
    REQUIRE(edited[cp_index].type == FrameType::kCheckpoint);
    RawFrame cp = edited[cp_index];
    edited.resize(testing::entry_frame_index(edited, 2990));
    edited.push_back(cp);
    auto r = verify_frames(edited);
    REQUIRE(r.status == VerifyStatus::kTampered);
    CHECK(r.failing_seq == 2990);
    CHECK(r.reason.find("removed") != std::string::npos);
  }
  SECTION("the tail cut with its checkpoint: a receipt for a later entry catches it") {
    auto edited = f.frames;
    edited.resize(
        testing::entry_frame_index(edited, 2501));  // ends at 2,500, after checkpoint 2,000
    auto txn = std::move(*f.log.env->begin_read());
    VerifyOptions opts;
    opts.key = f.key.public_key();
    auto alone = verify_frames(edited, opts);
    REQUIRE(alone.status == VerifyStatus::kOk);  // an export alone cannot see its missing tail
    CHECK(alone.unsigned_tail == 500);
    const Appended& a = f.receipts_source[2799];
    opts.receipts.push_back({"r2800", f.log.log->receipt(txn, crypto::sha256("event"), a)});
    auto r = verify_frames(edited, opts);
    REQUIRE(r.status == VerifyStatus::kTampered);
    CHECK(r.failing_seq == 2501);
    CHECK(r.reason.find("truncated") != std::string::npos);
  }
  SECTION("rolled back below a trusted checkpoint") {
    auto edited = f.frames;
    edited.resize(testing::entry_frame_index(edited, 2001));  // ends with checkpoint 2,000
    VerifyOptions opts;
    opts.key = f.key.public_key();
    auto txn = std::move(*f.log.env->begin_read());
    opts.trusted_checkpoint = *f.log.log->latest_checkpoint(txn);  // size 3,000
    auto r = verify_frames(edited, opts);
    REQUIRE(r.status == VerifyStatus::kTampered);
    CHECK(r.reason.find("rollback") != std::string::npos);
  }
  SECTION("cut inside a frame") {
    gongshu::testing::TempDir dir;
    std::string text = gongshu::testing::read_text(f.path);
    gongshu::testing::write_text(dir.file("cut.gsa"), text.substr(0, text.size() / 2));
    VerifyOptions opts;
    opts.key = f.key.public_key();
    auto r = verify_export(dir.file("cut.gsa"), opts);
    REQUIRE(r.status == VerifyStatus::kTampered);
    CHECK(r.reason.find("ends inside") != std::string::npos);
  }
}

TEST_CASE("an edited log re-signed under another key is refused") {
  // The attacker edits entry 10, rebuilds chain, tree and checkpoints, and signs with their key.
  auto& f = fixture();
  auto attacker = crypto::IdentityKey::generate();
  TestLog forged(attacker);
  forged.append(kEntries, 250, true, /*variant=*/1);
  gongshu::testing::TempDir dir;
  std::string p = forged.export_to(dir.file("forged.gsa"));
  VerifyOptions opts;
  opts.key = f.key.public_key();
  auto r = verify_export(p, opts);
  REQUIRE(r.status == VerifyStatus::kTampered);
  CHECK(r.failing_seq == 1000);  // the first checkpoint, which the real key did not sign
  CHECK(r.reason.find("not signed by key") != std::string::npos);
  opts.key = attacker.public_key();
  CHECK(verify_export(p, opts).status == VerifyStatus::kOk);
}

TEST_CASE("a forged checkpoint is refused") {
  auto& f = fixture();
  size_t cp_index = testing::entry_frame_index(f.frames, 1000) + 1;
  REQUIRE(f.frames[cp_index].type == FrameType::kCheckpoint);
  SECTION("root replaced, signature kept") {
    auto edited = f.frames;
    std::string note(as_chars(edited[cp_index].data));
    auto body = *parse_checkpoint_note_unverified(note);
    CheckpointBody fake = body;
    fake.root[0] ^= 1;
    std::string new_body = format_checkpoint_body(fake);
    note.replace(0, format_checkpoint_body(body).size(), new_body);
    edited[cp_index].data = to_bytes(note);
    auto r = verify_frames(edited);
    REQUIRE(r.status == VerifyStatus::kTampered);
    CHECK(r.failing_seq == 1000);
  }
  SECTION("a wrong root signed by another key") {
    auto edited = f.frames;
    auto body = *parse_checkpoint_note_unverified(as_chars(edited[cp_index].data));
    body.root[3] ^= 1;
    edited[cp_index].data = to_bytes(sign_checkpoint(body, crypto::IdentityKey::generate()));
    auto r = verify_frames(edited);
    REQUIRE(r.status == VerifyStatus::kTampered);
    CHECK(r.failing_seq == 1000);
  }
  SECTION("validly signed but not matching the entries") {
    auto edited = f.frames;
    auto body = *parse_checkpoint_note_unverified(as_chars(edited[cp_index].data));
    body.root[3] ^= 1;
    edited[cp_index].data = to_bytes(sign_checkpoint(body, f.key));
    auto r = verify_frames(edited);
    REQUIRE(r.status == VerifyStatus::kTampered);
    CHECK(r.reason.find("Merkle root does not match") != std::string::npos);
  }
  SECTION("all checkpoints removed") {
    auto edited = f.frames;
    std::erase_if(edited, [](const RawFrame& fr) { return fr.type == FrameType::kCheckpoint; });
    auto r = verify_frames(edited);
    REQUIRE(r.status == VerifyStatus::kTampered);
    CHECK(r.reason.find("no signed checkpoint") != std::string::npos);
  }
}

TEST_CASE("a fork is detected from one checkpoint or receipt of the other log") {
  // Two logs of the same size, both validly signed by the daemon key, different content.
  auto& f = fixture();
  TestLog other(f.key);
  other.append(kEntries, 250, true, /*variant=*/2);
  auto other_txn = std::move(*other.env->begin_read());
  std::string other_cp = *other.log->checkpoint_at(other_txn, 2000);

  VerifyOptions opts;
  opts.key = f.key.public_key();
  opts.trusted_checkpoint = other_cp;
  auto r = verify_export(f.path, opts);
  REQUIRE(r.status == VerifyStatus::kTampered);
  CHECK(r.failing_seq == 2000);
  CHECK(r.reason.find("fork") != std::string::npos);

  VerifyOptions with_receipt;
  with_receipt.key = f.key.public_key();
  with_receipt.receipts.push_back(
      {"other", other.log->receipt(other_txn, crypto::sha256("e"),
                                   {5, entry_hash(*other.log->entry(other_txn, 5))})});
  auto r2 = verify_export(f.path, with_receipt);
  REQUIRE(r2.status == VerifyStatus::kTampered);
  CHECK(r2.failing_seq == 5);

  // The matching trusted checkpoint and receipts pass.
  auto txn = std::move(*f.log.env->begin_read());
  VerifyOptions good;
  good.key = f.key.public_key();
  good.trusted_checkpoint = *f.log.log->checkpoint_at(txn, 2000);
  for (uint64_t seq : {uint64_t(1), uint64_t(77), uint64_t(3000)}) {
    good.receipts.push_back(
        {"r" + std::to_string(seq),
         f.log.log->receipt(txn, crypto::sha256("e"), f.receipts_source[seq - 1])});
  }
  auto ok = verify_export(f.path, good);
  INFO(ok.reason);
  REQUIRE(ok.status == VerifyStatus::kOk);
  CHECK(ok.receipts == 3);
}

TEST_CASE("the verifier reports what it could not run") {
  auto& f = fixture();
  VerifyOptions opts;
  opts.key = f.key.public_key();
  CHECK(verify_export("/nonexistent/file", opts).status == VerifyStatus::kError);
  gongshu::testing::TempDir dir;
  gongshu::testing::write_text(dir.file("x"), "not an export");
  CHECK(verify_export(dir.file("x"), opts).status == VerifyStatus::kError);
  opts.trusted_checkpoint = "garbage";
  CHECK(verify_export(f.path, opts).status == VerifyStatus::kError);
}

TEST_CASE("an excerpt verifies its chain and signatures") {
  auto& f = fixture();
  gongshu::testing::TempDir dir;
  std::string p = f.log.export_to(dir.file("excerpt.gsa"), 1500, 2600);
  VerifyOptions opts;
  opts.key = f.key.public_key();
  CHECK(verify_export(p, opts).status == VerifyStatus::kTampered);  // not declared an excerpt
  opts.allow_excerpt = true;
  auto r = verify_export(p, opts);
  INFO(r.reason);
  REQUIRE(r.status == VerifyStatus::kOk);
  CHECK(!r.full);
  CHECK(r.first_seq == 1500);
  CHECK(r.last_seq == 2600);
  CHECK(r.checkpoints == 1);
}

TEST_CASE("random garbage never crashes the verifier") {
  auto& f = fixture();
  std::mt19937 rng(11);
  std::string base = gongshu::testing::read_text(f.path).substr(0, 20000);
  gongshu::testing::TempDir dir;
  for (int i = 0; i < 300; ++i) {
    std::string t = base;
    for (int k = 0; k < 1 + i % 5; ++k) t[rng() % t.size()] = static_cast<char>(rng());
    if (i % 3 == 0) t.resize(rng() % t.size());
    gongshu::testing::write_text(dir.file("g"), t);
    VerifyOptions opts;
    opts.key = f.key.public_key();
    auto r = verify_export(dir.file("g"), opts);
    CHECK(r.status != VerifyStatus::kOk);
  }
}

}  // namespace
}  // namespace gongshu::audit
