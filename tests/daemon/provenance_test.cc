// record provenance reveals nothing unless its audit entry committed (issue 13, item 5): the
// rule every read follows. The store is filled until no write can commit.
#include "daemon/provenance.h"

#include <catch2/catch.hpp>

#include "tests/daemon/handler_fixture.h"

namespace gongshu::daemon {
namespace {

using testing::HandlerFixture;

TEST_CASE("record provenance answers only once its audit entry committed") {
  HandlerFixture h(size_t{2} << 20);
  auto officer = h.add_principal("officer");
  // One record of one version, written as ingest would leave its head and version.
  stored::RecordHead head;
  head.set_current_version(1);
  head.set_valid(true);
  head.set_versions(1);
  stored::Version v;
  v.set_dataset("people.x");
  v.set_record_key("r-1");
  v.set_agency("sjz-gongan");
  v.set_agent_key_id("0123456789abcdef");
  v.set_batch_seq(1);
  REQUIRE(h.store->env().update([&](store::WriteTxn& txn) -> Status {
    GONGSHU_RETURN_IF_ERROR(h.store->db().records.put(txn, record_key_of("people.x", "r-1"),
                                                      as_bytes(head.SerializeAsString())));
    return h.store->db().versions.put(txn, 1, as_bytes(v.SerializeAsString()));
  }));
  v1::RecordProvenanceRequest req;
  req.set_dataset("people.x");
  req.set_record_key("r-1");
  {
    v1::ApiResponse resp;
    REQUIRE(provenance(*h.ctx, h.caller_of(officer), req, resp));
    CHECK(resp.provenance().versions_size() == 1);
  }
  auto pin = h.store->env().begin_read();
  REQUIRE(pin);
  h.fill_map();
  v1::AuditEntry probe;
  probe.set_action("probe");
  REQUIRE(!h.ctx->audit(probe));  // no audit entry can commit now

  v1::ApiResponse resp;
  auto r = provenance(*h.ctx, h.caller_of(officer), req, resp);
  CHECK(!r);
  CHECK(!resp.has_provenance());
}

}  // namespace
}  // namespace gongshu::daemon
