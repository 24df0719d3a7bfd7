// Authoritative sources (core/catalog/authority.h): an item's shape, whether a dataset holds it,
// how much of it another entry collects again, and which items a field routes to.
#include "core/catalog/authority.h"

#include <catch2/catch.hpp>

namespace gongshu::catalog {
namespace {

v1::DatasetEntry entry(const char* subject,
                       std::initializer_list<std::pair<const char*, v1::PiiKind>> fs) {
  v1::DatasetEntry e;
  e.set_subject_kind(subject);
  for (auto [name, pii] : fs) {
    auto* f = e.add_fields();
    f->set_name(name);
    f->set_pii(pii);
  }
  return e;
}

// 公民身份号码 + 姓名 + 出生日期.
const DataItem kIdentity{{}, {v1::PII_CITIZEN_ID, v1::PII_NAME, v1::PII_BIRTH_DATE}};

TEST_CASE("authority: an item's shape is checked, naming the element") {
  CHECK(validate_item(kIdentity));
  CHECK(validate_item(DataItem{{"householder"}, {v1::PII_ADDRESS}}));
  auto empty = validate_item(DataItem{});
  REQUIRE(!empty);
  CHECK(empty.error().message().find("at least one element") != std::string::npos);
  auto twice = validate_item(DataItem{{}, {v1::PII_NAME, v1::PII_NAME}});
  REQUIRE(!twice);
  CHECK(twice.error().message() == "pii kind 'name' is named twice");
  auto none = validate_item(DataItem{{}, {v1::PII_OTHER}});
  REQUIRE(!none);
  CHECK(none.error().message().find("'other'") != std::string::npos);
  auto bad = validate_item(DataItem{{"Name"}, {}});
  REQUIRE(!bad);
  CHECK(bad.error().message().find("field 'Name'") != std::string::npos);
  DataItem big;
  for (int i = 0; i < int(kMaxItemElements) + 1; ++i) big.fields.push_back("f" + std::to_string(i));
  CHECK(!validate_item(big));
}

TEST_CASE("authority: a dataset is a source only of an item it holds whole") {
  auto household = entry("person", {{"citizen_id", v1::PII_CITIZEN_ID},
                                    {"name", v1::PII_NAME},
                                    {"birth_date", v1::PII_BIRTH_DATE},
                                    {"address", v1::PII_ADDRESS}});
  CHECK(!missing_element(household, kIdentity));
  CHECK(!missing_element(household, DataItem{{"address"}, {}}));
  CHECK(missing_element(household, DataItem{{"phone"}, {}}) == "field 'phone'");
  CHECK(missing_element(household, DataItem{{}, {v1::PII_PHONE}}) == "pii kind 'phone'");
}

TEST_CASE("authority: collecting the item again scores it; keying by the identifier does not") {
  // A benefits register that collects name and birth date beside the citizen ID it is keyed by.
  auto again = entry("person", {{"sfzh", v1::PII_CITIZEN_ID},
                                {"xm", v1::PII_NAME},
                                {"csrq", v1::PII_BIRTH_DATE},
                                {"amount", v1::PII_NONE}});
  auto o = item_overlap(again, kIdentity);
  CHECK(o.score_permille == 1000);  // 2 of 2: the citizen ID only keys the records
  CHECK(o.shared == std::vector<std::string>{"xm", "csrq"});

  auto half = entry("person", {{"sfzh", v1::PII_CITIZEN_ID}, {"xm", v1::PII_NAME}});
  CHECK(item_overlap(half, kIdentity).score_permille == 500);
  CHECK(item_overlap(half, kIdentity).score_permille >= kOverlapFlagPermille);

  auto keyed = entry("person", {{"sfzh", v1::PII_CITIZEN_ID}, {"amount", v1::PII_NONE}});
  CHECK(item_overlap(keyed, kIdentity).score_permille == 0);
  CHECK(item_overlap(keyed, kIdentity).shared.empty());

  // By field name: an organisation's register holding another's "legal_rep" field.
  DataItem by_name{{"legal_rep", "reg_capital"}, {}};
  auto org = entry("organisation", {{"uscc", v1::PII_CREDIT_CODE}, {"legal_rep", v1::PII_NAME}});
  CHECK(item_overlap(org, by_name).score_permille == 500);
  CHECK(item_overlap(org, by_name).shared == std::vector<std::string>{"legal_rep"});
}

TEST_CASE("authority: a field routes to the items naming it or its kind") {
  CHECK(item_covers(kIdentity, "", v1::PII_NAME));
  CHECK(item_covers(kIdentity, "whatever", v1::PII_BIRTH_DATE));
  CHECK(!item_covers(kIdentity, "name", v1::PII_NONE));
  CHECK(!item_covers(kIdentity, "", v1::PII_PHONE));
  CHECK(item_covers(DataItem{{"householder"}, {}}, "householder", v1::PII_NONE));
}

}  // namespace
}  // namespace gongshu::catalog
