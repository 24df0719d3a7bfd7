// Write-set recording (core/store/write_set.h): off without a commit hook; with one, every
// write of a recorded database in order — reserved values with the bytes written into the slot,
// cursor puts and erases, clears — nothing of excluded databases, the hook inside the
// transaction (its writes commit with it, its error aborts it) and after the commit.
#include "core/store/write_set.h"

#include <catch2/catch.hpp>
#include <cstring>
#include <string>
#include <vector>

#include "core/store/cursor.h"
#include "core/store/txn.h"
#include "tests/support/test_support.h"

namespace gongshu::store {
namespace {

using testing::TempDir;

// Builds the expected encoding by hand (write_set.h).
struct Expect {
  Bytes b;
  void op(WriteOpKind k, uint8_t table) {
    b.push_back(static_cast<uint8_t>(k));
    b.push_back(table);
  }
  void field(std::string_view s) {
    REQUIRE(s.size() < 128);
    b.push_back(static_cast<uint8_t>(s.size()));
    append(b, s);
  }
};

struct Hook : CommitHook {
  Db log;
  std::vector<std::string> tables;
  Bytes ops;
  uint64_t count = 0;
  int after = 0;
  bool refuse = false;
  Status before_commit(WriteTxn& txn, const WriteSet& w) override {
    tables = w.tables();
    ops.assign(w.ops().begin(), w.ops().end());
    count = w.op_count();
    if (refuse) return fail_status();
    return txn.put(log, as_bytes("last"), as_bytes(std::to_string(count)));
  }
  static Status fail_status() { return fail(ErrorCode::kInternal, "hook: no"); }
  void after_commit() noexcept override { ++after; }
};

TEST_CASE("without a commit hook nothing is recorded") {
  TempDir dir;
  auto env = std::move(*Env::open(dir.path()));
  Db t = *env->open_db("t");
  auto txn = env->begin_write();
  REQUIRE(txn->put(t, as_bytes("k"), as_bytes("v")));
  CHECK(txn->write_set() == nullptr);
}

TEST_CASE("a recorded transaction lists its writes in order, reserved values as filled") {
  TempDir dir;
  auto env = std::move(*Env::open(dir.path()));
  Db a = *env->open_db("a");
  Db b = *env->open_db("b");
  Hook hook;
  hook.log = *env->open_db("log");
  env->exclude_from_recording(hook.log);
  env->set_commit_hook(&hook);

  REQUIRE(env->update([&](WriteTxn& txn) { return txn.put(a, as_bytes("old"), as_bytes("x")); }));
  CHECK(hook.after == 1);
  CHECK(hook.count == 1);

  auto txn = env->begin_write();
  REQUIRE(txn);
  REQUIRE(txn->put(b, as_bytes("k1"), as_bytes("v1")));
  auto slot = txn->append_reserve(a, as_bytes("z1"), 3);
  REQUIRE(slot);
  std::memcpy(slot->data(), "RES", 3);  // filled after the reserve: the record sees these bytes
  REQUIRE(txn->insert(a, as_bytes("k2"), as_bytes("v2")));
  CHECK(!txn->insert(a, as_bytes("k2"), as_bytes("again")));  // refused: not recorded
  CHECK(*txn->del(a, as_bytes("old")));
  CHECK(!*txn->del(a, as_bytes("absent")));  // nothing deleted: not recorded
  {
    auto c = txn->write_cursor(b);
    REQUIRE(c.put(as_bytes("k3"), as_bytes("v3")));
    REQUIRE(c.find(as_bytes("k1")));
    REQUIRE(c.erase());
  }
  REQUIRE(txn->put(hook.log, as_bytes("excluded"), as_bytes("x")));
  REQUIRE(txn->clear(b));
  auto slot2 = txn->append_reserve(a, as_bytes("z2"), 2);
  std::memcpy(slot2->data(), "ND", 2);  // the last write: flushed before the hook runs
  REQUIRE(std::move(*txn).commit());

  Expect e;
  e.op(WriteOpKind::kPut, 0), e.field("k1"), e.field("v1");
  e.op(WriteOpKind::kPut, 1), e.field("z1"), e.field("RES");
  e.op(WriteOpKind::kPut, 1), e.field("k2"), e.field("v2");
  e.op(WriteOpKind::kDelete, 1), e.field("old");
  e.op(WriteOpKind::kPut, 0), e.field("k3"), e.field("v3");
  e.op(WriteOpKind::kDelete, 0), e.field("k1");
  e.op(WriteOpKind::kClear, 0);
  e.op(WriteOpKind::kPut, 1), e.field("z2"), e.field("ND");
  CHECK(hook.tables == std::vector<std::string>{"b", "a"});
  CHECK(hook.count == 8);
  CHECK(hook.ops == e.b);
  CHECK(hook.after == 2);
  auto r = env->begin_read();
  CHECK(as_chars(*r->get(hook.log, as_bytes("last"))) == "8");  // the hook's write committed
  CHECK(as_chars(*r->get(a, as_bytes("z1"))) == "RES");
}

TEST_CASE("each transaction records only its own writes though the op buffer is reused") {
  TempDir dir;
  auto env = std::move(*Env::open(dir.path()));
  Db a = *env->open_db("a");
  Hook hook;
  hook.log = *env->open_db("log");
  env->exclude_from_recording(hook.log);
  env->set_commit_hook(&hook);

  // A large write set (its buffer is kept for the next transaction on this thread)...
  std::string big(200'000, 'x');
  REQUIRE(env->update([&](WriteTxn& txn) -> Status {
    for (int i = 0; i < 5; ++i) {
      GONGSHU_TRY(auto slot,
                  txn.append_reserve(a, as_bytes("big" + std::to_string(i)), big.size()));
      std::memset(slot.data(), 'a' + i, slot.size());
    }
    return {};
  }));
  REQUIRE(hook.count == 5);
  REQUIRE(hook.ops.size() > 5 * big.size());
  CHECK(hook.ops.back() == 'e');
  // ...an abandoned recorded transaction...
  {
    auto txn = env->begin_write();
    REQUIRE(txn->put(a, as_bytes("never"), as_bytes("committed")));
  }
  // ...and the next write set holds exactly its own ops, its reserved value as filled.
  auto txn = env->begin_write();
  auto slot = txn->append_reserve(a, as_bytes("z"), 2);
  std::memcpy(slot->data(), "ok", 2);
  REQUIRE(std::move(*txn).commit());
  Expect e;
  e.op(WriteOpKind::kPut, 0), e.field("z"), e.field("ok");
  CHECK(hook.count == 1);
  CHECK(hook.tables == std::vector<std::string>{"a"});
  CHECK(hook.ops == e.b);
}

TEST_CASE("a transaction that writes only excluded tables, or nothing, skips the hook") {
  TempDir dir;
  auto env = std::move(*Env::open(dir.path()));
  Hook hook;
  hook.log = *env->open_db("log");
  env->exclude_from_recording(hook.log);
  env->set_commit_hook(&hook);
  REQUIRE(
      env->update([&](WriteTxn& txn) { return txn.put(hook.log, as_bytes("k"), as_bytes("v")); }));
  REQUIRE(env->update([&](WriteTxn&) -> Status { return {}; }));
  CHECK(hook.after == 0);
  CHECK(hook.count == 0);
}

TEST_CASE("a failing hook aborts the transaction; unrecorded transactions skip it") {
  TempDir dir;
  auto env = std::move(*Env::open(dir.path()));
  Db a = *env->open_db("a");
  Hook hook;
  hook.log = *env->open_db("log");
  env->exclude_from_recording(hook.log);
  env->set_commit_hook(&hook);
  hook.refuse = true;
  auto s = env->update([&](WriteTxn& txn) { return txn.put(a, as_bytes("k"), as_bytes("v")); });
  REQUIRE(!s);
  CHECK(s.error().message() == "hook: no");
  CHECK(hook.after == 0);
  CHECK(!env->begin_read()->get(a, as_bytes("k")));

  auto u = env->begin_write_unrecorded();
  REQUIRE(u);
  REQUIRE(u->put(a, as_bytes("k"), as_bytes("v")));
  CHECK(u->write_set() == nullptr);
  REQUIRE(std::move(*u).commit());
  CHECK(hook.after == 0);
  CHECK(env->begin_read()->get(a, as_bytes("k")));
}

TEST_CASE("a table opened inside a write transaction is usable after its commit") {
  TempDir dir;
  auto env = std::move(*Env::open(dir.path()));
  auto txn = env->begin_write();
  auto db = txn->open_db("late");
  REQUIRE(db);
  REQUIRE(txn->put(*db, as_bytes("k"), as_bytes("v")));
  REQUIRE(std::move(*txn).commit());
  CHECK(as_chars(*env->begin_read()->get(*db, as_bytes("k"))) == "v");
}

}  // namespace
}  // namespace gongshu::store
