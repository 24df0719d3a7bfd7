// Review A9: a read refused because the rows it would take exceed an agreement's row quota as
// stored (the leader's check in the transaction that would commit the read's entries) is audited
// as a denial: audit_quota_refusal (daemon/access.h), which commit_reveal calls on the leader and
// the leader's access_record can call for a replica's record.
#include <catch2/catch.hpp>

#include "daemon/access.h"
#include "daemon/read_on_replica.h"
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

// Review L10: use_rows answers kResourceExhausted for a full store as well (it saves the count);
// the leader's access_record must not report that as a quota denial (API_DENIED rule quota: a
// script stops asking), only the quota test failing is one.
TEST_CASE("a full store is not reported as a quota refusal") {
  HandlerFixture h(size_t{2} << 20);
  h.options.cluster_members["ab"] = "node-b";
  h.options.repl_synced_seq = [] { return uint64_t{0}; };  // the leader counts a sync set
  stored::Agreement a;  // 100 rows of quota, none used: 3 rows are within it
  a.mutable_info()->set_id("KF-2026-0001");
  a.mutable_info()->set_status("active");
  a.mutable_info()->set_valid_from_ms(0);
  a.mutable_info()->set_valid_to_ms(INT64_MAX);
  a.mutable_info()->set_row_quota(100);
  // Large (overflow pages), so that saving its count needs more pages than a full map has left.
  a.mutable_info()->add_purposes(std::string(64 << 10, 'x'));
  REQUIRE(h.store->env().update([&](store::WriteTxn& txn) -> Status {
    return h.store->db().agreements.put(txn, "KF-2026-0001", as_bytes(a.SerializeAsString()));
  }));
  v1::AuditEntry e;
  e.mutable_principal()->set_key_id("public");
  e.mutable_principal()->set_role("public");
  e.set_action("read");
  e.set_dataset("population.household");
  e.set_decision(v1::DECISION_ALLOW);
  e.set_record_count(3);
  add_ref(e, "agreement", "KF-2026-0001");
  v1::AccessRecordRequest req;
  req.add_entries(e.SerializeAsString());
  auto* q = req.add_quota();
  q->set_agreement_id("KF-2026-0001");
  q->set_rows(3);
  // A refusal of the same principal earlier in the minute: the next is counted, not written, so
  // the full store cannot hide a misreport behind a failed audit.
  REQUIRE(audit_quota_refusal(*h.ctx, {e}, "earlier"));
  auto reader = h.store->env().begin_read();
  REQUIRE(reader);
  h.fill_map();
  Caller member;
  member.role = "public";
  member.key_id = "public";
  member.curve_hex = "ab";
  v1::ApiResponse resp;
  auto r = access_record(*h.ctx, member, req, resp);
  REQUIRE(!r);
  INFO(r.error().message);
  CHECK(r.error().message.find("agreements") != std::string::npos);  // where the store filled
  CHECK(r.error().rule != "quota");
  CHECK(r.error().code != v1::API_DENIED);
  CHECK(!resp.has_access_record());
}

}  // namespace
}  // namespace gongshu::daemon
