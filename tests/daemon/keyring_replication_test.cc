// DaemonStore as the replication channel's KeyShares (core/replication/key_shares.h,
// docs/replication.md §3a), on real stores and keyring directories: the leader's snapshot lists
// its share files and tombstones destroyed datasets; a replica installs them (0600, the same
// bytes, nothing rewritten when unchanged) and then opens the dataset's key from the leader's
// stored state; names that are not dataset ids and shares of the wrong size are refused; a
// tombstone shreds the replica's share.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "daemon/daemon_store.h"
#include "daemon/stored.pb.h"
#include "tests/support/test_support.h"

namespace gongshu::daemon {
namespace {

using gongshu::testing::read_text;
using gongshu::testing::TempDir;

struct Pair {
  TempDir ldir, rdir;
  crypto::IdentityKey key = crypto::IdentityKey::generate();
  crypto::SecretBytes master = crypto::SecretBytes::random(crypto::kDataKeySize);
  std::unique_ptr<DaemonStore> leader = open(ldir.path()), replica = open(rdir.path());

  std::unique_ptr<DaemonStore> open(const std::string& dir) {
    std::filesystem::create_directories(dir + "/store");
    StoreOptions so;
    so.state_dir = dir;
    auto s = DaemonStore::open(so, key, crypto::SecretBytes::copy_of(master.view()),
                               SystemClock::instance());
    REQUIRE(s);
    return std::move(*s);
  }
  std::vector<replication::KeyShare> snapshot() {
    auto txn = leader->env().begin_read();
    REQUIRE(txn);
    auto s = leader->snapshot(*txn);
    REQUIRE(s);
    return std::move(*s);
  }
  // What applying the leader's write sets does to the replica's datasets table.
  void copy_state(const std::string& dataset) {
    std::string bytes;
    {
      auto txn = leader->env().begin_read();
      auto v = leader->db().datasets.get(*txn, dataset);
      REQUIRE(v);
      bytes.assign(as_chars(*v));
    }
    REQUIRE(replica->env().update([&](store::WriteTxn& txn) -> Status {
      return replica->db().datasets.put(txn, dataset, as_bytes(bytes));
    }));
  }
  Result<const crypto::DataKey*> replica_key(const std::string& dataset) {
    auto txn = replica->env().begin_read();
    return replica->data_key(*txn, dataset);
  }
};

const replication::KeyShare* find(const std::vector<replication::KeyShare>& v,
                                  const std::string& name) {
  for (const auto& k : v)
    if (k.name == name) return &k;
  return nullptr;
}

TEST_CASE("a replica installs the leader's key shares and opens the datasets keyed there") {
  Pair p;
  const uint64_t g0 = p.leader->generation();
  REQUIRE(p.leader->env().update(
      [&](store::WriteTxn& txn) { return p.leader->create_data_key(txn, "people.b"); }));
  CHECK(p.leader->generation() > g0);  // bumped (before the commit) for the shipper
  p.copy_state("people.b");
  // Without the share the replica cannot open the key.
  CHECK(!p.replica_key("people.b"));

  auto snap = p.snapshot();
  const auto* share = find(snap, "people.b");
  REQUIRE(share);
  REQUIRE(share->share.size() == 32);
  const std::string path = p.replica->keyring_dir() + "/people.b.share";
  REQUIRE(p.replica->install(snap));
  const std::string bytes = read_text(path);
  CHECK(bytes == read_text(p.leader->keyring_dir() + "/people.b.share"));
  struct stat st;
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(p.replica_key("people.b"));  // unwrapped with the installed share: the leader's key

  // Installed again unchanged: nothing rewritten.
  const uint64_t g1 = p.replica->generation();
  REQUIRE(p.replica->install(p.snapshot()));
  CHECK(p.replica->generation() == g1);
  // No temporary file left in the keyring.
  for (const auto& e : std::filesystem::directory_iterator(p.replica->keyring_dir()))
    CHECK(e.path().filename().string()[0] != '.');
}

TEST_CASE("a replica refuses key shares that are not a dataset's, and shreds destroyed ones") {
  Pair p;
  for (const std::string bad : {"../escape", "a/b", ".hidden", "", "x y"}) {
    INFO(bad);
    std::vector<replication::KeyShare> v;
    v.push_back({bad, crypto::SecretBytes::random(32)});
    auto s = p.replica->install(v);
    REQUIRE(!s);
    CHECK(s.error().code() == ErrorCode::kInvalidArgument);
  }
  CHECK(!std::filesystem::exists(p.rdir.path() + "/escape.share"));
  std::vector<replication::KeyShare> short_share;
  short_share.push_back({"people.c", crypto::SecretBytes::random(16)});
  CHECK(!p.replica->install(short_share));
  CHECK(!std::filesystem::exists(p.replica->keyring_dir() + "/people.c.share"));

  // Keyed, replicated, then destroyed on the leader: the snapshot carries a tombstone and no
  // share, and installing it shreds the replica's share.
  REQUIRE(p.leader->env().update(
      [&](store::WriteTxn& txn) { return p.leader->create_data_key(txn, "people.d"); }));
  p.copy_state("people.d");
  REQUIRE(p.replica->install(p.snapshot()));
  REQUIRE(p.replica_key("people.d"));
  REQUIRE(p.leader->env().update([&](store::WriteTxn& txn) -> Status {
    auto id = p.leader->destroy_data_key(txn, "people.d", "officer-1", "officer-2", 1);
    if (!id) return tl::unexpected(id.error());
    return {};
  }));
  REQUIRE(p.leader->shred_share("people.d"));
  auto snap = p.snapshot();
  const auto* t = find(snap, "people.d");
  REQUIRE(t);
  CHECK(t->share.empty());
  REQUIRE(p.replica->install(snap));
  CHECK(!std::filesystem::exists(p.replica->keyring_dir() + "/people.d.share"));
  // The replica's store still holds the wrapped key (its write set has not arrived): unreadable.
  auto k = p.replica_key("people.d");
  REQUIRE(!k);
  CHECK_THAT(k.error().message(), Catch::Contains("is gone"));
}

}  // namespace
}  // namespace gongshu::daemon
