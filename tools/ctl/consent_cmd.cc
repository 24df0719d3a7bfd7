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

#include "core/util/i18n.h"
#include "core/util/json.h"
#include "tools/ctl/commands.h"
#include "tools/ctl/daemon_client.h"
#include "tools/ctl/table.h"

namespace gongshu::ctl {
namespace {

using nlohmann::json;

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
  return s.empty() ? std::string(tr("(every dataset about the subject)")) : s;
}

void print_one(const v1::ConsentInfo& k) {
  // TRANSLATORS: the labels of a consent line up in a column thirteen wide.
  std::cout << trf("consent:     {}  同意", shown(k.id())) << "\n"
            << trf("status:      {}", shown(k.status())) << "\n"
            << trf("subject:     {}, keyed hash {}", shown(k.subject_kind()),
                   shown(k.subject_token()))
            << "\n"
            << trf("applicant:   {}", shown(k.applicant())) << "\n"
            << trf("datasets:    {}", shown(datasets_text(k))) << "\n"
            << trf("purpose:     {}", shown(k.purpose())) << "\n"
            << trf("period:      {} .. {}", time_text(k.valid_from_ms()),
                   time_text(k.valid_to_ms()))
            << "\n"
            << trf("evidence:    {}", shown(k.evidence())) << "\n"
            << trf("collected:   by {} ({}) at {}", shown(k.agency()), shown(k.granted_by()),
                   time_text(k.granted_at_ms()))
            << "\n";
  if (k.revoked()) {
    std::cout << trf("revoked:     by {} at {}: {}", shown(k.revoked_by()),
                     time_text(k.revoked_at_ms()), shown(k.revoke_reason()))
              << "\n";
  }
}

int call_and_print(DaemonClient& c, const v1::ApiRequest& req, bool as_json,
                   const std::string& done) {
  auto r = c.call(req);
  if (!r) return report_error(r.error());
  const auto& k = r->consents().consents(0);
  if (as_json) {
    std::cout << json_dump_terminal_safe(consent_json(k)) << "\n";
  } else {
    std::cout << trf(done.c_str(), shown(k.id()), shown(k.status())) << "\n";
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
      tr("Record a subject's consent (同意, R-15) to open its data to one applicant for a "
         "purpose\n"
         "and a period, as the agency desk that collected the signed form. A policy rule with\n"
         "consent = true then lets that applicant query this subject (query --subject) for that\n"
         "purpose, unmasked; nobody else and no other subject. The identifier is kept only as a\n"
         "keyed hash."));
  cmd->add_option("--subject", o->subject, tr("Citizen ID number or unified social credit code"))
      ->required();
  cmd->add_option("--applicant", o->applicant,
                  tr("The applicant's key id (gongshuctl principal list)"))
      ->required();
  cmd->add_option(
      "--dataset", o->datasets,
      tr("A dataset the consent covers (repeat; default: every dataset about the subject)"));
  cmd->add_option("--purpose", o->purpose, tr("The purpose consented to"))->required();
  cmd->add_option("--from", o->from, tr("Start, e.g. 2026-12-01 (default: now)"));
  cmd->add_option("--until", o->until, tr("End (exclusive), e.g. 2027-12-01"))->required();
  cmd->add_option("--evidence", o->evidence,
                  tr("Reference of the signed consent form the desk keeps, e.g. desk file number"))
      ->required();
  cmd->add_flag("--json", o->json, tr("JSON output"));
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
    return call_and_print(c, req, o->json, tr_noop("granted: {}: now {}"));
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
      tr("Revoke a consent (撤回同意) as the agency that collected it, or the authority; the "
         "next\n"
         "request under it is refused."));
  cmd->add_option("ID", o->id, tr("Consent id, e.g. TY-2026-0001"))->required();
  cmd->add_option("--reason", o->reason, tr("Why (e.g. the subject withdrew it)"))->required();
  cmd->add_flag("--json", o->json, tr("JSON output"));
  run_connected(cmd, conn, exit_code, [o](DaemonClient& c) {
    v1::ApiRequest req;
    req.mutable_consent_revoke()->set_id(o->id);
    req.mutable_consent_revoke()->set_reason(o->reason);
    return call_and_print(c, req, o->json, tr_noop("revoked: {}: now {}"));
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
      tr("Consents you may see (operators and officers: all; an agency: those it collected; an\n"
         "applicant: those naming it), with their status now (active, pending, expired, "
         "revoked)."));
  cmd->add_option("--subject", o->subject, tr("Only this subject's"));
  cmd->add_option("--applicant", o->applicant, tr("Only this applicant's (key id)"));
  cmd->add_flag("--json", o->json, tr("JSON output"));
  run_connected(cmd, conn, exit_code, [o](DaemonClient& c) {
    v1::ApiRequest req;
    req.mutable_consent_list()->set_subject_id(o->subject);
    req.mutable_consent_list()->set_applicant(o->applicant);
    auto r = c.call(req);
    if (!r) return report_error(r.error());
    if (o->json) {
      json a = json::array();
      for (const auto& k : r->consents().consents()) a.push_back(consent_json(k));
      std::cout << json_dump_terminal_safe(json{{"consents", a}}) << "\n";
      return 0;
    }
    Table t({tr("ID"), tr("STATUS"), tr("APPLICANT"), tr("DATASETS"), tr("PURPOSE"), tr("UNTIL"),
             tr("AGENCY")});
    for (const auto& k : r->consents().consents()) {
      t.add({k.id(), k.status(), k.applicant(), datasets_text(k), k.purpose(),
             time_text(k.valid_to_ms()), k.agency()});  // print() escapes (table.h)
    }
    if (t.empty()) {
      std::cout << tr("no consents") << "\n";
    } else {
      t.print(std::cout);
    }
    return 0;
  });
}

}  // namespace

void add_consent_commands(CLI::App& app, int* exit_code) {
  auto* group = app.add_subcommand(
      "consent", tr("Subjects' consent to open their data (同意, R-15): grant, revoke, list"));
  group->require_subcommand(1);
  add_grant(group, exit_code);
  add_revoke(group, exit_code);
  add_list(group, exit_code);
}

}  // namespace gongshu::ctl
