#include "core/policy/agreement.h"

#include <array>
#include <cstdint>
#include <set>

#include "core/policy/toml_reader.h"

namespace gongshu::policy {
namespace {

constexpr std::array<std::string_view, 3> kKinds = {"open", "share", "licence"};
constexpr std::array<std::string_view, 5> kStatuses = {"pending", "active", "suspended", "revoked",
                                                       "expired"};

std::string joined(const auto& names) {
  std::string out;
  for (std::string_view n : names) out.append(out.empty() ? "" : ", ").append(n);
  return out;
}

}  // namespace

std::string_view agreement_kind_name(AgreementKind k) { return kKinds[size_t(k) % kKinds.size()]; }
std::string_view agreement_status_name(AgreementStatus s) {
  return kStatuses[size_t(s) % kStatuses.size()];
}

std::optional<AgreementKind> parse_agreement_kind(std::string_view s) {
  for (size_t i = 0; i < kKinds.size(); ++i) {
    if (kKinds[i] == s) return AgreementKind(i);
  }
  return std::nullopt;
}

std::optional<AgreementStatus> parse_agreement_status(std::string_view s) {
  for (size_t i = 0; i < kStatuses.size(); ++i) {
    if (kStatuses[i] == s) return AgreementStatus(i);
  }
  return std::nullopt;
}

Result<std::vector<Agreement>> parse_agreements_toml(std::string_view text,
                                                     const std::string& file_name) {
  if (text.size() > 4 * 1024 * 1024)
    return fail(ErrorCode::kInvalidArgument, file_name + ": larger than 4 MiB");
  std::vector<std::string> errors;
  std::vector<Agreement> out;
  auto root = detail::parse_toml(text, file_name, &errors);
  if (root) {
    detail::TomlReader rd(file_name, &errors);
    rd.check_keys(*root, {"agreement"}, "an agreements file");
    std::set<std::string> ids;
    static const toml::array kEmpty;
    if (const toml::node* n = root->get("agreement")) {
      const toml::array* arr = n->as_array();
      if (!arr) rd.error(*n, "'agreement' must be an array of tables: write [[agreement]]");
      for (const toml::node& item : arr ? *arr : kEmpty) {
        const toml::table* t = item.as_table();
        if (!t) {
          rd.error(item, "[[agreement]] must be a table");
          continue;
        }
        rd.check_keys(*t,
                      {"id", "kind", "status", "holder", "purposes", "valid_from", "valid_to",
                       "rows_remaining", "scope"},
                      "[[agreement]]");
        Agreement a;
        a.id = rd.string(*t, "id", true).value_or("");
        if (!a.id.empty() && !ids.insert(a.id).second)
          rd.error(*t, "agreement '" + a.id + "' is defined twice");
        if (auto k = rd.string(*t, "kind", true)) {
          if (auto v = parse_agreement_kind(*k)) {
            a.kind = *v;
          } else {
            rd.error(*t->get("kind"), "kind '" + *k + "' is not one of " + joined(kKinds));
          }
        }
        if (auto s = rd.string(*t, "status", true)) {
          if (auto v = parse_agreement_status(*s)) {
            a.status = *v;
          } else {
            rd.error(*t->get("status"), "status '" + *s + "' is not one of " + joined(kStatuses));
          }
        }
        a.holder = rd.string(*t, "holder", true).value_or("");
        if (auto p = rd.strings(*t, "purposes", true)) {
          for (auto& l : *p) a.purposes.push_back(std::move(l.value));
        }
        a.valid_from_ms = rd.instant(*t, "valid_from", true).value_or(0);
        a.valid_to_ms = rd.instant(*t, "valid_to", true).value_or(0);
        if (a.valid_to_ms <= a.valid_from_ms && t->get("valid_to") && t->get("valid_from"))
          rd.error(*t->get("valid_to"), "valid_to must be after valid_from");
        if (auto q = rd.integer(*t, "rows_remaining", 0, INT64_MAX)) a.rows_remaining = *q;
        const toml::node* scope = t->get("scope");
        const toml::array* scopes = scope ? scope->as_array() : nullptr;
        if (!scopes || scopes->empty()) {
          rd.error(scope ? *scope : item, "an agreement needs [[agreement.scope]] entries");
        }
        for (const toml::node& s : scopes ? *scopes : kEmpty) {
          const toml::table* st = s.as_table();
          if (!st) {
            rd.error(s, "[[agreement.scope]] must be a table");
            continue;
          }
          rd.check_keys(*st, {"dataset", "fields"}, "[[agreement.scope]]");
          AgreementScope sc;
          sc.dataset = rd.string(*st, "dataset", true).value_or("");
          if (auto f = rd.strings(*st, "fields", true)) {
            for (auto& l : *f) sc.fields.push_back(std::move(l.value));
          }
          a.scope.push_back(std::move(sc));
        }
        out.push_back(std::move(a));
      }
    }
  }
  if (!errors.empty()) {
    std::string m;
    for (const auto& e : errors) m.append(m.empty() ? "" : "\n").append(e);
    return fail(ErrorCode::kInvalidArgument, m);
  }
  return out;
}

}  // namespace gongshu::policy
