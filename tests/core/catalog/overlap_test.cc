// Repeated collection (core/catalog/overlap.h): which data items of an entry another duplicates.
#include "core/catalog/overlap.h"

#include <catch2/catch.hpp>

namespace gongshu::catalog {
namespace {

v1::DatasetEntry person(
    std::initializer_list<std::tuple<const char*, v1::PiiKind, const char*>> fs) {
  v1::DatasetEntry e;
  e.set_subject_kind("person");
  for (auto [name, pii, desc] : fs) {
    auto* f = e.add_fields();
    f->set_name(name);
    f->set_pii(pii);
    f->set_description(desc);
  }
  return e;
}

TEST_CASE("overlap: an entry collecting the population base's items is flagged") {
  auto base = person({{"citizen_id", v1::PII_CITIZEN_ID, "公民身份号码"},
                      {"name", v1::PII_NAME, "姓名"},
                      {"birth_date", v1::PII_BIRTH_DATE, "出生日期"},
                      {"address", v1::PII_ADDRESS, "住址"}});
  auto again = person({{"sfzh", v1::PII_CITIZEN_ID, ""},
                       {"xm", v1::PII_NAME, ""},
                       {"csrq", v1::PII_OTHER, "出生日期"},
                       {"benefit", v1::PII_NONE, "补贴金额"}});
  auto o = overlap(again, base);
  CHECK(o.shared == std::vector<std::string>{"xm", "csrq"});
  CHECK(o.score_permille == 666);  // 2 of 3: the citizen ID only keys the records
  CHECK(o.score_permille >= kOverlapFlagPermille);
}

TEST_CASE("overlap: keying by the same identifier or another subject kind is no overlap") {
  auto base =
      person({{"citizen_id", v1::PII_CITIZEN_ID, "公民身份号码"}, {"name", v1::PII_NAME, "姓名"}});
  auto keyed = person(
      {{"citizen_id", v1::PII_CITIZEN_ID, "公民身份号码"}, {"penalty", v1::PII_NONE, "处罚决定"}});
  CHECK(overlap(keyed, base).score_permille == 0);
  auto org = keyed;
  org.set_subject_kind("organisation");
  CHECK(overlap(org, base).shared.empty());
  auto only_key = person({{"citizen_id", v1::PII_CITIZEN_ID, ""}});
  CHECK(overlap(only_key, base).score_permille == 0);
}

}  // namespace
}  // namespace gongshu::catalog
