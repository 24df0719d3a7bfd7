// The quality report's handler (daemon/quality_report.h) over a real store, without a socket: a
// store from before the delivery counts (records, no counts) reports "unknown", not zero; once
// counted, the counts' own history (from_start, since) is what it says. The counting itself and
// the report's figures through gongshuctl are in tests/tools/ctl_quality_test.cc.
#include "daemon/quality_report.h"

#include <catch2/catch.hpp>

#include "core/util/encoding.h"
#include "daemon/delivery_stats.h"
#include "daemon/stored.pb.h"
#include "tests/daemon/handler_fixture.h"

namespace gongshu::daemon {
namespace {

using testing::HandlerFixture;

TEST_CASE("quality report: records stored before the counts began are unknown, not zero") {
  HandlerFixture h;
  auto officer = h.caller_of(h.add_principal("officer"));
  v1::DatasetEntry e;
  e.set_id("old.dataset");
  e.set_name("升级前的数据集");
  e.set_provider_agency("sjz-gongan");
  e.set_update_frequency("daily");
  e.set_status("approved");
  e.add_fields()->set_name("v");
  stored::DatasetState ds;
  ds.set_records(3);
  ds.set_versions(3);
  REQUIRE(h.store->env().update([&](store::WriteTxn& txn) -> Status {
    GONGSHU_RETURN_IF_ERROR(
        h.store->db().catalog.put(txn, e.id(), as_bytes(e.SerializeAsString())));
    return h.store->db().datasets.put(txn, e.id(), as_bytes(ds.SerializeAsString()));
  }));

  v1::ApiResponse resp;
  REQUIRE(quality_report(*h.ctx, officer, {}, resp));
  REQUIRE(resp.quality_report().datasets_size() == 1);
  auto q = resp.quality_report().datasets(0);
  CHECK(q.staleness() == "unknown");
  CHECK(q.status() == "attention");
  CHECK(q.records() == 3);
  REQUIRE(q.agencies_size() == 1);
  CHECK(q.agencies(0).agency() == "sjz-gongan");
  CHECK_FALSE(q.agencies(0).counted());
  REQUIRE(q.findings_size() == 1);
  CHECK(q.findings(0).kind() == "uncounted");
  CHECK(q.findings(0).count() == 3);

  // Counted since the upgrade: fresh, and the counts say they are partial.
  const int64_t now = h.store->clock().now_ms();
  stored::DeliveryStats st;
  st.set_since_ms(now - 3'600'000);
  st.set_from_start(false);
  st.set_batches(1);
  st.set_accepted(2);
  st.set_upserts(2);
  st.set_last_delivery_ms(now - 3'600'000);
  (*st.mutable_field_present())["v"] = 2;
  REQUIRE(h.store->env().update([&](store::WriteTxn& txn) -> Status {
    return h.store->db().delivery_stats.put(txn, delivery_stats_key(e.id(), "sjz-gongan"),
                                            as_bytes(st.SerializeAsString()));
  }));
  v1::ApiResponse again;
  const uint64_t before = h.audit_size();
  REQUIRE(quality_report(*h.ctx, officer, {}, again));
  q = again.quality_report().datasets(0);
  CHECK(q.staleness() == "ok");
  CHECK(q.status() == "ok");
  CHECK(q.due_ms() == now - 3'600'000 + 86'400'000);
  CHECK(q.agencies(0).counted());
  CHECK_FALSE(q.agencies(0).from_start());
  CHECK(q.agencies(0).fields(0).ratio() == 1.0);
  auto audited = h.audit_after(before);
  REQUIRE(audited.size() == 1);
  CHECK(audited[0].action() == "quality_report");
  CHECK(audited[0].record_count() == 1);
}

}  // namespace
}  // namespace gongshu::daemon
