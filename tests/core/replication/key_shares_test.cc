// The keyring beside the write sets (core/replication/key_shares.h), over a real Shipper and
// Applier on loopback CURVE with real LMDB stores, the keyrings in memory: a replica with an
// empty keyring (a restored copy) gets the whole keyring before it applies anything; a share
// created while the replica streams is installed before the write set written after it is
// applied; a destroyed dataset's share is deleted on the replica; a replica that cannot install
// the keyring applies and acknowledges nothing.
#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <mutex>

#include "core/replication/applier.h"
#include "core/replication/shipper.h"
#include "tests/core/replication/replication_node.h"
#include "tests/support/test_support.h"

namespace gongshu::replication {
namespace {

using namespace std::chrono_literals;
using gongshu::testing::TempDir;
using gongshu::testing::wait_until;
using testing::Node;
using testing::test_key;

// A keyring in memory: name -> 32 bytes; destroyed names give tombstones.
class MemoryKeyring final : public KeyShares {
 public:
  explicit MemoryKeyring(store::Env* env = nullptr, Changelog* changelog = nullptr)
      : env_(env), changelog_(changelog) {}
  // Primary side.
  void create(const std::string& name, uint8_t fill) {
    std::lock_guard lock(mu_);
    files_[name] = std::string(32, char(fill));
    ++generation_;
  }
  void destroy(const std::string& name) {
    std::lock_guard lock(mu_);
    files_.erase(name);
    destroyed_[name] = true;
    ++generation_;
  }
  uint64_t generation() const override {
    std::lock_guard lock(mu_);
    return generation_;
  }
  Result<std::vector<KeyShare>> snapshot(const store::Txn&) override {
    std::lock_guard lock(mu_);
    std::vector<KeyShare> out;
    for (const auto& [n, b] : files_) out.push_back({n, crypto::SecretBytes::copy_of(as_bytes(b))});
    for (const auto& [n, d] : destroyed_) out.push_back({n, crypto::SecretBytes()});
    return out;
  }
  // Replica side: records, per name, the replica's applied seq when the share arrived.
  Status install(const std::vector<KeyShare>& shares) override {
    uint64_t applied = 0;
    if (env_) {
      auto txn = env_->begin_read();
      if (txn) applied = changelog_->head(*txn).seq;
    }
    std::lock_guard lock(mu_);
    ++installs_;
    if (fail_) return fail(ErrorCode::kIo, "keyring disk full");
    for (const KeyShare& k : shares) {
      if (k.share.empty()) {
        files_.erase(k.name);
        continue;
      }
      std::string bytes(reinterpret_cast<const char*>(k.share.data()), k.share.size());
      if (!files_.count(k.name)) installed_at_[k.name] = applied;
      files_[k.name] = bytes;
    }
    return {};
  }
  std::map<std::string, std::string> files() const {
    std::lock_guard lock(mu_);
    return files_;
  }
  std::map<std::string, uint64_t> installed_at() const {
    std::lock_guard lock(mu_);
    return installed_at_;
  }
  int installs() const {
    std::lock_guard lock(mu_);
    return installs_;
  }
  void fail_installs() {
    std::lock_guard lock(mu_);
    fail_ = true;
  }

 private:
  store::Env* env_;
  Changelog* changelog_;
  mutable std::mutex mu_;
  std::map<std::string, std::string> files_;
  std::map<std::string, bool> destroyed_;
  std::map<std::string, uint64_t> installed_at_;
  uint64_t generation_ = 1;
  int installs_ = 0;
  bool fail_ = false;
};

struct Cluster {
  TempDir pdir, rdir;
  Node primary{pdir.path()}, replica{rdir.path()};
  crypto::IdentityKey pkey = test_key(60), rkey = test_key(61);
  MemoryKeyring leader_keyring;
  MemoryKeyring replica_keyring{replica.env.get(), replica.changelog.get()};
  std::unique_ptr<Shipper> shipper;
  std::unique_ptr<Applier> applier;

  Cluster() {
    primary.changelog->set_key_shares(&leader_keyring);
    replica.changelog->set_key_shares(&replica_keyring);
    primary.lead(4);
  }
  ~Cluster() {
    applier.reset();
    shipper.reset();
  }
  void start() {
    ShipperOptions so;
    so.node = "node-a";
    so.heartbeat = 100ms;
    auto s =
        Shipper::start(*primary.env, *primary.changelog, pkey, {{"node-b", rkey.public_key()}}, so);
    REQUIRE(s);
    shipper = std::move(*s);
    Shipper* raw = shipper.get();
    primary.changelog->set_listener([raw](uint64_t) { raw->notify(); });
    ApplierOptions o;
    o.node = "node-b";
    o.primary_node = "node-a";
    o.primary_endpoint = shipper->endpoint();
    o.primary_key = pkey.public_key();
    o.hello_interval = 200ms;
    auto a = Applier::start(*replica.env, *replica.changelog, rkey, o);
    REQUIRE(a);
    applier = std::move(*a);
  }
  uint64_t acked() {
    auto r = shipper->replicas();
    return r.count("node-b") ? r["node-b"].acked_seq : 0;
  }
};

TEST_CASE("a replica holds every share before it applies the write sets that need it") {
  Cluster c;
  // Keyed before the replica follows (a replica restored from a backup: no keyring).
  c.leader_keyring.create("old.one", 1);
  c.leader_keyring.create("old.two", 2);
  for (uint64_t i = 1; i <= 5; ++i) c.primary.write(i);
  c.start();
  REQUIRE(wait_until([&] { return c.acked() == 5; }));
  auto at = c.replica_keyring.installed_at();
  CHECK(at["old.one"] == 0);  // before it applied write set 1
  CHECK(at["old.two"] == 0);
  CHECK(c.replica_keyring.files() == c.leader_keyring.files());

  // Shares created while it streams, each followed by a write set that "needs" it: the share is
  // there before that write set is applied (installed while the applied seq was below it).
  std::map<std::string, uint64_t> needed_by;
  for (uint64_t i = 6; i <= 45; ++i) {
    const std::string name = "ds." + std::to_string(i);
    c.leader_keyring.create(name, uint8_t(i));
    needed_by[name] = c.primary.write(i);
  }
  REQUIRE(wait_until([&] { return c.acked() == 45; }));
  at = c.replica_keyring.installed_at();
  for (const auto& [name, seq] : needed_by) {
    INFO(name << " needed by write set " << seq);
    REQUIRE(at.count(name));
    CHECK(at[name] < seq);
  }
  CHECK(c.replica_keyring.files() == c.leader_keyring.files());
  // Not resent with every message: a keyring per change (and per hello), not per write set.
  const int installs = c.replica_keyring.installs();
  for (uint64_t i = 46; i <= 145; ++i) c.primary.write(i);
  REQUIRE(wait_until([&] { return c.acked() == 145; }));
  CHECK(c.replica_keyring.installs() - installs <= 3);  // 0 unless the replica said hello again

  // A destroyed dataset: the tombstone deletes the replica's share.
  c.leader_keyring.destroy("ds.6");
  c.primary.write(146);
  REQUIRE(wait_until([&] { return c.acked() == 146; }));
  REQUIRE(wait_until([&] { return !c.replica_keyring.files().count("ds.6"); }));
  CHECK(c.replica_keyring.files() == c.leader_keyring.files());
}

TEST_CASE("a replica that cannot install the keyring applies and acknowledges nothing") {
  Cluster c;
  c.leader_keyring.create("ds.a", 7);
  c.replica_keyring.fail_installs();
  for (uint64_t i = 1; i <= 3; ++i) c.primary.write(i);
  c.start();
  REQUIRE(wait_until([&] { return c.applier->state() != ApplierState::kFollowing; }));
  CHECK(c.applier->state() == ApplierState::kFailed);
  CHECK_THAT(c.applier->reason(), Catch::Contains("keyring disk full"));
  CHECK(c.applier->head().seq == 0);
  CHECK(c.acked() == 0);
  REQUIRE(wait_until([&] { return !c.shipper->replicas()["node-b"].refused.empty(); }));
  CHECK(!c.shipper->wait_for_quorum(1, 1, std::chrono::steady_clock::now() + 100ms));
}

}  // namespace
}  // namespace gongshu::replication
