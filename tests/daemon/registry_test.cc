// The registry's handlers (daemon/registry.h) over a real store, without a socket: agencies,
// catalog entries and enrolled agents, each change audited in its own transaction.
#include "daemon/registry.h"

#include <catch2/catch.hpp>

#include "core/catalog/dataset.h"
#include "core/util/fd.h"
#include "tests/daemon/handler_fixture.h"

namespace gongshu::daemon {
namespace {

using testing::HandlerFixture;

v1::Agency agency(const std::string& id) {
  v1::Agency a;
  a.set_id(id);
  a.set_name("石家庄市公安局");
  a.set_type("government");
  a.set_region_code("130100");
  return a;
}

v1::DatasetEntry household_entry() {
  std::string path =
      std::string(GONGSHU_SOURCE_DIR) + "/policies/catalog/population_household.toml";
  auto text = read_file(path, 1 << 20);
  REQUIRE(text);
  auto entry = catalog::parse_dataset_toml(as_chars(*text), path);
  REQUIRE(entry);
  return *entry;
}

TEST_CASE("agencies: an operator registers one, staff list it, the rest are refused") {
  HandlerFixture h;
  auto op = h.caller_of(h.add_principal("operator"));
  auto officer = h.caller_of(h.add_principal("officer"));
  uint64_t before = h.audit_size();

  REQUIRE(agency_add(*h.ctx, op, agency("sjz-gongan")));
  auto audited = h.audit_after(before);
  REQUIRE(audited.size() == 1);
  CHECK(audited[0].action() == "agency_add");
  CHECK(audited[0].principal().key_id() == op.key_id);

  auto again = agency_add(*h.ctx, op, agency("sjz-gongan"));
  REQUIRE(!again);
  CHECK(again.error().code == v1::API_CONFLICT);
  auto bad_id = agency_add(*h.ctx, op, agency("SJZ GONGAN"));
  REQUIRE(!bad_id);
  CHECK(bad_id.error().code == v1::API_BAD_REQUEST);
  v1::Agency escape = agency("sjz-shichang");
  escape.set_name("market\x1b[2J");
  CHECK(agency_add(*h.ctx, op, escape).error().code == v1::API_BAD_REQUEST);
  CHECK(h.audit_size() == before + 1);  // nothing written for what was refused as malformed

  v1::ApiResponse resp;
  REQUIRE(agency_list(*h.ctx, officer, "", resp));
  REQUIRE(resp.agencies().agencies_size() == 1);
  CHECK(resp.agencies().agencies(0).id() == "sjz-gongan");
  CHECK(resp.agencies().agencies(0).created_at_ms() > 0);
  v1::ApiResponse none;
  CHECK(agency_list(*h.ctx, officer, "sjz-nobody", none).error().code == v1::API_NOT_FOUND);

  // A role that may not: refused and the denial audited.
  before = h.audit_size();
  auto denied = agency_add(*h.ctx, officer, agency("sjz-shichang"));
  REQUIRE(!denied);
  CHECK(denied.error().code == v1::API_DENIED);
  audited = h.audit_after(before);
  REQUIRE(audited.size() == 1);
  CHECK(audited[0].decision() == v1::DECISION_DENY);
}

TEST_CASE("catalog: an entry is added, versioned on change, and in force when answered") {
  HandlerFixture h;
  auto op = h.caller_of(h.add_principal("operator"));
  auto entry = household_entry();
  v1::ApiResponse resp;
  // Its provider agency must be registered first.
  auto unregistered = catalog_add(*h.ctx, op, entry, resp);
  REQUIRE(!unregistered);
  CHECK(unregistered.error().code == v1::API_BAD_REQUEST);
  REQUIRE(agency_add(*h.ctx, op, agency(entry.provider_agency())));

  uint64_t before = h.audit_size();
  resp.Clear();
  REQUIRE(catalog_add(*h.ctx, op, entry, resp));
  REQUIRE(resp.datasets().datasets_size() == 1);
  CHECK(resp.datasets().datasets(0).entry().version() == 1);
  CHECK(resp.datasets().datasets(0).entry().status() == "approved");
  CHECK(h.catalog.snapshot()->count(entry.id()) == 1);  // ingest validates against it now
  {
    auto txn = h.store->env().begin_read();
    REQUIRE(txn);
    CHECK(h.store->data_key(*txn, entry.id()));
  }
  auto audited = h.audit_after(before);
  REQUIRE(audited.size() == 1);
  CHECK(audited[0].action() == "catalog_add");
  CHECK(audited[0].dataset() == entry.id());

  resp.Clear();
  REQUIRE(catalog_add(*h.ctx, op, entry, resp));
  CHECK(resp.datasets().datasets(0).entry().version() == 2);
  CHECK(h.audit_after(before).back().action() == "catalog_update");

  resp.Clear();
  REQUIRE(catalog_show(*h.ctx, op, "", resp));
  CHECK(resp.datasets().datasets_size() == 1);
  v1::ApiResponse none;
  CHECK(catalog_show(*h.ctx, op, "no.such", none).error().code == v1::API_NOT_FOUND);
}

TEST_CASE("agents: listed for staff, and a revocation is in force when answered") {
  HandlerFixture h;
  auto op = h.caller_of(h.add_principal("operator"));
  auto agent = h.add_principal("agent", "sjz-gongan");
  const std::string id = agent.public_key().key_id();

  v1::ApiResponse resp;
  REQUIRE(agent_list(*h.ctx, op, resp));
  REQUIRE(resp.agents().agents_size() == 1);
  CHECK(resp.agents().agents(0).key_id() == id);
  CHECK(!resp.agents().agents(0).revoked());

  uint64_t before = h.audit_size();
  resp.Clear();
  REQUIRE(agent_revoke(*h.ctx, op, id, resp));
  CHECK(resp.agents().agents(0).revoked());
  auto in_directory = h.directory.by_key_id(id);
  REQUIRE(in_directory);
  CHECK(in_directory->revoked);
  auto audited = h.audit_after(before);
  REQUIRE(audited.size() == 1);
  CHECK(audited[0].action() == "agent_revoke");

  v1::ApiResponse again;
  CHECK(agent_revoke(*h.ctx, op, id, again).error().code == v1::API_CONFLICT);
  CHECK(agent_revoke(*h.ctx, op, "0123456789abcdef", again).error().code == v1::API_NOT_FOUND);
  // Not an agent: principals are revoked through principal_revoke.
  auto officer = h.add_principal("officer");
  CHECK(agent_revoke(*h.ctx, op, officer.public_key().key_id(), again).error().code ==
        v1::API_NOT_FOUND);
}

}  // namespace
}  // namespace gongshu::daemon
