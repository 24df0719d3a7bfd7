// audit export reveals nothing unless its audit entry committed (issue 13, item 5), and leaves
// nothing staged that a later chunk request could read unaudited.
#include "daemon/audit_export.h"

#include <catch2/catch.hpp>
#include <filesystem>

#include "tests/daemon/handler_fixture.h"

namespace gongshu::daemon {
namespace {

using testing::HandlerFixture;

TEST_CASE("audit export answers only once its audit entry committed") {
  HandlerFixture h(size_t{2} << 20);
  auto officer = h.add_principal("officer");
  v1::AuditExportRequest req;
  req.set_from_seq(1);
  req.set_to_seq(1);
  {
    v1::ApiResponse resp;
    auto r = audit_export(*h.ctx, h.caller_of(officer), req, resp);
    INFO((r ? std::string() : r.error().message));
    REQUIRE(r);
    CHECK(!resp.audit_export().data().empty());
  }
  req.set_to_seq(2);  // a range not yet staged: the next request makes and audits it
  auto pin = h.store->env().begin_read();
  REQUIRE(pin);
  h.fill_map();
  v1::AuditEntry probe;
  probe.set_action("probe");
  REQUIRE(!h.ctx->audit(probe));

  v1::ApiResponse resp;
  auto r = audit_export(*h.ctx, h.caller_of(officer), req, resp);
  CHECK(!r);
  CHECK(!resp.has_audit_export());
  // Nothing staged for a later chunk request either.
  CHECK(!std::filesystem::exists(h.options.exports_dir + "/export-1-2.gsa"));
  req.set_offset(1);
  v1::ApiResponse later;
  CHECK(!audit_export(*h.ctx, h.caller_of(officer), req, later));
  CHECK(!later.has_audit_export());
}

}  // namespace
}  // namespace gongshu::daemon
