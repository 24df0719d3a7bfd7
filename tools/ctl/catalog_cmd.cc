// gongshuctl catalog submit | pending | review | retire | history | overlaps | authority: the
// catalog workflow (daemon/catalog_workflow.h, daemon/catalog_authority.h, docs/catalog.md). Agency
// users submit their own agency's entries, reviewers decide at their level, every step is audited
// by the daemon.

#include <iostream>
#include <memory>

#include "core/catalog/dataset.h"
#include "core/catalog/lifecycle.h"
#include "core/util/fd.h"
#include "core/util/i18n.h"
#include "core/util/json.h"
#include "tools/ctl/commands.h"
#include "tools/ctl/daemon_client.h"
#include "tools/ctl/table.h"

namespace gongshu::ctl {
namespace {

// A catalog state for people (core/catalog/lifecycle.h): English beside Chinese, as the tables
// of this file show everything; under a Chinese locale the Chinese alone. --json keeps the
// protocol word.
std::string state_text(const std::string& s) {
  // TRANSLATORS: a catalog entry's state, the English word beside its Chinese name; translate
  // to the Chinese name alone.
  static constexpr const char* kStates[][2] = {
      {"none", tr_noop("none 无")},
      {"draft", tr_noop("draft 草稿")},
      {"submitted", tr_noop("submitted 已提交")},
      {"county_approved", tr_noop("county_approved 区县已审")},
      {"approved", tr_noop("approved 已批准")},
      {"rejected", tr_noop("rejected 已驳回")},
      {"superseded", tr_noop("superseded 已替代")},
      {"retired", tr_noop("retired 已停用")}};
  for (const auto& k : kStates) {
    if (s == k[0]) return tr(k[1]);
  }
  auto st = catalog::parse_state(s);
  if (!st) return s;
  return s + " " + std::string(catalog::state_name_zh(*st));
}

// A step of a catalog version's history (core/catalog/lifecycle.h) in the reader's language.
std::string step_text(const std::string& s) {
  static constexpr const char* kSteps[][2] = {{"save_draft", tr_noop("save_draft")},
                                              {"submit", tr_noop("submit")},
                                              {"approve", tr_noop("approve")},
                                              {"reject", tr_noop("reject")},
                                              {"retire", tr_noop("retire")},
                                              {"supersede", tr_noop("supersede")},
                                              {"add", tr_noop("add")}};
  for (const auto& k : kSteps) {
    if (s == k[0]) return tr(k[1]);
  }
  return s;
}

void version_json(JsonWriter& w, const v1::CatalogVersion& v) {
  const auto& e = v.entry();
  w.begin_object()
      .field("id", e.id())
      .field("version", e.version())
      .field("name", e.name())
      .field("provider", e.provider_agency())
      .field("region", v.region())
      .field("state", e.status())
      .field("awaiting", v.awaiting())
      .field("grade", e.grade())
      .field("open", e.open_attribute())
      .field("share", e.share_attribute())
      .field("fields", uint64_t(e.fields_size()));
  w.key("steps").begin_array();
  for (const auto& s : v.steps()) {
    w.begin_object()
        .field("step", s.step())
        .field("from", s.from_state())
        .field("to", s.to_state())
        .field("key_id", s.key_id())
        .field("role", s.role())
        .field("agency", s.agency())
        .field("region", s.region())
        .field("at", time_text(s.at_ms()))
        .field("note", s.note())
        .end_object();
  }
  w.end_array();
  w.key("overlaps").begin_array();
  for (const auto& o : v.overlaps()) {
    w.begin_object()
        .field("dataset", o.dataset())
        .field("provider", o.provider())
        .field("score_permille", uint64_t(o.score_permille()))
        .field("acknowledged_by", o.acknowledged_by())
        .field("reason", o.reason());
    w.key("shared").begin_array();
    for (const auto& f : o.shared()) w.value(f);
    w.end_array();
    w.key("authorities").begin_array();
    for (const auto& a : o.authorities()) w.value(a);
    w.end_array().end_object();
  }
  w.end_array().end_object();
}

// "dataset 667/1000 (acknowledged)", one per flag.
std::string flags_text(const v1::CatalogVersion& v) {
  std::string out;
  for (const auto& o : v.overlaps()) {
    std::string flag = o.dataset() + " " + std::to_string(o.score_permille()) + "/1000";
    for (const auto& a : o.authorities()) flag += " 权威来源 " + a;
    if (!o.acknowledged_by().empty()) flag = trf("{} (acknowledged)", flag);
    out += (out.empty() ? "" : ", ") + flag;
  }
  return out;
}

// The versions of an answer: JSON, or one line each (pending, submit, review, retire).
int print_versions(const v1::ApiResponse& r, bool json) {
  const auto& vs = r.catalog_versions().versions();
  if (json) {
    JsonWriter w;
    w.begin_array();
    for (const auto& v : vs) version_json(w, v);
    w.end_array();
    std::cout << w.str() << "\n";
    return 0;
  }
  // TRANSLATORS: the catalog tables' headers carry the Chinese beside the English; translate to
  // the Chinese alone.
  Table t({tr("ID 数据集"), tr("VERSION 版本"), tr("PROVIDER 提供机构"), tr("REGION 区划"),
           tr("STATE 状态"), tr("AWAITING 待审"), tr("OPEN 开放"), tr("SHARE 共享"),
           tr("OVERLAPS 重复收集")});
  for (const auto& v : vs) {
    const auto& e = v.entry();
    t.add({e.id(), std::to_string(e.version()), e.provider_agency(), v.region(),
           state_text(e.status()), v.awaiting(), e.open_attribute(), e.share_attribute(),
           flags_text(v)});
  }
  t.print(std::cout);
  return 0;
}

struct Opts {
  std::string file, id, note;
  std::vector<std::string> acks;
  uint64_t version = 0;
  bool draft = false, approve = false, reject = false, json = false;
};

void authority_json(JsonWriter& w, const v1::CatalogAuthority& a) {
  w.begin_object().field("item", a.item()).field("name", a.name());
  w.key("fields").begin_array();
  for (const auto& f : a.fields()) w.value(f);
  w.end_array();
  w.key("pii").begin_array();
  for (int k : a.pii()) w.value(catalog::pii_kind_name(v1::PiiKind(k)));
  w.end_array();
  w.field("dataset", a.dataset())
      .field("provider", a.provider())
      .field("note", a.note())
      .field("set_by", a.set_by())
      .field("set_by_role", a.set_by_role())
      .field("set_at", time_text(a.set_at_ms()))
      .end_object();
}

std::string elements(const v1::CatalogAuthority& a) {
  std::string out;
  for (const auto& f : a.fields()) out += (out.empty() ? "" : "+") + f;
  for (int k : a.pii())
    out += (out.empty() ? "pii:" : "+pii:") + std::string(catalog::pii_kind_name(v1::PiiKind(k)));
  return out;
}

int print_authorities(const v1::ApiResponse& r, bool json) {
  const auto& as = r.catalog_authorities().authorities();
  if (json) {
    JsonWriter w;
    w.begin_array();
    for (const auto& a : as) authority_json(w, a);
    w.end_array();
    std::cout << w.str() << "\n";
    return 0;
  }
  Table t({tr("ITEM 数据项"), tr("NAME 名称"), tr("ELEMENTS 组成"), tr("SOURCE 权威来源"),
           tr("PROVIDER 提供机构"), tr("SET BY 指定人"), tr("WHEN 时间"), tr("NOTE 说明")});
  for (const auto& a : as) {
    t.add({a.item(), a.name(), elements(a), a.dataset(), a.provider(),
           a.set_by() + " (" + a.set_by_role() + ")", local_time_text(a.set_at_ms()), a.note()});
  }
  t.print(std::cout);
  return 0;
}

// --pii citizen_id,name: the kinds, or an error naming the unknown one.
Result<std::vector<v1::PiiKind>> pii_list(const std::string& text) {
  std::vector<v1::PiiKind> out;
  for (const auto& name : split_list(text)) {
    auto k = catalog::parse_pii_kind(name);
    if (!k)
      return fail(ErrorCode::kInvalidArgument,
                  trf("--pii: unknown kind '{}' (citizen_id, credit_code, name, phone, address, "
                      "birth_date, biometric)",
                      name));
    out.push_back(*k);
  }
  return out;
}

struct AuthorityOpts {
  std::string item, name, dataset, fields, pii, note, field;
  bool json = false;
};

// gongshuctl catalog authority set | list | remove (daemon/catalog_authority.h).
void add_catalog_authority_commands(CLI::App* cat, int* exit_code) {
  auto* group = cat->add_subcommand(
      "authority",
      tr("Authoritative sources (权威来源, R-11): the dataset a data item (fields by name or by "
         "kind\n"
         "of personal information) is sourced from. Submissions collecting the item again are\n"
         "flagged with it; objections are routed to it."));
  group->require_subcommand(1);

  auto set = std::make_shared<AuthorityOpts>();
  auto* setc = group->add_subcommand(
      "set",
      tr("Name (or re-name) the authoritative source of a data item (city reviewers, "
         "operators).\n"
         "The dataset must be approved and hold every element. Audited.\n"
         "Example: catalog authority set person.identity --name 居民身份基础信息\n"
         "  --pii citizen_id,name,birth_date --dataset population.household --note \"...\""));
  setc->add_option("ITEM", set->item, tr("Data item id, 2..64 of [a-z0-9_.-]"))->required();
  setc->add_option("--name", set->name, tr("Its Chinese name"))->required();
  setc->add_option("--dataset", set->dataset, tr("The approved dataset it is sourced from"))
      ->required();
  setc->add_option("--fields", set->fields, tr("Elements by field name, a,b"));
  setc->add_option("--pii", set->pii,
                   tr("Elements by kind of personal information, e.g. citizen_id,name,birth_date"));
  setc->add_option("--note", set->note, tr("Why (recorded and audited)"))->required();
  setc->add_flag("--json", set->json, tr("JSON output"));
  run_connected(setc, std::make_shared<ConnectOptions>(), exit_code, [set](DaemonClient& c) {
    auto kinds = pii_list(set->pii);
    if (!kinds) {
      std::cerr << "gongshuctl: "  // i18n-exempt: the program name
                << shown(kinds.error().message()) << "\n";
      return 2;
    }
    v1::ApiRequest req;
    auto* a = req.mutable_catalog_authority_set()->mutable_authority();
    a->set_item(set->item);
    a->set_name(set->name);
    a->set_dataset(set->dataset);
    a->set_note(set->note);
    for (auto& f : split_list(set->fields)) a->add_fields(f);
    for (auto k : *kinds) a->add_pii(k);
    auto r = c.call(req);
    if (!r) return report_error(r.error());
    return print_authorities(*r, set->json);
  });

  auto rm = std::make_shared<AuthorityOpts>();
  auto* rmc = group->add_subcommand(
      "remove",
      tr("Withdraw the designation of a data item (city reviewers, operators). Audited."));
  rmc->add_option("ITEM", rm->item, tr("Data item id"))->required();
  rmc->add_option("--note", rm->note, tr("Why (recorded and audited)"))->required();
  rmc->add_flag("--json", rm->json, tr("JSON output"));
  run_connected(rmc, std::make_shared<ConnectOptions>(), exit_code, [rm](DaemonClient& c) {
    v1::ApiRequest req;
    req.mutable_catalog_authority_set()->set_remove(true);
    req.mutable_catalog_authority_set()->mutable_authority()->set_item(rm->item);
    req.mutable_catalog_authority_set()->mutable_authority()->set_note(rm->note);
    auto r = c.call(req);
    if (!r) return report_error(r.error());
    if (rm->json) return print_authorities(*r, true);
    std::cout << trf("withdrawn: {} is no longer sourced from {}", shown(rm->item),
                     shown(r->catalog_authorities().authorities(0).dataset()))
              << "\n";
    return 0;
  });

  auto list = std::make_shared<AuthorityOpts>();
  auto* listc = group->add_subcommand(
      "list",
      tr("The named authoritative sources; --field / --pii / --dataset show those that name it\n"
         "(operators, officers, reviewers, agency users)"));
  listc->add_option("--field", list->field, tr("Only items with this field name"));
  listc->add_option("--pii", list->pii, tr("Only items with this kind of personal information"));
  listc->add_option("--dataset", list->dataset, tr("Only items sourced from this dataset"));
  listc->add_flag("--json", list->json, tr("JSON output"));
  run_connected(listc, std::make_shared<ConnectOptions>(), exit_code, [list](DaemonClient& c) {
    v1::ApiRequest req;
    auto* l = req.mutable_catalog_authority_list();
    l->set_field(list->field);
    l->set_dataset(list->dataset);
    if (!list->pii.empty()) {
      auto k = catalog::parse_pii_kind(list->pii);
      if (!k || *k == v1::PII_NONE) {
        std::cerr << "gongshuctl: "  // i18n-exempt: the program name
                  << trf("--pii: unknown kind '{}'", shown(list->pii)) << "\n";
        return 2;
      }
      l->set_pii(*k);
    }
    auto r = c.call(req);
    if (!r) return report_error(r.error());
    return print_authorities(*r, list->json);
  });
}

}  // namespace

void add_catalog_workflow_commands(CLI::App* cat, int* exit_code) {
  add_catalog_authority_commands(cat, exit_code);

  auto submit = std::make_shared<Opts>();
  auto* submitc = cat->add_subcommand(
      "submit",
      tr("Submit a version of one of your agency's catalog entries for review (agency users;\n"
         "format: core/catalog/dataset.h). The approved version stays in force until this one is "
         "approved."));
  submitc->add_option("FILE", submit->file, tr("Catalog entry file"))
      ->required()
      ->check(CLI::ExistingFile);
  submitc->add_flag("--draft", submit->draft, tr("Keep it as a draft, not yet submitted"));
  submitc->add_flag("--json", submit->json, tr("JSON output"));
  run_connected(submitc, std::make_shared<ConnectOptions>(), exit_code, [submit](DaemonClient& c) {
    auto text = read_file(submit->file, 1 << 20);
    if (!text) return report_error(text.error());
    auto entry = catalog::parse_dataset_toml(as_chars(*text), submit->file);
    if (!entry) {
      std::cerr << "gongshuctl: "  // i18n-exempt: the program name
                << shown(entry.error().message()) << "\n";
      return 1;
    }
    v1::ApiRequest req;
    *req.mutable_catalog_submit()->mutable_entry() = *entry;
    req.mutable_catalog_submit()->set_draft(submit->draft);
    auto r = c.call(req);
    if (!r) return report_error(r.error());
    return print_versions(*r, submit->json);
  });

  auto pending = std::make_shared<Opts>();
  auto* pendingc = cat->add_subcommand(
      "pending",
      tr("Versions awaiting review: a reviewer's own level and region; every one for staff;\n"
         "an agency's own open versions"));
  pendingc->add_flag("--json", pending->json, tr("JSON output"));
  run_connected(pendingc, std::make_shared<ConnectOptions>(), exit_code,
                [pending](DaemonClient& c) {
                  v1::ApiRequest req;
                  req.mutable_catalog_pending();
                  auto r = c.call(req);
                  if (!r) return report_error(r.error());
                  return print_versions(*r, pending->json);
                });

  auto review = std::make_shared<Opts>();
  auto* reviewc = cat->add_subcommand(
      "review", tr("Approve or reject the version of ID awaiting your level (reviewers; a note is "
                   "required)"));
  reviewc->add_option("ID", review->id, tr("Dataset id"))->required();
  auto* approve = reviewc->add_flag("--approve", review->approve, tr("Approve it"));
  auto* reject = reviewc->add_flag("--reject", review->reject, tr("Reject it"));
  approve->excludes(reject);
  reviewc->add_option("--version", review->version, tr("The version (default: the open one)"));
  reviewc->add_option("--note", review->note, tr("Why (recorded and audited)"))->required();
  reviewc->add_option("--ack", review->acks,
                      tr("DATASET=REASON: acknowledge a repeated-collection flag (R-07); every "
                         "flag must be acknowledged to approve"));
  reviewc->add_flag("--json", review->json, tr("JSON output"));
  run_connected(reviewc, std::make_shared<ConnectOptions>(), exit_code, [review](DaemonClient& c) {
    if (review->approve == review->reject) {
      std::cerr << tr("gongshuctl: give --approve or --reject\n");
      return 2;
    }
    v1::ApiRequest req;
    auto* rr = req.mutable_catalog_review();
    rr->set_id(review->id);
    rr->set_version(review->version);
    rr->set_approve(review->approve);
    rr->set_note(review->note);
    for (const auto& a : review->acks) {
      auto eq = a.find('=');
      if (eq == std::string::npos || eq == 0) {
        std::cerr << tr("gongshuctl: --ack takes DATASET=REASON") << "\n";
        return 2;
      }
      auto* ack = rr->add_acknowledge();
      ack->set_dataset(a.substr(0, eq));
      ack->set_reason(a.substr(eq + 1));
    }
    auto r = c.call(req);
    if (!r) return report_error(r.error());
    return print_versions(*r, review->json);
  });

  auto retire = std::make_shared<Opts>();
  auto* retirec = cat->add_subcommand(
      "retire",
      tr("Retire a dataset: nothing new is accepted for it (its agency, a city reviewer or an "
         "operator)"));
  retirec->add_option("ID", retire->id, tr("Dataset id"))->required();
  retirec->add_option("--note", retire->note, tr("Why (recorded and audited)"))->required();
  retirec->add_flag("--json", retire->json, tr("JSON output"));
  run_connected(retirec, std::make_shared<ConnectOptions>(), exit_code, [retire](DaemonClient& c) {
    v1::ApiRequest req;
    req.mutable_catalog_retire()->set_id(retire->id);
    req.mutable_catalog_retire()->set_note(retire->note);
    auto r = c.call(req);
    if (!r) return report_error(r.error());
    return print_versions(*r, retire->json);
  });

  auto overlaps = std::make_shared<Opts>();
  auto* overlapsc = cat->add_subcommand(
      "overlaps",
      tr("Approved datasets whose data items duplicate another agency's approved dataset "
         "(R-07)"));
  overlapsc->add_flag("--json", overlaps->json, tr("JSON output"));
  run_connected(overlapsc, std::make_shared<ConnectOptions>(), exit_code,
                [overlaps](DaemonClient& c) {
                  v1::ApiRequest req;
                  req.mutable_catalog_overlaps();
                  auto r = c.call(req);
                  if (!r) return report_error(r.error());
                  if (overlaps->json) return print_versions(*r, true);
                  Table t({tr("DATASET 数据集"), tr("PROVIDER 提供机构"), tr("DUPLICATES 重复于"),
                           tr("OF 其提供机构"), tr("SCORE 重合度"), tr("SHARED 重复数据项"),
                           tr("AUTHORITY 权威来源")});
                  for (const auto& v : r->catalog_versions().versions()) {
                    for (const auto& o : v.overlaps()) {
                      std::string shared, items;
                      for (const auto& f : o.shared()) shared += (shared.empty() ? "" : ",") + f;
                      for (const auto& a : o.authorities()) items += (items.empty() ? "" : ",") + a;
                      t.add({v.entry().id(), v.entry().provider_agency(), o.dataset(), o.provider(),
                             std::to_string(o.score_permille()) + "/1000", shared, items});
                    }
                  }
                  t.print(std::cout);
                  return 0;
                });

  auto history = std::make_shared<Opts>();
  auto* historyc =
      cat->add_subcommand("history", tr("Every version of a dataset, with who did what and when"));
  historyc->add_option("ID", history->id, tr("Dataset id"))->required();
  historyc->add_flag("--json", history->json, tr("JSON output"));
  run_connected(historyc, std::make_shared<ConnectOptions>(), exit_code,
                [history](DaemonClient& c) {
                  v1::ApiRequest req;
                  req.mutable_catalog_history()->set_id(history->id);
                  auto r = c.call(req);
                  if (!r) return report_error(r.error());
                  if (history->json) return print_versions(*r, true);
                  Table t({tr("VERSION 版本"), tr("STEP 步骤"), tr("FROM 原状态"), tr("TO 新状态"),
                           tr("WHO 操作人"), tr("ROLE 角色"), tr("AGENCY 机构"), tr("WHEN 时间"),
                           tr("NOTE 说明")});
                  for (const auto& v : r->catalog_versions().versions()) {
                    for (const auto& s : v.steps()) {
                      t.add({std::to_string(v.entry().version()), step_text(s.step()),
                             state_text(s.from_state()), state_text(s.to_state()),
                             s.key_id().empty() ? std::string(tr("platform")) : s.key_id(),
                             s.role(), s.agency(), local_time_text(s.at_ms()), s.note()});
                    }
                  }
                  t.print(std::cout);
                  return 0;
                });
}

}  // namespace gongshu::ctl
