// A change to who may connect is in force when the daemon answers it, or it was not made
// (issue 13, item 5): a revocation used to be committed and then, if the directory could not be
// reloaded, not enforced until the next restart.
#include "daemon/principals.h"

#include <catch2/catch.hpp>
#include <vector>

#include "tests/daemon/handler_fixture.h"

namespace gongshu::daemon {
namespace {

using testing::HandlerFixture;

bool revoked_in_store(HandlerFixture& h, const std::string& key_id) {
  auto txn = h.store->env().begin_read();
  REQUIRE(txn);
  auto v = h.store->db().principals.get(*txn, key_id);
  stored::Principal p;
  REQUIRE(v);
  REQUIRE(parse_value(*v, p));
  return p.revoked();
}

TEST_CASE("a revocation takes effect even when no read transaction can begin") {
  HandlerFixture h;
  auto op = h.add_principal("operator");
  auto victim = h.add_principal("agency", "sjz-gongan");
  const std::string id = victim.public_key().key_id();
  // Every reader slot taken, as by many readers at once: a reload after the commit cannot
  // begin its read transaction.
  std::vector<store::ReadTxn> readers;
  while (auto t = h.store->env().begin_read()) readers.push_back(std::move(*t));
  REQUIRE(!readers.empty());
  v1::PrincipalRevokeRequest req;
  req.set_key_id(id);
  req.set_reason("key lost");
  v1::ApiResponse resp;
  auto r = principal_revoke(*h.ctx, h.caller_of(op), req, resp);
  readers.clear();
  INFO((r ? std::string() : r.error().message));
  REQUIRE(r);
  CHECK(revoked_in_store(h, id));
  // In force from the next message, not from the next restart.
  REQUIRE(h.directory.by_key_id(id));
  CHECK(h.directory.by_key_id(id)->revoked);
}

TEST_CASE("a revocation whose directory cannot be built is refused, not half made") {
  HandlerFixture h;
  auto op = h.add_principal("operator");
  auto victim = h.add_principal("agency", "sjz-gongan");
  const std::string id = victim.public_key().key_id();
  // A principal record that does not parse: the directory cannot be rebuilt from the table.
  REQUIRE(h.store->env().update([&](store::WriteTxn& txn) -> Status {
    return h.store->db().principals.put(txn, "ffffffffffffffff", as_bytes(std::string("\xff\xff")));
  }));
  v1::PrincipalRevokeRequest req;
  req.set_key_id(id);
  v1::ApiResponse resp;
  auto r = principal_revoke(*h.ctx, h.caller_of(op), req, resp);
  CHECK(!r);
  // Store and directory agree: not revoked in either, and the operator was told so.
  CHECK(!revoked_in_store(h, id));
  CHECK(!h.directory.by_key_id(id)->revoked);
}

}  // namespace
}  // namespace gongshu::daemon
