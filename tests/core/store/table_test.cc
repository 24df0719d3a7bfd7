#include "core/store/table.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <vector>

#include "tests/support/test_support.h"

namespace gongshu::store {
namespace {

TEST_CASE("u64 tables iterate in numeric order") {
  testing::TempDir dir;
  auto env = std::move(*Env::open(dir.path()));
  auto table = Table<uint64_t>::open(*env, "seq");
  REQUIRE(table);
  REQUIRE(env->update([&](WriteTxn& t) -> Status {
    for (uint64_t v : {300ull, 2ull, 1ull << 40, 256ull, 1ull}) {
      GONGSHU_RETURN_IF_ERROR(table->put(t, v, as_bytes(std::to_string(v))));
    }
    return {};
  }));
  auto r = std::move(*env->begin_read());
  auto c = table->cursor(r);
  std::vector<uint64_t> seen;
  for (auto e = c.first(); e; e = c.next()) {
    auto k = parse_u64_key(e->key);
    REQUIRE(k);
    CHECK(as_chars(e->value) == std::to_string(*k));
    seen.push_back(*k);
  }
  CHECK(seen == std::vector<uint64_t>{1, 2, 256, 300, 1ull << 40});
  auto at = c.seek(u64_key(257));
  REQUIRE(at);
  CHECK(*parse_u64_key(at->key) == 300);
  CHECK(*parse_u64_key(c.last()->key) == (1ull << 40));
  CHECK(!c.find(u64_key(3)));
  CHECK(as_chars(*table->get(r, 256)) == "256");
  CHECK(table->count(r) == 5);
}

TEST_CASE("append requires increasing keys") {
  testing::TempDir dir;
  auto env = std::move(*Env::open(dir.path()));
  auto table = *Table<uint64_t>::open(*env, "log");
  auto w = std::move(*env->begin_write());
  REQUIRE(table.append(w, 1, as_bytes("a")));
  REQUIRE(table.append(w, 2, as_bytes("b")));
  CHECK(!table.append(w, 2, as_bytes("c")));
}

TEST_CASE(
    "append_reserve stores what is written into the reserved bytes, after the last key only") {
  testing::TempDir dir;
  auto env = std::move(*Env::open(dir.path()));
  auto table = *Table<uint64_t>::open(*env, "outbox");
  const std::string big(200'000, 'x');  // overflow pages, as a sealed batch takes
  REQUIRE(env->update([&](WriteTxn& w) -> Status {
    GONGSHU_RETURN_IF_ERROR(table.append(w, 1, as_bytes("a")));
    GONGSHU_TRY(std::span<uint8_t> at, table.append_reserve(w, 2, big.size() + 1));
    REQUIRE(at.size() == big.size() + 1);
    std::copy(big.begin(), big.end(), at.begin());
    at.back() = 'y';
    // Not after the last key: refused, and nothing reserved.
    auto refused = table.append_reserve(w, 2, 10);
    REQUIRE(!refused);
    CHECK(refused.error().code() == ErrorCode::kAlreadyExists);
    return {};
  }));
  auto r = std::move(*env->begin_read());  // read from the map: what was committed
  CHECK(as_chars(*table.get(r, 2)) == big + "y");
  CHECK(table.count(r) == 2);
}

TEST_CASE("string-keyed tables") {
  testing::TempDir dir;
  auto env = std::move(*Env::open(dir.path()));
  auto table = *Table<std::string_view>::open(*env, "names");
  REQUIRE(env->update([&](WriteTxn& t) { return table.put(t, "公安局", as_bytes("police")); }));
  auto r = std::move(*env->begin_read());
  CHECK(as_chars(*table.get(r, "公安局")) == "police");
  CHECK(!table.get(r, "税务局"));
}

// The table holds exactly the model's keys and values, in order.
void check_holds(const Txn& txn, const Table<std::string_view>& table,
                 const std::map<std::string, std::string>& model) {
  CHECK(table.count(txn) == model.size());
  auto c = table.cursor(txn);
  auto it = model.begin();
  for (auto e = c.first(); e; e = c.next(), ++it) {
    REQUIRE(it != model.end());
    CHECK(as_chars(e->key) == it->first);
    CHECK(as_chars(e->value) == it->second);
  }
  CHECK(it == model.end());
}

TEST_CASE("a write cursor inserts and overwrites, in any order, as put does") {
  testing::TempDir dir;
  auto env = std::move(*Env::open(dir.path()));
  auto table = *Table<std::string_view>::open(*env, "heads");
  std::map<std::string, std::string> model;
  // Sorted runs (the way ingest uses it) and a reversed run, with overwrites of earlier keys.
  std::vector<std::string> keys;
  for (int i = 0; i < 3000; ++i) keys.push_back("k" + std::to_string(i * 7919 % 5000));
  std::vector<std::string> sorted = keys;
  std::sort(sorted.begin(), sorted.end());
  for (int round = 0; round < 3; ++round) {
    REQUIRE(env->update([&](WriteTxn& t) -> Status {
      auto c = table.write_cursor(t);
      std::vector<std::string> order = sorted;
      if (round == 1) std::reverse(order.begin(), order.end());
      for (const std::string& k : order) {
        std::string v = k + "/" + std::to_string(round) + std::string(round * 40, 'x');
        GONGSHU_RETURN_IF_ERROR(c.put(as_bytes(k), as_bytes(v)));
        model[k] = v;
      }
      return {};
    }));
  }
  auto r = std::move(*env->begin_read());
  check_holds(r, table, model);
}

TEST_CASE("a write cursor appends sorted keys at the end, and refuses one out of order") {
  testing::TempDir dir;
  auto env = std::move(*Env::open(dir.path()));
  auto table = *Table<std::string_view>::open(*env, "runs");
  REQUIRE(env->update([&](WriteTxn& t) -> Status { return table.put(t, "b000", as_bytes("x")); }));
  REQUIRE(env->update([&](WriteTxn& t) -> Status {
    auto c = table.write_cursor(t);
    for (int i = 1; i <= 2000; ++i) {
      char key[8];
      std::snprintf(key, sizeof key, "b%04d", i);
      GONGSHU_RETURN_IF_ERROR(c.append(as_bytes(std::string_view(key)), as_bytes("v")));
    }
    return {};
  }));
  auto w = std::move(*env->begin_write());
  auto c = table.write_cursor(w);
  for (std::string_view early : {"a", "b1000", "b2000"}) {
    auto s = c.append(as_bytes(early), as_bytes("late"));
    REQUIRE(!s);
    CHECK_THAT(s.error().message(),
               Catch::Contains("runs") && Catch::Contains("does not sort after"));
  }
  CHECK(as_chars(*table.get(w, "b1000")) == "v");
  CHECK(table.count(w) == 2001);
}

TEST_CASE("ascending puts overwrite and insert among old keys, then append past the last") {
  testing::TempDir dir;
  auto env = std::move(*Env::open(dir.path()));
  auto table = *Table<std::string_view>::open(*env, "heads");
  std::map<std::string, std::string> model;
  auto key = [](int i) {
    char k[16];
    std::snprintf(k, sizeof k, "hh-%06d", i);
    return std::string(k);
  };
  REQUIRE(env->update([&](WriteTxn& t) -> Status {
    for (int i = 0; i < 1000; i += 2) {
      GONGSHU_RETURN_IF_ERROR(table.put(t, key(i), as_bytes("old")));
      model[key(i)] = "old";
    }
    return {};
  }));
  // Overwrites and inserts among the old keys (0..998), then 1,000 new keys past them.
  REQUIRE(env->update([&](WriteTxn& t) -> Status {
    auto c = table.write_cursor(t);
    for (int i = 500; i < 2000; ++i) {
      GONGSHU_RETURN_IF_ERROR(c.put_ascending(as_bytes(key(i)), as_bytes("new")));
      model[key(i)] = "new";
    }
    // Past the end, a key out of order is refused, and nothing is written.
    auto late = c.put_ascending(as_bytes(key(1500)), as_bytes("late"));
    CHECK(!late);
    return {};
  }));
  // Into an empty table: every key is appended.
  auto empty = *Table<std::string_view>::open(*env, "empty");
  REQUIRE(env->update([&](WriteTxn& t) -> Status {
    auto c = empty.write_cursor(t);
    for (int i = 0; i < 100; ++i) GONGSHU_RETURN_IF_ERROR(c.put_ascending(as_bytes(key(i)), {}));
    return {};
  }));
  auto r = std::move(*env->begin_read());
  CHECK(empty.count(r) == 100);
  check_holds(r, table, model);
}

TEST_CASE("a write cursor erases the entry it is on") {
  testing::TempDir dir;
  auto env = std::move(*Env::open(dir.path()));
  auto table = *Table<uint64_t>::open(*env, "runs");
  REQUIRE(env->update([&](WriteTxn& t) -> Status {
    for (uint64_t i = 0; i < 3000; ++i) GONGSHU_RETURN_IF_ERROR(table.append(t, i, as_bytes("v")));
    return {};
  }));
  // The way subject runs are merged: erase from the front until a key, re-seeking the first.
  REQUIRE(env->update([&](WriteTxn& t) -> Status {
    auto c = table.write_cursor(t);
    for (auto e = c.first(); e && get_be64(e->key.data()) < 2500; e = c.first())
      GONGSHU_RETURN_IF_ERROR(c.erase());
    // And one in the middle of what is left.
    uint8_t middle[8];
    put_be64(middle, 2700);
    REQUIRE(c.find(ByteView(middle, 8)));
    return c.erase();
  }));
  auto r = std::move(*env->begin_read());
  CHECK(table.count(r) == 499);
  CHECK(!table.get(r, 2499));
  CHECK(table.get(r, 2500));
  CHECK(!table.get(r, 2700));
  CHECK(table.get(r, 2701));
}

TEST_CASE("clearing a table empties it, leaves others alone, and it can be filled again") {
  testing::TempDir dir;
  auto env = std::move(*Env::open(dir.path()));
  auto runs = *Table<uint64_t>::open(*env, "runs");
  auto other = *Table<uint64_t>::open(*env, "other");
  REQUIRE(env->update([&](WriteTxn& t) -> Status {
    for (uint64_t i = 0; i < 5000; ++i) {
      GONGSHU_RETURN_IF_ERROR(runs.append(t, i, as_bytes(std::string(100, 'r'))));
      GONGSHU_RETURN_IF_ERROR(other.append(t, i, as_bytes("o")));
    }
    return {};
  }));
  REQUIRE(env->update([&](WriteTxn& t) -> Status {
    GONGSHU_RETURN_IF_ERROR(runs.clear(t));
    CHECK(runs.count(t) == 0);
    return runs.append(t, 7, as_bytes("again"));
  }));
  auto r = std::move(*env->begin_read());
  CHECK(runs.count(r) == 1);
  CHECK(as_chars(*runs.get(r, 7)) == "again");
  CHECK(other.count(r) == 5000);
}

TEST_CASE("a write cursor reports a key LMDB cannot hold as an error naming the table") {
  testing::TempDir dir;
  auto env = std::move(*Env::open(dir.path()));
  auto table = *Table<std::string_view>::open(*env, "heads");
  auto w = std::move(*env->begin_write());
  auto c = table.write_cursor(w);
  auto s = c.put(as_bytes(std::string(4000, 'k')), as_bytes("v"));
  REQUIRE(!s);
  CHECK(s.error().message().find("heads") != std::string::npos);
}

}  // namespace
}  // namespace gongshu::store
