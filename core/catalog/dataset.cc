#include "core/catalog/dataset.h"

#include <toml++/toml.h>

#include <array>
#include <set>

#include "core/catalog/quality.h"
#include "core/util/clock.h"
#include "core/util/printable.h"

namespace gongshu::catalog {
namespace {

constexpr std::array kGrades = {"core",      "important", "general-1",
                                "general-2", "general-3", "general-4"};
constexpr std::array kOpen = {"unconditional", "conditional", "closed"};
constexpr std::array kShare = {"unconditional", "conditional", "none"};
constexpr std::array kFrequencies = {"realtime", "daily",     "weekly",
                                     "monthly",  "quarterly", "yearly"};
constexpr std::array kSubjects = {"person", "organisation", "none"};
constexpr std::array kCategories = {"population", "legal_person", "credit", "e_licence",
                                    "economy",    "geo",          "topic"};

template <size_t N>
bool one_of(const std::array<const char*, N>& options, std::string_view v) {
  for (const char* o : options) {
    if (v == o) return true;
  }
  return false;
}

template <size_t N>
std::string list(const std::array<const char*, N>& options) {
  std::string out;
  for (const char* o : options) {
    if (!out.empty()) out += ", ";
    out += o;
  }
  return out;
}

bool is_id(std::string_view s, bool allow_dots) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
              (allow_dots && (c == '.' || c == '-'));
    if (!ok) return false;
  }
  return true;
}

struct TypeName {
  v1::FieldType type;
  const char* name;
};
constexpr std::array<TypeName, 7> kTypes = {{{v1::FIELD_TYPE_TEXT, "text"},
                                             {v1::FIELD_TYPE_INTEGER, "integer"},
                                             {v1::FIELD_TYPE_REAL, "real"},
                                             {v1::FIELD_TYPE_BOOLEAN, "boolean"},
                                             {v1::FIELD_TYPE_BLOB, "blob"},
                                             {v1::FIELD_TYPE_DATE, "date"},
                                             {v1::FIELD_TYPE_TIMESTAMP, "timestamp"}}};
struct PiiName {
  v1::PiiKind kind;
  const char* name;
};
constexpr std::array<PiiName, 9> kPii = {{{v1::PII_NONE, "none"},
                                          {v1::PII_CITIZEN_ID, "citizen_id"},
                                          {v1::PII_CREDIT_CODE, "credit_code"},
                                          {v1::PII_NAME, "name"},
                                          {v1::PII_PHONE, "phone"},
                                          {v1::PII_ADDRESS, "address"},
                                          {v1::PII_BIRTH_DATE, "birth_date"},
                                          {v1::PII_BIOMETRIC, "biometric"},
                                          {v1::PII_OTHER, "other"}}};

std::string where(const std::string& file, const toml::source_region& src) {
  return file + ":" + std::to_string(src.begin.line);
}

// A range bound in the field's type: an integer; a real (an integer is taken too); a TOML
// date for a date field; a TOML date-time with an offset for a timestamp field.
Status parse_bound(const toml::node& n, const std::string& file, const char* key,
                   v1::FieldSpec& spec, bool is_min) {
  v1::FieldQuality* q = spec.mutable_quality();
  const std::string at = where(file, n.source()) + ": field '" + spec.name() + "': '" + key + "' ";
  switch (spec.type()) {
    case v1::FIELD_TYPE_INTEGER:
      if (auto v = n.value_exact<int64_t>()) {
        is_min ? q->set_min_int(*v) : q->set_max_int(*v);
        return {};
      }
      return fail(ErrorCode::kInvalidArgument, at + "must be an integer");
    case v1::FIELD_TYPE_REAL:
      if (n.is_floating_point() || n.is_integer()) {
        const double v = *n.value<double>();
        is_min ? q->set_min_real(v) : q->set_max_real(v);
        return {};
      }
      return fail(ErrorCode::kInvalidArgument, at + "must be a number");
    case v1::FIELD_TYPE_DATE:
      if (auto d = n.value<toml::date>()) {
        if (!is_valid_civil_date(d->year, d->month, d->day))
          return fail(ErrorCode::kInvalidArgument, at + "is not a calendar date");
        const int64_t days = days_from_civil({d->year, d->month, d->day});
        is_min ? q->set_min_int(days) : q->set_max_int(days);
        return {};
      }
      return fail(ErrorCode::kInvalidArgument, at + "must be a date (1949-10-01)");
    case v1::FIELD_TYPE_TIMESTAMP:
      if (auto t = n.value<toml::date_time>(); t && t->offset) {
        if (!is_valid_civil_date(t->date.year, t->date.month, t->date.day))
          return fail(ErrorCode::kInvalidArgument, at + "is not a calendar date");
        const int64_t days = days_from_civil({t->date.year, t->date.month, t->date.day});
        const int64_t ms = ((days * 86400 + t->time.hour * 3600 + t->time.minute * 60 +
                             t->time.second - t->offset->minutes * 60) *
                            1000) +
                           t->time.nanosecond / 1'000'000;
        is_min ? q->set_min_int(ms) : q->set_max_int(ms);
        return {};
      }
      return fail(ErrorCode::kInvalidArgument,
                  at + "must be a date-time with an offset (2026-01-01T00:00:00+08:00)");
    default:
      return fail(ErrorCode::kInvalidArgument,
                  at + "(a range) applies only to integer, real, date or timestamp fields");
  }
}

// The quality rules of one [[field]] table, into spec.quality(). Whether they suit the
// field's type is judged by validate_dataset() (check_field_quality), for every source of
// entries alike; here only their TOML form.
Status parse_quality(const toml::table& f, const std::string& file, v1::FieldSpec& spec) {
  const std::string field = "field '" + spec.name() + "': ";
  if (const toml::node* n = f.get("min"))
    GONGSHU_RETURN_IF_ERROR(parse_bound(*n, file, "min", spec, true));
  if (const toml::node* n = f.get("max"))
    GONGSHU_RETURN_IF_ERROR(parse_bound(*n, file, "max", spec, false));
  for (const char* key : {"min_length", "max_length"}) {
    const toml::node* n = f.get(key);
    if (!n) continue;
    auto v = n->value_exact<int64_t>();
    if (!v || *v < 0 || *v > 1'000'000)
      return fail(ErrorCode::kInvalidArgument, where(file, n->source()) + ": " + field + "'" + key +
                                                   "' must be a whole number of characters");
    const auto len = static_cast<uint32_t>(*v);
    std::string_view(key) == "min_length" ? spec.mutable_quality()->set_min_length(len)
                                          : spec.mutable_quality()->set_max_length(len);
  }
  if (const toml::node* n = f.get("chars")) {
    auto v = n->value<std::string>();
    if (!v)
      return fail(ErrorCode::kInvalidArgument, where(file, n->source()) + ": " + field +
                                                   "'chars' must be a string such as \"0-9A-Z\"");
    if (auto c = parse_char_class(*v); !c)
      return fail(ErrorCode::kInvalidArgument,
                  where(file, n->source()) + ": " + field + "'chars': " + c.error().message());
    spec.mutable_quality()->set_chars(*v);
  }
  if (const toml::node* n = f.get("prefix")) {
    const std::string bad = where(file, n->source()) + ": " + field +
                            "'prefix' must be a string or an array of strings";
    if (auto v = n->value<std::string>()) {
      spec.mutable_quality()->add_prefixes(*v);
    } else if (const toml::array* a = n->as_array()) {
      if (a->empty()) return fail(ErrorCode::kInvalidArgument, bad);
      for (const toml::node& e : *a) {
        auto s = e.value<std::string>();
        if (!s) return fail(ErrorCode::kInvalidArgument, bad);
        spec.mutable_quality()->add_prefixes(*s);
      }
    } else {
      return fail(ErrorCode::kInvalidArgument, bad);
    }
  }
  if (const toml::node* n = f.get("references")) {
    auto v = n->value_exact<std::string>();
    if (!v)
      return fail(ErrorCode::kInvalidArgument,
                  where(file, n->source()) + ": " + field +
                      "'references' must be a string naming a dataset (\"market.entity\")");
    spec.mutable_quality()->set_references(*v);
  }
  if (const toml::node* n = f.get("pattern")) {
    auto v = n->value_exact<std::string>();
    if (!v)
      return fail(ErrorCode::kInvalidArgument,
                  where(file, n->source()) + ": " + field +
                      "'pattern' must be a string, a regular expression such as '^[0-9]{11}$'");
    // Compiled here for the line number; validate_dataset() judges it again for every source.
    if (auto p = Pattern::compile(*v); !p)
      return fail(ErrorCode::kInvalidArgument,
                  where(file, n->source()) + ": " + field + "'pattern': " + p.error().message());
    spec.mutable_quality()->set_pattern(*v);
  }
  if (const toml::node* n = f.get("allowed")) {
    const toml::array* a = n->as_array();
    const std::string bad = where(file, n->source()) + ": " + field +
                            "'allowed' must be a non-empty array of strings (text field) or "
                            "integers (integer field)";
    if (!a || a->empty()) return fail(ErrorCode::kInvalidArgument, bad);
    for (const toml::node& e : *a) {
      if (spec.type() == v1::FIELD_TYPE_INTEGER) {
        auto i = e.value_exact<int64_t>();
        if (!i) return fail(ErrorCode::kInvalidArgument, bad);
        spec.mutable_quality()->add_allowed_int(*i);
      } else {
        auto s = e.value_exact<std::string>();
        if (!s) return fail(ErrorCode::kInvalidArgument, bad);
        spec.mutable_quality()->add_allowed_text(*s);
      }
    }
  }
  return {};
}

}  // namespace

std::string_view field_type_name(v1::FieldType type) {
  for (const auto& t : kTypes) {
    if (t.type == type) return t.name;
  }
  return "unknown";
}

std::string_view pii_kind_name(v1::PiiKind kind) {
  for (const auto& p : kPii) {
    if (p.kind == kind) return p.name;
  }
  return "unknown";
}

std::optional<v1::PiiKind> parse_pii_kind(std::string_view name) {
  for (const auto& p : kPii) {
    if (p.name == name) return p.kind;
  }
  return std::nullopt;
}

Status validate_dataset(const v1::DatasetEntry& e) {
  if (e.state_secret()) {
    return fail(ErrorCode::kInvalidArgument,
                "dataset '" + printable(e.id()) +
                    "' is declared a state secret: state secrets are outside the platform "
                    "(R-01); this entry is refused");
  }
  std::vector<std::string> problems;
  if (!is_id(e.id(), true) || e.id().size() < 3)
    problems.push_back("id '" + e.id() + "' must be 3..64 of [a-z0-9_.-]");
  if (e.name().empty()) problems.push_back("name is empty");
  // Names and descriptions are shown to people: text without control characters
  // (docs/protocol.md, "Text and control characters").
  if (!is_printable(e.name())) problems.push_back("name holds control characters");
  if (!is_printable(e.legal_basis())) problems.push_back("legal_basis holds control characters");
  if (!is_id(e.provider_agency(), true))
    problems.push_back("provider '" + e.provider_agency() + "' is not an agency id");
  if (!one_of(kGrades, e.grade()))
    problems.push_back("grade '" + e.grade() + "' is not one of " + list(kGrades));
  if (!one_of(kOpen, e.open_attribute()))
    problems.push_back("open '" + e.open_attribute() + "' is not one of " + list(kOpen));
  if (!one_of(kShare, e.share_attribute()))
    problems.push_back("share '" + e.share_attribute() + "' is not one of " + list(kShare));
  if (!one_of(kFrequencies, e.update_frequency()))
    problems.push_back("update_frequency '" + e.update_frequency() + "' is not one of " +
                       list(kFrequencies));
  if (!one_of(kSubjects, e.subject_kind()))
    problems.push_back("subject '" + e.subject_kind() + "' is not one of " + list(kSubjects));
  if (!one_of(kCategories, e.category()))
    problems.push_back("category '" + e.category() + "' is not one of " + list(kCategories));
  if (e.fields_size() == 0) problems.push_back("no fields");
  std::set<std::string> names;
  bool biometric = false;
  for (const auto& f : e.fields()) {
    if (!is_id(f.name(), false))
      problems.push_back("field name '" + f.name() + "' must be [a-z0-9_]");
    if (!is_printable(f.description()))
      problems.push_back("field '" + f.name() + "' description holds control characters");
    if (!names.insert(f.name()).second)
      problems.push_back("field '" + f.name() + "' is defined twice");
    if (f.pii() == v1::PII_BIOMETRIC) biometric = true;
    if ((f.pii() == v1::PII_CITIZEN_ID || f.pii() == v1::PII_CREDIT_CODE) &&
        f.type() != v1::FIELD_TYPE_TEXT) {
      problems.push_back("field '" + f.name() + "' holds an identifier and must be of type text");
    }
    check_field_quality(f, problems);
  }
  if (biometric && e.legal_basis().empty()) {
    problems.push_back("a biometric field needs a legal_basis (R-09)");
  }
  if (problems.empty()) return {};
  std::string m;
  for (const auto& p : problems) m += (m.empty() ? "" : "; ") + p;
  return fail(ErrorCode::kInvalidArgument, "dataset " + e.id() + ": " + m);
}

Result<v1::DatasetEntry> parse_dataset_toml(std::string_view text, const std::string& file) {
  if (text.size() > 1024 * 1024)
    return fail(ErrorCode::kInvalidArgument, file + ": larger than 1 MiB");
  toml::table root;
  try {
    root = toml::parse(text, file);
  } catch (const toml::parse_error& e) {
    return fail(ErrorCode::kInvalidArgument,
                where(file, e.source()) + ": " + std::string(e.description()));
  }
  const toml::table* ds = root["dataset"].as_table();
  if (!ds) return fail(ErrorCode::kInvalidArgument, file + ": missing [dataset] table");
  v1::DatasetEntry e;
  // Reads a string key; a missing key leaves the default, a wrong type is an error.
  std::string error;
  auto str = [&](const toml::table& t, const char* key, std::string* out, bool required) {
    const toml::node* n = t.get(key);
    if (!n) {
      if (required && error.empty())
        error = where(file, t.source()) + ": missing key '" + key + "'";
      return;
    }
    if (auto v = n->value<std::string>()) {
      *out = *v;
    } else if (error.empty()) {
      error = where(file, n->source()) + ": '" + key + "' must be a string";
    }
  };
  std::string tmp;
  str(*ds, "id", e.mutable_id(), true);
  str(*ds, "name", e.mutable_name(), true);
  str(*ds, "provider", e.mutable_provider_agency(), true);
  str(*ds, "grade", e.mutable_grade(), true);
  str(*ds, "open", e.mutable_open_attribute(), true);
  str(*ds, "share", e.mutable_share_attribute(), true);
  str(*ds, "update_frequency", e.mutable_update_frequency(), true);
  str(*ds, "subject", e.mutable_subject_kind(), true);
  str(*ds, "category", e.mutable_category(), true);
  str(*ds, "legal_basis", e.mutable_legal_basis(), false);
  if (!error.empty()) return fail(ErrorCode::kInvalidArgument, error);
  if (const toml::node* n = ds->get("state_secret")) {
    auto b = n->value<bool>();
    if (!b)
      return fail(ErrorCode::kInvalidArgument,
                  where(file, n->source()) + ": 'state_secret' must be true or false");
    if (*b) {
      return fail(ErrorCode::kInvalidArgument,
                  where(file, n->source()) +
                      ": state secrets are outside the platform (R-01); this entry is refused");
    }
  }
  for (const auto& [k, v] : *ds) {
    static const std::set<std::string_view> known = {
        "id",      "name",     "provider",    "grade",       "open", "share", "update_frequency",
        "subject", "category", "legal_basis", "state_secret"};
    if (!known.count(k.str())) {
      return fail(ErrorCode::kInvalidArgument, where(file, v.source()) + ": unknown key '" +
                                                   std::string(k.str()) + "' in [dataset]");
    }
  }
  const toml::array* fields = root["field"].as_array();
  if (!fields) return fail(ErrorCode::kInvalidArgument, file + ": no [[field]] entries");
  for (const toml::node& node : *fields) {
    const toml::table* f = node.as_table();
    if (!f)
      return fail(ErrorCode::kInvalidArgument,
                  where(file, node.source()) + ": [[field]] must be a table");
    v1::FieldSpec* spec = e.add_fields();
    std::string type, pii = "none";
    str(*f, "name", spec->mutable_name(), true);
    str(*f, "type", &type, true);
    str(*f, "pii", &pii, false);
    str(*f, "description", spec->mutable_description(), false);
    if (!error.empty()) return fail(ErrorCode::kInvalidArgument, error);
    bool type_ok = false, pii_ok = false;
    for (const auto& t : kTypes) {
      if (type == t.name) {
        spec->set_type(t.type);
        type_ok = true;
      }
    }
    for (const auto& p : kPii) {
      if (pii == p.name) {
        spec->set_pii(p.kind);
        pii_ok = true;
      }
    }
    if (!type_ok)
      return fail(ErrorCode::kInvalidArgument, where(file, f->source()) + ": field '" +
                                                   spec->name() + "': unknown type '" + type + "'");
    if (!pii_ok)
      return fail(ErrorCode::kInvalidArgument, where(file, f->source()) + ": field '" +
                                                   spec->name() + "': unknown pii kind '" + pii +
                                                   "'");
    if (const toml::node* r = f->get("required")) {
      auto b = r->value<bool>();
      if (!b)
        return fail(ErrorCode::kInvalidArgument,
                    where(file, r->source()) + ": 'required' must be true or false");
      spec->set_required(*b);
    }
    for (const auto& [k, v] : *f) {
      static const std::set<std::string_view> known = {
          "name",       "type",       "pii",   "description", "required", "min",        "max",
          "min_length", "max_length", "chars", "prefix",      "allowed",  "references", "pattern"};
      if (!known.count(k.str())) {
        return fail(ErrorCode::kInvalidArgument, where(file, v.source()) + ": field '" +
                                                     spec->name() + "': unknown key '" +
                                                     std::string(k.str()) + "'");
      }
    }
    GONGSHU_RETURN_IF_ERROR(parse_quality(*f, file, *spec));
  }
  e.set_status("draft");
  GONGSHU_RETURN_IF_ERROR(with_context(validate_dataset(e), file));
  return e;
}

DatasetSchema::DatasetSchema(v1::DatasetEntry entry) : entry_(std::move(entry)) {
  for (int i = 0; i < entry_.fields_size(); ++i) {
    const auto& f = entry_.fields(i);
    by_name_.emplace(f.name(), i);
    if (f.required()) required_.push_back(i);
    if (f.pii() != v1::PII_NONE) personal_ = true;
    rules_.emplace_back(f);
    if (!f.quality().references().empty()) references_.push_back(i);
  }
}

const v1::FieldSpec* DatasetSchema::field(std::string_view name) const {
  const int index = field_index(name);
  return index < 0 ? nullptr : &entry_.fields(index);
}

int DatasetSchema::field_index(std::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? -1 : it->second;
}

}  // namespace gongshu::catalog
