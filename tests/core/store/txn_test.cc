#include "core/store/txn.h"

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <future>
#include <thread>
#include <vector>

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

// Writes n values of `value` under keys first..first+n-1.
Status put_values(WriteTxn& t, const Db& db, uint32_t first, uint32_t n, ByteView value) {
  for (uint32_t i = first; i < first + n; ++i) {
    uint8_t k[4];
    put_be32(k, i);
    GONGSHU_RETURN_IF_ERROR(t.put(db, ByteView(k, 4), value));
  }
  return {};
}

TEST_CASE("the map is fixed: a full one is a clear error and the store stays usable") {
  TempDir dir;
  EnvOptions opts;
  opts.map_size = 256 * 1024;
  auto env = open_env(dir, opts);
  Db db = *env->open_db("t");
  Bytes value(1000, 0x5a);
  auto reader = env->begin_read();  // a live reader changes nothing: nothing is resized
  REQUIRE(reader);
  auto s = env->update([&](WriteTxn& t) { return put_values(t, db, 0, 2000, value); });
  REQUIRE(!s);
  CHECK(s.error().code() == ErrorCode::kResourceExhausted);
  CHECK(s.error().message().find("map size") != std::string::npos);
  CHECK(env->info().map_size == opts.map_size);
  REQUIRE(env->update([&](WriteTxn& t) { return t.put(db, as_bytes("small"), as_bytes("ok")); }));
  CHECK(env->begin_read()->get(db, as_bytes("small")));
}

// The old store grew its map under live transactions and crashed inside liblmdb (issue 13): a
// writer filling the store far past its first map while readers on other threads begin and end
// transactions as fast as they can must neither crash nor fail.
TEST_CASE("a writer fills the store past 64 MiB while readers run on other threads") {
  TempDir dir;
  auto env = open_env(dir);  // the default map: fixed, large
  Db db = *env->open_db("t");
  Bytes value(4000, 0x42);
  std::atomic<bool> done{false};
  std::atomic<uint64_t> reads{0}, failures{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&] {
      while (!done.load()) {
        auto txn = env->begin_read();
        if (!txn) {
          failures.fetch_add(1);
          continue;
        }
        uint64_t n = txn->count(db);
        if (n > 0) {
          uint8_t k[4];
          put_be32(k, static_cast<uint32_t>(n - 1));
          if (!txn->get(db, ByteView(k, 4))) failures.fetch_add(1);
        }
        reads.fetch_add(1);
      }
    });
  }
  constexpr uint32_t kPerCommit = 1000, kCommits = 20;  // 20,000 × 4 KB: ~80 MB on disk
  for (uint32_t c = 0; c < kCommits; ++c) {
    REQUIRE(env->update(
        [&](WriteTxn& t) { return put_values(t, db, c * kPerCommit, kPerCommit, value); }));
  }
  done = true;
  for (auto& t : readers) t.join();
  CHECK(failures.load() == 0);
  CHECK(reads.load() > 0);
  CHECK(env->info().used_bytes > size_t{64} << 20);
  CHECK(env->begin_read()->count(db) == kPerCommit * kCommits);
}

// A write begin waits in LMDB for the running write transaction to end; the thread that runs
// that transaction must meanwhile still be able to use the Env (the agent's forwarder releases
// the map's resident pages from inside its write transaction). Holding the Env's lock across
// that wait deadlocked the agent on its first large backlog.
TEST_CASE("a write begin waiting for the writer does not block the writer's thread") {
  TempDir dir;
  auto env = open_env(dir);
  Db db = *env->open_db("t");
  auto running = env->begin_write();
  REQUIRE(running);
  std::atomic<bool> began{false};
  std::thread second([&] {
    auto w = env->begin_write();  // blocks until `running` ends
    began = true;
    REQUIRE(w);
    REQUIRE(w->put(db, as_bytes("second"), as_bytes("2")));
    REQUIRE(std::move(*w).commit());
  });
  // Give the second thread every chance to be waiting inside mdb_txn_begin, then use the Env.
  CHECK_FALSE(testing::wait_until([&] { return began.load(); }, std::chrono::milliseconds(200)));
  auto released = std::async(std::launch::async, [&] { return env->release_resident(); });
  REQUIRE(released.wait_for(std::chrono::seconds(20)) == std::future_status::ready);
  CHECK(released.get());
  REQUIRE(running->put(db, as_bytes("first"), as_bytes("1")));
  REQUIRE(std::move(*running).commit());
  second.join();
  CHECK(began.load());
  CHECK(env->begin_read()->count(db) == 2);
}

// Another process opening the store with a larger map and filling it past ours: this process
// adopts the new size at its next begin when none of its transactions is live, and refuses with
// a clear error (never a crash) while one is.
TEST_CASE("a map another process grew is adopted, never under a live transaction") {
  TempDir dir;
  EnvOptions small;
  small.map_size = 1 << 20;
  auto env = open_env(dir, small);
  Db db = *env->open_db("t");
  REQUIRE(env->update([&](WriteTxn& t) { return t.put(db, as_bytes("first"), as_bytes("1")); }));
  auto grow_in_child = [&](uint32_t first) {
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      // A separate process: its own Env on the same directory, with a larger map.
      EnvOptions big;
      big.map_size = 64 << 20;
      auto other = Env::open(dir.path(), big);
      if (!other) ::_exit(10);
      auto odb = (*other)->open_db("t");
      if (!odb) ::_exit(11);
      Bytes value(1000, 0x33);
      auto s =
          (*other)->update([&](WriteTxn& t) { return put_values(t, *odb, first, 4000, value); });
      other->reset();
      ::_exit(s ? 0 : 12);
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);
  };

  SECTION("with no transaction live, the next begin adopts the size and reads everything") {
    grow_in_child(0);
    auto txn = env->begin_read();
    REQUIRE(txn);
    CHECK(txn->count(db) == 4001);
    CHECK(env->info().map_size == size_t{64} << 20);
  }
  SECTION("with a reader live, a begin is refused with a clear error until it ends") {
    {
      auto live = env->begin_read();
      REQUIRE(live);
      grow_in_child(0);
      auto refused = env->begin_write();
      REQUIRE(!refused);
      CHECK(refused.error().code() == ErrorCode::kUnavailable);
      CHECK(refused.error().message().find("another process grew the map") != std::string::npos);
    }
    auto txn = env->begin_read();
    REQUIRE(txn);
    CHECK(txn->count(db) == 4001);
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
