// Property: on every read path of the shipped policy — every caller, every action that returns
// data, every dataset it is allowed on — every field of every returned row is masked exactly as
// the decision's profile says, and no raw personal value reaches an outside role. Datasets,
// records and values are random; an independent oracle checks each field.
#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

#include "core/catalog/dataset.h"
#include "core/policy/decide.h"
#include "core/policy/mask_profile.h"
#include "core/policy/text_mask.h"
#include "core/util/clock.h"
#include "tests/core/policy/policy_test_util.h"

namespace gongshu::policy {
namespace {

using Rng = std::mt19937_64;

const crypto::SecretBytes& token_key() {
  static const crypto::SecretBytes k = crypto::SecretBytes::random(32);
  return k;
}

size_t pick(Rng& rng, size_t n) { return size_t(rng() % n); }

std::string random_name(Rng& rng) {
  static const char* family[] = {"张", "王", "李", "赵", "欧阳", "司马", "刘", "陈"};
  static const char* given[] = {"三", "丰", "伟", "芳", "娜", "秀英", "敏", "静", "强", "磊"};
  std::string s = family[pick(rng, 8)];
  for (size_t i = 0, n = 1 + pick(rng, 3); i < n; ++i) s += given[pick(rng, 10)];
  return s;
}

std::string random_digits(Rng& rng, size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s.push_back(char('0' + pick(rng, 10)));
  return s;
}

std::string random_citizen_id(Rng& rng) {
  static const char* regions[] = {"130102", "130104", "110105", "440300", "130181"};
  std::string s = regions[pick(rng, 5)];
  s += std::to_string(1940 + pick(rng, 70));
  s += "0" + std::to_string(1 + pick(rng, 9));
  s += std::to_string(10 + pick(rng, 18));
  s += random_digits(rng, 3);
  s.push_back(pick(rng, 11) == 10 ? 'X' : char('0' + pick(rng, 10)));
  return s;
}

std::string random_address(Rng& rng) {
  static const char* heads[] = {
      "河北省石家庄市长安区", "石家庄市桥西区", "河北省石家庄市正定县", "北京市朝阳区", "",
      "河北省石家庄市"};
  static const char* streets[] = {"中山东路", "建设南大街", "幸福小区", "自强路", "裕华西路"};
  return std::string(heads[pick(rng, 6)]) + streets[pick(rng, 5)] +
         std::to_string(1 + pick(rng, 300)) + "号";
}

std::string random_credit_code(Rng& rng) {
  static const char kChars[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
  std::string s = "9113";
  s += random_digits(rng, 4);
  for (int i = 0; i < 10; ++i) s.push_back(kChars[pick(rng, 31)]);
  return s;
}

// A random value of the field's kind (and type).
v1::FieldValue random_value(Rng& rng, const v1::FieldSpec& f) {
  v1::FieldValue v;
  switch (f.pii()) {
    case v1::PII_CITIZEN_ID:
      v.set_text(random_citizen_id(rng));
      return v;
    case v1::PII_CREDIT_CODE:
      v.set_text(random_credit_code(rng));
      return v;
    case v1::PII_NAME:
      v.set_text(random_name(rng));
      return v;
    case v1::PII_PHONE:
      v.set_text("1" + random_digits(rng, 10));
      return v;
    case v1::PII_ADDRESS:
      v.set_text(random_address(rng));
      return v;
    case v1::PII_BIRTH_DATE:
      v.set_date_days(int32_t(-10000 + int(pick(rng, 30000))));
      return v;
    case v1::PII_BIOMETRIC:
      v.set_blob(random_digits(rng, 64));
      return v;
    default:
      break;
  }
  switch (f.type()) {
    case v1::FIELD_TYPE_INTEGER:
      v.set_integer(int64_t(pick(rng, 100000)));
      break;
    case v1::FIELD_TYPE_REAL:
      v.set_real(double(pick(rng, 100000)) / 7);
      break;
    case v1::FIELD_TYPE_DATE:
      v.set_date_days(int32_t(pick(rng, 20000)));
      break;
    case v1::FIELD_TYPE_TIMESTAMP:
      v.set_timestamp_ms(int64_t(pick(rng, 1'800'000'000)) * 1000);
      break;
    default:
      v.set_text(pick(rng, 2) ? random_name(rng) + "的备注" : "note-" + random_digits(rng, 6));
  }
  return v;
}

v1::DatasetEntry random_entry(Rng& rng, int n) {
  static const v1::PiiKind kKinds[] = {v1::PII_NONE,       v1::PII_CITIZEN_ID, v1::PII_CREDIT_CODE,
                                       v1::PII_NAME,       v1::PII_PHONE,      v1::PII_ADDRESS,
                                       v1::PII_BIRTH_DATE, v1::PII_BIOMETRIC,  v1::PII_OTHER};
  static const v1::FieldType kTypes[] = {v1::FIELD_TYPE_TEXT, v1::FIELD_TYPE_INTEGER,
                                         v1::FIELD_TYPE_REAL, v1::FIELD_TYPE_DATE,
                                         v1::FIELD_TYPE_TIMESTAMP};
  static const char* grades[] = {"core",      "important", "general-4",
                                 "general-3", "general-2", "general-1"};
  static const char* opens[] = {"unconditional", "conditional", "closed"};
  static const char* shares[] = {"unconditional", "conditional", "none"};
  std::vector<test::FieldDef> fields;
  for (size_t i = 0, count = 1 + pick(rng, 8); i < count; ++i) {
    v1::PiiKind kind = kKinds[pick(rng, 9)];
    if (kind == v1::PII_BIOMETRIC && pick(rng, 3)) kind = v1::PII_OTHER;  // keep it rarer
    v1::FieldType type = kTypes[pick(rng, 5)];
    if (kind == v1::PII_CITIZEN_ID || kind == v1::PII_CREDIT_CODE || kind == v1::PII_NAME ||
        kind == v1::PII_PHONE || kind == v1::PII_ADDRESS)
      type = v1::FIELD_TYPE_TEXT;
    if (kind == v1::PII_BIRTH_DATE) type = v1::FIELD_TYPE_DATE;
    if (kind == v1::PII_BIOMETRIC) type = v1::FIELD_TYPE_BLOB;
    fields.push_back({"f" + std::to_string(i), type, kind});
  }
  return test::make_entry("rand.d" + std::to_string(n), "sjz-gongan", grades[pick(rng, 6)],
                          opens[pick(rng, 3)], shares[pick(rng, 3)], fields);
}

v1::Record random_record(Rng& rng, const v1::DatasetEntry& e) {
  v1::Record r;
  r.set_dataset(e.id());
  if (e.subject_kind() == "person") r.set_subject_id(random_citizen_id(rng));
  if (e.subject_kind() == "organisation") r.set_subject_id(random_credit_code(rng));
  r.set_record_key("K-" + random_digits(rng, 8));
  for (const auto& f : e.fields()) {
    auto* field = r.add_fields();
    field->set_name(f.name());
    *field->mutable_value() = random_value(rng, f);
  }
  // Rows may arrive out of catalog order.
  for (int i = r.fields_size() - 1; i > 0; --i)
    r.mutable_fields()->SwapElements(i, int(pick(rng, size_t(i) + 1)));
  return r;
}

const v1::Field* find_field(const v1::Record& r, const std::string& name) {
  for (const auto& f : r.fields()) {
    if (f.name() == name) return &f;
  }
  return nullptr;
}

std::vector<std::string> chars_of(const std::string& s) {
  std::vector<std::string> out;
  for (size_t i = 0; i < s.size();) {
    size_t len = 1;
    const auto b = static_cast<unsigned char>(s[i]);
    if (b >= 0xF0)
      len = 4;
    else if (b >= 0xE0)
      len = 3;
    else if (b >= 0xC0)
      len = 2;
    out.push_back(s.substr(i, len));
    i += len;
  }
  return out;
}

// The oracle: is `out` (nullptr = field absent) what `op` makes of `raw`?
void check_masked(const MaskOp& op, v1::PiiKind kind, const v1::FieldValue& raw,
                  const v1::FieldValue* out) {
  INFO("op " << mask_op_text(op) << " kind " << catalog::pii_kind_name(kind) << " raw "
             << raw.ShortDebugString() << " out " << (out ? out->ShortDebugString() : "absent"));
  const bool text = raw.kind_case() == v1::FieldValue::kText;
  if (op.kind == MaskKind::kDrop) {
    REQUIRE(out == nullptr);
    return;
  }
  REQUIRE(out != nullptr);
  if (op.kind == MaskKind::kKeep) {
    REQUIRE(out->SerializeAsString() == raw.SerializeAsString());
    return;
  }
  // Never the raw value.
  if (text) REQUIRE(out->text() != raw.text());
  switch (op.kind) {
    case MaskKind::kRedact:
      if (text) {
        REQUIRE(out->text() == "***");
      } else {
        REQUIRE(out->kind_case() == v1::FieldValue::KIND_NOT_SET);
      }
      return;
    case MaskKind::kKeepFirst:
    case MaskKind::kKeepLast:
    case MaskKind::kKeepEnds: {
      if (!text) {
        REQUIRE(out->kind_case() == v1::FieldValue::KIND_NOT_SET);
        return;
      }
      const auto in = chars_of(raw.text()), got = chars_of(out->text());
      REQUIRE(in.size() == got.size());
      size_t kept = 0;
      for (size_t i = 0; i < in.size(); ++i) {
        if (got[i] == "*") continue;
        REQUIRE(got[i] == in[i]);
        const bool at_start = i < op.first, at_end = i + op.last >= in.size();
        REQUIRE((at_start || at_end));
        ++kept;
      }
      REQUIRE(kept < in.size());
      return;
    }
    case MaskKind::kYear:
      if (raw.kind_case() == v1::FieldValue::kDateDays) {
        REQUIRE(out->integer() == civil_from_days(raw.date_days()).year);
      } else if (raw.kind_case() == v1::FieldValue::kTimestampMs) {
        REQUIRE(out->integer() ==
                civil_from_days((raw.timestamp_ms() + 8 * 3'600'000) / 86'400'000).year);
      } else if (text && kind == v1::PII_CITIZEN_ID) {
        const std::string& id = raw.text();
        REQUIRE(out->text() == std::string(6, '*') + id.substr(6, 4) + std::string(8, '*'));
      } else if (text) {
        REQUIRE((out->text() == "***" ||
                 (out->text().size() == 4 && raw.text().starts_with(out->text()))));
      } else {
        REQUIRE(out->kind_case() == v1::FieldValue::KIND_NOT_SET);
      }
      return;
    case MaskKind::kRegion:
      if (!text) {
        REQUIRE(out->kind_case() == v1::FieldValue::KIND_NOT_SET);
      } else if (kind == v1::PII_CITIZEN_ID) {
        REQUIRE(out->text() == raw.text().substr(0, op.level) + std::string(18 - op.level, '*'));
      } else if (kind == v1::PII_CREDIT_CODE) {
        REQUIRE(out->text() ==
                raw.text().substr(0, 2 + op.level) + std::string(16 - op.level, '*'));
      } else {
        const std::string& o = out->text();
        REQUIRE(o.ends_with("***"));
        REQUIRE(raw.text().starts_with(o.substr(0, o.size() - 3)));
        // At most the requested number of administrative units survive.
        const std::string kept = o.substr(0, o.size() - 3);
        REQUIRE(generalise_address(kept, op.level) == o);
      }
      return;
    case MaskKind::kToken: {
      REQUIRE(out->kind_case() == v1::FieldValue::kText);
      const std::string& t = out->text();
      REQUIRE(t.size() == 35);
      REQUIRE(t.starts_with("tk_"));
      // Stable: the same value masks to the same token.
      REQUIRE(apply_mask(op, kind, raw, token_key())->text() == t);
      if (text) REQUIRE(t.find(raw.text()) == std::string::npos);
      return;
    }
    default:
      FAIL("unexpected op");
  }
}

// Every personal text value of `raw` that an outside role must never see verbatim.
std::vector<std::string> personal_texts(const v1::Record& raw, const v1::DatasetEntry& e) {
  std::vector<std::string> out;
  for (const auto& f : raw.fields()) {
    for (const auto& spec : e.fields()) {
      if (spec.name() == f.name() && is_personal_kind(spec.pii()) &&
          f.value().kind_case() == v1::FieldValue::kText && utf8_length(f.value().text()) >= 2)
        out.push_back(f.value().text());
    }
  }
  if (e.subject_kind() == "person") out.push_back(raw.subject_id());
  return out;
}

TEST_CASE("property: every read path masks every personal field as its profile says",
          "[policy][mask][property]") {
  const Policy& policy = test::shipped_policy();
  Rng rng(43697);
  struct Caller {
    Role role;
    const char* principal;
    const char* agency;
    std::optional<AgreementKind> agreement;
  };
  const std::vector<Caller> callers = {
      {Role::kPublic, "", "", std::nullopt},
      {Role::kApplicant, "k-app", "", AgreementKind::kOpen},
      {Role::kAgency, "k-own", "sjz-gongan", std::nullopt},
      {Role::kAgency, "k-other", "sjz-minzheng", std::nullopt},
      {Role::kAgency, "k-other", "sjz-minzheng", AgreementKind::kShare},
      {Role::kOperator, "k-op", "", std::nullopt},
      {Role::kOfficer, "k-off", "", std::nullopt},
      {Role::kLicensed, "k-lic", "", AgreementKind::kLicence},
  };
  size_t paths = 0, outside_rows = 0, checked_fields = 0;
  std::vector<bool> role_seen(kRoleCount);
  for (int n = 0; n < 400; ++n) {
    const v1::DatasetEntry entry = random_entry(rng, n);
    const catalog::DatasetSchema schema(entry);
    const DatasetAttrs attrs = test::attrs(entry);
    for (const Caller& c : callers) {
      std::vector<Agreement> agreements;
      if (c.agreement) {
        agreements.push_back(test::make_agreement(
            "AG", *c.agreement, *c.agreement == AgreementKind::kShare ? c.agency : c.principal,
            entry.id()));
      }
      for (int a = 0; a < kActionCount; ++a) {
        if (!returns_data(Action(a))) continue;
        Request r;
        r.role = c.role;
        r.principal = c.principal;
        r.agency = c.agency;
        r.action = Action(a);
        r.dataset = &attrs;
        r.purpose = "research";
        r.agreements = agreements;
        r.now_ms = test::kNow;
        const Decision d = decide(policy, r);
        if (!d.allowed()) continue;
        REQUIRE(d.mask != nullptr);
        ++paths;
        role_seen[size_t(c.role)] = true;
        const RecordMasker masker(*d.mask, schema);
        for (int row = 0; row < 5; ++row) {
          const v1::Record raw = random_record(rng, entry);
          v1::Record out = raw;
          masker.mask(out, token_key());
          for (const auto& f : raw.fields()) {
            const v1::FieldSpec* spec = schema.field(f.name());
            REQUIRE(spec);
            check_masked(d.mask->op_for(entry.id(), *spec), spec->pii(), f.value(),
                         find_field(out, f.name()) ? &find_field(out, f.name())->value() : nullptr);
            ++checked_fields;
          }
          // The subject identifier follows the op of its kind.
          if (!raw.subject_id().empty()) {
            const v1::PiiKind sk =
                entry.subject_kind() == "person" ? v1::PII_CITIZEN_ID : v1::PII_CREDIT_CODE;
            v1::FieldValue sv, so;
            sv.set_text(raw.subject_id());
            so.set_text(out.subject_id());
            const MaskOp& op = d.mask->kind_op(sk);
            check_masked(op, sk, sv, op.kind == MaskKind::kDrop ? nullptr : &so);
            if (op.kind == MaskKind::kDrop) REQUIRE(out.subject_id().empty());
          }
          if (is_outside_role(c.role)) {
            ++outside_rows;
            const std::string bytes = out.SerializeAsString();
            for (const std::string& secret : personal_texts(raw, entry)) {
              INFO("raw personal value " << secret << " in " << out.ShortDebugString());
              REQUIRE(bytes.find(secret) == std::string::npos);
            }
            REQUIRE(out.record_key() != raw.record_key());
          }
        }
      }
    }
  }
  // The random walk reached every kind of reader.
  CHECK(role_seen[size_t(Role::kPublic)]);
  CHECK(role_seen[size_t(Role::kApplicant)]);
  CHECK(role_seen[size_t(Role::kAgency)]);
  CHECK(role_seen[size_t(Role::kOperator)]);
  CHECK(role_seen[size_t(Role::kLicensed)]);
  CHECK_FALSE(role_seen[size_t(Role::kOfficer)]);
  CHECK(paths > 500);
  CHECK(outside_rows > 500);
  CHECK(checked_fields > 10000);
}

}  // namespace
}  // namespace gongshu::policy
