#include "core/catalog/validate.h"

#include <catch2/catch.hpp>

#include "core/util/fd.h"

namespace gongshu::catalog {
namespace {

DatasetSchema household() {
  std::string path =
      std::string(GONGSHU_SOURCE_DIR) + "/policies/catalog/population_household.toml";
  auto e = parse_dataset_toml(as_chars(*read_file(path, 1 << 20)), path);
  REQUIRE(e);
  return DatasetSchema(*e);
}

v1::Record record(const std::string& cid) {
  v1::Record r;
  r.set_dataset("population.household");
  r.set_record_key("hh-1");
  auto* f = r.add_fields();
  f->set_name("citizen_id");
  f->mutable_value()->set_text(cid);
  f = r.add_fields();
  f->set_name("name");
  f->mutable_value()->set_text("张三");
  return r;
}

const FakeClock kClock(int64_t(1795748550) * 1'000'000'000);

TEST_CASE("a good record passes after normalisation fills its subject") {
  auto schema = household();
  auto r = record("１１０１０５１９４９１２３１００２x");
  normalize_record(schema, r, kClock);
  CHECK(r.subject_id() == "11010519491231002X");
  CHECK(r.fields(0).value().text() == "11010519491231002X");
  CHECK(validate_record(schema, r, kClock).ok());
}

TEST_CASE("each kind of bad record gets its code, field and reason") {
  auto schema = household();
  auto base = record("11010519491231002X");
  base.set_subject_id("11010519491231002X");

  auto r = base;
  r.mutable_fields(0)->mutable_value()->set_text("110105194912310021");
  auto v = validate_record(schema, r, kClock);
  CHECK(v.code == v1::RECORD_STATUS_BAD_IDENTIFIER);
  CHECK(v.field == "citizen_id");

  r = base;
  r.set_subject_id("");
  CHECK(validate_record(schema, r, kClock).field == "subject_id");

  r = base;
  r.mutable_fields(1)->mutable_value()->set_integer(5);
  v = validate_record(schema, r, kClock);
  CHECK(v.code == v1::RECORD_STATUS_SCHEMA);
  CHECK(v.reason == "expected text, got integer");

  r = base;
  r.mutable_fields()->RemoveLast();
  v = validate_record(schema, r, kClock);
  CHECK(v.field == "name");
  CHECK(v.reason.find("required") != std::string::npos);

  r = base;
  r.set_record_key("");
  CHECK(validate_record(schema, r, kClock).field == "record_key");

  r = base;
  r.set_dataset("other");
  CHECK(validate_record(schema, r, kClock).code == v1::RECORD_STATUS_UNKNOWN_DATASET);

  r = base;
  r.clear_fields();
  r.set_op(v1::RECORD_OP_INVALIDATE);
  CHECK(validate_record(schema, r, kClock).ok());
}

TEST_CASE("an accepted record carries its subject in canonical form, as the index keys it") {
  auto schema = household();
  auto r = record("11010519491231002X");
  // Given by hand, not through normalize_record: full-width digits and a lower-case check char.
  r.set_subject_id(" １１０１０５１９４９１２３１００２x ");
  auto v = validate_record(schema, r, kClock);
  REQUIRE(v.ok());
  CHECK(v.subject == "11010519491231002X");

  // The identifier field equal to the subject is not judged twice; one that differs still is.
  r.mutable_fields(0)->mutable_value()->set_text(r.subject_id());
  CHECK(validate_record(schema, r, kClock).subject == "11010519491231002X");
  r.mutable_fields(0)->mutable_value()->set_text("110105194912310021");
  v = validate_record(schema, r, kClock);
  CHECK(v.code == v1::RECORD_STATUS_BAD_IDENTIFIER);
  CHECK(v.field == "citizen_id");
  CHECK(v.subject.empty());

  // A field given twice is refused by its name.
  r = record("11010519491231002X");
  r.set_subject_id("11010519491231002X");
  *r.add_fields() = r.fields(1);
  v = validate_record(schema, r, kClock);
  CHECK(v.field == "name");
  CHECK(v.reason == "field given twice");

  // A dataset without a subject kind: a valid identifier named anyway is indexed, anything
  // else is left unindexed and not judged.
  auto e = schema.entry();
  e.set_subject_kind("none");
  DatasetSchema none(e);
  r = record("11010519491231002X");
  r.set_subject_id("91350100M000100Y43");
  v = validate_record(none, r, kClock);
  REQUIRE(v.ok());
  CHECK(v.subject == "91350100M000100Y43");
  r.set_subject_id("not an identifier");
  v = validate_record(none, r, kClock);
  REQUIRE(v.ok());
  CHECK(v.subject.empty());
}

TEST_CASE("biometric fields are refused without a legal basis (R-09)") {
  auto e = household().entry();
  auto* f = e.add_fields();
  f->set_name("face");
  f->set_type(v1::FIELD_TYPE_BLOB);
  f->set_pii(v1::PII_BIOMETRIC);
  DatasetSchema no_basis(e);
  auto r = record("11010519491231002X");
  r.set_subject_id("11010519491231002X");
  auto* face = r.add_fields();
  face->set_name("face");
  face->mutable_value()->set_blob("\x01\x02");
  auto v = validate_record(no_basis, r, kClock);
  CHECK(v.code == v1::RECORD_STATUS_BIOMETRIC);
  e.set_legal_basis("《居民身份证法》第三条");
  CHECK(validate_record(DatasetSchema(e), r, kClock).ok());
}

}  // namespace
}  // namespace gongshu::catalog
