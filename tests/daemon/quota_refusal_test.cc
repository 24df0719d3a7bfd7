// Review A9: a read refused because the rows it would take exceed an agreement's row quota as
// stored (the leader's check in the transaction that would commit the read's entries) is audited
// as a denial: audit_quota_refusal (daemon/access.h), which commit_reveal calls on the leader and
// the leader's access_record can call for a replica's record.
#include <catch2/catch.hpp>

#include "daemon/access.h"
#include "tests/daemon/handler_fixture.h"

namespace gongshu::daemon {
namespace {

using testing::HandlerFixture;

TEST_CASE("a read refused by the stored row quota is audited as a denial, rule quota") {
  HandlerFixture h;
  auto reader = h.add_principal("agency", "sjz-shuiwu");
  const Caller c = h.caller_of(reader);
  // The entries the read would have recorded: two datasets drawing on one agreement.
  std::vector<v1::AuditEntry> entries;
  for (const char* dataset : {"population.household", "credit.penalty"}) {
    auto e = entry_for(c, "query_subject");
    e.set_dataset(dataset);
    e.set_purpose("tax");
    e.set_policy_rule("share");
    e.set_decision(v1::DECISION_ALLOW);
    e.set_record_count(3);
    add_ref(e, "agreement", "agr-s");
    entries.push_back(std::move(e));
  }
  const std::string why = "agreement agr-s: the answer would exceed its row quota";
  const uint64_t start = h.audit_size();
  REQUIRE(audit_quota_refusal(*h.ctx, entries, why));
  auto added = h.audit_after(start);
  // Both of the read's entries, in one transaction.
  REQUIRE(added.size() == 2);
  CHECK(added[1].dataset() == "credit.penalty");
  CHECK(added[1].decision() == v1::DECISION_DENY);
  const v1::AuditEntry& d = added[0];
  CHECK(d.action() == "query_subject");
  CHECK(d.principal().key_id() == c.key_id);
  CHECK(d.dataset() == "population.household");
  CHECK(d.purpose() == "tax");
  CHECK(d.decision() == v1::DECISION_DENY);
  CHECK(d.policy_rule() == "quota");
  CHECK(d.record_count() == 0);
  CHECK(d.detail().find(why) != std::string::npos);  // what gongshu-audit report counts
  REQUIRE(d.refs_size() >= 1);
  CHECK(d.refs(0).kind() == "agreement");
  CHECK(d.refs(0).value() == "agr-s");
  CHECK(d.time_ms() > 0);
  // A second refusal of the same principal within the minute is counted, not appended; the
  // next appended one names it (summarised, never silent).
  REQUIRE(audit_quota_refusal(*h.ctx, entries, why));
  CHECK(h.audit_size() == start + 2);
}

}  // namespace
}  // namespace gongshu::daemon
