#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "core/crypto/keyed_hash.h"
#include "core/crypto/sha256.h"
#include "core/policy/mask_op.h"
#include "core/policy/mask_profile.h"
#include "core/policy/text_mask.h"
#include "core/util/clock.h"
#include "core/util/encoding.h"
#include "tests/core/policy/policy_test_util.h"

namespace gongshu::policy {
namespace {

MaskOp op(std::string_view text) {
  auto o = parse_mask_op(text);
  REQUIRE(o);
  return *o;
}

v1::FieldValue text_value(std::string s) {
  v1::FieldValue v;
  v.set_text(std::move(s));
  return v;
}

const crypto::SecretBytes& key1() {
  static const crypto::SecretBytes k = crypto::SecretBytes::random(32);
  return k;
}
const crypto::SecretBytes& key2() {
  static const crypto::SecretBytes k = crypto::SecretBytes::random(32);
  return k;
}

// Masks text with the op written as in a policy file.
std::string masked(std::string_view op_text, v1::PiiKind kind, std::string text,
                   const crypto::SecretBytes& key = key1()) {
  auto v = apply_mask(op(op_text), kind, text_value(std::move(text)), key);
  REQUIRE(v);
  REQUIRE(v->kind_case() == v1::FieldValue::kText);
  return v->text();
}

bool valid_utf8(std::string_view s) { return utf8_sanitise(s) == s; }

TEST_CASE("mask ops parse and print", "[policy][mask]") {
  for (const char* text : {"keep", "drop", "redact", "keep_first:1", "keep_last:4", "keep_ends:3:4",
                           "keep_ends:0:4", "year", "region", "region:4", "region:2", "token"}) {
    INFO(text);
    CHECK(mask_op_text(op(text)) == text);
  }
  CHECK(mask_op_text(op("region:6")) == "region");
  for (const char* bad :
       {"", "hash", "sha256", "keep_first", "keep_first:", "keep_first:0", "keep_first:33",
        "keep_first:x", "keep_ends:1", "keep_ends:0:0", "region:3", "region:", "KEEP", "keep "}) {
    INFO(bad);
    CHECK_FALSE(parse_mask_op(bad));
  }
  CHECK(is_anonymising(op("drop")));
  CHECK(is_anonymising(op("redact")));
  CHECK(is_anonymising(op("year")));
  CHECK(is_anonymising(op("region:2")));
  CHECK(is_anonymising(op("token")));
  CHECK_FALSE(is_anonymising(op("keep")));
  CHECK_FALSE(is_anonymising(op("keep_first:1")));
  CHECK_FALSE(is_anonymising(op("keep_ends:3:4")));
}

TEST_CASE("keep first / last N is UTF-8 aware", "[policy][mask][utf8]") {
  CHECK(masked("keep_first:1", v1::PII_NAME, "张三丰") == "张**");
  CHECK(masked("keep_last:1", v1::PII_NAME, "张三丰") == "**丰");
  CHECK(masked("keep_ends:1:1", v1::PII_NAME, "欧阳修文") == "欧**文");
  CHECK(masked("keep_first:1", v1::PII_NAME, "张三") == "张*");
  // At least one character is always masked.
  CHECK(masked("keep_first:1", v1::PII_NAME, "张") == "*");
  CHECK(masked("keep_first:2", v1::PII_NAME, "张三") == "张*");
  CHECK(masked("keep_ends:3:4", v1::PII_PHONE, "13812345678") == "138****5678");
  CHECK(masked("keep_ends:3:4", v1::PII_PHONE, "12345") == "123*5");
  CHECK(masked("keep_first:1", v1::PII_NAME, "") == "");
  CHECK(masked("keep_first:2", v1::PII_NAME, "Zhang San") == "Zh*******");
  // Four-byte characters and combining sequences count per code point.
  CHECK(masked("keep_first:1", v1::PII_NAME, "𠮷野家") == "𠮷**");
  CHECK(utf8_length("张三丰") == 3);
  CHECK(utf8_length("a𠮷b") == 3);
}

TEST_CASE("invalid UTF-8 never crashes a mask and never reaches the output",
          "[policy][mask][utf8]") {
  const std::vector<std::string> hostile = {"\xff",
                                            "\xe5\xbc",
                                            "\xe5\xbc\xa0\xff\xfe",
                                            "\xc0\xaf",
                                            "\xed\xa0\x80",
                                            "\xf4\x90\x80\x80",
                                            std::string("张\0三", 5),
                                            "\x80\x80\x80",
                                            "\xe5\xbc\xa0\xe4\xb8",
                                            "abc\xf0\x9f"};
  for (const std::string& s : hostile) {
    for (const char* o : {"keep_first:1", "keep_last:2", "keep_ends:1:1", "region", "region:4",
                          "year", "token", "redact"}) {
      for (v1::PiiKind kind : {v1::PII_NAME, v1::PII_CITIZEN_ID, v1::PII_ADDRESS,
                               v1::PII_CREDIT_CODE, v1::PII_OTHER}) {
        const std::string out = masked(o, kind, s);
        INFO(o << " " << hex_encode(as_bytes(s)) << " -> " << hex_encode(as_bytes(out)));
        CHECK(valid_utf8(out));
        CHECK(out != s);
      }
    }
  }
  CHECK(masked("keep_first:1", v1::PII_NAME, "\xff\xfe\xfd") == "\xEF\xBF\xBD**");
  CHECK(masked("keep_first:1", v1::PII_NAME, "\xe5\xbc\xa0\xff") == "张*");
}

TEST_CASE("citizen ID numbers: region generalisation and year only", "[policy][mask]") {
  const std::string id = "130102199003071234";
  CHECK(masked("region", v1::PII_CITIZEN_ID, id) == "130102************");
  CHECK(masked("region:4", v1::PII_CITIZEN_ID, id) == "1301**************");
  CHECK(masked("region:2", v1::PII_CITIZEN_ID, id) == "13****************");
  CHECK(masked("region", v1::PII_CITIZEN_ID, "11010519491231002X") == "110105************");
  CHECK(masked("region", v1::PII_CITIZEN_ID, "110105491231002") == "110105*********");
  CHECK(masked("year", v1::PII_CITIZEN_ID, id) == "******1990********");
  CHECK(masked("year", v1::PII_CITIZEN_ID, "110105491231002") == "******49*******");
  CHECK(masked("keep_ends:6:4", v1::PII_CITIZEN_ID, id) == "130102********1234");
  // Anything without the shape of an ID number is redacted, never passed through.
  for (const char* bad : {"", "13010219900307123", "1301021990030712345", "13010219900307123Y",
                          "１３０１０２１９９００３０７１２３４", "not an id"}) {
    INFO(bad);
    CHECK(masked("region", v1::PII_CITIZEN_ID, bad) == "***");
    CHECK(masked("year", v1::PII_CITIZEN_ID, bad) == "***");
  }
}

TEST_CASE("credit codes: region generalisation", "[policy][mask]") {
  CHECK(masked("region", v1::PII_CREDIT_CODE, "91350100M000100Y43") == "91350100**********");
  CHECK(masked("region:2", v1::PII_CREDIT_CODE, "91350100M000100Y43") == "9135**************");
  CHECK(masked("region", v1::PII_CREDIT_CODE, "91350100m000100y43") == "***");
  CHECK(masked("region", v1::PII_CREDIT_CODE, "short") == "***");
}

TEST_CASE("addresses: keep up to the district / county", "[policy][mask][address]") {
  struct Case {
    const char* address;
    int level;
    const char* expect;
  };
  // clang-format off
  const std::vector<Case> cases = {
    {"河北省石家庄市长安区中山东路39号", 6, "河北省石家庄市长安区***"},
    {"河北省石家庄市长安区中山东路39号", 4, "河北省石家庄市***"},
    {"河北省石家庄市长安区中山东路39号", 2, "河北省***"},
    {"石家庄市桥西区自强路22号", 6, "石家庄市桥西区***"},
    {"石家庄市鹿泉区", 6, "石家庄市鹿泉区***"},
    {"河北省石家庄市正定县常山路1号", 6, "河北省石家庄市正定县***"},
    {"河北省石家庄市辛集市教育路5号", 6, "河北省石家庄市辛集市***"},   // county-level city
    {"北京市朝阳区建国路88号", 6, "北京市朝阳区***"},
    {"内蒙古自治区呼和浩特市新城区中山西路1号", 6, "内蒙古自治区呼和浩特市新城区***"},
    {"内蒙古自治区呼伦贝尔市鄂温克族自治旗巴彦托海镇", 6, "内蒙古自治区呼伦贝尔市鄂温克族自治旗***"},
    {"新疆维吾尔自治区阿克苏地区库车市", 6, "新疆维吾尔自治区阿克苏地区库车市***"},
    {"香港特别行政区中西区", 6, "香港特别行政区中西区***"},
    {"山东省济南市市中区经十路", 6, "山东省济南市市中区***"},
    // A residential compound is not a district: only the city is kept.
    {"石家庄市幸福小区3号楼2单元", 6, "石家庄市***"},
    {"石家庄市华润万家超市", 6, "石家庄市***"},
    {"石家庄市中山东路39号", 6, "石家庄市***"},
    // Starting below the requested level, or with no unit at all: redacted.
    {"长安区中山东路39号", 4, "***"},
    {"中山东路39号", 6, "***"},
    {"39 Zhongshan Road, Shijiazhuang", 6, "***"},
    {"", 6, "***"},
    {"区", 6, "***"},
  };
  // clang-format on
  for (const Case& c : cases) {
    INFO(c.address << " level " << c.level);
    CHECK(generalise_address(c.address, c.level) == c.expect);
  }
  CHECK(masked("region", v1::PII_ADDRESS, "河北省石家庄市长安区中山东路39号") ==
        "河北省石家庄市长安区***");
  CHECK(masked("region:4", v1::PII_ADDRESS, "河北省石家庄市长安区中山东路39号") ==
        "河北省石家庄市***");
}

TEST_CASE("year only: dates, timestamps, text", "[policy][mask]") {
  v1::FieldValue date;
  date.set_date_days(int32_t(days_from_civil({1990, 3, 7})));
  auto out = apply_mask(op("year"), v1::PII_BIRTH_DATE, date, key1());
  REQUIRE(out);
  CHECK(out->kind_case() == v1::FieldValue::kInteger);
  CHECK(out->integer() == 1990);
  date.set_date_days(int32_t(days_from_civil({1899, 12, 31})));
  CHECK(apply_mask(op("year"), v1::PII_BIRTH_DATE, date, key1())->integer() == 1899);

  // 2025-12-31T17:00:00Z is 2026-01-01 01:00 in China.
  v1::FieldValue ts;
  ts.set_timestamp_ms(1767200400000);
  CHECK(apply_mask(op("year"), v1::PII_OTHER, ts, key1())->integer() == 2026);
  ts.set_timestamp_ms(-1);
  CHECK(apply_mask(op("year"), v1::PII_OTHER, ts, key1())->integer() == 1970);

  CHECK(masked("year", v1::PII_BIRTH_DATE, "1990-03-07") == "1990");
  CHECK(masked("year", v1::PII_BIRTH_DATE, "1990/3/7") == "1990");
  CHECK(masked("year", v1::PII_BIRTH_DATE, "1990年3月7日") == "1990");
  CHECK(masked("year", v1::PII_BIRTH_DATE, "19900307") == "1990");
  CHECK(masked("year", v1::PII_BIRTH_DATE, "March 1990") == "***");

  v1::FieldValue number;
  number.set_integer(19900307);
  out = apply_mask(op("year"), v1::PII_BIRTH_DATE, number, key1());
  REQUIRE(out);
  CHECK(out->kind_case() == v1::FieldValue::KIND_NOT_SET);
}

TEST_CASE("keyed tokens: stable per key, different across keys, never unkeyed",
          "[policy][mask][token]") {
  const std::string id = "11010519491231002X";
  const std::string t1 = masked("token", v1::PII_CITIZEN_ID, id, key1());
  CHECK(t1.size() == 3 + 32);
  CHECK(t1.starts_with("tk_"));
  CHECK(hex_decode(t1.substr(3)));
  CHECK(masked("token", v1::PII_CITIZEN_ID, id, key1()) == t1);
  CHECK(masked("token", v1::PII_CITIZEN_ID, id, key2()) != t1);
  CHECK(masked("token", v1::PII_CITIZEN_ID, "110105194912310021", key1()) != t1);
  // The same value of another kind is another token.
  CHECK(masked("token", v1::PII_NAME, id, key1()) != t1);
  // Nothing an outsider can compute from the ID alone.
  const std::string unkeyed = hex_encode(crypto::sha256(id));
  CHECK(unkeyed.find(t1.substr(3)) == std::string::npos);
  CHECK(t1.find(id) == std::string::npos);
  // A copy of the same key bytes gives the same tokens (keys are loaded, not generated, in
  // the daemon).
  const crypto::SecretBytes copy = crypto::SecretBytes::copy_of(key1().view());
  CHECK(masked("token", v1::PII_CITIZEN_ID, id, copy) == t1);
  // Without a usable key, token redacts instead of falling back to anything unkeyed.
  CHECK(masked("token", v1::PII_CITIZEN_ID, id, crypto::SecretBytes()) == "***");
  CHECK(masked("token", v1::PII_CITIZEN_ID, id, crypto::SecretBytes::random(8)) == "***");
  // Non-text values become text tokens.
  v1::FieldValue n;
  n.set_integer(42);
  auto out = apply_mask(op("token"), v1::PII_OTHER, n, key1());
  REQUIRE(out);
  CHECK(out->text().starts_with("tk_"));
  n.set_date_days(42);
  CHECK(apply_mask(op("token"), v1::PII_OTHER, n, key1())->text() != out->text());
}

TEST_CASE("drop, redact and keep", "[policy][mask]") {
  CHECK_FALSE(apply_mask(op("drop"), v1::PII_NAME, text_value("张三"), key1()));
  CHECK(masked("redact", v1::PII_NAME, "张三") == "***");
  CHECK(masked("redact", v1::PII_NAME, "") == "***");
  CHECK(masked("keep", v1::PII_NAME, "张三") == "张三");
  v1::FieldValue blob;
  blob.set_blob(std::string("\x01\x02\x03", 3));
  auto r = apply_mask(op("redact"), v1::PII_BIOMETRIC, blob, key1());
  REQUIRE(r);
  CHECK(r->kind_case() == v1::FieldValue::KIND_NOT_SET);
  // Partial keeps and regions redact what is not text.
  for (const char* o : {"keep_first:1", "region", "keep_ends:1:1"}) {
    r = apply_mask(op(o), v1::PII_OTHER, blob, key1());
    REQUIRE(r);
    CHECK(r->kind_case() == v1::FieldValue::KIND_NOT_SET);
  }
  CHECK(op_misfit(op("region"), v1::PII_PHONE));
  CHECK(op_misfit(op("year"), v1::PII_NAME));
  CHECK(op_misfit(op("keep_first:1"), v1::PII_BIOMETRIC));
  CHECK_FALSE(op_misfit(op("region"), v1::PII_ADDRESS));
  CHECK_FALSE(op_misfit(op("token"), v1::PII_BIOMETRIC));
}

TEST_CASE("profiles: unnamed kinds are redacted; overrides by dataset and field",
          "[policy][mask][profile]") {
  MaskProfile p("p");
  p.set_kind(v1::PII_NAME, op("keep_first:1"));
  p.set_field("address", op("drop"));
  p.set_field("test.people:address", op("region:4"));
  v1::FieldSpec f;
  f.set_name("address");
  f.set_pii(v1::PII_ADDRESS);
  CHECK(p.op_for("test.people", f) == op("region:4"));
  CHECK(p.op_for("test.other", f) == op("drop"));
  f.set_name("phone");
  f.set_pii(v1::PII_PHONE);
  CHECK(p.op_for("test.people", f) == MaskOp::redact());
  f.set_pii(v1::PII_NONE);
  CHECK(p.op_for("test.people", f) == MaskOp::keep());
  CHECK(p.not_anonymising() == "name = keep_first:1");
}

TEST_CASE("records: every field by its catalog spec, unknown fields dropped",
          "[policy][mask][profile]") {
  const catalog::DatasetSchema schema(test::make_entry(
      "test.people", "sjz-gongan", "general-3", "conditional", "none", test::person_fields()));
  const Policy& policy = test::shipped_policy();
  v1::Record rec;
  rec.set_dataset("test.people");
  rec.set_record_key("130102199003071234");
  rec.set_subject_id("130102199003071234");
  auto add = [&](const char* name) {
    auto* f = rec.add_fields();
    f->set_name(name);
    return f->mutable_value();
  };
  add("name")->set_text("张三丰");  // out of catalog order on purpose
  add("citizen_id")->set_text("130102199003071234");
  add("birth_date")->set_date_days(int32_t(days_from_civil({1990, 3, 7})));
  add("address")->set_text("河北省石家庄市长安区中山东路39号");
  add("household_size")->set_integer(4);
  add("secret_note")->set_text("not in the catalog");

  v1::Record share = rec;
  RecordMasker(*policy.mask("share-masked"), schema).mask(share, key1());
  REQUIRE(share.fields_size() == 5);
  CHECK(share.fields(0).name() == "name");
  CHECK(share.fields(0).value().text() == "张**");
  CHECK(share.fields(1).value().text() == "130102199003071234");
  CHECK(share.fields(2).value().integer() == 1990);
  CHECK(share.fields(3).value().text() == "河北省石家庄市长安区***");
  CHECK(share.fields(4).value().integer() == 4);
  CHECK(share.subject_id() == "130102199003071234");
  CHECK(share.record_key() == "130102199003071234");

  v1::Record open = rec;
  mask_record(*policy.mask("conditional-anonymised"), schema, key1(), open);
  REQUIRE(open.fields_size() == 4);  // name dropped, secret_note dropped
  CHECK(open.fields(0).name() == "citizen_id");
  CHECK(open.fields(0).value().text().starts_with("tk_"));
  CHECK(open.fields(1).value().integer() == 1990);
  CHECK(open.fields(2).value().text() == "河北省石家庄市长安区***");
  CHECK(open.fields(3).name() == "household_size");
  // The subject identifier is masked as a citizen ID (same token as the field), the record key
  // with the profile's record_key op.
  CHECK(open.subject_id() == open.fields(0).value().text());
  CHECK(open.record_key().starts_with("tk_"));
  CHECK(open.record_key() != open.subject_id());

  v1::Record public_row = rec;
  mask_record(*policy.mask("open-anonymised"), schema, key1(), public_row);
  REQUIRE(public_row.fields_size() == 3);
  CHECK(public_row.fields(0).name() == "birth_date");
  CHECK(public_row.fields(1).value().text() == "河北省石家庄市***");
  CHECK(public_row.subject_id().empty());
}

}  // namespace
}  // namespace gongshu::policy
