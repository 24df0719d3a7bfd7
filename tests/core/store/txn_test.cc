#include "core/store/txn.h"

#include <catch2/catch.hpp>
#include <thread>

#include "core/store/cursor.h"
#include "tests/support/test_support.h"

namespace gongshu::store {
namespace {

using testing::TempDir;

std::unique_ptr<Env> open_env(const TempDir& dir, EnvOptions opts = {}) {
  auto env = Env::open(dir.path(), opts);
  REQUIRE(env);
  return std::move(*env);
}

TEST_CASE("a committed write is visible; an aborted one is not") {
  TempDir dir;
  auto env = open_env(dir);
  Db db = *env->open_db("t");
  {
    auto txn = env->begin_write();
    REQUIRE(txn);
    REQUIRE(txn->put(db, as_bytes("a"), as_bytes("1")));
    REQUIRE(std::move(*txn).commit());
  }
  {
    auto txn = env->begin_write();
    REQUIRE(txn->put(db, as_bytes("b"), as_bytes("2")));
    // destroyed without commit: aborted
  }
  auto r = env->begin_read();
  REQUIRE(r);
  CHECK(as_chars(*r->get(db, as_bytes("a"))) == "1");
  CHECK(!r->get(db, as_bytes("b")));
  CHECK(r->count(db) == 1);
}

TEST_CASE("data survives closing and reopening the environment") {
  TempDir dir;
  {
    auto env = open_env(dir);
    Db db = *env->open_db("t");
    REQUIRE(env->update([&](WriteTxn& txn) { return txn.put(db, as_bytes("k"), as_bytes("v")); }));
  }
  auto env = open_env(dir);
  Db db = *env->open_db("t");
  CHECK(as_chars(*env->begin_read()->get(db, as_bytes("k"))) == "v");
}

TEST_CASE("a reader keeps its snapshot while a writer commits") {
  TempDir dir;
  auto env = open_env(dir);
  Db db = *env->open_db("t");
  REQUIRE(env->update([&](WriteTxn& t) { return t.put(db, as_bytes("x"), as_bytes("old")); }));

  auto reader = env->begin_read();
  REQUIRE(reader);
  // The writer runs on another thread while the reader's transaction stays open.
  std::thread writer([&] {
    auto w = env->begin_write();
    REQUIRE(w);
    REQUIRE(w->put(db, as_bytes("x"), as_bytes("new")));
    REQUIRE(w->put(db, as_bytes("y"), as_bytes("added")));
    REQUIRE(std::move(*w).commit());
  });
  writer.join();
  CHECK(as_chars(*reader->get(db, as_bytes("x"))) == "old");
  CHECK(!reader->get(db, as_bytes("y")));

  auto fresh = env->begin_read();
  CHECK(as_chars(*fresh->get(db, as_bytes("x"))) == "new");
  CHECK(as_chars(*fresh->get(db, as_bytes("y"))) == "added");
}

TEST_CASE("looking up a key LMDB cannot hold finds nothing instead of aborting") {
  // Keys often come from requests: an empty or oversized one is simply in no table.
  TempDir dir;
  auto env = open_env(dir);
  Db db = *env->open_db("t");
  auto w = env->begin_write();
  REQUIRE(w->put(db, as_bytes("k"), as_bytes("1")));
  CHECK(!w->get(db, ByteView()));
  CHECK(!w->get(db, as_bytes(std::string(4096, 'k'))));
  CHECK(!w->put(db, ByteView(), as_bytes("x")));  // and writing one is an error, not a crash
  REQUIRE(std::move(*w).commit());
  auto r = env->begin_read();
  CHECK(!r->get(db, ByteView()));
  CHECK(as_chars(*r->get(db, as_bytes("k"))) == "1");
  auto c = r->cursor(db);
  CHECK(!c.find(ByteView()));
  CHECK(as_chars(c.seek(ByteView())->key) == "k");
  CHECK(as_chars(c.seek(as_bytes(std::string(4096, 'a')))->key) == "k");
  CHECK(!c.seek(as_bytes(std::string(4096, 'k'))));  // "k" sorts below "kkk..."
}

TEST_CASE("insert refuses an existing key; del reports presence") {
  TempDir dir;
  auto env = open_env(dir);
  Db db = *env->open_db("t");
  auto w = env->begin_write();
  REQUIRE(w->insert(db, as_bytes("k"), as_bytes("1")));
  auto again = w->insert(db, as_bytes("k"), as_bytes("2"));
  REQUIRE(!again);
  CHECK(again.error().code() == ErrorCode::kAlreadyExists);
  CHECK(*w->del(db, as_bytes("k")) == true);
  CHECK(*w->del(db, as_bytes("k")) == false);
  REQUIRE(std::move(*w).commit());
}

TEST_CASE("a full map is grown by update(), or reported as a clear error") {
  TempDir dir;
  EnvOptions opts;
  opts.map_size = 256 * 1024;
  opts.max_map_size = 4 * 1024 * 1024;
  auto env = open_env(dir, opts);
  Db db = *env->open_db("t");
  Bytes value(1000, 0x5a);

  SECTION("update grows the map and retries") {
    // 2,000 × 1 KB does not fit in 256 KiB but fits in 4 MiB.
    auto s = env->update([&](WriteTxn& t) -> Status {
      for (uint32_t i = 0; i < 2000; ++i) {
        uint8_t k[4];
        put_be32(k, i);
        GONGSHU_RETURN_IF_ERROR(t.put(db, ByteView(k, 4), value));
      }
      return {};
    });
    REQUIRE(s);
    CHECK(env->info().map_size > opts.map_size);
    CHECK(env->begin_read()->count(db) == 2000);
  }

  SECTION("beyond the maximum, the error says the map is full") {
    auto s = env->update([&](WriteTxn& t) -> Status {
      for (uint32_t i = 0; i < 10000; ++i) {
        uint8_t k[4];
        put_be32(k, i);
        GONGSHU_RETURN_IF_ERROR(t.put(db, ByteView(k, 4), value));
      }
      return {};
    });
    REQUIRE(!s);
    CHECK(s.error().code() == ErrorCode::kResourceExhausted);
    CHECK(s.error().message().find("map") != std::string::npos);
    // The store is still usable after the failure.
    REQUIRE(env->update([&](WriteTxn& t) { return t.put(db, as_bytes("small"), as_bytes("ok")); }));
    CHECK(env->begin_read()->get(db, as_bytes("small")));
  }

  SECTION("with a reader open, the map cannot grow and the error is returned") {
    auto reader = env->begin_read();
    auto s = env->update([&](WriteTxn& t) -> Status {
      for (uint32_t i = 0; i < 2000; ++i) {
        uint8_t k[4];
        put_be32(k, i);
        GONGSHU_RETURN_IF_ERROR(t.put(db, ByteView(k, 4), value));
      }
      return {};
    });
    REQUIRE(!s);
    CHECK(s.error().code() == ErrorCode::kResourceExhausted);
  }
}

TEST_CASE("a hot copy is a consistent, openable environment") {
  TempDir dir, copy;
  {
    auto env = open_env(dir);
    Db db = *env->open_db("t");
    REQUIRE(env->update([&](WriteTxn& t) { return t.put(db, as_bytes("k"), as_bytes("v")); }));
    REQUIRE(env->copy_to(copy.path()));
  }
  auto env2 = open_env(copy);
  Db db2 = *env2->open_db("t");
  CHECK(as_chars(*env2->begin_read()->get(db2, as_bytes("k"))) == "v");
}

}  // namespace
}  // namespace gongshu::store
