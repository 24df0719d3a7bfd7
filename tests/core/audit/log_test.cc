#include "core/audit/log.h"

#include <catch2/catch.hpp>

#include "core/audit/receipt.h"
#include "tests/core/audit/audit_test_util.h"

namespace gongshu::audit {
namespace {

using testing::TestLog;

TEST_CASE("appends build the chain and the same tree as the reference") {
  auto key = crypto::IdentityKey::generate();
  TestLog t(key);
  auto appended = t.append(2500, 250, false);
  REQUIRE(appended.size() == 2500);
  auto txn = std::move(*t.env->begin_read());
  MemoryTree tree;
  Hash prev{};
  for (uint64_t seq = 1; seq <= 2500; ++seq) {
    auto bytes = t.log->entry(txn, seq);
    REQUIRE(bytes);
    auto prefix = parse_entry_prefix(*bytes);
    REQUIRE(prefix);
    CHECK(prefix->seq == seq);
    CHECK(prefix->prev_hash == prev);
    prev = entry_hash(*bytes);
    CHECK(prev == appended[seq - 1].entry_hash);
    tree.append(prev);
    if (seq % 97 == 0 || seq < 20) CHECK(t.log->root_at(txn, seq) == tree.root());
  }
  TreeHead head = t.log->head(txn);
  CHECK(head.size == 2500);
  CHECK(head.root == tree.root());
  CHECK(head.last_entry_hash == prev);
  auto e = decode_entry(*t.log->entry(txn, 8));  // sample_entry(7): a denial
  REQUIRE(e);
  CHECK(e->time_ms() == 1795748550000);
  CHECK(e->decision() == v1::DECISION_DENY);
}

TEST_CASE("an aborted transaction leaves no entry and no node behind") {
  auto key = crypto::IdentityKey::generate();
  TestLog t(key);
  t.append(10, 10, false);
  {
    auto w = t.env->begin_write();
    REQUIRE(w);
    auto e = testing::sample_entry(99);
    REQUIRE(t.log->append(*w, e));
    REQUIRE(t.log->append(*w, e));
    // dropped without commit
  }
  auto after = t.append(5, 5, false);
  CHECK(after.front().seq == 11);
  auto txn = std::move(*t.env->begin_read());
  CHECK(t.log->head(txn).size == 15);
  MemoryTree tree;
  for (uint64_t s = 1; s <= 15; ++s) tree.append(entry_hash(*t.log->entry(txn, s)));
  CHECK(t.log->head(txn).root == tree.root());
}

TEST_CASE(
    "checkpoints come every 1,000 entries, every second while entries arrive, and on demand") {
  auto key = crypto::IdentityKey::generate();
  TestLog t(key);
  t.append(2500, 100, false);  // the clock moves 10 ms per transaction: only the count triggers
  {
    auto txn = std::move(*t.env->begin_read());
    CHECK(t.log->checkpoint_sizes(txn, 1, 10000) == std::vector<uint64_t>{1000, 2000});
    auto note = t.log->latest_checkpoint(txn);
    REQUIRE(note);
    auto body = verify_checkpoint(*note, key.public_key());
    REQUIRE(body);
    CHECK(body->size == 2000);
    CHECK(body->root == t.log->root_at(txn, 2000));
    CHECK(body->chain == entry_hash(*t.log->entry(txn, 2000)));
    CHECK(body->origin == "gongshu.test/audit");
  }
  // A few entries, then quiet: the timer's call writes a checkpoint once the oldest uncovered
  // entry is a second old, not before.
  t.append(3, 3, false);
  auto tick = [&] {
    std::optional<std::string> note;
    REQUIRE(t.env->update([&](store::WriteTxn& w) -> Status {
      GONGSHU_TRY(note, t.log->checkpoint_if_due(w));
      return {};
    }));
    return note;
  };
  t.clock.advance(std::chrono::milliseconds(500));
  CHECK(!tick());
  t.clock.advance(std::chrono::milliseconds(600));
  auto due = tick();
  REQUIRE(due);
  CHECK(verify_checkpoint(*due, key.public_key())->size == 2503);
  // Nothing new: not due, whatever the time.
  t.clock.advance(std::chrono::seconds(5));
  CHECK(!tick());
  // On demand, at the current size; asking twice returns the same note.
  t.append(1, 1, false);
  std::string a, b;
  REQUIRE(t.env->update([&](store::WriteTxn& w) -> Status {
    GONGSHU_TRY(a, t.log->checkpoint(w));
    GONGSHU_TRY(b, t.log->checkpoint(w));
    return {};
  }));
  CHECK(a == b);
  CHECK(verify_checkpoint(a, key.public_key())->size == 2504);
}

TEST_CASE("an empty log has the empty root and cannot be checkpointed") {
  auto key = crypto::IdentityKey::generate();
  TestLog t(key);
  auto txn = std::move(*t.env->begin_read());
  CHECK(t.log->head(txn).size == 0);
  CHECK(t.log->head(txn).root == empty_root());
  CHECK(!t.log->latest_checkpoint(txn));
  auto s = t.env->update([&](store::WriteTxn& w) -> Status {
    GONGSHU_RETURN_IF_ERROR(t.log->checkpoint(w));
    return {};
  });
  CHECK(!s);
}

TEST_CASE("receipts bind an event to the entry and the tree after the commit") {
  auto key = crypto::IdentityKey::generate();
  TestLog t(key);
  t.append(10, 10, false);
  Hash event = crypto::sha256("batch header bytes");
  v1::Receipt receipt;
  REQUIRE(t.env->update([&](store::WriteTxn& w) -> Status {
    auto e = testing::sample_entry(10);
    GONGSHU_TRY(Appended a, t.log->append(w, e));
    receipt = t.log->receipt(w, event, a);
    return {};
  }));
  REQUIRE(verify_receipt(receipt, key.public_key()));
  auto txn = std::move(*t.env->begin_read());
  CHECK(receipt.seq() == 11);
  CHECK(receipt.tree_size() == 11);
  Hash root = t.log->root_at(txn, 11);
  CHECK(receipt.root() == std::string(root.begin(), root.end()));
}

TEST_CASE("store-backed proofs verify against stored roots") {
  auto key = crypto::IdentityKey::generate();
  TestLog t(key);
  t.append(1100, 100, false);
  auto txn = std::move(*t.env->begin_read());
  for (uint64_t size : {1ull, 2ull, 3ull, 512ull, 513ull, 1024ull, 1025ull, 1100ull}) {
    Hash root = t.log->root_at(txn, size);
    for (uint64_t seq : {uint64_t(1), (size + 1) / 2, size}) {
      auto proof = t.log->inclusion_proof(txn, seq, size);
      REQUIRE(proof);
      CHECK(verify_inclusion(entry_hash(*t.log->entry(txn, seq)), seq - 1, size, *proof, root));
    }
    auto cons = t.log->consistency_proof(txn, (size + 1) / 2, size);
    REQUIRE(cons);
    CHECK(
        verify_consistency((size + 1) / 2, size, t.log->root_at(txn, (size + 1) / 2), root, *cons));
  }
  CHECK(!t.log->inclusion_proof(txn, 0, 10));
  CHECK(!t.log->inclusion_proof(txn, 11, 10));
  CHECK(!t.log->inclusion_proof(txn, 5, 2000));
  CHECK(!t.log->consistency_proof(txn, 0, 10));
  CHECK(!t.log->consistency_proof(txn, 10, 2000));
}

TEST_CASE("origins with spaces are refused") {
  testing::TestLog ok(crypto::IdentityKey::generate());
  auto key = crypto::IdentityKey::generate();
  AuditLogOptions opts;
  opts.origin = "bad origin";
  CHECK(!AuditLog::open(*ok.env, key, opts, ok.clock));
}

}  // namespace
}  // namespace gongshu::audit
