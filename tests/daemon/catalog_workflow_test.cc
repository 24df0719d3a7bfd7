// The catalog workflow's handlers (daemon/catalog_workflow.h) over a real store, without a
// socket: submission by the provider agency, review at county and city level, versions in
// force, retirement, history, and every refusal the lifecycle table implies.
#include "daemon/catalog_workflow.h"

#include <catch2/catch.hpp>

#include "core/catalog/dataset.h"
#include "core/util/fd.h"
#include "daemon/principals.h"
#include "daemon/registry.h"
#include "tests/daemon/handler_fixture.h"

namespace gongshu::daemon {
namespace {

using testing::HandlerFixture;

v1::Agency agency(const std::string& id, const std::string& region) {
  v1::Agency a;
  a.set_id(id);
  a.set_name("机构 " + id);
  a.set_type("government");
  a.set_region_code(region);
  return a;
}

v1::DatasetEntry household(const std::string& provider) {
  std::string path =
      std::string(GONGSHU_SOURCE_DIR) + "/policies/catalog/population_household.toml";
  auto text = read_file(path, 1 << 20);
  REQUIRE(text);
  auto entry = catalog::parse_dataset_toml(as_chars(*text), path);
  REQUIRE(entry);
  entry->set_provider_agency(provider);
  return *entry;
}

// A city (130100) with its public security bureau and data authority, and one county (130102)
// with its own bureau and data authority; an agency user of each bureau and a reviewer of each
// data authority.
struct World {
  HandlerFixture h;
  Caller op, officer, city_user, county_user, city_reviewer, county_reviewer, other_county_reviewer,
      bureau_reviewer;
  World() {
    op = h.caller_of(h.add_principal("operator"));
    officer = h.caller_of(h.add_principal("officer"));
    for (auto [id, region] : {std::pair{"sjz-gongan", "130100"},
                              {"sjz-shuju", "130100"},
                              {"changan-gongan", "130102"},
                              {"changan-shuju", "130102"},
                              {"qiaoxi-shuju", "130104"}}) {
      REQUIRE(agency_add(*h.ctx, op, agency(id, region)));
    }
    city_user = h.caller_of(h.add_principal("agency", "sjz-gongan"));
    county_user = h.caller_of(h.add_principal("agency", "changan-gongan"));
    city_reviewer = h.caller_of(h.add_principal("reviewer", "sjz-shuju"));
    county_reviewer = h.caller_of(h.add_principal("reviewer", "changan-shuju"));
    other_county_reviewer = h.caller_of(h.add_principal("reviewer", "qiaoxi-shuju"));
    bureau_reviewer = h.caller_of(h.add_principal("reviewer", "sjz-gongan"));
  }
  Reply submit(const Caller& c, const v1::DatasetEntry& e, bool draft = false) {
    v1::CatalogSubmitRequest req;
    *req.mutable_entry() = e;
    req.set_draft(draft);
    v1::ApiResponse resp;
    return catalog_submit(*h.ctx, c, req, resp);
  }
  Reply review(const Caller& c, const std::string& id, bool approve,
               const std::string& note = "checked against the standard") {
    v1::CatalogReviewRequest req;
    req.set_id(id);
    req.set_approve(approve);
    req.set_note(note);
    v1::ApiResponse resp;
    return catalog_review(*h.ctx, c, req, resp);
  }
  std::string in_force_status(const std::string& id) {
    auto snap = h.catalog.snapshot();
    auto it = snap->find(id);
    return it == snap->end() ? "" : it->second.entry().status();
  }
  uint64_t in_force_version(const std::string& id) {
    auto snap = h.catalog.snapshot();
    auto it = snap->find(id);
    return it == snap->end() ? 0 : it->second.entry().version();
  }
  std::vector<v1::CatalogVersion> pending(const Caller& c) {
    v1::ApiResponse resp;
    REQUIRE(catalog_pending(*h.ctx, c, resp));
    return {resp.catalog_versions().versions().begin(), resp.catalog_versions().versions().end()};
  }
  std::vector<v1::CatalogVersion> history(const Caller& c, const std::string& id) {
    v1::ApiResponse resp;
    REQUIRE(catalog_history(*h.ctx, c, id, resp));
    return {resp.catalog_versions().versions().begin(), resp.catalog_versions().versions().end()};
  }
};

TEST_CASE("catalog workflow: a city agency's entry is approved by the city reviewer") {
  World w;
  const auto e = household("sjz-gongan");
  uint64_t before = w.h.audit_size();
  REQUIRE(w.submit(w.city_user, e));
  auto audited = w.h.audit_after(before);
  REQUIRE(audited.size() == 1);
  CHECK(audited[0].action() == "catalog_submit");
  CHECK(audited[0].dataset() == e.id());
  CHECK(audited[0].detail().find("none -> submitted") != std::string::npos);
  // Not in force: ingest sees it as submitted and refuses its records with that reason.
  CHECK(w.in_force_status(e.id()) == "submitted");

  auto city_queue = w.pending(w.city_reviewer);
  REQUIRE(city_queue.size() == 1);
  CHECK(city_queue[0].awaiting() == "city reviewer");
  CHECK(w.pending(w.county_reviewer).empty());
  CHECK(w.pending(w.bureau_reviewer).empty());  // its own agency's entry

  // Refusals: a county reviewer, the provider's own reviewer, an agency user, no note.
  auto county = w.review(w.county_reviewer, e.id(), true);
  REQUIRE(!county);
  CHECK(county.error().code == v1::API_DENIED);
  auto own = w.review(w.bureau_reviewer, e.id(), true);
  REQUIRE(!own);
  CHECK(own.error().code == v1::API_DENIED);
  CHECK(own.error().message.find("own agency") != std::string::npos);
  CHECK(w.review(w.city_user, e.id(), true).error().code == v1::API_DENIED);
  CHECK(w.review(w.city_reviewer, e.id(), true, "").error().code == v1::API_BAD_REQUEST);
  CHECK(w.in_force_status(e.id()) == "submitted");

  before = w.h.audit_size();
  REQUIRE(w.review(w.city_reviewer, e.id(), true));
  audited = w.h.audit_after(before);
  REQUIRE(audited.size() == 1);
  CHECK(audited[0].action() == "catalog_approve");
  CHECK(audited[0].detail().find("submitted -> approved") != std::string::npos);
  CHECK(w.in_force_status(e.id()) == "approved");
  CHECK(w.pending(w.city_reviewer).empty());
  // Decided: nothing awaits review.
  CHECK(w.review(w.city_reviewer, e.id(), false).error().code == v1::API_NOT_FOUND);
}

TEST_CASE("catalog workflow: a county agency's entry goes through the county, then the city") {
  World w;
  const auto e = household("changan-gongan");
  REQUIRE(w.submit(w.county_user, e));
  CHECK(w.pending(w.city_reviewer).empty());
  CHECK(w.pending(w.other_county_reviewer).empty());
  REQUIRE(w.pending(w.county_reviewer).size() == 1);

  // The city cannot skip the county, another county cannot act for it.
  auto skipped = w.review(w.city_reviewer, e.id(), true);
  REQUIRE(!skipped);
  CHECK(skipped.error().code == v1::API_DENIED);
  CHECK(skipped.error().message.find("county reviewer 130102") != std::string::npos);
  CHECK(w.review(w.other_county_reviewer, e.id(), true).error().code == v1::API_DENIED);

  REQUIRE(w.review(w.county_reviewer, e.id(), true));
  CHECK(w.in_force_status(e.id()) == "county_approved");
  CHECK(w.pending(w.county_reviewer).empty());
  auto city_queue = w.pending(w.city_reviewer);
  REQUIRE(city_queue.size() == 1);
  CHECK(city_queue[0].entry().status() == "county_approved");
  CHECK(w.review(w.county_reviewer, e.id(), true).error().code == v1::API_DENIED);

  REQUIRE(w.review(w.city_reviewer, e.id(), true));
  CHECK(w.in_force_status(e.id()) == "approved");
  auto h = w.history(w.officer, e.id());
  REQUIRE(h.size() == 1);
  REQUIRE(h[0].steps_size() == 3);
  CHECK(h[0].steps(0).step() == "submit");
  CHECK(h[0].steps(1).region() == "130102");
  CHECK(h[0].steps(1).to_state() == "county_approved");
  CHECK(h[0].steps(2).region() == "130100");
  CHECK(h[0].steps(2).key_id() == w.city_reviewer.key_id);
}

TEST_CASE("catalog workflow: the approved version stays in force until a new one is approved") {
  World w;
  auto e = household("sjz-gongan");
  REQUIRE(w.submit(w.city_user, e));
  REQUIRE(w.review(w.city_reviewer, e.id(), true));
  CHECK(w.in_force_version(e.id()) == 1);

  // Version 2 opens the data: in force only once approved.
  e.set_share_attribute("unconditional");
  REQUIRE(w.submit(w.city_user, e, /*draft=*/true));
  CHECK(w.pending(w.city_reviewer).empty());  // a draft awaits nobody
  REQUIRE(w.submit(w.city_user, e));          // the draft, submitted
  auto again = w.submit(w.city_user, e);
  REQUIRE(!again);
  CHECK(again.error().code == v1::API_CONFLICT);
  CHECK(w.in_force_version(e.id()) == 1);
  CHECK(w.in_force_status(e.id()) == "approved");

  // Rejected: version 1 stays.
  REQUIRE(w.review(w.city_reviewer, e.id(), false, "share attribute not justified"));
  CHECK(w.in_force_version(e.id()) == 1);
  CHECK(w.h.catalog.snapshot()->at(e.id()).entry().share_attribute() == "conditional");

  // Version 3, approved: version 1 is superseded, the change is audited old -> new.
  REQUIRE(w.submit(w.city_user, e));
  uint64_t before = w.h.audit_size();
  REQUIRE(w.review(w.city_reviewer, e.id(), true, "legal basis provided"));
  auto audited = w.h.audit_after(before);
  REQUIRE(audited.size() == 1);
  CHECK(audited[0].detail().find("share conditional -> unconditional") != std::string::npos);
  CHECK(w.in_force_version(e.id()) == 3);
  auto h = w.history(w.city_user, e.id());
  REQUIRE(h.size() == 3);
  CHECK(h[0].entry().status() == "superseded");
  CHECK(h[1].entry().status() == "rejected");
  REQUIRE(h[1].steps_size() == 3);  // save_draft, submit, reject
  CHECK(h[1].steps(2).note() == "share attribute not justified");
  CHECK(h[2].entry().status() == "approved");
}

TEST_CASE("catalog workflow: agencies act on their own entries only; retirement") {
  World w;
  const auto e = household("sjz-gongan");
  uint64_t before = w.h.audit_size();
  auto foreign = w.submit(w.county_user, e);
  REQUIRE(!foreign);
  CHECK(foreign.error().code == v1::API_DENIED);
  CHECK(w.h.audit_size() == before + 1);  // the denial is audited
  CHECK(w.submit(w.op, e).error().code == v1::API_DENIED);
  CHECK(w.submit(w.city_reviewer, e).error().code == v1::API_DENIED);
  CHECK(w.in_force_status(e.id()).empty());

  REQUIRE(w.submit(w.city_user, e));
  v1::CatalogRetireRequest rr;
  rr.set_id(e.id());
  rr.set_note("withdrawn");
  v1::ApiResponse resp;
  CHECK(catalog_retire(*w.h.ctx, w.city_user, rr, resp).error().code == v1::API_NOT_FOUND);
  REQUIRE(w.review(w.city_reviewer, e.id(), true));
  CHECK(catalog_retire(*w.h.ctx, w.county_user, rr, resp).error().code == v1::API_DENIED);
  CHECK(catalog_retire(*w.h.ctx, w.county_reviewer, rr, resp).error().code == v1::API_DENIED);
  CHECK(catalog_retire(*w.h.ctx, w.officer, rr, resp).error().code == v1::API_DENIED);
  v1::ApiResponse denied;
  CHECK(catalog_history(*w.h.ctx, w.county_user, e.id(), denied).error().code == v1::API_DENIED);

  before = w.h.audit_size();
  REQUIRE(catalog_retire(*w.h.ctx, w.city_user, rr, resp));
  auto audited = w.h.audit_after(before);
  REQUIRE(audited.size() == 1);
  CHECK(audited[0].action() == "catalog_retire");
  CHECK(audited[0].detail().find("approved -> retired") != std::string::npos);
  CHECK(w.in_force_status(e.id()) == "retired");
  // A new version of a retired dataset is reviewed like any other; the catalog shows it retired
  // until one is approved.
  REQUIRE(w.submit(w.city_user, e));
  CHECK(w.in_force_status(e.id()) == "retired");
}

TEST_CASE("catalog workflow: the operator's catalog add is the audited direct path") {
  World w;
  auto e = household("sjz-gongan");
  v1::ApiResponse resp;
  REQUIRE(catalog_add(*w.h.ctx, w.op, e, resp));
  CHECK(w.in_force_status(e.id()) == "approved");
  REQUIRE(w.submit(w.city_user, e));
  REQUIRE(w.review(w.city_reviewer, e.id(), true));
  REQUIRE(catalog_add(*w.h.ctx, w.op, e, resp));
  CHECK(w.in_force_version(e.id()) == 3);
  auto h = w.history(w.op, e.id());
  REQUIRE(h.size() == 3);
  CHECK(h[0].steps(0).step() == "add");
  CHECK(h[0].entry().status() == "superseded");
  CHECK(h[1].entry().status() == "superseded");
  CHECK(h[2].steps(0).role() == "operator");
  CHECK(h[2].entry().status() == "approved");
}

TEST_CASE("catalog workflow: repeated collection is flagged and must be acknowledged (R-07)") {
  World w;
  const auto base = household("sjz-gongan");
  REQUIRE(w.submit(w.city_user, base));
  REQUIRE(w.review(w.city_reviewer, base.id(), true));

  // The county bureau's own list of residents collects the household register's items again.
  auto again = household("changan-gongan");
  again.set_id("changan.residents");
  uint64_t before = w.h.audit_size();
  REQUIRE(w.submit(w.county_user, again));
  auto audited = w.h.audit_after(before);
  REQUIRE(audited.size() == 1);
  CHECK(audited[0].detail().find("overlaps (R-07): population.household") != std::string::npos);
  auto queue = w.pending(w.county_reviewer);
  REQUIRE(queue.size() == 1);
  REQUIRE(queue[0].overlaps_size() == 1);
  CHECK(queue[0].overlaps(0).dataset() == base.id());
  CHECK(queue[0].overlaps(0).provider() == "sjz-gongan");
  CHECK(queue[0].overlaps(0).score_permille() == 1000);
  CHECK(queue[0].overlaps(0).acknowledged_by().empty());

  // Not approved without an acknowledgement, nor with one for a flag it does not have.
  auto unacknowledged = w.review(w.county_reviewer, again.id(), true);
  REQUIRE(!unacknowledged);
  CHECK(unacknowledged.error().code == v1::API_BAD_REQUEST);
  CHECK(unacknowledged.error().message.find("population.household") != std::string::npos);
  v1::CatalogReviewRequest req;
  req.set_id(again.id());
  req.set_approve(true);
  req.set_note("县级审核");
  auto* ack = req.add_acknowledge();
  ack->set_dataset("no.such");
  ack->set_reason("x");
  v1::ApiResponse resp;
  CHECK(catalog_review(*w.h.ctx, w.county_reviewer, req, resp).error().code == v1::API_BAD_REQUEST);
  ack->set_dataset(base.id());
  ack->set_reason("");
  CHECK(catalog_review(*w.h.ctx, w.county_reviewer, req, resp).error().code == v1::API_BAD_REQUEST);
  ack->set_reason("county-level verification of residence, not a copy of the register");
  REQUIRE(catalog_review(*w.h.ctx, w.county_reviewer, req, resp));
  const auto& v = resp.catalog_versions().versions(0);
  CHECK(v.entry().status() == "county_approved");
  CHECK(v.overlaps(0).acknowledged_by() == w.county_reviewer.key_id);
  // The city sees the acknowledged flag and approves.
  REQUIRE(w.review(w.city_reviewer, again.id(), true));
  CHECK(w.in_force_status(again.id()) == "approved");

  // The whole catalog: each of the two names the other.
  v1::ApiResponse all;
  REQUIRE(catalog_overlaps(*w.h.ctx, w.officer, all));
  REQUIRE(all.catalog_versions().versions_size() == 2);
  CHECK(all.catalog_versions().versions(0).entry().id() == again.id());
  CHECK(all.catalog_versions().versions(0).overlaps(0).dataset() == base.id());
  CHECK(all.catalog_versions().versions(1).overlaps(0).dataset() == again.id());
  CHECK(catalog_overlaps(*w.h.ctx, w.city_user, all).error().code == v1::API_DENIED);

  // Rejecting needs no acknowledgement; the provider's own datasets are never compared.
  auto mine = household("sjz-gongan");
  mine.set_id("population.household.copy");
  REQUIRE(w.submit(w.city_user, mine));
  REQUIRE(w.pending(w.city_reviewer).at(0).overlaps_size() == 1);  // changan.residents only
  CHECK(w.pending(w.city_reviewer).at(0).overlaps(0).dataset() == "changan.residents");
  REQUIRE(w.review(w.city_reviewer, mine.id(), false, "duplicate"));
}

TEST_CASE("catalog workflow: reviewers are registered with the agency that gives their level") {
  World w;
  auto key = crypto::IdentityKey::generate();
  v1::PrincipalAddRequest req;
  req.set_role("reviewer");
  req.set_public_key(key.public_key().hex());
  req.set_name("审核人");
  v1::ApiResponse resp;
  auto no_agency = principal_add(*w.h.ctx, w.op, req, resp);
  REQUIRE(!no_agency);
  CHECK(no_agency.error().code == v1::API_BAD_REQUEST);
  req.set_agency("no-such-agency");
  CHECK(principal_add(*w.h.ctx, w.op, req, resp).error().code == v1::API_NOT_FOUND);
  req.set_agency("changan-shuju");
  REQUIRE(principal_add(*w.h.ctx, w.op, req, resp));
  auto c = w.h.caller_of(key);
  CHECK(c.role == "reviewer");
  CHECK(c.policy_role == policy::Role::kReviewer);
  CHECK(c.agency == "changan-shuju");
  // A reviewer decides; it does not submit.
  CHECK(w.submit(c, household("changan-shuju")).error().code == v1::API_DENIED);
}

TEST_CASE("catalog workflow: a state secret is refused on every path (R-01)") {
  World w;
  auto e = household("sjz-gongan");
  e.set_state_secret(true);
  uint64_t before = w.h.audit_size();
  auto submitted = w.submit(w.city_user, e);
  REQUIRE(!submitted);
  CHECK(submitted.error().code == v1::API_BAD_REQUEST);
  CHECK(submitted.error().message.find("R-01") != std::string::npos);
  v1::ApiResponse resp;
  auto added = catalog_add(*w.h.ctx, w.op, e, resp);
  REQUIRE(!added);
  CHECK(added.error().code == v1::API_BAD_REQUEST);
  CHECK(w.h.audit_size() == before);
  CHECK(w.in_force_status(e.id()).empty());
}

}  // namespace
}  // namespace gongshu::daemon
