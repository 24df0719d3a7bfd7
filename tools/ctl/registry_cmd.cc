// gongshuctl agency | catalog | enroll-token | agent | record: the registries kept by gongshud.

#include <toml++/toml.h>

#include <iostream>
#include <memory>

#include "core/catalog/dataset.h"
#include "core/util/clock.h"
#include "core/util/fd.h"
#include "core/util/i18n.h"
#include "core/util/json.h"
#include "tools/ctl/commands.h"
#include "tools/ctl/daemon_client.h"
#include "tools/ctl/table.h"

namespace gongshu::ctl {
namespace {

Result<uint64_t> parse_duration(const std::string& s) {
  if (s.empty()) return fail(ErrorCode::kInvalidArgument, tr("empty duration"));
  uint64_t n = 0;
  size_t i = 0;
  for (; i < s.size() && isdigit(static_cast<unsigned char>(s[i])); ++i)
    n = n * 10 + uint64_t(s[i] - '0');
  std::string unit = s.substr(i);
  uint64_t mult = unit == "s" || unit.empty() ? 1
                  : unit == "m"               ? 60
                  : unit == "h"               ? 3600
                  : unit == "d"               ? 86400
                                              : 0;
  if (i == 0 || mult == 0 || n > 1'000'000)
    return fail(ErrorCode::kInvalidArgument, "duration '" + s + "': use e.g. 90s, 30m, 24h, 7d");
  return n * mult;
}

void agency_json(JsonWriter& w, const v1::Agency& a) {
  w.begin_object()
      .field("id", a.id())
      .field("name", a.name())
      .field("type", a.type())
      .field("region_code", a.region_code())
      .field("created_at", time_text(a.created_at_ms()))
      .end_object();
}

void dataset_json(JsonWriter& w, const v1::DatasetInfo& d) {
  const auto& e = d.entry();
  w.begin_object()
      .field("id", e.id())
      .field("name", e.name())
      .field("provider", e.provider_agency())
      .field("grade", e.grade())
      .field("open", e.open_attribute())
      .field("share", e.share_attribute())
      .field("update_frequency", e.update_frequency())
      .field("subject", e.subject_kind())
      .field("category", e.category())
      .field("status", e.status())
      .field("version", e.version())
      .field("records", d.records())
      .field("versions", d.versions())
      .field("invalidated", d.invalidated());
  w.key("fields").begin_array();
  for (const auto& f : e.fields()) {
    w.begin_object()
        .field("name", f.name())
        .field("type", catalog::field_type_name(f.type()))
        .field("pii", catalog::pii_kind_name(f.pii()))
        .field("required", f.required())
        .field("description", f.description())
        .end_object();
  }
  w.end_array().end_object();
}

void add_agency_commands(CLI::App& app, int* exit_code) {
  auto* agency = app.add_subcommand("agency", tr("Agencies that provide data (R-02, R-03)"));
  agency->require_subcommand(1);

  struct AddOpts {
    v1::Agency a;
    std::string from;
  };
  auto add = std::make_shared<AddOpts>();
  auto conn = std::make_shared<ConnectOptions>();
  auto* addc =
      agency->add_subcommand("add", tr("Register an agency (or every [[agency]] of --from FILE)"));
  addc->add_option("--id", *add->a.mutable_id(), tr("Agency id, [a-z0-9_-]"));
  addc->add_option("--name", *add->a.mutable_name(), tr("Chinese name"));
  addc->add_option("--type", *add->a.mutable_type(),
                   tr("government | public_service | national_office"));
  addc->add_option("--region", *add->a.mutable_region_code(), tr("6-digit region code"));
  addc->add_option("--from", add->from,
                   tr("TOML file with [[agency]] tables (id, name, type, region)"));
  run_connected(addc, conn, exit_code, [add](DaemonClient& c) {
    std::vector<v1::Agency> list;
    if (!add->from.empty()) {
      auto text = read_file(add->from, 1 << 20);
      if (!text) return report_error(text.error());
      try {
        auto t = toml::parse(as_chars(*text), add->from);
        if (auto* arr = t["agency"].as_array()) {
          for (auto& n : *arr) {
            auto* tbl = n.as_table();
            if (!tbl) continue;
            v1::Agency a;
            a.set_id((*tbl)["id"].value_or(std::string()));
            a.set_name((*tbl)["name"].value_or(std::string()));
            a.set_type((*tbl)["type"].value_or(std::string()));
            a.set_region_code((*tbl)["region"].value_or(std::string()));
            list.push_back(a);
          }
        }
      } catch (const toml::parse_error& e) {
        std::cerr
            << "gongshuctl: "  // i18n-exempt: the program name, FILE:LINE, the parser's reason
            << add->from << ":" << e.source().begin.line << ": " << shown(e.description()) << "\n";
        return 2;
      }
    } else {
      if (add->a.id().empty()) {
        std::cerr << tr(
            "gongshuctl agency add: give --id, --name, --type, --region (or --from FILE)\n");
        return 2;
      }
      list.push_back(add->a);
    }
    int code = 0;
    for (const auto& a : list) {
      v1::ApiRequest req;
      *req.mutable_agency_add()->mutable_agency() = a;
      auto r = c.call(req);
      if (!r) {
        code = std::max(
            code, report_error(Error(r.error()).with_context(trf("agency {}", shown(a.id())))));
        continue;
      }
      std::cout << trf("added agency {} {}", shown(a.id()), shown(a.name())) << "\n";
    }
    return code;
  });

  auto list_json = std::make_shared<bool>(false);
  auto conn2 = std::make_shared<ConnectOptions>();
  auto* listc = agency->add_subcommand("list", tr("List agencies"));
  listc->add_flag("--json", *list_json, tr("JSON output"));
  run_connected(listc, conn2, exit_code, [list_json](DaemonClient& c) {
    v1::ApiRequest req;
    req.mutable_agency_list();
    auto r = c.call(req);
    if (!r) return report_error(r.error());
    if (*list_json) {
      JsonWriter w;
      w.begin_array();
      for (const auto& a : r->agencies().agencies()) agency_json(w, a);
      std::cout << w.end_array().str() << "\n";
      return 0;
    }
    Table t({tr("ID"), tr("NAME"), tr("TYPE"), tr("REGION"), tr("REGISTERED")});
    for (const auto& a : r->agencies().agencies())
      t.add({a.id(), a.name(), a.type(), a.region_code(), local_time_text(a.created_at_ms())});
    t.print(std::cout);
    return 0;
  });

  struct ShowOpts {
    std::string id;
    bool json = false;
  };
  auto show = std::make_shared<ShowOpts>();
  auto conn3 = std::make_shared<ConnectOptions>();
  auto* showc = agency->add_subcommand("show", tr("Show one agency"));
  showc->add_option("ID", show->id, tr("Agency id"))->required();
  showc->add_flag("--json", show->json, tr("JSON output"));
  run_connected(showc, conn3, exit_code, [show](DaemonClient& c) {
    v1::ApiRequest req;
    req.mutable_agency_show()->set_id(show->id);
    auto r = c.call(req);
    if (!r) return report_error(r.error());
    const auto& a = r->agencies().agencies(0);
    if (show->json) {
      JsonWriter w;
      agency_json(w, a);
      std::cout << w.str() << "\n";
    } else {
      std::cout << trf("id:         {0}\n"
                       "name:       {1}\n"
                       "type:       {2}\n"
                       "region:     {3}\n"
                       "registered: {4}",
                       shown(a.id()), shown(a.name()), shown(a.type()), shown(a.region_code()),
                       local_time_text(a.created_at_ms()))
                << "\n";
    }
    return 0;
  });
}

void add_catalog_commands(CLI::App& app, int* exit_code) {
  auto* cat = app.add_subcommand("catalog", tr("The dataset catalog (R-04 .. R-06, R-14)"));
  cat->require_subcommand(1);

  auto files = std::make_shared<std::vector<std::string>>();
  auto conn = std::make_shared<ConnectOptions>();
  auto* addc =
      cat->add_subcommand("add", tr("Add or update datasets from TOML catalog entries, approved "
                                    "as added: the authority's direct path,\naudited (operators; "
                                    "format: core/catalog/dataset.h; examples in "
                                    "policies/catalog/)"));
  addc->add_option("FILE", *files, tr("Catalog entry files"))->required()->check(CLI::ExistingFile);
  run_connected(addc, conn, exit_code, [files](DaemonClient& c) {
    int code = 0;
    for (const auto& f : *files) {
      auto text = read_file(f, 1 << 20);
      if (!text) {
        code = std::max(code, report_error(text.error()));
        continue;
      }
      auto entry = catalog::parse_dataset_toml(as_chars(*text), f);
      if (!entry) {
        std::cerr << "gongshuctl: "  // i18n-exempt: the program name before the parser's reason
                  << printable_lines(entry.error().message()) << "\n";
        code = std::max(code, 1);
        continue;
      }
      v1::ApiRequest req;
      *req.mutable_catalog_add()->mutable_entry() = *entry;
      auto r = c.call(req);
      if (!r) {
        std::cerr << f << ": ";
        code = std::max(code, report_error(r.error()));
        continue;
      }
      const auto& e = r->datasets().datasets(0).entry();
      std::cout << trf("catalog: {0} {1} (version {2}, {3})", shown(e.id()), shown(e.name()),
                       e.version(), shown(e.status()))
                << "\n";
    }
    return code;
  });

  struct ShowOpts {
    std::string id;
    bool json = false;
  };
  auto list = std::make_shared<ShowOpts>();
  auto conn2 = std::make_shared<ConnectOptions>();
  auto* listc =
      cat->add_subcommand("list", tr("List datasets with their attributes and record counts"));
  listc->add_flag("--json", list->json, tr("JSON output"));
  auto show = std::make_shared<ShowOpts>();
  auto conn3 = std::make_shared<ConnectOptions>();
  auto* showc = cat->add_subcommand(
      "show", tr("Show one dataset: attributes, fields, record and version counts"));
  showc->add_option("ID", show->id, tr("Dataset id"))->required();
  showc->add_flag("--json", show->json, tr("JSON output"));
  auto run = [](std::shared_ptr<ShowOpts> o, bool one) {
    return [o, one](DaemonClient& c) {
      v1::ApiRequest req;
      req.mutable_catalog_show()->set_id(o->id);
      auto r = c.call(req);
      if (!r) return report_error(r.error());
      const auto& ds = r->datasets().datasets();
      if (o->json) {
        JsonWriter w;
        if (!one) w.begin_array();
        for (const auto& d : ds) dataset_json(w, d);
        if (!one) w.end_array();
        std::cout << w.str() << "\n";
        return 0;
      }
      if (!one) {
        Table t({tr("ID"), tr("NAME"), tr("PROVIDER"), tr("GRADE"), tr("OPEN"), tr("SHARE"),
                 tr("UPDATES"), tr("RECORDS"), tr("VERSIONS")});
        for (const auto& d : ds) {
          const auto& e = d.entry();
          t.add({e.id(), e.name(), e.provider_agency(), e.grade(), e.open_attribute(),
                 e.share_attribute(), e.update_frequency(), std::to_string(d.records()),
                 std::to_string(d.versions())});
        }
        t.print(std::cout);
        return 0;
      }
      const auto& d = ds.Get(0);
      const auto& e = d.entry();
      std::cout << trf("id:               {0}\n"
                       "name:             {1}\n"
                       "provider:         {2}\n"
                       "grade:            {3}\n"
                       "open attribute:   {4}\n"
                       "share attribute:  {5}\n"
                       "update frequency: {6}\n"
                       "subject:          {7}\n"
                       "category:         {8}\n"
                       "status:           {9} (version {10})\n"
                       "records:          {11} current, {12} invalidated\n"
                       "versions:         {13}\n"
                       "fields:",
                       shown(e.id()), shown(e.name()), shown(e.provider_agency()), shown(e.grade()),
                       shown(e.open_attribute()), shown(e.share_attribute()),
                       shown(e.update_frequency()), shown(e.subject_kind()), shown(e.category()),
                       shown(e.status()), e.version(), d.records(), d.invalidated(), d.versions())
                << "\n";
      // The field table indented under "fields:" (the indentation is layout, not text).
      Table t({"  " + std::string(tr("NAME")), tr("TYPE"), tr("PII"), tr("REQUIRED"),
               tr("DESCRIPTION")});
      for (const auto& f : e.fields()) {
        t.add({"  " + f.name(), std::string(catalog::field_type_name(f.type())),
               std::string(catalog::pii_kind_name(f.pii())), f.required() ? "yes" : "no",
               f.description()});
      }
      t.print(std::cout);
      return 0;
    };
  };
  run_connected(listc, conn2, exit_code, run(list, false));
  run_connected(showc, conn3, exit_code, run(show, true));
  add_catalog_workflow_commands(cat, exit_code);
}

void add_token_commands(CLI::App& app, int* exit_code) {
  auto* tok = app.add_subcommand("enroll-token",
                                 tr("One-time tokens with which an agency's agent enrolls"));
  tok->require_subcommand(1);
  struct Opts {
    std::string agency;
    std::string ttl = "24h";
    bool json = false;
  };
  auto o = std::make_shared<Opts>();
  auto conn = std::make_shared<ConnectOptions>();
  auto* create = tok->add_subcommand(
      "create", tr("Create a one-time, expiring token for one agency. Give it to that agency;\n"
                   "`gongshu-agent enroll TOKEN` on its machine registers the agent's key."));
  create->add_option("--agency", o->agency, tr("Agency the agent will deliver for"))->required();
  create->add_option("--ttl", o->ttl, tr("Validity, e.g. 30m, 24h, 7d (at most 30d)"))
      ->capture_default_str();
  create->add_flag("--json", o->json, tr("JSON output"));
  run_connected(create, conn, exit_code, [o](DaemonClient& c) {
    auto ttl = parse_duration(o->ttl);
    if (!ttl) return report_error(ttl.error());
    v1::ApiRequest req;
    req.mutable_enroll_token_create()->set_agency(o->agency);
    req.mutable_enroll_token_create()->set_ttl_seconds(*ttl);
    auto r = c.call(req);
    if (!r) return report_error(r.error());
    const auto& t = r->enroll_token();
    if (o->json) {
      JsonWriter w;
      w.begin_object()
          .field("token", t.token())
          .field("agency", o->agency)
          .field("expires_at", time_text(t.expires_at_ms()))
          .end_object();
      std::cout << w.str() << "\n";
    } else {
      std::cout << t.token() << "\n";
      std::cerr << trf("one-time token for agency {}, valid until {}", o->agency,
                       local_time_text(t.expires_at_ms()))
                << "\n";
    }
    return 0;
  });
}

void add_agent_commands(CLI::App& app, int* exit_code) {
  auto* agent = app.add_subcommand("agent", tr("Enrolled agents"));
  agent->require_subcommand(1);
  auto json = std::make_shared<bool>(false);
  auto conn = std::make_shared<ConnectOptions>();
  auto* list = agent->add_subcommand(
      "list", tr("List enrolled agents, their agency, activity and revocation"));
  list->add_flag("--json", *json, tr("JSON output"));
  auto print = [](const v1::AgentList& agents, bool as_json) {
    if (as_json) {
      JsonWriter w;
      w.begin_array();
      for (const auto& a : agents.agents()) {
        w.begin_object()
            .field("key_id", a.key_id())
            .field("public_key", a.public_key())
            .field("agency", a.agency())
            .field("hostname", a.hostname())
            .field("enrolled_at", time_text(a.enrolled_at_ms()))
            .field("revoked", a.revoked())
            .field("revoked_at", time_text(a.revoked_at_ms()))
            .field("last_seen", time_text(a.last_seen_ms()))
            .field("batches", a.batches())
            .field("last_batch_seq", a.last_batch_seq())
            .end_object();
      }
      std::cout << w.end_array().str() << "\n";
      return;
    }
    Table t({tr("KEY ID"), tr("AGENCY"), tr("HOST"), tr("ENROLLED"), tr("LAST SEEN"), tr("BATCHES"),
             tr("STATE")});
    for (const auto& a : agents.agents()) {
      t.add({a.key_id(), a.agency(), a.hostname(), local_time_text(a.enrolled_at_ms()),
             local_time_text(a.last_seen_ms()), std::to_string(a.batches()),
             a.revoked() ? trf("revoked {}", local_time_text(a.revoked_at_ms())) : tr("active")});
    }
    t.print(std::cout);
  };
  run_connected(list, conn, exit_code, [json, print](DaemonClient& c) {
    v1::ApiRequest req;
    req.mutable_agent_list();
    auto r = c.call(req);
    if (!r) return report_error(r.error());
    print(r->agents(), *json);
    return 0;
  });
  auto key_id = std::make_shared<std::string>();
  auto conn2 = std::make_shared<ConnectOptions>();
  auto* revoke = agent->add_subcommand(
      "revoke", tr("Revoke an agent's key: refused from its next connection and message on"));
  revoke->add_option("KEY_ID", *key_id, tr("The agent's key id (16 hex)"))->required();
  run_connected(revoke, conn2, exit_code, [key_id](DaemonClient& c) {
    v1::ApiRequest req;
    req.mutable_agent_revoke()->set_key_id(*key_id);
    auto r = c.call(req);
    if (!r) return report_error(r.error());
    std::cout << trf("revoked agent {}", *key_id) << "\n";
    return 0;
  });
}

void add_record_commands(CLI::App& app, int* exit_code) {
  auto* rec = app.add_subcommand("record", tr("Stored records"));
  rec->require_subcommand(1);
  struct Opts {
    std::string dataset, key;
    bool json = false;
  };
  auto o = std::make_shared<Opts>();
  auto conn = std::make_shared<ConnectOptions>();
  auto* prov = rec->add_subcommand(
      "provenance", tr("Show every stored version of a record with its provenance, and re-verify\n"
                       "each against the agent's signature (exit 1 if any fails)"));
  prov->add_option("DATASET", o->dataset, tr("Dataset id"))->required();
  prov->add_option("KEY", o->key, tr("Record key"))->required();
  prov->add_flag("--json", o->json, tr("JSON output"));
  run_connected(prov, conn, exit_code, [o](DaemonClient& c) {
    v1::ApiRequest req;
    req.mutable_record_provenance()->set_dataset(o->dataset);
    req.mutable_record_provenance()->set_record_key(o->key);
    auto r = c.call(req);
    if (!r) return report_error(r.error());
    const auto& p = r->provenance();
    bool all_ok = true;
    for (const auto& v : p.versions()) all_ok = all_ok && v.signature_valid();
    if (o->json) {
      JsonWriter w;
      w.begin_object()
          .field("dataset", p.dataset())
          .field("record_key", p.record_key())
          .field("current_valid", p.current_valid());
      w.key("versions").begin_array();
      for (const auto& v : p.versions()) {
        w.begin_object()
            .field("version", v.version())
            .field("agency", v.agency())
            .field("agent_key_id", v.agent_key_id())
            .field("batch_seq", v.batch_seq())
            .field("index", v.index())
            .field("received_at", time_text(v.received_at_ms()))
            .field("invalidation", v.invalidated())
            .field("record_hash", v.record_hash())
            .field("audit_seq", v.audit_seq())
            .field("verified", v.signature_valid())
            .field("problem", v.check_error())
            .end_object();
      }
      w.end_array().field("verified", all_ok).end_object();
      std::cout << w.str() << "\n";
    } else {
      std::cout << trnf("{0} / {1}: {2}, {3} version, newest first",
                        "{0} / {1}: {2}, {3} versions, newest first",
                        static_cast<unsigned long>(p.versions_size()), shown(p.dataset()),
                        shown(p.record_key()), p.current_valid() ? tr("valid") : tr("INVALIDATED"),
                        p.versions_size())
                << "\n";
      Table t({tr("VERSION"), tr("AGENCY"), tr("AGENT"), tr("BATCH"), tr("INDEX"), tr("RECEIVED"),
               tr("AUDIT"), tr("KIND"), tr("SIGNATURE")});
      for (const auto& v : p.versions()) {
        t.add({std::to_string(v.version()), v.agency(), v.agent_key_id(),
               std::to_string(v.batch_seq()), std::to_string(v.index()),
               local_time_text(v.received_at_ms()), v.audit_seq(),
               v.invalidated() ? "invalidate" : "upsert",
               v.signature_valid() ? "verified" : "FAILED: " + v.check_error()});
      }
      t.print(std::cout);
    }
    return all_ok ? 0 : 1;
  });
}

}  // namespace

void add_registry_commands(CLI::App& app, int* exit_code) {
  add_agency_commands(app, exit_code);
  add_catalog_commands(app, exit_code);
  add_token_commands(app, exit_code);
  add_agent_commands(app, exit_code);
  add_record_commands(app, exit_code);
}

}  // namespace gongshu::ctl
