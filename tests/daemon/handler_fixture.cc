#include "tests/daemon/handler_fixture.h"

#include <catch2/catch.hpp>
#include <filesystem>

#include "core/crypto/aead.h"

namespace gongshu::daemon::testing {

HandlerFixture::HandlerFixture(size_t map_size) {
  std::filesystem::create_directories(dir.file("state/store"));
  StoreOptions so;
  so.state_dir = dir.file("state");
  so.map_size = map_size;
  auto s = DaemonStore::open(so, daemon_key, crypto::SecretBytes::random(crypto::kDataKeySize),
                             SystemClock::instance());
  REQUIRE(s);
  store = std::move(*s);
  options.exports_dir = dir.file("state/exports");
  ctx = std::make_unique<ApiContext>(
      ApiContext{*store, directory, catalog, policy, limiter, options});
  // The log's first entry, as gongshud init writes one.
  v1::AuditEntry first;
  first.set_action("init");
  REQUIRE(ctx->audit(first));
}

crypto::IdentityKey HandlerFixture::add_principal(const std::string& role,
                                                  const std::string& agency) {
  auto key = crypto::IdentityKey::generate();
  stored::Principal p;
  p.set_public_key(key.public_key().bytes().data(), key.public_key().bytes().size());
  p.set_role(role);
  p.set_agency(agency);
  REQUIRE(store->env().update([&](store::WriteTxn& txn) -> Status {
    return store->db().principals.insert(txn, key.public_key().key_id(),
                                         as_bytes(p.SerializeAsString()));
  }));
  auto txn = store->env().begin_read();
  REQUIRE(txn);
  REQUIRE(directory.reload(*store, *txn));
  return key;
}

Caller HandlerFixture::caller_of(const crypto::IdentityKey& key) const {
  auto id = directory.by_key_id(key.public_key().key_id());
  REQUIRE(id);
  Caller c;
  c.role = id->role;
  c.policy_role = *policy::parse_role(id->role);
  c.key_id = id->key_id;
  c.agency = id->agency;
  c.address = "127.0.0.1";
  return c;
}

void HandlerFixture::fill_map() {
  // Ever smaller values, until not even one byte under a new key fits.
  uint64_t n = 0;
  for (size_t size : {size_t{65536}, size_t{4096}, size_t{256}, size_t{1}}) {
    const std::string value(size, 'x');
    while (store->env().update([&](store::WriteTxn& txn) -> Status {
      return store->db().meta.put(txn, "fill/" + std::to_string(n++), as_bytes(value));
    })) {
    }
  }
}

uint64_t HandlerFixture::audit_size() {
  auto txn = store->env().begin_read();
  REQUIRE(txn);
  return store->audit().head(*txn).size;
}

std::vector<v1::AuditEntry> HandlerFixture::audit_after(uint64_t after) {
  auto txn = store->env().begin_read();
  REQUIRE(txn);
  std::vector<v1::AuditEntry> out;
  for (uint64_t seq = after + 1; seq <= store->audit().head(*txn).size; ++seq) {
    auto bytes = store->audit().entry(*txn, seq);
    REQUIRE(bytes);
    REQUIRE(parse_value(*bytes, out.emplace_back()));
  }
  return out;
}

}  // namespace gongshu::daemon::testing
