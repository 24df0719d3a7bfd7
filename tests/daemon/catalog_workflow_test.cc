// The catalog workflow's handlers (daemon/catalog_workflow.h) over a real store, without a
// socket: submission by the provider agency, review at county and city level, versions in
// force, retirement, history, and every refusal the lifecycle table implies.
#include "daemon/catalog_workflow.h"

#include <catch2/catch.hpp>
#include <tuple>

#include "core/catalog/dataset.h"
#include "core/util/fd.h"
#include "daemon/catalog_authority.h"
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

namespace gongshu::daemon {
namespace {

v1::CatalogAuthoritySetRequest identity_source(const std::string& dataset) {
  v1::CatalogAuthoritySetRequest req;
  auto* a = req.mutable_authority();
  a->set_item("person.identity");
  a->set_name("居民身份基础信息");
  a->add_pii(v1::PII_CITIZEN_ID);
  a->add_pii(v1::PII_NAME);
  a->add_pii(v1::PII_BIRTH_DATE);
  a->set_dataset(dataset);
  a->set_note("人口基础库为身份信息权威来源");
  return req;
}

// A register of subsidies: keyed by citizen ID, with name and birth date beside the payments.
// Its items other than those two are its own, so it does not duplicate the household register
// as a whole (2 of 5 items); it collects the identity item again all the same.
v1::DatasetEntry subsidies(const std::string& id, const std::string& provider) {
  auto e = household(provider);
  e.set_id(id);
  e.set_name("补贴发放信息");
  e.clear_fields();
  for (auto [name, pii, desc] : {std::tuple{"sfzh", v1::PII_CITIZEN_ID, "身份证号"},
                                 {"xm", v1::PII_NAME, "申领人"},
                                 {"csrq", v1::PII_BIRTH_DATE, "申领人生日"},
                                 {"amount", v1::PII_NONE, "补贴金额"},
                                 {"kind", v1::PII_NONE, "补贴类别"},
                                 {"paid_on", v1::PII_NONE, "发放日期"}}) {
    auto* f = e.add_fields();
    f->set_name(name);
    f->set_type(v1::FIELD_TYPE_TEXT);
    f->set_pii(pii);
    f->set_description(desc);
  }
  e.mutable_fields(0)->set_required(true);
  return e;
}

TEST_CASE("catalog authority: a named source is audited, flagged at submission, acknowledged") {
  World w;
  const auto base = household("sjz-gongan");
  REQUIRE(w.submit(w.city_user, base));
  REQUIRE(w.review(w.city_reviewer, base.id(), true));
  v1::ApiResponse resp;

  // Who may name a source, and what: a city reviewer or an operator; an approved dataset that
  // holds the whole item; a note.
  CHECK(catalog_authority_set(*w.h.ctx, w.county_reviewer, identity_source(base.id()), resp)
            .error()
            .code == v1::API_DENIED);
  CHECK(
      catalog_authority_set(*w.h.ctx, w.city_user, identity_source(base.id()), resp).error().code ==
      v1::API_DENIED);
  auto no_note = identity_source(base.id());
  no_note.mutable_authority()->clear_note();
  CHECK(catalog_authority_set(*w.h.ctx, w.city_reviewer, no_note, resp).error().code ==
        v1::API_BAD_REQUEST);
  auto phone = identity_source(base.id());
  phone.mutable_authority()->add_pii(v1::PII_PHONE);
  auto missing = catalog_authority_set(*w.h.ctx, w.city_reviewer, phone, resp);
  REQUIRE(!missing);
  CHECK(missing.error().message.find("does not hold pii kind 'phone'") != std::string::npos);
  REQUIRE(w.submit(w.county_user, subsidies("changan.pending", "changan-gongan")));
  auto unapproved =
      catalog_authority_set(*w.h.ctx, w.city_reviewer, identity_source("changan.pending"), resp);
  REQUIRE(!unapproved);
  CHECK(unapproved.error().message.find("is submitted") != std::string::npos);

  uint64_t before = w.h.audit_size();
  REQUIRE(catalog_authority_set(*w.h.ctx, w.city_reviewer, identity_source(base.id()), resp));
  auto audited = w.h.audit_after(before);
  REQUIRE(audited.size() == 1);
  CHECK(audited[0].action() == "catalog_authority_set");
  CHECK(audited[0].dataset() == base.id());
  CHECK(audited[0].detail().find("person.identity") != std::string::npos);
  CHECK(audited[0].detail().find("sourced from population.household") != std::string::npos);
  REQUIRE(resp.catalog_authorities().authorities_size() == 1);
  CHECK(resp.catalog_authorities().authorities(0).provider() == "sjz-gongan");
  CHECK(resp.catalog_authorities().authorities(0).set_by() == w.city_reviewer.key_id);

  // The lookup issue 16 routes objections with: by PII kind or by field name.
  {
    auto txn = w.h.store->env().begin_read();
    REQUIRE(txn);
    auto by_kind = authoritative_for(*w.h.store, *txn, "", v1::PII_BIRTH_DATE);
    REQUIRE(by_kind);
    REQUIRE(by_kind->size() == 1);
    CHECK(by_kind->at(0).dataset() == base.id());
    auto by_phone = authoritative_for(*w.h.store, *txn, "phone", v1::PII_PHONE);
    REQUIRE(by_phone);
    CHECK(by_phone->empty());
  }
  v1::CatalogAuthorityListRequest list;
  list.set_pii(v1::PII_NAME);
  v1::ApiResponse listed;
  REQUIRE(catalog_authority_list(*w.h.ctx, w.county_user, list, listed));
  CHECK(listed.catalog_authorities().authorities_size() == 1);
  list.set_pii(v1::PII_ADDRESS);
  v1::ApiResponse none;
  REQUIRE(catalog_authority_list(*w.h.ctx, w.officer, list, none));
  CHECK(none.catalog_authorities().authorities_size() == 0);

  // A county bureau's subsidy register collects name and birth date again: not a copy of the
  // household register (no flag by data items alone), but of its identity item.
  auto subsidy = subsidies("changan.subsidy", "changan-gongan");
  before = w.h.audit_size();
  REQUIRE(w.submit(w.county_user, subsidy));
  audited = w.h.audit_after(before);
  REQUIRE(audited.size() == 1);
  CHECK(audited[0].detail().find("authoritative for person.identity") != std::string::npos);
  auto queue = w.pending(w.county_reviewer);
  const v1::CatalogVersion* v = nullptr;
  for (const auto& x : queue) {
    if (x.entry().id() == subsidy.id()) v = &x;
  }
  REQUIRE(v);
  REQUIRE(v->overlaps_size() == 1);
  CHECK(v->overlaps(0).dataset() == base.id());
  CHECK(v->overlaps(0).score_permille() == 1000);
  REQUIRE(v->overlaps(0).authorities_size() == 1);
  CHECK(v->overlaps(0).authorities(0) == "person.identity");
  CHECK(std::vector<std::string>(v->overlaps(0).shared().begin(), v->overlaps(0).shared().end()) ==
        std::vector<std::string>{"xm", "csrq"});
  auto unacknowledged = w.review(w.county_reviewer, subsidy.id(), true);
  REQUIRE(!unacknowledged);
  CHECK(unacknowledged.error().message.find("population.household") != std::string::npos);
  v1::CatalogReviewRequest req;
  req.set_id(subsidy.id());
  req.set_approve(true);
  req.set_note("县级审核");
  auto* ack = req.add_acknowledge();
  ack->set_dataset(base.id());
  ack->set_reason("申领核验需要，身份信息以人口基础库为准");
  REQUIRE(catalog_review(*w.h.ctx, w.county_reviewer, req, resp));
  REQUIRE(w.review(w.city_reviewer, subsidy.id(), true));
  CHECK(w.in_force_status(subsidy.id()) == "approved");

  // The provider's own second dataset is flagged too: the item has one source.
  auto copy = subsidies("population.subsidy", "sjz-gongan");
  REQUIRE(w.submit(w.city_user, copy));
  auto city_queue = w.pending(w.city_reviewer);
  REQUIRE(city_queue.size() == 1);
  const v1::CatalogOverlap* by_source = nullptr;
  for (const auto& o : city_queue[0].overlaps()) {
    if (o.dataset() == base.id()) by_source = &o;
  }
  REQUIRE(by_source);
  REQUIRE(by_source->authorities_size() == 1);
  CHECK(by_source->authorities(0) == "person.identity");
  REQUIRE(w.review(w.city_reviewer, copy.id(), false, "重复采集"));

  // The whole catalog's comparison names it too.
  v1::ApiResponse all;
  REQUIRE(catalog_overlaps(*w.h.ctx, w.officer, all));
  bool named = false;
  for (const auto& x : all.catalog_versions().versions()) {
    for (const auto& o : x.overlaps()) {
      if (x.entry().id() == subsidy.id() && o.authorities_size() == 1) named = true;
    }
  }
  CHECK(named);

  // Withdrawn (audited): a new submission is no longer flagged.
  v1::CatalogAuthoritySetRequest rm;
  rm.mutable_authority()->set_item("person.identity");
  rm.mutable_authority()->set_note("改由新库提供");
  rm.set_remove(true);
  before = w.h.audit_size();
  REQUIRE(catalog_authority_set(*w.h.ctx, w.op, rm, resp));
  audited = w.h.audit_after(before);
  REQUIRE(audited.size() == 1);
  CHECK(audited[0].action() == "catalog_authority_remove");
  CHECK(catalog_authority_set(*w.h.ctx, w.op, rm, resp).error().code == v1::API_NOT_FOUND);
  REQUIRE(w.submit(w.city_user, copy));
  auto resubmitted = w.pending(w.city_reviewer);
  REQUIRE(resubmitted.size() == 1);
  for (const auto& o : resubmitted[0].overlaps()) {
    CHECK(o.dataset() != base.id());  // changan.subsidy's copy is still flagged, by data items
    CHECK(o.authorities_size() == 0);
  }
}

TEST_CASE("catalog workflow: the city's region code is the daemon's configuration") {
  World w;
  // A platform whose city is 130102: the changan agencies are the city's, sjz ones a county's.
  w.h.options.city_region = "130102";
  const auto e = household("sjz-gongan");
  REQUIRE(w.submit(w.city_user, e));
  auto queue = w.pending(w.city_reviewer);  // the sjz-shuju reviewer: now a county's
  REQUIRE(queue.size() == 1);
  CHECK(queue[0].awaiting() == "county reviewer 130100");
  CHECK(w.pending(w.county_reviewer).empty());
  CHECK(w.review(w.county_reviewer, e.id(), true).error().code == v1::API_DENIED);
  REQUIRE(w.review(w.city_reviewer, e.id(), true));
  CHECK(w.in_force_status(e.id()) == "county_approved");
  auto h = w.history(w.op, e.id());
  CHECK(h.at(0).awaiting() == "city reviewer");
  REQUIRE(w.review(w.county_reviewer, e.id(), true));  // changan-shuju: the city's reviewer
  CHECK(w.in_force_status(e.id()) == "approved");
}

}  // namespace
}  // namespace gongshu::daemon
