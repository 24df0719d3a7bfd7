// gongshuctl consent: a subject's consent to open its data to one applicant (R-15 (三) 同意;
// daemon/consent.h, docs/objections.md):
//
//   grant   the agency desk that collected the signed consent form records it: subject,
//           applicant, datasets, purpose, period, evidence reference
//   revoke  the collecting agency (or an operator): in force from the next request
//   list    consents you may see, by subject or applicant

#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "core/util/json.h"
#include "tools/ctl/commands.h"
#include "tools/ctl/daemon_client.h"
#include "tools/ctl/table.h"

namespace gongshu::ctl {
namespace {

using nlohmann::json;

std::string dump(const json& j) {
  return json_terminal_safe(j.dump(-1, ' ', false, json::error_handler_t::replace));
}

json consent_json(const v1::ConsentInfo& k) {
  json j = {{"id", k.id()},
            {"status", k.status()},
            {"subject_token", k.subject_token()},
            {"subject_kind", k.subject_kind()},
            {"applicant", k.applicant()},
            {"datasets", std::vector<std::string>(k.datasets().begin(), k.datasets().end())},
            {"purpose", k.purpose()},
            {"valid_from", time_text(k.valid_from_ms())},
            {"valid_to", time_text(k.valid_to_ms())},
            {"evidence", k.evidence()},
            {"agency", k.agency()},
            {"granted_by", k.granted_by()},
            {"granted_at", time_text(k.granted_at_ms())}};
  if (k.revoked()) {
    j["revoked_by"] = k.revoked_by();
    j["revoked_at"] = time_text(k.revoked_at_ms());
    j["revoke_reason"] = k.revoke_reason();
  }
  return j;
}

std::string datasets_text(const v1::ConsentInfo& k) {
  std::string s;
  for (const auto& d : k.datasets()) s.append(s.empty() ? "" : ",").append(d);
  return s.empty() ? "(every dataset about the subject)" : s;
}

void print_one(const v1::ConsentInfo& k) {
  std::cout << "consent:     " << shown(k.id()) << "  同意\n"
            << "status:      " << shown(k.status()) << "\n"
            << "subject:     " << shown(k.subject_kind()) << ", keyed hash "
            << shown(k.subject_token()) << "\n"
            << "applicant:   " << shown(k.applicant()) << "\n"
            << "datasets:    " << shown(datasets_text(k)) << "\n"
            << "purpose:     " << shown(k.purpose()) << "\n"
            << "period:      " << time_text(k.valid_from_ms()) << " .. "
            << time_text(k.valid_to_ms()) << "\n"
            << "evidence:    " << shown(k.evidence()) << "\n"
            << "collected:   by " << shown(k.agency()) << " (" << shown(k.granted_by()) << ") at "
            << time_text(k.granted_at_ms()) << "\n";
  if (k.revoked()) {
    std::cout << "revoked:     by " << shown(k.revoked_by()) << " at "
              << time_text(k.revoked_at_ms()) << ": " << shown(k.revoke_reason()) << "\n";
  }
}

int call_and_print(DaemonClient& c, const v1::ApiRequest& req, bool as_json,
                   const std::string& done) {
  auto r = c.call(req);
  if (!r) return report_error(r.error());
  const auto& k = r->consents().consents(0);
  if (as_json) {
    std::cout << dump(consent_json(k)) << "\n";
  } else {
    std::cout << done << " " << shown(k.id()) << ": now " << shown(k.status()) << "\n";
    print_one(k);
  }
  return 0;
}

void add_grant(CLI::App* group, int* exit_code) {
  struct Opts {
    std::string subject, applicant, purpose, from, until, evidence;
    std::vector<std::string> datasets;
    bool json = false;
  };
  auto o = std::make_shared<Opts>();
  auto conn = std::make_shared<ConnectOptions>();
  auto* cmd = group->add_subcommand(
      "grant",
      "Record a subject's consent (同意, R-15) to open its data to one applicant for a purpose\n"
      "and a period, as the agency desk that collected the signed form. A policy rule with\n"
      "consent = true then lets that applicant query this subject (query --subject) for that\n"
      "purpose, unmasked; nobody else and no other subject. The identifier is kept only as a\n"
      "keyed hash.");
  cmd->add_option("--subject", o->subject, "Citizen ID number or unified social credit code")
      ->required();
  cmd->add_option("--applicant", o->applicant, "The applicant's key id (gongshuctl principal list)")
      ->required();
  cmd->add_option(
      "--dataset", o->datasets,
      "A dataset the consent covers (repeat; default: every dataset about the subject)");
  cmd->add_option("--purpose", o->purpose, "The purpose consented to")->required();
  cmd->add_option("--from", o->from, "Start, e.g. 2026-12-01 (default: now)");
  cmd->add_option("--until", o->until, "End (exclusive), e.g. 2027-12-01")->required();
  cmd->add_option("--evidence", o->evidence,
                  "Reference of the signed consent form the desk keeps, e.g. desk file number")
      ->required();
  cmd->add_flag("--json", o->json, "JSON output");
  run_connected(cmd, conn, exit_code, [o](DaemonClient& c) {
    v1::ApiRequest req;
    auto* g = req.mutable_consent_grant();
    g->set_subject_id(o->subject);
    g->set_applicant(o->applicant);
    for (const auto& d : o->datasets) {
      for (auto& x : split_list(d)) g->add_datasets(x);
    }
    g->set_purpose(o->purpose);
    if (!o->from.empty()) {
      auto t = parse_time(o->from);
      if (!t) return report_error(t.error());
      g->set_valid_from_ms(*t);
    }
    auto until = parse_time(o->until);
    if (!until) return report_error(until.error());
    g->set_valid_to_ms(*until);
    g->set_evidence(o->evidence);
    return call_and_print(c, req, o->json, "granted:");
  });
}

void add_revoke(CLI::App* group, int* exit_code) {
  struct Opts {
    std::string id, reason;
    bool json = false;
  };
  auto o = std::make_shared<Opts>();
  auto conn = std::make_shared<ConnectOptions>();
  auto* cmd = group->add_subcommand(
      "revoke",
      "Revoke a consent (撤回同意) as the agency that collected it, or the authority; the next\n"
      "request under it is refused.");
  cmd->add_option("ID", o->id, "Consent id, e.g. TY-2026-0001")->required();
  cmd->add_option("--reason", o->reason, "Why (e.g. the subject withdrew it)")->required();
  cmd->add_flag("--json", o->json, "JSON output");
  run_connected(cmd, conn, exit_code, [o](DaemonClient& c) {
    v1::ApiRequest req;
    req.mutable_consent_revoke()->set_id(o->id);
    req.mutable_consent_revoke()->set_reason(o->reason);
    return call_and_print(c, req, o->json, "revoked:");
  });
}

void add_list(CLI::App* group, int* exit_code) {
  struct Opts {
    std::string subject, applicant;
    bool json = false;
  };
  auto o = std::make_shared<Opts>();
  auto conn = std::make_shared<ConnectOptions>();
  auto* cmd = group->add_subcommand(
      "list",
      "Consents you may see (operators and officers: all; an agency: those it collected; an\n"
      "applicant: those naming it), with their status now (active, pending, expired, revoked).");
  cmd->add_option("--subject", o->subject, "Only this subject's");
  cmd->add_option("--applicant", o->applicant, "Only this applicant's (key id)");
  cmd->add_flag("--json", o->json, "JSON output");
  run_connected(cmd, conn, exit_code, [o](DaemonClient& c) {
    v1::ApiRequest req;
    req.mutable_consent_list()->set_subject_id(o->subject);
    req.mutable_consent_list()->set_applicant(o->applicant);
    auto r = c.call(req);
    if (!r) return report_error(r.error());
    if (o->json) {
      json a = json::array();
      for (const auto& k : r->consents().consents()) a.push_back(consent_json(k));
      std::cout << dump(json{{"consents", a}}) << "\n";
      return 0;
    }
    Table t({"ID", "STATUS", "APPLICANT", "DATASETS", "PURPOSE", "UNTIL", "AGENCY"});
    for (const auto& k : r->consents().consents()) {
      t.add({shown(k.id()), shown(k.status()), shown(k.applicant()), shown(datasets_text(k)),
             shown(k.purpose()), time_text(k.valid_to_ms()), shown(k.agency())});
    }
    if (t.empty()) {
      std::cout << "no consents\n";
    } else {
      t.print(std::cout);
    }
    return 0;
  });
}

}  // namespace

void add_consent_commands(CLI::App& app, int* exit_code) {
  auto* group = app.add_subcommand(
      "consent", "Subjects' consent to open their data (同意, R-15): grant, revoke, list");
  group->require_subcommand(1);
  add_grant(group, exit_code);
  add_revoke(group, exit_code);
  add_list(group, exit_code);
}

}  // namespace gongshu::ctl
