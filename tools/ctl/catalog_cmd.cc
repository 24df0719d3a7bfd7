// gongshuctl catalog submit | pending | review | retire | history | overlaps | authority: the
// catalog workflow (daemon/catalog_workflow.h, daemon/catalog_authority.h, docs/catalog.md). Agency
// users submit their own agency's entries, reviewers decide at their level, every step is audited
// by the daemon.

#include <iostream>
#include <memory>

#include "core/catalog/dataset.h"
#include "core/catalog/lifecycle.h"
#include "core/util/fd.h"
#include "core/util/json.h"
#include "tools/ctl/commands.h"
#include "tools/ctl/daemon_client.h"
#include "tools/ctl/table.h"

namespace gongshu::ctl {
namespace {

std::string state_text(const std::string& s) {
  auto st = catalog::parse_state(s);
  if (!st) return s;
  return s + " " + std::string(catalog::state_name_zh(*st));
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
    out += (out.empty() ? "" : ", ") + o.dataset() + " " + std::to_string(o.score_permille()) +
           "/1000";
    for (const auto& a : o.authorities()) out += " 权威来源 " + a;
    if (!o.acknowledged_by().empty()) out += " (acknowledged)";
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
  Table t({"ID 数据集", "VERSION 版本", "PROVIDER 提供机构", "REGION 区划", "STATE 状态",
           "AWAITING 待审", "OPEN 开放", "SHARE 共享", "OVERLAPS 重复采集"});
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
  Table t({"ITEM 数据项", "NAME 名称", "ELEMENTS 组成", "SOURCE 权威来源", "PROVIDER 提供机构",
           "SET BY 指定人", "WHEN 时间", "NOTE 说明"});
  for (const auto& a : as) {
    t.add({a.item(), a.name(), elements(a), a.dataset(), a.provider(),
           a.set_by() + " (" + a.set_by_role() + ")", time_text(a.set_at_ms()), a.note()});
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
                  "--pii: unknown kind '" + name +
                      "' (citizen_id, credit_code, name, phone, address, birth_date, biometric)");
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
      "Authoritative sources (权威来源, R-11): the dataset a data item (fields by name or by kind\n"
      "of personal information) is sourced from. Submissions collecting the item again are\n"
      "flagged with it; objections are routed to it.");
  group->require_subcommand(1);

  auto set = std::make_shared<AuthorityOpts>();
  auto* setc = group->add_subcommand(
      "set",
      "Name (or re-name) the authoritative source of a data item (city reviewers, operators).\n"
      "The dataset must be approved and hold every element. Audited.\n"
      "Example: catalog authority set person.identity --name 居民身份基础信息\n"
      "  --pii citizen_id,name,birth_date --dataset population.household --note \"...\"");
  setc->add_option("ITEM", set->item, "Data item id, 2..64 of [a-z0-9_.-]")->required();
  setc->add_option("--name", set->name, "Its Chinese name")->required();
  setc->add_option("--dataset", set->dataset, "The approved dataset it is sourced from")
      ->required();
  setc->add_option("--fields", set->fields, "Elements by field name, a,b");
  setc->add_option("--pii", set->pii,
                   "Elements by kind of personal information, e.g. citizen_id,name,birth_date");
  setc->add_option("--note", set->note, "Why (recorded and audited)")->required();
  setc->add_flag("--json", set->json, "JSON output");
  run_connected(setc, std::make_shared<ConnectOptions>(), exit_code, [set](DaemonClient& c) {
    auto kinds = pii_list(set->pii);
    if (!kinds) {
      std::cerr << "gongshuctl: " << kinds.error().message() << "\n";
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
      "remove", "Withdraw the designation of a data item (city reviewers, operators). Audited.");
  rmc->add_option("ITEM", rm->item, "Data item id")->required();
  rmc->add_option("--note", rm->note, "Why (recorded and audited)")->required();
  rmc->add_flag("--json", rm->json, "JSON output");
  run_connected(rmc, std::make_shared<ConnectOptions>(), exit_code, [rm](DaemonClient& c) {
    v1::ApiRequest req;
    req.mutable_catalog_authority_set()->set_remove(true);
    req.mutable_catalog_authority_set()->mutable_authority()->set_item(rm->item);
    req.mutable_catalog_authority_set()->mutable_authority()->set_note(rm->note);
    auto r = c.call(req);
    if (!r) return report_error(r.error());
    if (rm->json) return print_authorities(*r, true);
    std::cout << "withdrawn: " << rm->item << " is no longer sourced from "
              << r->catalog_authorities().authorities(0).dataset() << "\n";
    return 0;
  });

  auto list = std::make_shared<AuthorityOpts>();
  auto* listc = group->add_subcommand(
      "list",
      "The named authoritative sources; --field / --pii / --dataset show those that name it\n"
      "(operators, officers, reviewers, agency users)");
  listc->add_option("--field", list->field, "Only items with this field name");
  listc->add_option("--pii", list->pii, "Only items with this kind of personal information");
  listc->add_option("--dataset", list->dataset, "Only items sourced from this dataset");
  listc->add_flag("--json", list->json, "JSON output");
  run_connected(listc, std::make_shared<ConnectOptions>(), exit_code, [list](DaemonClient& c) {
    v1::ApiRequest req;
    auto* l = req.mutable_catalog_authority_list();
    l->set_field(list->field);
    l->set_dataset(list->dataset);
    if (!list->pii.empty()) {
      auto k = catalog::parse_pii_kind(list->pii);
      if (!k || *k == v1::PII_NONE) {
        std::cerr << "gongshuctl: --pii: unknown kind '" << list->pii << "'\n";
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
      "Submit a version of one of your agency's catalog entries for review (agency users;\n"
      "format: core/catalog/dataset.h). The approved version stays in force until this one is "
      "approved.");
  submitc->add_option("FILE", submit->file, "Catalog entry file")
      ->required()
      ->check(CLI::ExistingFile);
  submitc->add_flag("--draft", submit->draft, "Keep it as a draft, not yet submitted");
  submitc->add_flag("--json", submit->json, "JSON output");
  run_connected(submitc, std::make_shared<ConnectOptions>(), exit_code, [submit](DaemonClient& c) {
    auto text = read_file(submit->file, 1 << 20);
    if (!text) return report_error(text.error());
    auto entry = catalog::parse_dataset_toml(as_chars(*text), submit->file);
    if (!entry) {
      std::cerr << "gongshuctl: " << entry.error().message() << "\n";
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
      "Versions awaiting review: a reviewer's own level and region; every one for staff;\n"
      "an agency's own open versions");
  pendingc->add_flag("--json", pending->json, "JSON output");
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
      "review",
      "Approve or reject the version of ID awaiting your level (reviewers; a note is "
      "required)");
  reviewc->add_option("ID", review->id, "Dataset id")->required();
  auto* approve = reviewc->add_flag("--approve", review->approve, "Approve it");
  auto* reject = reviewc->add_flag("--reject", review->reject, "Reject it");
  approve->excludes(reject);
  reviewc->add_option("--version", review->version, "The version (default: the open one)");
  reviewc->add_option("--note", review->note, "Why (recorded and audited)")->required();
  reviewc->add_option("--ack", review->acks,
                      "DATASET=REASON: acknowledge a repeated-collection flag (R-07); every flag "
                      "must be acknowledged to approve");
  reviewc->add_flag("--json", review->json, "JSON output");
  run_connected(reviewc, std::make_shared<ConnectOptions>(), exit_code, [review](DaemonClient& c) {
    if (review->approve == review->reject) {
      std::cerr << "gongshuctl: give --approve or --reject\n";
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
        std::cerr << "gongshuctl: --ack takes DATASET=REASON\n";
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
      "Retire a dataset: nothing new is accepted for it (its agency, a city reviewer or an "
      "operator)");
  retirec->add_option("ID", retire->id, "Dataset id")->required();
  retirec->add_option("--note", retire->note, "Why (recorded and audited)")->required();
  retirec->add_flag("--json", retire->json, "JSON output");
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
      "Approved datasets whose data items duplicate another agency's approved dataset (R-07)");
  overlapsc->add_flag("--json", overlaps->json, "JSON output");
  run_connected(
      overlapsc, std::make_shared<ConnectOptions>(), exit_code, [overlaps](DaemonClient& c) {
        v1::ApiRequest req;
        req.mutable_catalog_overlaps();
        auto r = c.call(req);
        if (!r) return report_error(r.error());
        if (overlaps->json) return print_versions(*r, true);
        Table t({"DATASET 数据集", "PROVIDER 提供机构", "DUPLICATES 重复于", "OF 其提供机构",
                 "SCORE 重合度", "SHARED 重复数据项", "AUTHORITY 权威来源"});
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
      cat->add_subcommand("history", "Every version of a dataset, with who did what and when");
  historyc->add_option("ID", history->id, "Dataset id")->required();
  historyc->add_flag("--json", history->json, "JSON output");
  run_connected(
      historyc, std::make_shared<ConnectOptions>(), exit_code, [history](DaemonClient& c) {
        v1::ApiRequest req;
        req.mutable_catalog_history()->set_id(history->id);
        auto r = c.call(req);
        if (!r) return report_error(r.error());
        if (history->json) return print_versions(*r, true);
        Table t({"VERSION 版本", "STEP 步骤", "FROM 原状态", "TO 新状态", "WHO 操作人", "ROLE 角色",
                 "AGENCY 机构", "WHEN 时间", "NOTE 说明"});
        for (const auto& v : r->catalog_versions().versions()) {
          for (const auto& s : v.steps()) {
            t.add({std::to_string(v.entry().version()), s.step(), state_text(s.from_state()),
                   state_text(s.to_state()), s.key_id().empty() ? "platform" : s.key_id(), s.role(),
                   s.agency(), time_text(s.at_ms()), s.note()});
          }
        }
        t.print(std::cout);
        return 0;
      });
}

}  // namespace gongshu::ctl
