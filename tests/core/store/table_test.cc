#include "core/store/table.h"

#include <catch2/catch.hpp>

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

TEST_CASE("string-keyed tables") {
  testing::TempDir dir;
  auto env = std::move(*Env::open(dir.path()));
  auto table = *Table<std::string_view>::open(*env, "names");
  REQUIRE(env->update([&](WriteTxn& t) { return table.put(t, "公安局", as_bytes("police")); }));
  auto r = std::move(*env->begin_read());
  CHECK(as_chars(*table.get(r, "公安局")) == "police");
  CHECK(!table.get(r, "税务局"));
}

}  // namespace
}  // namespace gongshu::store
