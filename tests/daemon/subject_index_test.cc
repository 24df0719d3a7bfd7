// The partitioned subject index (daemon_store.h subject_key_of): lookups gather a subject's
// record keys from every partition in order, a chunk at a time; stores written before the
// partitioning are migrated at start-up.
#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <random>
#include <set>

#include "core/crypto/secret_bytes.h"
#include "core/store/table.h"
#include "daemon/daemon_store.h"
#include "daemon/record_reader.h"
#include "tests/support/test_support.h"

namespace gongshu::daemon {
namespace {

struct OpenStore {
  explicit OpenStore(const std::string& dir)
      : master(crypto::SecretBytes::random(crypto::kDataKeySize)) {
    std::filesystem::create_directories(dir + "/store");
    StoreOptions so;
    so.state_dir = dir;
    auto s = DaemonStore::open(so, key, crypto::SecretBytes::copy_of(master.view()),
                               SystemClock::instance());
    REQUIRE(s);
    store = std::move(*s);
  }
  crypto::IdentityKey key = crypto::IdentityKey::generate();
  crypto::SecretBytes master;
  std::unique_ptr<DaemonStore> store;
};

crypto::Digest token_of(uint8_t b) {
  crypto::Digest d;
  d.fill(b);
  return d;
}

uint64_t in_partition(uint64_t p, uint64_t i = 0) { return (p << kSubjectPartitionShift) + i; }

std::vector<std::string> all_pages(RecordReader& reader, const crypto::Digest& token,
                                   const std::string& dataset, size_t limit) {
  std::vector<std::string> out;
  std::string after;
  while (true) {
    auto page = reader.subject_record_keys(token, dataset, after, limit);
    out.insert(out.end(), page.begin(), page.end());
    if (page.size() < limit) return out;
    after = page.back();
  }
}

TEST_CASE("a subject's record keys come from every partition, in order, without repeats") {
  testing::TempDir dir;
  OpenStore s(dir.path());
  const auto& db = s.store->db();
  auto put = [&](uint64_t version, uint8_t token, const std::string& dataset,
                 const std::string& key) {
    REQUIRE(s.store->env().update([&](store::WriteTxn& txn) -> Status {
      return db.subjects.put(
          txn, subject_key_of(version, token_of(token), record_key_of(dataset, key)), {});
    }));
  };
  put(in_partition(0, 1), 0xaa, "d1", "r07");
  put(in_partition(0, 2), 0xaa, "d1", "r02");
  put(in_partition(0, 3), 0xbb, "d1", "r01");   // another subject
  put(in_partition(0, 4), 0xaa, "d10", "r00");  // a dataset whose name extends d1's
  put(in_partition(1, 0), 0xaa, "d1", "r05");
  put(in_partition(5, 9), 0xaa, "d1", "r07");  // the same record again, later
  put(in_partition(5, 10), 0xaa, "d1", "r01");
  put(in_partition(5, 11), 0xaa, "d2", "r03");
  put(in_partition(9, 0), 0xbb, "d1", "r09");

  auto txn = s.store->env().begin_read();
  REQUIRE(txn);
  RecordReader reader(*s.store, *txn);
  const std::vector<std::string> want{"r01", "r02", "r05", "r07"};
  CHECK(reader.subject_record_keys(token_of(0xaa), "d1", "", 100) == want);
  CHECK(reader.subject_record_keys(token_of(0xaa), "d1", "r02", 100) ==
        std::vector<std::string>{"r05", "r07"});
  CHECK(reader.subject_record_keys(token_of(0xaa), "d1", "", 2) ==
        std::vector<std::string>{"r01", "r02"});
  CHECK(reader.subject_record_keys(token_of(0xaa), "d1", "", 0).empty());
  for (size_t limit : {1, 2, 3, 4, 5})
    CHECK(all_pages(reader, token_of(0xaa), "d1", limit) == want);
  CHECK(reader.subject_record_keys(token_of(0xaa), "d10", "", 10) ==
        std::vector<std::string>{"r00"});
  CHECK(reader.subject_record_keys(token_of(0xbb), "d1", "", 10) ==
        std::vector<std::string>{"r01", "r09"});
  CHECK(reader.subject_record_keys(token_of(0xcc), "d1", "", 10).empty());
}

TEST_CASE("a key made for partition 0 can be moved to a version's partition") {
  Bytes key = subject_key_of(0, token_of(7), record_key_of("d1", "r1"));
  set_subject_partition(key, in_partition(5, 3));
  CHECK(key == subject_key_of(in_partition(5, 3), token_of(7), record_key_of("d1", "r1")));
  set_subject_partition(key, 1);
  CHECK(key == subject_key_of(0, token_of(7), record_key_of("d1", "r1")));
}

TEST_CASE("random subject indexes over many partitions read back as their model") {
  testing::TempDir dir;
  OpenStore s(dir.path());
  const auto& db = s.store->db();
  std::mt19937_64 rng(20261127);
  std::map<std::pair<uint8_t, std::string>, std::set<std::string>> model;
  REQUIRE(s.store->env().update([&](store::WriteTxn& txn) -> Status {
    uint64_t version = 1;
    for (int i = 0; i < 3000; ++i) {
      version += rng() % 200;  // about 160 partitions
      uint8_t token = uint8_t(rng() % 5);
      std::string dataset = rng() % 2 ? "population.household" : "population.person";
      std::string key = "k" + std::to_string(rng() % 900);
      model[{token, dataset}].insert(key);
      GONGSHU_RETURN_IF_ERROR(db.subjects.put(
          txn, subject_key_of(version, token_of(token), record_key_of(dataset, key)), {}));
    }
    return {};
  }));
  auto txn = s.store->env().begin_read();
  REQUIRE(txn);
  RecordReader reader(*s.store, *txn);
  for (const auto& [which, keys] : model) {
    std::vector<std::string> want(keys.begin(), keys.end());
    for (size_t limit : {1, 7, 256, 5000})
      REQUIRE(all_pages(reader, token_of(which.first), which.second, limit) == want);
  }
}

TEST_CASE("a store indexed before partitioning is moved into partition 0 at start-up") {
  testing::TempDir dir;
  crypto::Digest token = token_of(0x42);
  {
    OpenStore s(dir.path());
    auto legacy = store::Table<ByteView>::open(s.store->env(), "subjects");
    REQUIRE(legacy);
    REQUIRE(s.store->env().update([&](store::WriteTxn& txn) -> Status {
      for (std::string key : {"r1", "r2"}) {
        Bytes k(token.begin(), token.end());
        append(k, record_key_of("d1", key));
        GONGSHU_RETURN_IF_ERROR(legacy->put(txn, k, {}));
      }
      return {};
    }));
    // Reopened with the same keys: the migration runs at open.
    s.store.reset();
    StoreOptions so;
    so.state_dir = dir.path();
    auto again = DaemonStore::open(so, s.key, crypto::SecretBytes::copy_of(s.master.view()),
                                   SystemClock::instance());
    REQUIRE(again);
    auto txn = (*again)->env().begin_read();
    REQUIRE(txn);
    RecordReader reader(**again, *txn);
    CHECK(reader.subject_record_keys(token, "d1", "", 10) == std::vector<std::string>{"r1", "r2"});
    auto legacy_again = store::Table<ByteView>::open((*again)->env(), "subjects");
    REQUIRE(legacy_again);
    CHECK(legacy_again->count(*txn) == 0);
  }
}

}  // namespace
}  // namespace gongshu::daemon
