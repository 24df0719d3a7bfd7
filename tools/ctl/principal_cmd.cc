// gongshuctl principal: who may use the api socket, as what (operators register; DESIGN §4).
// The person generates a key with `gongshuctl keygen` and hands over the public key only; the
// operator registers it with a role: agency (with its agency), operator, officer, applicant, or
// licensed (with the licence's term end, datasets and purposes, R-20). Agents are not added
// here: they enroll with a one-time token. Every change is audited by the daemon.

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

json principal_json(const v1::PrincipalInfo& p) {
  json j = {{"key_id", p.key_id()},
            {"public_key", p.public_key()},
            {"role", p.role()},
            {"agency", p.agency()},
            {"name", p.name()},
            {"created_at", time_text(p.created_at_ms())},
            {"created_by", p.created_by()},
            {"revoked", p.revoked()}};
  if (p.revoked()) {
    j["revoked_at"] = time_text(p.revoked_at_ms());
    j["revoke_reason"] = p.revoke_reason();
  }
  j["third_party"] = p.third_party();
  if (p.third_party()) {
    j["company"] = p.company();
    j["contract"] = p.contract();
  }
  if (p.role() == "licensed") {
    j["valid_until"] = time_text(p.valid_until_ms());
    j["datasets"] = std::vector<std::string>(p.datasets().begin(), p.datasets().end());
    j["purposes"] = std::vector<std::string>(p.purposes().begin(), p.purposes().end());
  }
  return j;
}

std::string joined(const google::protobuf::RepeatedPtrField<std::string>& v) {
  std::string out;
  for (const auto& s : v) out.append(out.empty() ? "" : ",").append(s);
  return out;
}

}  // namespace

void add_principal_commands(CLI::App& app, int* exit_code) {
  auto* group = app.add_subcommand(
      "principal", tr("Agency users, applicants, licensed operators and staff (operators)"));
  group->require_subcommand(1);

  struct AddOpts {
    std::string role, public_key, agency, name, until, datasets, purposes;
    std::string company, contract;
    bool third_party = false;
    bool json = false;
  };
  auto o = std::make_shared<AddOpts>();
  auto conn = std::make_shared<ConnectOptions>();
  auto* add = group->add_subcommand(
      "add",
      tr("Register a public key with a role. The person runs `gongshuctl keygen --kind ROLE` "
         "and\n"
         "hands over the public key; the secret never leaves them."));
  add->add_option(
         "--role", o->role,
         "agency | operator | officer | applicant | licensed | reviewer")  // i18n-exempt: the role
                                                                           // names
      ->required()
      ->check(
          CLI::IsMember({"agency", "operator", "officer", "applicant", "licensed", "reviewer"}));
  add->add_option("--public-key", o->public_key, tr("Their public key (64 hex)"))->required();
  add->add_option("--agency", o->agency,
                  tr("agency, reviewer: the registered agency they work for (a reviewer's "
                     "agency's region is its review level)"));
  add->add_option("--name", o->name, tr("The person or organisation"));
  add->add_option("--until", o->until, tr("licensed: end of the licence term, e.g. 2027-01-01"));
  add->add_option("--datasets", o->datasets, tr("licensed: datasets of the licence, a,b"));
  add->add_option("--purposes", o->purposes, tr("licensed: purposes of the licence, a,b"));
  add->add_flag("--third-party", o->third_party,
                tr("Third-party service staff (R-23): every copy, export, download, "
                   "desensitisation\n"
                   "and destruction of theirs is audited with their company and alerted"));
  add->add_option("--company", o->company, tr("--third-party: the company they work for"));
  add->add_option("--contract", o->contract, tr("--third-party: the service contract's reference"));
  add->add_flag("--json", o->json, tr("JSON output"));
  run_connected(add, conn, exit_code, [o](DaemonClient& c) {
    v1::ApiRequest req;
    auto* p = req.mutable_principal_add();
    p->set_role(o->role);
    p->set_public_key(o->public_key);
    p->set_agency(o->agency);
    p->set_name(o->name);
    p->set_third_party(o->third_party);
    p->set_company(o->company);
    p->set_contract(o->contract);
    if (!o->until.empty()) {
      auto t = parse_time(o->until);
      if (!t) return report_error(t.error());
      p->set_valid_until_ms(*t);
    }
    for (auto& d : split_list(o->datasets)) p->add_datasets(d);
    for (auto& u : split_list(o->purposes)) p->add_purposes(u);
    auto r = c.call(req);
    if (!r) return report_error(r.error());
    const auto& pi = r->principals().principals(0);
    if (o->json) {
      std::cout << json_dump_terminal_safe(principal_json(pi)) << "\n";
    } else {
      std::string who = shown(pi.role()) + " " + pi.key_id();
      if (!pi.agency().empty()) who = trf("{} of {}", who, shown(pi.agency()));
      if (!pi.name().empty()) who += " (" + shown(pi.name()) + ")";
      std::cout << trf("registered {}", who) << "\n";
      if (pi.third_party()) {
        std::cout << trf("third party: {}, contract {}", shown(pi.company()), shown(pi.contract()))
                  << "\n";
      }
      if (pi.role() == "licensed") {
        std::cout << trf("licence: {} for {} until {}", shown(joined(pi.datasets())),
                         shown(joined(pi.purposes())), time_text(pi.valid_until_ms()))
                  << "\n";
      }
    }
    return 0;
  });

  struct ListOpts {
    std::string role;
    bool json = false;
  };
  auto l = std::make_shared<ListOpts>();
  auto conn2 = std::make_shared<ConnectOptions>();
  auto* list = group->add_subcommand("list", tr("Every principal, agents included"));
  list->add_option("--role", l->role, tr("Only this role"));
  list->add_flag("--json", l->json, tr("JSON output"));
  run_connected(list, conn2, exit_code, [l](DaemonClient& c) {
    v1::ApiRequest req;
    req.mutable_principal_list();
    auto r = c.call(req);
    if (!r) return report_error(r.error());
    std::vector<const v1::PrincipalInfo*> shown;
    for (const auto& p : r->principals().principals()) {
      if (l->role.empty() || p.role() == l->role) shown.push_back(&p);
    }
    if (l->json) {
      json all = json::array();
      for (const auto* p : shown) all.push_back(principal_json(*p));
      std::cout << json_dump_terminal_safe(all) << "\n";
      return 0;
    }
    Table t({tr("KEY ID"), tr("ROLE"), tr("AGENCY"), tr("NAME"), tr("CREATED"), tr("STATE"),
             tr("LICENCE"), tr("THIRD PARTY")});
    for (const auto* p : shown) {
      std::string licence;
      if (p->role() == "licensed") {
        licence = trf("{} until {}", joined(p->datasets()), time_text(p->valid_until_ms()));
      }
      t.add({p->key_id(), p->role(), p->agency(), p->name(), time_text(p->created_at_ms()),
             p->revoked() ? trf("revoked {}", time_text(p->revoked_at_ms()))
                          : std::string(tr("active")),
             licence, p->third_party() ? p->company() + " (" + p->contract() + ")" : ""});
    }
    t.print(std::cout);
    return 0;
  });

  struct RevokeOpts {
    std::string key_id, reason;
  };
  auto rv = std::make_shared<RevokeOpts>();
  auto conn3 = std::make_shared<ConnectOptions>();
  auto* revoke = group->add_subcommand(
      "revoke", tr("Revoke a principal: from its next request it is nobody (the public)"));
  revoke->add_option("KEY_ID", rv->key_id, tr("Key id (16 hex)"))->required();
  revoke->add_option("--reason", rv->reason, tr("Why"));
  run_connected(revoke, conn3, exit_code, [rv](DaemonClient& c) {
    v1::ApiRequest req;
    req.mutable_principal_revoke()->set_key_id(rv->key_id);
    req.mutable_principal_revoke()->set_reason(rv->reason);
    auto r = c.call(req);
    if (!r) return report_error(r.error());
    const auto& p = r->principals().principals(0);
    std::cout << trf("revoked {} {} at {}", shown(p.role()), p.key_id(),
                     time_text(p.revoked_at_ms()))
              << "\n";
    return 0;
  });
}

}  // namespace gongshu::ctl
