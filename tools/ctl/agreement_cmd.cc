// gongshuctl agreement: open-use agreements and sharing requests between agencies,
// from application to use:
//
//   apply      the applicant (or an agency user, --kind share) names datasets and fields,
//              purposes, the period, its security measures and optionally a row quota
//   review     a user of each providing agency approves or rejects
//   approve    the authority (an operator) approves or rejects
//   sign       the applicant reads the security commitment and signs it with its own key
//   list, show, revoke, violation
//
// The commitment text comes from the daemon, is printed in full before signing, and is signed
// with the caller's key file (Ed25519, domain "gongshu.commitment.v1"); the daemon rebuilds it
// from the agreement's facts and verifies the signature.

#include <cstdlib>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "core/crypto/key_file.h"
#include "core/util/i18n.h"
#include "core/util/json.h"
#include "tools/ctl/commands.h"
#include "tools/ctl/daemon_client.h"
#include "tools/ctl/table.h"

namespace gongshu::ctl {
namespace {

using nlohmann::json;

constexpr std::string_view kCommitmentDomain = "gongshu.commitment.v1";

// The key file the connection uses (--key, else GONGSHU_KEY).
Result<crypto::KeyFile> own_key(const ConnectOptions& conn) {
  std::string path = conn.key;
  if (path.empty()) {
    const char* env = std::getenv("GONGSHU_KEY");
    path = env ? env : "";
  }
  if (path.empty()) return fail(ErrorCode::kInvalidArgument, tr("no key file: give --key"));
  return crypto::load_key_file(path);
}

std::string scope_text(const v1::AgreementScope& s) {
  std::string f;
  for (const auto& x : s.fields()) f.append(f.empty() ? "" : ",").append(x);
  return s.dataset() + (f.empty() ? "" : ":" + f);
}

json agreement_json(const v1::AgreementInfo& a) {
  json scope = json::array();
  for (const auto& s : a.scope()) {
    scope.push_back({{"dataset", s.dataset()},
                     {"fields", std::vector<std::string>(s.fields().begin(), s.fields().end())}});
  }
  json reviews = json::array();
  for (const auto& r : a.reviews()) {
    reviews.push_back({{"agency", r.agency()},
                       {"reviewer", r.reviewer()},
                       {"approved", r.approved()},
                       {"note", r.note()},
                       {"at", time_text(r.at_ms())}});
  }
  json j = {{"id", a.id()},
            {"kind", a.kind()},
            {"status", a.status()},
            {"applicant", a.applicant()},
            {"applicant_name", a.applicant_name()},
            {"holder", a.holder()},
            {"scope", scope},
            {"purposes", std::vector<std::string>(a.purposes().begin(), a.purposes().end())},
            {"valid_from", time_text(a.valid_from_ms())},
            {"valid_to", time_text(a.valid_to_ms())},
            {"security_measures", a.security_measures()},
            {"row_quota", a.row_quota()},
            {"rows_used", a.rows_used()},
            {"reviews", reviews},
            {"reviews_pending",
             std::vector<std::string>(a.reviews_pending().begin(), a.reviews_pending().end())},
            {"decided_by", a.decided_by()},
            {"decided_at", time_text(a.decided_at_ms())},
            {"signed_at", time_text(a.signed_at_ms())},
            {"applied_at", time_text(a.applied_at_ms())},
            {"violation", a.violation()}};
  if (!a.revoked_by().empty()) {
    j["revoked_by"] = a.revoked_by();
    j["revoked_at"] = time_text(a.revoked_at_ms());
    j["revoke_reason"] = a.revoke_reason();
  }
  if (!a.commitment().empty()) j["commitment"] = a.commitment();
  return j;
}

void print_one(const v1::AgreementInfo& a, bool with_commitment) {
  std::cout << trf("agreement:   {} ({})", shown(a.id()), shown(a.kind())) << "\n"
            << (a.violation() ? trf("status:      {} (violation recorded)", shown(a.status()))
                              : trf("status:      {}", shown(a.status())))
            << "\n"
            << trf("applicant:   {} {}", shown(a.applicant()), shown(a.applicant_name())) << "\n"
            << trf("holder:      {}", shown(a.holder())) << "\n";
  for (const auto& s : a.scope()) std::cout << trf("dataset:     {}", shown(scope_text(s))) << "\n";
  for (const auto& p : a.purposes()) std::cout << trf("purpose:     {}", shown(p)) << "\n";
  std::cout << trf("period:      {} .. {}", local_time_text(a.valid_from_ms()),
                   local_time_text(a.valid_to_ms()))
            << "\n"
            << (a.row_quota() ? trf("row quota:   {} of {} used", a.rows_used(), a.row_quota())
                              : std::string(tr("row quota:   none")))
            << "\n"
            << trf("measures:    {}", shown(a.security_measures())) << "\n";
  for (const auto& r : a.reviews()) {
    std::cout << (r.approved() ? trf("review:      {} approved by {} at {}", shown(r.agency()),
                                     shown(r.reviewer()), local_time_text(r.at_ms()))
                               : trf("review:      {} rejected by {} at {}", shown(r.agency()),
                                     shown(r.reviewer()), local_time_text(r.at_ms())))
              << (r.note().empty() ? "" : ": " + shown(r.note())) << "\n";
  }
  for (const auto& p : a.reviews_pending())
    std::cout << trf("review:      {} pending", shown(p)) << "\n";
  if (!a.decided_by().empty()) {
    std::cout << trf("authority:   {} at {}", shown(a.decided_by()),
                     local_time_text(a.decided_at_ms()))
              << (a.decision_note().empty() ? "" : ": " + shown(a.decision_note())) << "\n";
  }
  if (a.signed_at_ms())
    std::cout << trf("signed:      {}", local_time_text(a.signed_at_ms())) << "\n";
  if (!a.revoked_by().empty()) {
    std::cout << trf("revoked:     by {} at {}: {}", shown(a.revoked_by()),
                     local_time_text(a.revoked_at_ms()), shown(a.revoke_reason()))
              << "\n";
  }
  if (with_commitment && !a.commitment().empty())
    std::cout << tr("\n--- security commitment ---\n") << printable_lines(a.commitment())
              << "---\n";
}

// Sends req and prints the agreement it answers with.
int call_and_print(DaemonClient& c, const v1::ApiRequest& req, bool as_json,
                   const std::string& done) {
  auto r = c.call(req);
  if (!r) return report_error(r.error());
  const auto& a = r->agreements().agreements(0);
  if (as_json) {
    std::cout << json_dump_terminal_safe(agreement_json(a)) << "\n";
  } else {
    if (!done.empty())
      std::cout << trf("{} {}: now {}", done, shown(a.id()), shown(a.status())) << "\n";
    print_one(a, false);
  }
  return 0;
}

void add_apply(CLI::App* group, int* exit_code) {
  struct Opts {
    std::string kind = "open", from, to, measures, name;
    std::vector<std::string> datasets, purposes;
    uint64_t rows = 0;
    bool json = false;
  };
  auto o = std::make_shared<Opts>();
  auto conn = std::make_shared<ConnectOptions>();
  auto* cmd = group->add_subcommand(
      "apply",
      tr("Apply for an open-use agreement over conditionally open data (R-18), or, as an agency\n"
         "user, for sharing another agency's data (--kind share, R-13). The providing agencies\n"
         "review it, the authority approves it, then you sign the security commitment.\n"
         "A key nobody registered may apply too: the approval registers it as an applicant."));
  cmd->add_option("--kind", o->kind, tr("open or share"))
      ->check(CLI::IsMember({"open", "share"}))
      ->capture_default_str();
  cmd->add_option("--dataset", o->datasets,
                  tr("DATASET or DATASET:field,field (repeat for several datasets)"))
      ->required();
  cmd->add_option("--purpose", o->purposes, tr("A purpose (repeat for several)"))->required();
  cmd->add_option("--from", o->from, tr("Start, e.g. 2026-04-01 (default: now)"));
  cmd->add_option("--to", o->to, tr("End (exclusive), e.g. 2027-04-01"))->required();
  cmd->add_option("--measures", o->measures, tr("Security measures you commit to"))->required();
  cmd->add_option("--rows", o->rows, tr("Row quota over the whole agreement (default: none)"));
  cmd->add_option("--name", o->name, tr("The applying organisation"));
  cmd->add_flag("--json", o->json, tr("JSON output"));
  run_connected(cmd, conn, exit_code, [o, conn](DaemonClient& c) {
    v1::ApiRequest req;
    auto* a = req.mutable_agreement_apply();
    a->set_kind(o->kind);
    for (const auto& d : o->datasets) {
      auto* s = a->add_scope();
      auto colon = d.find(':');
      s->set_dataset(d.substr(0, colon));
      if (colon != std::string::npos) {
        for (auto& f : split_list(d.substr(colon + 1))) s->add_fields(f);
      }
    }
    for (const auto& p : o->purposes) a->add_purposes(p);
    if (!o->from.empty()) {
      auto t = parse_time(o->from);
      if (!t) return report_error(t.error());
      a->set_valid_from_ms(*t);
    }
    auto to = parse_time(o->to);
    if (!to) return report_error(to.error());
    a->set_valid_to_ms(*to);
    a->set_security_measures(o->measures);
    a->set_row_quota(o->rows);
    a->set_applicant_name(o->name);
    // A registered caller is known by its key; a public one proves its key with the connection.
    auto key = own_key(*conn);
    if (!key) return report_error(key.error());
    a->set_applicant_public_key(key->key.public_key().hex());
    return call_and_print(c, req, o->json, tr("applied:"));
  });
}

void add_decide(CLI::App* group, int* exit_code, const char* name, const char* help, bool review) {
  struct Opts {
    std::string id, note;
    bool approve = false, reject = false, json = false;
  };
  auto o = std::make_shared<Opts>();
  auto conn = std::make_shared<ConnectOptions>();
  auto* cmd = group->add_subcommand(name, help);
  cmd->add_option("ID", o->id, tr("Agreement id"))->required();
  auto* yes = cmd->add_flag("--approve", o->approve, "Approve");
  auto* no = cmd->add_flag("--reject", o->reject, "Reject");
  yes->excludes(no);
  cmd->add_option("--note", o->note, "Why");
  cmd->add_flag("--json", o->json, tr("JSON output"));
  run_connected(cmd, conn, exit_code, [o, review](DaemonClient& c) {
    if (o->approve == o->reject) {
      std::cerr << tr("gongshuctl: give --approve or --reject\n");
      return 2;
    }
    v1::ApiRequest req;
    if (review) {
      req.mutable_agreement_review()->set_id(o->id);
      req.mutable_agreement_review()->set_approve(o->approve);
      req.mutable_agreement_review()->set_note(o->note);
    } else {
      req.mutable_agreement_approve()->set_id(o->id);
      req.mutable_agreement_approve()->set_approve(o->approve);
      req.mutable_agreement_approve()->set_note(o->note);
    }
    return call_and_print(c, req, o->json, o->approve ? tr("approved") : tr("rejected"));
  });
}

void add_sign(CLI::App* group, int* exit_code) {
  struct Opts {
    std::string id;
    bool yes = false, json = false;
  };
  auto o = std::make_shared<Opts>();
  auto conn = std::make_shared<ConnectOptions>();
  auto* cmd = group->add_subcommand("sign", tr("Read the security commitment (安全承诺书) of an "
                                               "approved agreement and sign it with your\n"
                                               "key; the agreement is then active."));
  cmd->add_option("ID", o->id, tr("Agreement id"))->required();
  cmd->add_flag("--yes", o->yes, tr("Sign without asking (the commitment is still printed)"));
  cmd->add_flag("--json", o->json, tr("JSON output"));
  run_connected(cmd, conn, exit_code, [o, conn](DaemonClient& c) {
    v1::ApiRequest show;
    show.mutable_agreement_show()->set_id(o->id);
    auto r = c.call(show);
    if (!r) return report_error(r.error());
    const auto& a = r->agreements().agreements(0);
    if (a.status() != "pending_signature" || a.commitment().empty()) {
      std::cerr << "gongshuctl: "  // i18n-exempt: the program's name
                << trf("agreement {} is {}, not awaiting your signature", shown(a.id()),
                       shown(a.status()))
                << "\n";
      return 1;
    }
    // The commitment names this agreement and what was applied for; print it whole.
    std::cerr << printable_lines(a.commitment());
    if (a.commitment().find("agreement: " + a.id() + "\n") == std::string::npos) {
      std::cerr << "gongshuctl: "  // i18n-exempt: the program's name
                << trf("the commitment does not name agreement {}", shown(a.id())) << "\n";
      return 1;
    }
    if (!o->yes) {
      std::cerr << "\n" << tr("sign this commitment with your key? [y/N]") << " " << std::flush;
      std::string answer;
      std::getline(std::cin, answer);
      if (answer != "y" && answer != "Y" && answer != "yes") {
        std::cerr << tr("not signed\n");
        return 1;
      }
    }
    auto key = own_key(*conn);
    if (!key) return report_error(key.error());
    auto sig = key->key.sign(kCommitmentDomain, as_bytes(a.commitment()));
    v1::ApiRequest req;
    req.mutable_agreement_sign()->set_id(o->id);
    req.mutable_agreement_sign()->set_signature(std::string(sig.begin(), sig.end()));
    return call_and_print(c, req, o->json, tr("signed"));
  });
}

void add_list_show(CLI::App* group, int* exit_code) {
  auto json_list = std::make_shared<bool>(false);
  auto conn = std::make_shared<ConnectOptions>();
  auto* list = group->add_subcommand(
      "list", tr("The agreements you may see (yours; your agency's; for staff, all)"));
  list->add_flag("--json", *json_list, tr("JSON output"));
  run_connected(list, conn, exit_code, [json_list](DaemonClient& c) {
    v1::ApiRequest req;
    req.mutable_agreement_list();
    auto r = c.call(req);
    if (!r) return report_error(r.error());
    if (*json_list) {
      json all = json::array();
      for (const auto& a : r->agreements().agreements()) all.push_back(agreement_json(a));
      std::cout << json_dump_terminal_safe(all) << "\n";
      return 0;
    }
    Table t({tr("ID"), tr("KIND"), tr("STATUS"), tr("HOLDER"), tr("DATASETS"), tr("PURPOSES"),
             tr("VALID TO"), tr("ROWS")});
    for (const auto& a : r->agreements().agreements()) {
      std::string ds, ps;
      for (const auto& s : a.scope()) ds.append(ds.empty() ? "" : " ").append(scope_text(s));
      for (const auto& p : a.purposes()) ps.append(ps.empty() ? "" : ",").append(p);
      t.add({a.id(), a.kind(), a.status(), a.holder(), ds, ps, local_time_text(a.valid_to_ms()),
             a.row_quota() ? std::to_string(a.rows_used()) + "/" + std::to_string(a.row_quota())
                           : "-"});
    }
    t.print(std::cout);
    return 0;
  });

  struct ShowOpts {
    std::string id;
    bool json = false;
  };
  auto o = std::make_shared<ShowOpts>();
  auto conn2 = std::make_shared<ConnectOptions>();
  auto* show = group->add_subcommand("show", tr("One agreement, its reviews and its commitment"));
  show->add_option("ID", o->id, tr("Agreement id"))->required();
  show->add_flag("--json", o->json, tr("JSON output"));
  run_connected(show, conn2, exit_code, [o](DaemonClient& c) {
    v1::ApiRequest req;
    req.mutable_agreement_show()->set_id(o->id);
    auto r = c.call(req);
    if (!r) return report_error(r.error());
    const auto& a = r->agreements().agreements(0);
    if (o->json) {
      std::cout << json_dump_terminal_safe(agreement_json(a)) << "\n";
    } else {
      print_one(a, true);
    }
    return 0;
  });
}

void add_end(CLI::App* group, int* exit_code, bool violation) {
  struct Opts {
    std::string id, text;
    bool json = false;
  };
  auto o = std::make_shared<Opts>();
  auto conn = std::make_shared<ConnectOptions>();
  auto* cmd =
      violation
          ? group->add_subcommand(
                "violation", tr("Record a violation (authority): the agreement is revoked and\n"
                                "the applicant (and for sharing its agency) may apply no more"))
          : group->add_subcommand(
                "revoke", tr("Revoke an agreement (authority); it stops on the next request"));
  cmd->add_option("ID", o->id, tr("Agreement id"))->required();
  cmd->add_option(violation ? "--note" : "--reason", o->text,
                  violation ? tr("What happened (kept for good)") : "Why")
      ->required();
  cmd->add_flag("--json", o->json, tr("JSON output"));
  run_connected(cmd, conn, exit_code, [o, violation](DaemonClient& c) {
    v1::ApiRequest req;
    if (violation) {
      req.mutable_agreement_violation()->set_id(o->id);
      req.mutable_agreement_violation()->set_note(o->text);
    } else {
      req.mutable_agreement_revoke()->set_id(o->id);
      req.mutable_agreement_revoke()->set_reason(o->text);
    }
    return call_and_print(c, req, o->json,
                          violation ? tr("violation recorded for") : tr("revoked"));
  });
}

}  // namespace

void add_agreement_commands(CLI::App& app, int* exit_code) {
  auto* group = app.add_subcommand(
      "agreement", tr("Open-use agreements (R-18) and sharing requests between agencies (R-13)"));
  group->require_subcommand(1);
  add_apply(group, exit_code);
  add_decide(group, exit_code, "review",
             tr("Review an application for your agency's datasets (providing agency)"), true);
  add_decide(group, exit_code, "approve",
             tr("Approve or reject a reviewed application (authority)"), false);
  add_sign(group, exit_code);
  add_list_show(group, exit_code);
  add_end(group, exit_code, false);
  add_end(group, exit_code, true);
}

}  // namespace gongshu::ctl
