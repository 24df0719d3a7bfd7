#include "tests/core/policy/policy_test_util.h"

#include <algorithm>
#include <filesystem>
#include <stdexcept>

#include "core/catalog/dataset.h"
#include "tests/support/test_support.h"

namespace gongshu::policy::test {

std::string shipped_policy_dir() { return std::string(GONGSHU_SOURCE_DIR) + "/policies/policy"; }

const Policy& shipped_policy() {
  static const Policy p = [] {
    auto r = load_policy_dir(shipped_policy_dir());
    if (!r) throw std::runtime_error("shipped policy: " + r.error().message());
    return std::move(*r);
  }();
  return p;
}

std::vector<v1::DatasetEntry> shipped_catalog() {
  namespace fs = std::filesystem;
  std::vector<std::string> paths;
  for (const auto& e :
       fs::directory_iterator(std::string(GONGSHU_SOURCE_DIR) + "/policies/catalog")) {
    if (e.path().extension() == ".toml") paths.push_back(e.path().string());
  }
  std::sort(paths.begin(), paths.end());
  std::vector<v1::DatasetEntry> out;
  for (const auto& p : paths) {
    auto e = catalog::parse_dataset_toml(gongshu::testing::read_text(p), p);
    if (!e) throw std::runtime_error(e.error().message());
    out.push_back(std::move(*e));
  }
  return out;
}

v1::DatasetEntry make_entry(const std::string& id, const std::string& provider,
                            const std::string& grade, const std::string& open,
                            const std::string& share, std::vector<FieldDef> fields,
                            const std::string& category) {
  v1::DatasetEntry e;
  e.set_id(id);
  e.set_name("测试数据");
  e.set_provider_agency(provider);
  e.set_grade(grade);
  e.set_open_attribute(open);
  e.set_share_attribute(share);
  e.set_update_frequency("daily");
  e.set_category(category);
  bool person = false, organisation = false;
  for (const auto& f : fields) {
    auto* s = e.add_fields();
    s->set_name(f.name);
    s->set_type(f.type);
    s->set_pii(f.pii);
    if (f.pii == v1::PII_CITIZEN_ID) person = true;
    if (f.pii == v1::PII_CREDIT_CODE) organisation = true;
    if (f.pii == v1::PII_BIOMETRIC) e.set_legal_basis("test");
  }
  e.set_subject_kind(person ? "person" : organisation ? "organisation" : "none");
  e.set_status("approved");
  return e;
}

std::vector<FieldDef> person_fields() {
  return {{"citizen_id", v1::FIELD_TYPE_TEXT, v1::PII_CITIZEN_ID},
          {"name", v1::FIELD_TYPE_TEXT, v1::PII_NAME},
          {"birth_date", v1::FIELD_TYPE_DATE, v1::PII_BIRTH_DATE},
          {"address", v1::FIELD_TYPE_TEXT, v1::PII_ADDRESS},
          {"household_size", v1::FIELD_TYPE_INTEGER, v1::PII_NONE}};
}

DatasetAttrs attrs(const v1::DatasetEntry& e) {
  auto a = DatasetAttrs::from_entry(e);
  if (!a) throw std::runtime_error(a.error().message());
  return std::move(*a);
}

Agreement make_agreement(const std::string& id, AgreementKind kind, const std::string& holder,
                         const std::string& dataset) {
  Agreement a;
  a.id = id;
  a.kind = kind;
  a.status = AgreementStatus::kActive;
  a.holder = holder;
  a.scope.push_back({dataset, {"*"}});
  a.purposes = {"research"};
  a.valid_from_ms = kNow - kDayMs;
  a.valid_to_ms = kNow + kDayMs;
  return a;
}

Result<Policy> parse_with_header(const std::string& text) {
  static const std::string kHeader = R"([policy]
version = "t-1"
[[grade]]
id = "core"
name = "核心数据"
[[grade]]
id = "important"
name = "重要数据"
[[grade]]
id = "general-4"
name = "一般数据（4级）"
[[grade]]
id = "general-3"
name = "一般数据（3级）"
[[grade]]
id = "general-2"
name = "一般数据（2级）"
[[grade]]
id = "general-1"
name = "一般数据（1级）"
[[mask]]
id = "raw"
[mask.pii]
citizen_id = "keep"
credit_code = "keep"
name = "keep"
phone = "keep"
address = "keep"
birth_date = "keep"
biometric = "keep"
other = "keep"
[[mask]]
id = "anon"
record_key = "token"
[[rate]]
id = "r"
requests_per_minute = 10
)";
  std::vector<PolicySource> sources = {{"head.toml", kHeader}, {"test.toml", text}};
  return Policy::parse(sources);
}

}  // namespace gongshu::policy::test
