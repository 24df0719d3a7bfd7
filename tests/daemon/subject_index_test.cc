// The subject index (daemon/subject_index.h): lookups gather a subject's record keys from every
// partition and run in order, a chunk at a time; a closed partition's runs are merged into it;
// stores written before the partitioning are migrated at start-up.
#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <random>
#include <set>

#include "core/crypto/secret_bytes.h"
#include "core/store/table.h"
#include "daemon/daemon_store.h"
#include "daemon/record_reader.h"
#include "daemon/subject_index.h"
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

// An entry of the version in its partition (merged), or in the run starting at run_start.
Bytes partition_entry(uint64_t version, uint8_t token, const std::string& dataset,
                      const std::string& key) {
  return subject_key(subject_partition(version), token_of(token), record_key_of(dataset, key));
}
Bytes run_entry(uint64_t run_start, uint8_t token, const std::string& dataset,
                const std::string& key) {
  return subject_key(run_start, token_of(token), record_key_of(dataset, key));
}

TEST_CASE("a subject's record keys come from every partition and run, in order, without repeats") {
  testing::TempDir dir;
  OpenStore s(dir.path());
  const auto& db = s.store->db();
  auto put = [&](const store::Table<ByteView>& table, const Bytes& key) {
    REQUIRE(s.store->env().update(
        [&](store::WriteTxn& txn) -> Status { return table.put(txn, key, {}); }));
  };
  put(db.subjects, partition_entry(in_partition(0, 1), 0xaa, "d1", "r07"));
  put(db.subjects, partition_entry(in_partition(0, 2), 0xaa, "d1", "r02"));
  put(db.subjects, partition_entry(in_partition(0, 3), 0xbb, "d1", "r01"));   // another subject
  put(db.subjects, partition_entry(in_partition(0, 4), 0xaa, "d10", "r00"));  // d1's name extended
  put(db.subjects, partition_entry(in_partition(1, 0), 0xaa, "d1", "r05"));
  put(db.subjects, partition_entry(in_partition(5, 9), 0xaa, "d1", "r07"));  // the same, later
  put(db.subjects, partition_entry(in_partition(5, 10), 0xaa, "d1", "r01"));
  put(db.subjects, partition_entry(in_partition(5, 11), 0xaa, "d2", "r03"));
  put(db.subjects, partition_entry(in_partition(9, 0), 0xbb, "d1", "r09"));
  // Runs of partition 10, still filling.
  put(db.subject_runs, run_entry(in_partition(10, 0), 0xaa, "d1", "r05"));  // again
  put(db.subject_runs, run_entry(in_partition(10, 700), 0xaa, "d1", "r11"));
  put(db.subject_runs, run_entry(in_partition(10, 700), 0xbb, "d1", "r12"));

  auto txn = s.store->env().begin_read();
  REQUIRE(txn);
  RecordReader reader(*s.store, *txn);
  const std::vector<std::string> want{"r01", "r02", "r05", "r07", "r11"};
  CHECK(reader.subject_record_keys(token_of(0xaa), "d1", "", 100) == want);
  CHECK(reader.subject_record_keys(token_of(0xaa), "d1", "r02", 100) ==
        std::vector<std::string>{"r05", "r07", "r11"});
  CHECK(reader.subject_record_keys(token_of(0xaa), "d1", "", 2) ==
        std::vector<std::string>{"r01", "r02"});
  CHECK(reader.subject_record_keys(token_of(0xaa), "d1", "", 0).empty());
  for (size_t limit : {1, 2, 3, 4, 5, 6})
    CHECK(all_pages(reader, token_of(0xaa), "d1", limit) == want);
  CHECK(reader.subject_record_keys(token_of(0xaa), "d10", "", 10) ==
        std::vector<std::string>{"r00"});
  CHECK(reader.subject_record_keys(token_of(0xbb), "d1", "", 10) ==
        std::vector<std::string>{"r01", "r09", "r12"});
  CHECK(reader.subject_record_keys(token_of(0xcc), "d1", "", 10).empty());
}

TEST_CASE("a key's prefix is set once its version is known; runs start in their partition") {
  Bytes key = subject_key(0, token_of(7), record_key_of("d1", "r1"));
  set_subject_prefix(key, 12345);
  CHECK(key == subject_key(12345, token_of(7), record_key_of("d1", "r1")));
  CHECK(get_be64(key.data()) == 12345);
  // A commit's entries form a run from its first version, or from the start of the next
  // partition for the versions it numbers there.
  CHECK(subject_run_start(in_partition(3, 100), in_partition(3, 900)) == in_partition(3, 100));
  CHECK(subject_run_start(in_partition(3, 16000), in_partition(4, 5)) == in_partition(4));
  CHECK(subject_partition(subject_run_start(in_partition(3, 16000), in_partition(4, 5))) == 4);
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
      // Most in merged partitions, the newest in a run.
      const bool in_run = rng() % 10 == 0;
      GONGSHU_RETURN_IF_ERROR(
          in_run ? db.subject_runs.put(txn, run_entry(version, token, dataset, key), {})
                 : db.subjects.put(txn, partition_entry(version, token, dataset, key), {}));
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

TEST_CASE("subject keys sort bytewise and once, whatever their lengths and shared beginnings") {
  std::mt19937_64 rng(7);
  for (int round = 0; round < 200; ++round) {
    std::vector<Bytes> storage;
    for (int i = 0; i < 60; ++i) {
      // Short keys, keys sharing their first 16 bytes, zero bytes, and repeats.
      Bytes k(rng() % 24, 0);
      for (auto& b : k) b = static_cast<uint8_t>(rng() % 3 == 0 ? 0 : rng() % 4);
      storage.push_back(k);
      if (rng() % 5 == 0) storage.push_back(k);
    }
    std::vector<ByteView> keys(storage.begin(), storage.end());
    std::vector<ByteView> want = keys;
    std::sort(want.begin(), want.end(), bytes_less);
    want.erase(std::unique(want.begin(), want.end(), bytes_equal), want.end());
    sort_subject_keys(keys);
    REQUIRE(keys.size() == want.size());
    for (size_t i = 0; i < keys.size(); ++i) REQUIRE(bytes_equal(keys[i], want[i]));
  }
}

// Every key of a table, in order.
std::vector<Bytes> keys_of(DaemonStore& store, const store::Table<ByteView>& table) {
  auto txn = store.env().begin_read();
  REQUIRE(txn);
  std::vector<Bytes> out;
  auto c = table.cursor(*txn);
  for (auto e = c.first(); e; e = c.next()) out.emplace_back(e->key.begin(), e->key.end());
  return out;
}

// Appends entries to the runs in one transaction, as a commit does.
void append_runs(DaemonStore& store, const std::vector<Bytes>& entries) {
  REQUIRE(store.env().update([&](store::WriteTxn& txn) -> Status {
    auto c = store.db().subject_runs.write_cursor(txn);
    for (const Bytes& e : entries) GONGSHU_RETURN_IF_ERROR(c.append(e, {}));
    return {};
  }));
}

// A commit's write of its entries once the writer's next version is next_version.
size_t commit(DaemonStore& store, uint64_t next_version, std::vector<Bytes> entries = {}) {
  std::vector<ByteView> views(entries.begin(), entries.end());
  size_t merged = 0;
  auto s = store.env().update([&](store::WriteTxn& txn) -> Status {
    auto n = write_subject_entries(txn, store.db().subject_runs, store.db().subjects, views,
                                   next_version);
    if (!n) return tl::unexpected(n.error());
    merged = *n;
    return {};
  });
  INFO((s ? std::string() : s.error().message()));
  REQUIRE(s);
  return merged;
}

std::vector<std::string> lookup(DaemonStore& store, uint8_t token) {
  auto txn = store.env().begin_read();
  REQUIRE(txn);
  RecordReader reader(store, *txn);
  return reader.subject_record_keys(token_of(token), "d1", "", 100);
}

TEST_CASE("a commit appends its entries as runs; one that closes a partition merges it") {
  testing::TempDir dir;
  OpenStore s(dir.path());
  DaemonStore& store = *s.store;
  const auto& db = store.db();
  // Two commits inside partition 0: two runs.
  CHECK(commit(store, in_partition(0, 500),
               {run_entry(in_partition(0, 1), 0xbb, "d1", "r1"),
                run_entry(in_partition(0, 1), 0xaa, "d1", "r2")}) == 0);
  CHECK(commit(store, in_partition(0, 16000),
               {run_entry(in_partition(0, 500), 0xaa, "d1", "r2"),
                run_entry(in_partition(0, 500), 0xcc, "d1", "r3")}) == 0);
  CHECK(keys_of(store, db.subjects).empty());
  CHECK(keys_of(store, db.subject_runs).size() == 4);
  // A commit from version 16,000 to past 16,384: its entries of partition 0 join the merge, its
  // entries of partition 1 start a run there.
  CHECK(commit(store, in_partition(1, 100),
               {run_entry(in_partition(0, 16000), 0xdd, "d1", "r4"),
                run_entry(in_partition(1), 0xaa, "d1", "r5")}) == 5);
  CHECK(keys_of(store, db.subjects) ==
        std::vector<Bytes>{partition_entry(in_partition(0), 0xaa, "d1", "r2"),
                           partition_entry(in_partition(0), 0xbb, "d1", "r1"),
                           partition_entry(in_partition(0), 0xcc, "d1", "r3"),
                           partition_entry(in_partition(0), 0xdd, "d1", "r4")});
  CHECK(keys_of(store, db.subject_runs) ==
        std::vector<Bytes>{run_entry(in_partition(1), 0xaa, "d1", "r5")});
  CHECK(lookup(store, 0xaa) == std::vector<std::string>{"r2", "r5"});
}

TEST_CASE("a closed partition's runs are merged into it, sorted and once; a filling one's stay") {
  testing::TempDir dir;
  OpenStore s(dir.path());
  DaemonStore& store = *s.store;
  const auto& db = store.db();
  // Partition 0 in three runs, r2 of subject aa written in two of them; partition 1's first run.
  append_runs(store, {run_entry(in_partition(0, 1), 0xaa, "d1", "r2"),
                      run_entry(in_partition(0, 1), 0xbb, "d1", "r1"),
                      run_entry(in_partition(0, 900), 0xaa, "d1", "r1"),
                      run_entry(in_partition(0, 900), 0xaa, "d1", "r2"),
                      run_entry(in_partition(0, 16000), 0xcc, "d1", "r9"),
                      run_entry(in_partition(1, 0), 0xaa, "d1", "r3")});
  const std::vector<std::string> aa{"r1", "r2", "r3"};
  REQUIRE(lookup(store, 0xaa) == aa);

  CHECK(commit(store, in_partition(0, 16383)) == 0);  // partition 0 still filling
  CHECK(keys_of(store, db.subjects).empty());
  CHECK(commit(store, in_partition(1, 7)) == 5);  // numbered past it: closed
  const std::vector<Bytes> merged{partition_entry(in_partition(0), 0xaa, "d1", "r1"),
                                  partition_entry(in_partition(0), 0xaa, "d1", "r2"),
                                  partition_entry(in_partition(0), 0xbb, "d1", "r1"),
                                  partition_entry(in_partition(0), 0xcc, "d1", "r9")};
  CHECK(keys_of(store, db.subjects) == merged);
  CHECK(keys_of(store, db.subject_runs) ==
        std::vector<Bytes>{run_entry(in_partition(1, 0), 0xaa, "d1", "r3")});
  CHECK(lookup(store, 0xaa) == aa);
  CHECK(lookup(store, 0xbb) == std::vector<std::string>{"r1"});
  CHECK(commit(store, in_partition(1, 8)) == 0);
}

TEST_CASE("one closed partition is merged per call, also among entries from before runs") {
  testing::TempDir dir;
  OpenStore s(dir.path());
  DaemonStore& store = *s.store;
  const auto& db = store.db();
  // A store from before runs: partition 2 holds entries, and kept filling in runs.
  REQUIRE(store.env().update([&](store::WriteTxn& txn) -> Status {
    GONGSHU_RETURN_IF_ERROR(
        db.subjects.put(txn, partition_entry(in_partition(1, 5), 0xaa, "d1", "r0"), {}));
    GONGSHU_RETURN_IF_ERROR(
        db.subjects.put(txn, partition_entry(in_partition(2, 5), 0xaa, "d1", "r1"), {}));
    return db.subjects.put(txn, partition_entry(in_partition(2, 6), 0xcc, "d1", "r5"), {});
  }));
  append_runs(store, {run_entry(in_partition(2, 100), 0xaa, "d1", "r2"),
                      run_entry(in_partition(2, 100), 0xbb, "d1", "r3"),
                      run_entry(in_partition(3, 0), 0xaa, "d1", "r4"),
                      run_entry(in_partition(5, 1), 0xaa, "d1", "r6")});
  const std::vector<std::string> aa{"r0", "r1", "r2", "r4", "r6"};
  REQUIRE(lookup(store, 0xaa) == aa);
  CHECK(commit(store, in_partition(5, 2)) == 2);  // partition 2, among its entries
  CHECK(commit(store, in_partition(5, 2)) == 1);  // partition 3
  CHECK(commit(store, in_partition(5, 2)) == 0);  // partition 5 still filling
  CHECK(keys_of(store, db.subjects) ==
        std::vector<Bytes>{partition_entry(in_partition(1), 0xaa, "d1", "r0"),
                           partition_entry(in_partition(2), 0xaa, "d1", "r1"),
                           partition_entry(in_partition(2), 0xaa, "d1", "r2"),
                           partition_entry(in_partition(2), 0xbb, "d1", "r3"),
                           partition_entry(in_partition(2), 0xcc, "d1", "r5"),
                           partition_entry(in_partition(3), 0xaa, "d1", "r4")});
  CHECK(keys_of(store, db.subject_runs) ==
        std::vector<Bytes>{run_entry(in_partition(5, 1), 0xaa, "d1", "r6")});
  CHECK(lookup(store, 0xaa) == aa);
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
