#include "core/catalog/quality.h"
#include "core/catalog/quality_status.h"

#include <catch2/catch.hpp>

#include "core/catalog/dataset.h"
#include "core/catalog/pattern.h"
#include "core/catalog/validate.h"
#include "core/util/clock.h"
#include "core/util/fd.h"

namespace gongshu::catalog {
namespace {

const char* kHead = R"(
[dataset]
id = "test.quality"
name = "质量规则"
provider = "sjz-test"
grade = "general-1"
open = "closed"
share = "conditional"
update_frequency = "daily"
subject = "none"
category = "topic"
)";

Result<v1::DatasetEntry> parse(const std::string& fields) {
  return parse_dataset_toml(std::string(kHead) + fields, "q.toml");
}

DatasetSchema schema(const std::string& fields) {
  auto e = parse(fields);
  INFO((e ? std::string() : e.error().message()));
  REQUIRE(e);
  return DatasetSchema(*e);
}

const FakeClock kClock(int64_t(1795748550) * 1'000'000'000);

v1::Record with_field(const std::string& name, auto set) {
  v1::Record r;
  r.set_dataset("test.quality");
  r.set_record_key("row-7");
  auto* f = r.add_fields();
  f->set_name(name);
  set(*f->mutable_value());
  return r;
}

Verdict text(const DatasetSchema& s, const std::string& v) {
  return validate_record(s, with_field("v", [&](v1::FieldValue& x) { x.set_text(v); }), kClock);
}
Verdict integer(const DatasetSchema& s, int64_t v) {
  return validate_record(s, with_field("v", [&](v1::FieldValue& x) { x.set_integer(v); }), kClock);
}

TEST_CASE("range on integers: inside and on the bounds pass, one past fails with the reason") {
  auto s = schema("[[field]]\nname = \"v\"\ntype = \"integer\"\nmin = 0\nmax = 150\n");
  CHECK(integer(s, 0).ok());
  CHECK(integer(s, 150).ok());
  CHECK(integer(s, 42).ok());
  auto v = integer(s, 151);
  CHECK(v.code == v1::RECORD_STATUS_QUALITY);
  CHECK(v.field == "v");
  CHECK(v.reason == "record 'row-7': field 'v': range rule: 151 is above the maximum 150");
  v = integer(s, -1);
  CHECK(v.reason == "record 'row-7': field 'v': range rule: -1 is below the minimum 0");
  CHECK(integer(s, INT64_MIN).code == v1::RECORD_STATUS_QUALITY);
}

TEST_CASE("range on reals refuses NaN and takes integer bounds") {
  auto s = schema("[[field]]\nname = \"v\"\ntype = \"real\"\nmin = 0\nmax = 2.5\n");
  auto real = [&](double d) {
    return validate_record(s, with_field("v", [&](v1::FieldValue& x) { x.set_real(d); }), kClock);
  };
  CHECK(real(2.5).ok());
  CHECK(real(0.0).ok());
  CHECK(real(2.5000001).code == v1::RECORD_STATUS_QUALITY);
  CHECK(real(std::nan("")).code == v1::RECORD_STATUS_QUALITY);
  CHECK(real(-INFINITY).code == v1::RECORD_STATUS_QUALITY);
}

TEST_CASE("range on dates and timestamps is written and reported as dates") {
  auto s = schema(
      "[[field]]\nname = \"v\"\ntype = \"date\"\nmin = 1949-10-01\nmax = 2026-12-31\n"
      "[[field]]\nname = \"t\"\ntype = \"timestamp\"\nmin = 2020-01-01T00:00:00+08:00\n");
  auto date = [&](int64_t days) {
    return validate_record(s, with_field("v", [&](v1::FieldValue& x) { x.set_date_days(days); }),
                           kClock);
  };
  const int64_t founding = days_from_civil({1949, 10, 1});
  CHECK(date(founding).ok());
  auto v = date(founding - 1);
  CHECK(v.reason ==
        "record 'row-7': field 'v': range rule: 1949-09-30 is below the minimum 1949-10-01");
  CHECK(date(days_from_civil({2027, 1, 1})).code == v1::RECORD_STATUS_QUALITY);
  const int64_t min_ms = (days_from_civil({2019, 12, 31}) * 86400 + 16 * 3600) * 1000;
  auto ts = [&](int64_t ms) {
    return validate_record(s, with_field("t", [&](v1::FieldValue& x) { x.set_timestamp_ms(ms); }),
                           kClock);
  };
  CHECK(ts(min_ms).ok());
  v = ts(min_ms - 1);
  CHECK(v.code == v1::RECORD_STATUS_QUALITY);
  CHECK(v.reason.find("below the minimum 2019-12-31T16:00:00Z") != std::string::npos);
}

TEST_CASE("length and character class: boundaries, Chinese, bad UTF-8") {
  auto s = schema(
      "[[field]]\nname = \"v\"\ntype = \"text\"\nmin_length = 2\nmax_length = 4\n"
      "chars = \"0-9A-Z一-龥-\"\n");
  CHECK(text(s, "AB").ok());
  CHECK(text(s, "12-Z").ok());
  CHECK(text(s, "石家庄").ok());  // three characters, nine bytes
  auto v = text(s, "A");
  CHECK(v.reason ==
        "record 'row-7': field 'v': length rule: 1 characters, the rule wants 2..4; value 'A'");
  CHECK(text(s, "ABCDE").code == v1::RECORD_STATUS_QUALITY);
  v = text(s, "A\x1b[2J");
  CHECK(v.code == v1::RECORD_STATUS_QUALITY);
  CHECK(v.reason.find("character 2 '\\x1b' (U+001B) is not in the allowed class") !=
        std::string::npos);
  CHECK(v.reason.find('\x1b') == std::string::npos);  // never echoed raw
  v = text(s, "A\xff");
  CHECK(v.reason == "record 'row-7': field 'v': not UTF-8 text at byte 1");
}

TEST_CASE("a long bad value is shown only as a bounded excerpt") {
  auto s = schema("[[field]]\nname = \"v\"\ntype = \"text\"\nchars = \"a-z\"\n");
  auto v = text(s, std::string(5000, 'a') + "!");
  CHECK(v.code == v1::RECORD_STATUS_QUALITY);
  CHECK(v.reason.find("character 5001 '!'") != std::string::npos);
  CHECK(v.reason.size() < 400);
  CHECK(v.reason.find("(first 32 characters)") != std::string::npos);
}

TEST_CASE("a personal field's value is never shown") {
  auto s = schema(
      "[[field]]\nname = \"v\"\ntype = \"text\"\npii = \"phone\"\nchars = \"0-9\"\n"
      "prefix = [\"13\", \"15\"]\n");
  CHECK(text(s, "13800138000").ok());
  auto v = text(s, "18800138000");
  CHECK(v.reason ==
        "record 'row-7': field 'v': prefix rule: (value withheld: personal field) does not "
        "start with '13', '15'");
  v = text(s, "138a0138000");
  CHECK(v.reason.find("138a") == std::string::npos);
  CHECK(v.reason.find("withheld") != std::string::npos);
}

TEST_CASE("enumeration of text and of integers") {
  auto s = schema(
      "[[field]]\nname = \"v\"\ntype = \"text\"\nallowed = [\"男\", \"女\", \"未知\"]\n"
      "[[field]]\nname = \"n\"\ntype = \"integer\"\nallowed = [1, 2, 9]\n");
  CHECK(text(s, "女").ok());
  auto v = text(s, "F");
  CHECK(v.code == v1::RECORD_STATUS_QUALITY);
  CHECK(v.reason.find("enumeration rule: 'F' is not one of the allowed values") !=
        std::string::npos);
  CHECK(text(s, "").code == v1::RECORD_STATUS_QUALITY);
  auto n = [&](int64_t x) {
    return validate_record(s, with_field("n", [&](v1::FieldValue& f) { f.set_integer(x); }),
                           kClock);
  };
  CHECK(n(9).ok());
  CHECK(n(3).reason ==
        "record 'row-7': field 'n': enumeration rule: 3 is not one of the allowed "
        "values (1, 2, 9)");
}

TEST_CASE("bad rule declarations are refused at load with file and line") {
  auto bad = [](const std::string& fields, const std::string& want) {
    auto e = parse(fields);
    REQUIRE_FALSE(e);
    INFO(e.error().message());
    CHECK(e.error().message().find(want) != std::string::npos);
  };
  bad("[[field]]\nname = \"v\"\ntype = \"integer\"\nmin = \"zero\"\n",
      "q.toml:15: field 'v': 'min' must be an integer");
  bad("[[field]]\nname = \"v\"\ntype = \"integer\"\nmin = 5\nmax = 1\n", "min is above max");
  bad("[[field]]\nname = \"v\"\ntype = \"boolean\"\nmin = 1\n", "applies only to");
  bad("[[field]]\nname = \"v\"\ntype = \"text\"\nmin = 1\n", "applies only to");
  bad("[[field]]\nname = \"v\"\ntype = \"integer\"\nchars = \"0-9\"\n", "chars applies only");
  bad("[[field]]\nname = \"v\"\ntype = \"text\"\nchars = \"9-0\"\n", "runs backwards");
  bad("[[field]]\nname = \"v\"\ntype = \"text\"\nchars = \"\"\n", "is empty");
  bad("[[field]]\nname = \"v\"\ntype = \"text\"\nallowed = []\n", "non-empty array");
  bad("[[field]]\nname = \"v\"\ntype = \"text\"\nallowed = [1]\n", "non-empty array");
  bad("[[field]]\nname = \"v\"\ntype = \"text\"\nmin_length = -1\n", "whole number");
  bad("[[field]]\nname = \"v\"\ntype = \"text\"\npattern = \"(a|b\"\n",
      "q.toml:15: field 'v': 'pattern': the pattern does not compile: missing )");
  bad("[[field]]\nname = \"v\"\ntype = \"date\"\nmin = 2026-02-30\n", "");
  bad("[[field]]\nname = \"v\"\ntype = \"timestamp\"\nmin = 2026-01-01T00:00:00\n",
      "with an offset");
}

TEST_CASE("rules travel in the entry: a protobuf round trip keeps them and revalidates") {
  auto e = parse("[[field]]\nname = \"v\"\ntype = \"text\"\nchars = \"0-9\"\nmax_length = 3\n");
  REQUIRE(e);
  v1::DatasetEntry back;
  REQUIRE(back.ParseFromString(e->SerializeAsString()));
  CHECK(validate_dataset(back));
  DatasetSchema s(back);
  CHECK(text(s, "123").ok());
  CHECK(text(s, "1234").code == v1::RECORD_STATUS_QUALITY);
  // An entry from another source (catalog add over the API) is judged the same way.
  back.mutable_fields(0)->mutable_quality()->set_chars("z-a");
  CHECK_FALSE(validate_dataset(back));
  back.mutable_fields(0)->set_type(v1::FIELD_TYPE_BOOLEAN);
  back.mutable_fields(0)->mutable_quality()->set_chars("a-z");
  CHECK_FALSE(validate_dataset(back));
}

TEST_CASE("parse_char_class on garbage") {
  CHECK(parse_char_class("-a-").value().size() == 3);
  CHECK(parse_char_class("a-").value().size() == 2);
  CHECK_FALSE(parse_char_class("\xc3"));
  CHECK_FALSE(parse_char_class("a\nb"));
  CHECK_FALSE(parse_char_class(std::string(2000, 'a')));
}

}  // namespace
}  // namespace gongshu::catalog

namespace gongshu::catalog {
namespace {

TEST_CASE("the catalog fuzz target's quality seed parses (it declares every rule kind)") {
  std::string path =
      std::string(GONGSHU_SOURCE_DIR) + "/fuzz/corpus/dataset_toml/quality_rules.toml";
  auto text = read_file(path, 1 << 20);
  REQUIRE(text);
  auto e = parse_dataset_toml(as_chars(*text), path);
  INFO((e ? std::string() : e.error().message()));
  REQUIRE(e);
  DatasetSchema s(*e);
  for (int i = 0; i < e->fields_size(); ++i) CHECK_FALSE(s.rules(i).empty());
  CHECK_FALSE(s.reference_fields().empty());
  bool pattern = false;
  for (const auto& f : e->fields()) pattern = pattern || !f.quality().pattern().empty();
  CHECK(pattern);
}

}  // namespace
}  // namespace gongshu::catalog

namespace gongshu::catalog {
namespace {

TEST_CASE("references: parsed from the TOML form, only on text fields, a dataset id") {
  auto s = schema("[[field]]\nname = \"v\"\ntype = \"text\"\nreferences = \"market.entity\"\n");
  REQUIRE(s.reference_fields() == std::vector<int>{0});
  CHECK(s.rules(0).references() == "market.entity");
  auto bad_type = parse("[[field]]\nname = \"v\"\ntype = \"integer\"\nreferences = \"a.b.c\"\n");
  REQUIRE_FALSE(bad_type);
  CHECK_THAT(bad_type.error().message(), Catch::Contains("references applies only to text"));
  auto bad_id = parse("[[field]]\nname = \"v\"\ntype = \"text\"\nreferences = \"No Such!\"\n");
  REQUIRE_FALSE(bad_id);
  CHECK_THAT(bad_id.error().message(), Catch::Contains("is not a dataset id"));
  auto not_string = parse("[[field]]\nname = \"v\"\ntype = \"text\"\nreferences = 3\n");
  REQUIRE_FALSE(not_string);
  CHECK_THAT(not_string.error().message(), Catch::Contains("'references' must be a string"));
}

TEST_CASE("references: the agent judges the form of a record key, the daemon its existence") {
  auto s = schema("[[field]]\nname = \"v\"\ntype = \"text\"\nreferences = \"market.entity\"\n");
  CHECK(text(s, "E-001").ok());
  const Verdict empty = text(s, "");
  REQUIRE(empty.code == v1::RECORD_STATUS_QUALITY);
  CHECK(empty.field == "v");
  CHECK_THAT(empty.reason, Catch::Contains("record 'row-7'") && Catch::Contains("reference rule") &&
                               Catch::Contains("market.entity"));
  CHECK(text(s, std::string(kMaxReferenceBytes + 1, 'k')).code == v1::RECORD_STATUS_QUALITY);
  CHECK(text(s, "bad\x01key").code == v1::RECORD_STATUS_QUALITY);
  // The daemon's reason names field, rule, dataset and value; never a personal field's value.
  CHECK(s.rules(0).reference_missing("E-404") ==
        "field 'v': reference rule: 'E-404' is not the key of a current record of dataset "
        "'market.entity' (none, or invalidated)");
  auto p = schema(
      "[[field]]\nname = \"v\"\ntype = \"text\"\npii = \"other\"\nreferences = \"people.x\"\n");
  const std::string withheld = p.rules(0).reference_missing("130102199001011234");
  CHECK_THAT(withheld, Catch::Contains("value withheld") && Catch::Contains("people.x"));
  CHECK_THAT(withheld, !Catch::Contains("1301"));
  CHECK_THAT(
      p.rules(0).check({.name = "v", .kind = v1::FieldValue::kText, .bytes = ""}).value_or(""),
      Catch::Contains("value withheld"));
}

TEST_CASE("validate_record marks the fields a record gives a non-empty value") {
  auto s = schema(
      "[[field]]\nname = \"a\"\ntype = \"text\"\n[[field]]\nname = \"b\"\ntype = \"text\"\n"
      "[[field]]\nname = \"c\"\ntype = \"integer\"\n");
  v1::Record r;
  r.set_dataset("test.quality");
  r.set_record_key("k");
  auto add = [&](const char* name) {
    auto* f = r.add_fields();
    f->set_name(name);
    return f->mutable_value();
  };
  add("a")->set_text("x");
  add("b")->set_text("");
  add("c")->set_integer(0);
  FieldMask present;
  REQUIRE(validate_record(s, RecordView::of(r), kClock, &present).ok());
  CHECK(present.test(0));
  CHECK_FALSE(present.test(1));
  CHECK(present.test(2));
}

}  // namespace
}  // namespace gongshu::catalog

namespace gongshu::catalog {
namespace {

TEST_CASE("quality status: a delivery is due after one period and stale after two") {
  const int64_t day = *update_period_ms("daily");
  CHECK(day == 86'400'000);
  CHECK(*update_period_ms("weekly") == 7 * day);
  CHECK(*update_period_ms("realtime") == 3'600'000);
  CHECK_FALSE(update_period_ms("sometimes"));
  const int64_t last = 1'000'000'000'000;
  CHECK(staleness_of(day, 0, last) == Staleness::kNever);
  CHECK(staleness_of(day, last, last + day) == Staleness::kOk);
  CHECK(staleness_of(day, last, last + day + 1) == Staleness::kDue);
  CHECK(staleness_of(day, last, last + 2 * day) == Staleness::kDue);
  CHECK(staleness_of(day, last, last + 2 * day + 1) == Staleness::kStale);
  CHECK(rejection_severity(0.0) == Severity::kOk);
  CHECK(rejection_severity(0.01) == Severity::kAttention);
  CHECK(rejection_severity(0.10) == Severity::kProblem);
}

}  // namespace
}  // namespace gongshu::catalog

namespace gongshu::catalog {
namespace {

TEST_CASE("pattern: the whole value must match, anchored with or without ^ and $") {
  // A motor-vehicle plate: province character, letter, five of letters and digits.
  auto s = schema(
      "[[field]]\nname = \"v\"\ntype = \"text\"\n"
      "pattern = '[\\p{Han}][A-Z][A-HJ-NP-Z0-9]{5}'\n");
  CHECK(text(s, "冀A12345").ok());
  CHECK(text(s, "冀AD1234").ok());
  const Verdict v = text(s, "冀A1234");
  REQUIRE(v.code == v1::RECORD_STATUS_QUALITY);
  CHECK(v.field == "v");
  CHECK(v.reason ==
        "record 'row-7': field 'v': pattern rule: '冀A1234' does not match the pattern "
        "'[\\p{Han}][A-Z][A-HJ-NP-Z0-9]{5}'");
  // Not a search: text around a matching part fails.
  CHECK(text(s, "x冀A12345").code == v1::RECORD_STATUS_QUALITY);
  CHECK(text(s, "冀A12345\n").code == v1::RECORD_STATUS_QUALITY);
  CHECK(text(s, "冀AI2345").code == v1::RECORD_STATUS_QUALITY);  // I is not used on plates
  CHECK(text(s, "").code == v1::RECORD_STATUS_QUALITY);
  // Explicit anchors mean the same; $ does not match before a final newline.
  auto a = schema("[[field]]\nname = \"v\"\ntype = \"text\"\npattern = '^1[3-9][0-9]{9}$'\n");
  CHECK(text(a, "13912345678").ok());
  CHECK(text(a, "1391234567").code == v1::RECORD_STATUS_QUALITY);
  CHECK(text(a, "13912345678\n").code == v1::RECORD_STATUS_QUALITY);
  CHECK(text(a, "12912345678").code == v1::RECORD_STATUS_QUALITY);
}

TEST_CASE("pattern: UTF-8 classes count characters, so a Chinese name of 2 to 10 characters") {
  auto s = schema("[[field]]\nname = \"v\"\ntype = \"text\"\npattern = '^[\\p{Han}]{2,10}$'\n");
  CHECK(text(s, "张三").ok());
  CHECK(text(s, "欧阳娜娜").ok());
  CHECK(text(s, std::string("石家庄市长安区人民政") /* 10 */).ok());
  CHECK(text(s, "张").code == v1::RECORD_STATUS_QUALITY);  // 1 character, 3 bytes
  CHECK(text(s, "石家庄市长安区人民政府").code == v1::RECORD_STATUS_QUALITY);  // 11
  CHECK(text(s, "张San").code == v1::RECORD_STATUS_QUALITY);
  CHECK(text(s, "ab").code == v1::RECORD_STATUS_QUALITY);
  // Bad UTF-8 is refused before the pattern sees it.
  const Verdict bad = text(s, "\xe5\xbc");
  REQUIRE(bad.code == v1::RECORD_STATUS_QUALITY);
  CHECK_THAT(bad.reason, Catch::Contains("not UTF-8"));
  // With a length rule too, both apply.
  auto both =
      schema("[[field]]\nname = \"v\"\ntype = \"text\"\nmax_length = 3\npattern = '[\\p{Han}]+'\n");
  CHECK(text(both, "张三丰").ok());
  CHECK_THAT(text(both, "张三丰丰").reason, Catch::Contains("length rule"));
  CHECK_THAT(text(both, "张3").reason, Catch::Contains("pattern rule"));
}

TEST_CASE("pattern: a personal field's value is withheld from the reason") {
  auto s = schema(
      "[[field]]\nname = \"phone\"\ntype = \"text\"\npii = \"phone\"\n"
      "pattern = '1[3-9][0-9]{9}'\n");
  const Verdict v = validate_record(
      s, with_field("phone", [](v1::FieldValue& x) { x.set_text("0311-8765432"); }), kClock);
  REQUIRE(v.code == v1::RECORD_STATUS_QUALITY);
  CHECK(v.reason ==
        "record 'row-7': field 'phone': pattern rule: (value withheld: personal field) does not "
        "match the pattern '1[3-9][0-9]{9}'");
}

TEST_CASE("pattern: a bad pattern is a catalog error at load, from TOML and from the API") {
  auto bad = [](const std::string& fields, const std::string& want) {
    auto e = parse(fields);
    REQUIRE_FALSE(e);
    INFO(e.error().message());
    CHECK_THAT(e.error().message(), Catch::Contains(want));
  };
  const std::string head = "[[field]]\nname = \"v\"\ntype = \"text\"\n";
  bad(head + "pattern = '[0-9'\n", "q.toml:15: field 'v': 'pattern': the pattern does not compile");
  bad(head + "pattern = '(a)\\1'\n", "invalid escape");   // backreferences: not linear
  bad(head + "pattern = '(?=a)'\n", "does not compile");  // lookahead neither
  bad(head + "pattern = ''\n", "the pattern is empty");
  bad(head + "pattern = 5\n", "'pattern' must be a string");
  bad(head + "pattern = '" + std::string(kMaxPatternBytes + 1, 'a') + "'\n", "longer than 512");
  bad("[[field]]\nname = \"v\"\ntype = \"integer\"\npattern = '[0-9]+'\n",
      "pattern applies only to text fields");
  // Too large an automaton for the memory limit.
  bad(head + "pattern = '[\\p{Han}]{1000}'\n", "KiB a pattern may use");
  // An entry from the API (catalog add) is judged the same way.
  auto e = parse(head + "pattern = '[0-9]{3}'\n");
  REQUIRE(e);
  v1::DatasetEntry back;
  REQUIRE(back.ParseFromString(e->SerializeAsString()));
  CHECK(validate_dataset(back));
  CHECK(text(DatasetSchema(back), "123").ok());
  back.mutable_fields(0)->mutable_quality()->set_pattern("(unclosed");
  auto refused = validate_dataset(back);
  REQUIRE_FALSE(refused);
  CHECK_THAT(refused.error().message(),
             Catch::Contains("field 'v': pattern: the pattern does not compile: missing )"));
  // Should such an entry reach a schema all the same, the rule refuses every value.
  DatasetSchema unchecked(back);
  const Verdict v = text(unchecked, "123");
  REQUIRE(v.code == v1::RECORD_STATUS_QUALITY);
  CHECK_THAT(v.reason, Catch::Contains("'(unclosed' cannot be used"));
}

TEST_CASE("pattern: a pattern that backtracking engines take exponential time on is plain here") {
  // (a+)+$ on "aaaa…a!" is the classic catastrophic case for std::regex; RE2 answers in one
  // linear pass. Only the answers are asserted: the test would hang, not fail, were it otherwise.
  auto s = schema("[[field]]\nname = \"v\"\ntype = \"text\"\npattern = '(a+)+$'\n");
  const std::string run(kMaxTextField - 1, 'a');
  CHECK(text(s, run).ok());
  const Verdict v = text(s, run + "!");
  REQUIRE(v.code == v1::RECORD_STATUS_QUALITY);
  CHECK_THAT(v.reason, Catch::Contains("(first 32 characters)") && Catch::Contains("(a+)+$"));
  auto t = schema("[[field]]\nname = \"v\"\ntype = \"text\"\npattern = '(a|a)*b'\n");
  CHECK(text(t, run).code == v1::RECORD_STATUS_QUALITY);
  CHECK(text(t, run.substr(1) + "b").ok());
  // The compiled pattern itself, on a value far longer than a record's field may be.
  auto p = Pattern::compile("(a+)+$");
  REQUIRE(p);
  const std::string mega(1 << 20, 'a');
  CHECK(p->full_match(mega));
  CHECK_FALSE(p->full_match(mega + "!"));
  CHECK_FALSE(Pattern().full_match(""));
}

}  // namespace
}  // namespace gongshu::catalog

namespace gongshu::catalog {
namespace {

TEST_CASE("pattern: the shipped catalog's decision number rule takes the demo's value") {
  const std::string path =
      std::string(GONGSHU_SOURCE_DIR) + "/policies/catalog/credit_penalty.toml";
  auto file = read_file(path, 1 << 20);
  REQUIRE(file);
  auto e = parse_dataset_toml(as_chars(*file), path);
  REQUIRE(e);
  DatasetSchema s(*e);
  const int i = s.field_index("decision_no");
  REQUIRE(i >= 0);
  auto check = [&](std::string v) {
    return s.rules(i).check({.name = "decision_no", .kind = v1::FieldValue::kText, .bytes = v});
  };
  CHECK_FALSE(check("石市监罚〔2026〕12号"));  // scripts/demo's penalty
  CHECK_FALSE(check("冀石市监罚字[2025]第3号"));
  CHECK_THAT(
      check("石市监罚2026-12").value_or(""),
      Catch::Contains("field 'decision_no': pattern rule: '石市监罚2026-12' does not match"));
  CHECK(check("罚〔2026〕12号"));  // one character is no issuing organ
}

}  // namespace
}  // namespace gongshu::catalog
