// gongshuctl policy check | validate: asks the policy library (core/policy) offline what it
// would decide, and why — the same decide()/explain() the daemon calls for every request — so
// operators can test a policy change before they reload gongshud with it, and anyone can see
// why a request was denied.

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/catalog/dataset.h"
#include "core/policy/agreement.h"
#include "core/policy/alerts.h"
#include "core/policy/dataset_attrs.h"
#include "core/policy/decide.h"
#include "core/policy/policy.h"
#include "core/util/clock.h"
#include "core/util/fd.h"
#include "core/util/i18n.h"
#include "core/util/json.h"
#include "core/util/local_time.h"
#include "core/util/printable.h"
#include "tools/ctl/commands.h"

namespace gongshu::ctl {
namespace {

namespace fs = std::filesystem;
using policy::Action;
using policy::Role;

constexpr size_t kMaxCatalogFile = 1 << 20;

// The policies/ directory: the source tree's when gongshuctl runs from a build tree (its
// CMakeCache.txt names the source directory), otherwise the installed one.
std::string default_policies_root() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const fs::path cache = exe.parent_path().parent_path() / "CMakeCache.txt";
    if (auto text = read_file(cache.string(), 4 << 20)) {
      const std::string_view t = as_chars(*text);
      constexpr std::string_view kKey = "gongshu_SOURCE_DIR:STATIC=";
      if (auto at = t.find(kKey); at != std::string_view::npos) {
        const auto start = at + kKey.size();
        const auto end = t.find('\n', start);
        const fs::path root = fs::path(std::string(t.substr(start, end - start))) / "policies";
        if (fs::is_directory(root / "policy", ec)) return root.string();
      }
    }
  }
  return "/etc/gongshu/policies";
}

// "2026-03-02", "2026-03-02T12:00", "2026-03-02T12:00:00Z", "...+08:00"; no zone means the
// local zone (core/util/local_time.h: TZ, else Asia/Shanghai), as for every date typed.
std::optional<int64_t> parse_time(std::string_view s) {
  auto num = [&](size_t at, size_t len) -> int {
    if (at + len > s.size()) return -1;
    int v = 0;
    for (size_t i = at; i < at + len; ++i) {
      if (s[i] < '0' || s[i] > '9') return -1;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  const int y = num(0, 4), mo = num(5, 2), d = num(8, 2);
  if (s.size() < 10 || s[4] != '-' || s[7] != '-' || y < 0 || mo < 0 || d < 0 ||
      !is_valid_civil_date(y, unsigned(mo), unsigned(d)))
    return std::nullopt;
  int h = 0, mi = 0, sec = 0;
  size_t i = 10;
  if (i < s.size() && (s[i] == 'T' || s[i] == ' ')) {
    h = num(i + 1, 2);
    mi = num(i + 4, 2);
    if (h < 0 || mi < 0 || h > 23 || mi > 59 || s.size() < i + 6 || s[i + 3] != ':')
      return std::nullopt;
    i += 6;
    if (i < s.size() && s[i] == ':') {
      sec = num(i + 1, 2);
      if (sec < 0 || sec > 60) return std::nullopt;
      i += 3;
    }
  }
  if (i == s.size()) {  // no offset: civil time in the local zone, its own rules
    auto t = local_time_to_ms(y, unsigned(mo), unsigned(d), h, mi, sec);
    if (!t) return std::nullopt;
    return *t;
  }
  int offset_min = 0;
  if (s.size() == i + 6 && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
    const int oh = num(i + 1, 2), om = num(i + 4, 2);
    if (oh < 0 || om < 0) return std::nullopt;
    offset_min = (s[i] == '-' ? -1 : 1) * (oh * 60 + om);
  } else if (s.substr(i) != "Z") {
    return std::nullopt;
  }
  const int64_t days = days_from_civil({y, unsigned(mo), unsigned(d)});
  return ((days * 24 + h) * 60 + mi - offset_min) * 60'000 + int64_t(sec) * 1000;
}

std::string role_names() {
  std::string out;
  for (int i = 0; i < policy::kRoleCount; ++i)
    out.append(i ? ", " : "").append(policy::role_name(Role(i)));
  return out;
}

std::string action_names() {
  std::string out;
  for (int i = 0; i < policy::kActionCount; ++i)
    out.append(i ? ", " : "").append(policy::action_name(Action(i)));
  return out;
}

std::string where(const policy::Rule& r) { return r.file + ":" + std::to_string(r.line); }

std::string rows_text(const std::optional<uint64_t>& v) {
  return v ? std::to_string(*v) : std::string(tr("no cap"));
}

struct LoadedPolicy {
  policy::Policy policy;
  policy::AlertRules alerts;
};

// As gongshud loads it (daemon/daemon.cc): the access policy and, beside it, alerts.toml and
// calendar.toml, refused together — a mistake in either refuses gongshud's reload, so it fails
// here too.
Result<LoadedPolicy> load_policy(std::string dir) {
  // A policies/ root is accepted for its policy/ subdirectory.
  std::error_code ec;
  if (fs::is_directory(fs::path(dir) / "policy", ec)) dir = (fs::path(dir) / "policy").string();
  GONGSHU_TRY(policy::Policy p, policy::load_policy_dir(dir));
  GONGSHU_TRY(policy::AlertRules a, policy::load_alert_rules(dir));
  return LoadedPolicy{std::move(p), std::move(a)};
}

Result<std::vector<v1::DatasetEntry>> load_catalog(const std::vector<std::string>& args) {
  std::vector<std::string> files;
  for (const auto& a : args) {
    std::error_code ec;
    if (!fs::is_directory(a, ec)) {
      files.push_back(a);
      continue;
    }
    std::vector<std::string> in_dir;
    for (fs::directory_iterator it(a, ec), end; !ec && it != end; it.increment(ec)) {
      if (it->path().extension() == ".toml") in_dir.push_back(it->path().string());
    }
    if (ec) return fail(ErrorCode::kIo, trf("catalog directory {}: {}", a, ec.message()));
    std::sort(in_dir.begin(), in_dir.end());
    files.insert(files.end(), in_dir.begin(), in_dir.end());
  }
  std::vector<v1::DatasetEntry> out;
  for (const auto& f : files) {
    GONGSHU_TRY(Bytes text, with_context(read_file(f, kMaxCatalogFile), f));
    GONGSHU_TRY(v1::DatasetEntry e, catalog::parse_dataset_toml(as_chars(text), f));
    out.push_back(std::move(e));
  }
  return out;
}

struct CheckOptions {
  std::string as;
  std::string action;
  std::string dataset;
  std::string purpose;
  std::string agreement_id;
  std::string agreements_file;
  std::vector<std::string> fields;
  std::string policy_dir;
  std::vector<std::string> catalog;
  std::string at;
  bool all = false;
  bool json = false;
};

void print_human(const policy::Policy& p, const policy::Request& r, const v1::DatasetEntry& e,
                 const policy::Explanation& x, bool all) {
  const policy::Decision& d = x.decision;
  std::string out;
  auto line = [&out](std::string_view label, const std::string& value) {
    out.append(label).append(10 - label.size(), ' ').append(value).append("\n");
  };
  line("decision", d.allowed() ? "ALLOW" : "DENY");
  line("rule", std::string(d.rule_id) + (d.rule ? "  (" + where(*d.rule) + ")" : ""));
  line("policy", p.version() + "  (sha256 " + p.digest().substr(0, 16) + ")");
  line("why", x.summary);
  if (d.allowed()) {
    std::string limits = d.limits.k_threshold
                             ? trf("max rows {}, groups under {} suppressed",
                                   rows_text(d.limits.max_rows), d.limits.k_threshold)
                             : trf("max rows {}", rows_text(d.limits.max_rows));
    if (d.limits.rate) {
      limits += ", rate " + d.limits.rate->id + " (" +
                std::to_string(d.limits.rate->requests_per_minute) + "/min)";
    }
    line("limits", limits);
    if (d.agreement) line("agreement", printable(d.agreement->id));
    if (d.mask) {
      line("mask", d.mask->id());
      for (const auto& f : e.fields()) {
        out.append("            ")
            .append(printable(f.name()))
            .append(" (")
            .append(catalog::pii_kind_name(f.pii()))
            .append("): ")
            .append(policy::mask_op_text(d.mask->op_for(e.id(), f)))
            .append("\n");
      }
    }
  }
  line("request", "role " + std::string(policy::role_name(r.role)) +
                      (r.agency.empty() ? "" : " (agency " + printable(r.agency) + ")") +
                      ", action " + std::string(policy::action_name(r.action)) + ", purpose " +
                      (r.purpose.empty() ? std::string("-") : printable(r.purpose)) + ", at " +
                      format_local_time(r.now_ms));
  line("dataset", printable(e.id()) + " " + printable(e.name()) + "  grade " + e.grade() +
                      ", open " + e.open_attribute() + ", share " + e.share_attribute() +
                      ", category " + e.category() + ", provider " +
                      printable(e.provider_agency()));
  out.append("\n")
      .append(all ? tr("rules (policy order; * = matched):")
                  : tr("rules for this role and action (policy order; * = matched):"))
      .append("\n");
  size_t hidden = 0;
  for (const auto& v : x.rules) {
    const bool applies =
        (v.rule->roles & policy::bit(r.role)) && (v.rule->actions & policy::bit(r.action));
    if (!all && !applies) {
      ++hidden;
      continue;
    }
    out.append(v.matched ? "  * " : "    ")
        .append(policy::effect_name(v.rule->effect))
        .append(v.rule->effect == policy::Effect::kDeny ? "   " : "  ")
        .append(v.rule->id)
        .append("  ")
        .append(where(*v.rule))
        .append("\n           ")
        .append(v.reason)
        .append("\n");
  }
  if (hidden) {
    out.append("  (" +
               trf("{} other rules are for other roles or actions; --all shows them", hidden) +
               ")\n");
  }
  std::cout << out << std::flush;
}

void print_json(const policy::Policy& p, const policy::Request& r, const v1::DatasetEntry& e,
                const policy::Explanation& x) {
  const policy::Decision& d = x.decision;
  JsonWriter w;
  w.begin_object().field("decision", policy::effect_name(d.effect)).field("rule", d.rule_id);
  w.key("rule_file");
  if (d.rule) {
    w.value(d.rule->file).field("rule_line", d.rule->line);
  } else {
    w.null().key("rule_line").null();
  }
  w.field("policy_version", p.version()).field("policy_digest", p.digest());
  w.field("summary", x.summary);
  w.key("mask");
  if (d.mask) {
    w.value(d.mask->id());
  } else {
    w.null();
  }
  w.key("fields").begin_array();
  if (d.mask) {
    for (const auto& f : e.fields()) {
      w.begin_object()
          .field("name", f.name())
          .field("pii", catalog::pii_kind_name(f.pii()))
          .field("mask", policy::mask_op_text(d.mask->op_for(e.id(), f)))
          .end_object();
    }
  }
  w.end_array();
  w.key("limits").begin_object().key("max_rows");
  if (d.limits.max_rows) {
    w.value(*d.limits.max_rows);
  } else {
    w.null();
  }
  w.field("k_threshold", d.limits.k_threshold).key("rate");
  if (d.limits.rate) {
    w.value(d.limits.rate->id);
  } else {
    w.null();
  }
  w.end_object();
  w.key("agreement");
  if (d.agreement) {
    w.value(d.agreement->id);
  } else {
    w.null();
  }
  w.key("request")
      .begin_object()
      .field("role", policy::role_name(r.role))
      .field("principal", r.principal)
      .field("agency", r.agency)
      .field("action", policy::action_name(r.action))
      .field("dataset", e.id())
      .field("purpose", r.purpose)
      .field("at", format_utc(r.now_ms * 1'000'000))
      .end_object();
  w.key("rules").begin_array();
  for (const auto& v : x.rules) {
    w.begin_object()
        .field("id", v.rule->id)
        .field("effect", policy::effect_name(v.rule->effect))
        .field("file", v.rule->file)
        .field("line", v.rule->line)
        .field("applies",
               (v.rule->roles & policy::bit(r.role)) && (v.rule->actions & policy::bit(r.action)))
        .field("matched", v.matched)
        .field("reason", v.reason)
        .end_object();
  }
  w.end_array().end_object();
  std::cout << w.str() << "\n" << std::flush;
}

int run_check(const CheckOptions& o) {
  auto usage = [](const std::string& m) {
    std::cerr << "gongshuctl policy check: " << m << "\n";  // i18n-exempt: program, command
    return 2;
  };
  // --as ROLE[:NAME]
  const auto colon = o.as.find(':');
  const std::string role_text = o.as.substr(0, colon);
  const std::string name = colon == std::string::npos ? "" : o.as.substr(colon + 1);
  const auto role = policy::parse_role(role_text);
  if (!role)
    return usage(tr("unknown role '") + printable(role_text) + "'; roles: " + role_names());
  const auto action = policy::parse_action(o.action);
  if (!action) {
    return usage(tr("unknown action '") + printable(o.action) + "'; actions: " + action_names());
  }
  if ((*role == Role::kAgent || *role == Role::kAgency) && name.empty()) {
    return usage(trf("{}:AGENCY needs the caller's agency id", "--as " + role_text));
  }
  int64_t now_ms = SystemClock::instance().now_ms();
  if (!o.at.empty()) {
    auto t = parse_time(o.at);
    if (!t) {
      return usage(
          trf("--at '{}': use e.g. 2026-03-02T12:00:00+08:00, or 2026-03-02T12:00 in "
              "the local zone ({})",
              printable(o.at), local_zone_name()));
    }
    now_ms = *t;
  }
  if (!o.agreement_id.empty() && o.agreements_file.empty()) {
    return usage(
        tr("--agreement needs --agreements FILE holding the agreement's facts (this check runs "
           "offline)"));
  }

  const std::string root = default_policies_root();
  auto loaded = load_policy(o.policy_dir.empty() ? root + "/policy" : o.policy_dir);
  if (!loaded) {
    std::cerr << "gongshuctl: " <<  // i18n-exempt: the program's name
        printable_lines(loaded.error().message()) << "\n";
    return 2;
  }
  const policy::Policy* p = &loaded->policy;
  auto entries =
      load_catalog(o.catalog.empty() ? std::vector<std::string>{root + "/catalog"} : o.catalog);
  if (!entries) {
    std::cerr << "gongshuctl: " <<  // i18n-exempt: the program's name
        printable_lines(entries.error().message()) << "\n";
    return 2;
  }
  const v1::DatasetEntry* entry = nullptr;
  for (const auto& e : *entries) {
    if (e.id() == o.dataset) entry = &e;
  }
  if (!entry) {
    return usage(trf("dataset '{}' is in none of the {} catalog entries read (--catalog)",
                     printable(o.dataset), entries->size()));
  }
  auto attrs = policy::DatasetAttrs::from_entry(*entry);
  if (!attrs) {
    std::cerr << "gongshuctl: " <<  // i18n-exempt: the program's name
        printable_lines(attrs.error().message()) << "\n";
    return 2;
  }

  std::vector<policy::Agreement> agreements;
  if (!o.agreements_file.empty()) {
    auto text = read_file(o.agreements_file, 4 << 20);
    if (!text) {
      std::cerr << "gongshuctl: " <<  // i18n-exempt: the program's name
          o.agreements_file << ": " << printable(text.error().message()) << "\n";
      return 2;
    }
    auto parsed = policy::parse_agreements_toml(as_chars(*text), o.agreements_file);
    if (!parsed) {
      std::cerr << "gongshuctl: " <<  // i18n-exempt: the program's name
          printable_lines(parsed.error().message()) << "\n";
      return 2;
    }
    for (auto& a : *parsed) {
      if (o.agreement_id.empty() || a.id == o.agreement_id) agreements.push_back(std::move(a));
    }
    if (!o.agreement_id.empty() && agreements.empty()) {
      return usage(
          trf("agreement '{}' is not in {}", printable(o.agreement_id), o.agreements_file));
    }
  }

  std::vector<std::string_view> fields(o.fields.begin(), o.fields.end());
  policy::Request r;
  r.role = *role;
  if (*role == Role::kAgent || *role == Role::kAgency) {
    r.agency = name;
  } else {
    r.principal = name;
  }
  r.action = *action;
  r.dataset = &*attrs;
  r.purpose = o.purpose;
  r.fields = fields;
  r.agreements = agreements;
  r.now_ms = now_ms;
  const policy::Explanation x = policy::explain(*p, r);
  if (o.json) {
    print_json(*p, r, *entry, x);
  } else {
    print_human(*p, r, *entry, x, o.all);
  }
  return x.decision.allowed() ? 0 : 1;
}

}  // namespace

void add_policy_commands(CLI::App& app, int* exit_code) {
  CLI::App* pol =
      app.add_subcommand("policy", tr("Access policy: check decisions, validate files"));
  pol->require_subcommand(1);

  auto o = std::make_shared<CheckOptions>();
  CLI::App* check = pol->add_subcommand(
      "check",
      tr("Decide offline, as gongshud would, whether a caller may do an action on a dataset, and\n"
         "explain why: the decision, the deciding rule (file:line), the policy version, the mask\n"
         "profile and how it masks each field of the dataset, the limits, and every rule for the\n"
         "role and action with why it matched or not (--all: every rule). Deny wins; nothing\n"
         "matching means deny (default-deny). The dataset's attributes come from TOML catalog\n"
         "entries (--catalog FILE|DIR...; default: the catalog/ beside the policy directory).\n"
         "Agreements (R-13, R-18, R-20) come from a TOML file (--agreements; format in\n"
         "docs/policy.md), all of them or the one named by --agreement.\n"
         "With --json: one object with decision, rule, rule_file, rule_line, policy_version,\n"
         "policy_digest, summary, mask, fields[{name, pii, mask}], limits{max_rows, k_threshold,\n"
         "rate}, agreement, request{...} and rules[{id, effect, file, line, applies, matched,\n"
         "reason}].\n"
         "Exit status: 0 allow, 1 deny, 2 usage error or unreadable files."));
  check
      ->add_option("--as", o->as,
                   trf("ROLE[:NAME]: the caller. ROLE is one of {}. NAME is the agency id for "
                       "agent and agency, else the caller's key\nid (matched against agreement "
                       "holders)",
                       role_names()))
      ->required();
  check->add_option("--action", o->action, trf("One of {}", action_names()))->required();
  check->add_option("--dataset", o->dataset, tr("Dataset id"))->required();
  check->add_option("--purpose", o->purpose, tr("The purpose the request states"));
  check->add_option("--fields", o->fields, tr("Fields requested (default: all)"))->delimiter(',');
  check->add_option("--agreements", o->agreements_file,
                    tr("TOML file of agreements the caller holds"));
  check->add_option("--agreement", o->agreement_id, tr("Use only this agreement of --agreements"));
  check->add_option(
      "--at", o->at,
      tr("Decide at this time instead of now, e.g. 2026-03-02T12:00:00+08:00 (no zone: the "
         "local zone, TZ or else Asia/Shanghai)"));
  check->add_option("--policy-dir", o->policy_dir,
                    tr("Policy directory (default: policies/policy of the source tree when run\n"
                       "from a build tree, else /etc/gongshu/policies/policy)"));
  check->add_option("--catalog", o->catalog, tr("Catalog entry files or directories"));
  check->add_flag("--all", o->all, tr("List every rule, not only those for the role and action"));
  check->add_flag("--json", o->json, tr("JSON output"));
  check->callback([o, exit_code] { *exit_code = run_check(*o); });

  auto dir = std::make_shared<std::string>();
  CLI::App* validate = pol->add_subcommand(
      "validate",
      tr("Load a policy directory as gongshud would and report every problem as file:line: reason\n"
         "(including the regulation guards: R-13, R-15, R-17, R-18, R-20, R-26, R-27). Prints the\n"
         "version, digest and counts of a good policy. Exit status: 0 valid, 1 invalid, 2 usage."));
  validate->add_option("DIR", *dir, tr("Policy directory (default as for check)"));
  validate->callback([dir, exit_code] {
    auto loaded = load_policy(dir->empty() ? default_policies_root() + "/policy" : *dir);
    if (!loaded) {
      std::cout << printable_lines(loaded.error().message()) << "\n" << std::flush;
      *exit_code = loaded.error().code() == ErrorCode::kInvalidArgument ? 1 : 2;
      return;
    }
    const policy::Policy* p = &loaded->policy;
    std::cout << trf("policy {} valid: {} rules, {} mask profiles, {} rate classes from {} files",
                     p->version(), p->rules().size(), p->masks().size(), p->rates().size(),
                     p->files().size())
              << "\n"
              << trf("sha256 {}", p->digest()) << "\n"
              << std::flush;
    *exit_code = 0;
  });
}

}  // namespace gongshu::ctl
