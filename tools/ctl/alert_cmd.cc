// gongshuctl alert: the security alerts gongshud raised (R-24, docs/monitoring.md), for
// operators and security officers: list them (all, or the open ones), show one, acknowledge one
// with a note saying what was found and done (audited as alert_acknowledged).

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

using nlohmann::ordered_json;

ordered_json alert_json(const v1::Alert& a) {
  ordered_json j = {{"id", a.id()},
                    {"rule", a.rule()},
                    {"kind", a.kind()},
                    {"severity", a.severity()},
                    {"raised_at", time_text(a.raised_at_ms())},
                    {"raised_at_ms", a.raised_at_ms()},
                    {"principal", a.principal()},
                    {"role", a.role()},
                    {"agency", a.agency()},
                    {"dataset", a.dataset()},
                    {"company", a.company()},
                    {"about", a.about()},
                    {"text", a.text()},
                    {"measured", a.measured()},
                    {"threshold", a.threshold()},
                    {"audit_seq", a.audit_seq()},
                    {"trigger_seq", a.trigger_seq()},
                    {"acknowledged", a.acknowledged()}};
  if (a.acknowledged()) {
    j["acknowledged_at"] = time_text(a.acknowledged_at_ms());
    j["acknowledged_by"] = a.acknowledged_by();
    j["note"] = a.note();
    j["ack_seq"] = a.ack_seq();
  }
  return j;
}

void print_one(const v1::Alert& a) {
  // TRANSLATORS: the labels of `gongshuctl alert show` line up in a column ten wide.
  std::cout << trf("alert {}  {}  {} ({})", shown(a.id()), shown(a.severity()), shown(a.rule()),
                   shown(a.kind()))
            << "\n"
            << (a.trigger_seq() ? trf("raised    {} (audit entry {}, raised by entry {})",
                                      time_text(a.raised_at_ms()), a.audit_seq(), a.trigger_seq())
                                : trf("raised    {} (audit entry {})", time_text(a.raised_at_ms()),
                                      a.audit_seq()))
            << "\n";
  std::string by = shown(a.role()) + " " + shown(a.principal());
  if (!a.agency().empty()) by = trf("{} of {}", by, shown(a.agency()));
  if (!a.company().empty()) by = trf("{}; third party of {}", by, shown(a.company()));
  std::cout << trf("by        {}", by) << "\n";
  if (!a.dataset().empty()) std::cout << trf("dataset   {}", shown(a.dataset())) << "\n";
  std::cout << trf("what      {}", shown(a.text())) << "\n";
  if (a.acknowledged()) {
    std::cout << trf("state     acknowledged 已确认 at {} by {} (audit entry {})",
                     time_text(a.acknowledged_at_ms()), shown(a.acknowledged_by()), a.ack_seq())
              << "\n"
              << trf("note      {}", shown(a.note())) << "\n";
  } else {
    std::cout << trf("state     OPEN 未确认 (gongshuctl alert ack {} --note \"...\")",
                     shown(a.id()))
              << "\n";
  }
}

}  // namespace

void add_alert_commands(CLI::App& app, int* exit_code) {
  auto* group = app.add_subcommand(
      "alert",
      tr("Security alerts 安全告警 (operators, officers): what the monitoring rules of the policy\n"
         "directory's alerts.toml raised — bulk reads, repeated denials, access outside working\n"
         "hours, third-party actions, reads of important or core data, silent agents, a stalled\n"
         "checkpoint (docs/monitoring.md)"));
  group->require_subcommand(1);

  struct ListOpts {
    bool open = false, json = false;
    uint32_t limit = 200;
  };
  auto l = std::make_shared<ListOpts>();
  auto* list = group->add_subcommand("list", tr("Alerts, newest first"));
  list->add_flag("--open", l->open, tr("Only those not yet acknowledged"));
  list->add_option("--limit", l->limit, tr("At most this many (default 200)"))
      ->check(CLI::Range(1, 10000));
  list->add_flag("--json", l->json, tr("JSON output (an array)"));
  run_connected(list, std::make_shared<ConnectOptions>(), exit_code, [l](DaemonClient& c) {
    v1::ApiRequest req;
    req.mutable_alert_list()->set_open_only(l->open);
    req.mutable_alert_list()->set_limit(l->limit);
    auto r = c.call(req);
    if (!r) return report_error(r.error());
    const auto& out = r->alerts();
    if (l->json) {
      ordered_json all = ordered_json::array();
      for (const auto& a : out.alerts()) all.push_back(alert_json(a));
      std::cout << json_dump_terminal_safe(all) << "\n";
      return 0;
    }
    std::cout << trf("{} open alerts 未确认告警", out.open()) << "\n";
    if (out.alerts_size() == 0) return 0;
    Table t({tr("ID"), tr("RAISED 时间"), tr("SEVERITY 级别"), tr("RULE 规则"), tr("BY 主体"),
             tr("STATE 状态"), tr("WHAT 内容")});
    for (const auto& a : out.alerts()) {
      t.add({a.id(), time_text(a.raised_at_ms()), a.severity(), a.rule(),
             a.role() + " " + a.principal(),
             a.acknowledged() ? tr("acknowledged") : tr("OPEN 未确认"), a.text()});
    }
    t.print(std::cout);
    return 0;
  });

  struct ShowOpts {
    std::string id;
    bool json = false;
  };
  auto s = std::make_shared<ShowOpts>();
  auto* show = group->add_subcommand("show", tr("One alert in full"));
  show->add_option("ID", s->id, tr("Alert id (gongshuctl alert list)"))->required();
  show->add_flag("--json", s->json, tr("JSON output"));
  run_connected(show, std::make_shared<ConnectOptions>(), exit_code, [s](DaemonClient& c) {
    v1::ApiRequest req;
    req.mutable_alert_show()->set_id(s->id);
    auto r = c.call(req);
    if (!r) return report_error(r.error());
    const auto& a = r->alerts().alerts(0);
    if (s->json) {
      std::cout << json_dump_terminal_safe(alert_json(a)) << "\n";
    } else {
      print_one(a);
    }
    return 0;
  });

  struct AckOpts {
    std::string id, note;
    bool json = false;
  };
  auto k = std::make_shared<AckOpts>();
  auto* ack = group->add_subcommand(
      "ack", tr("Acknowledge an alert 确认告警: say what was found and done. Audited "
                "(alert_acknowledged,\n"
                "naming you and the note); an acknowledged alert stays listed, no longer open."));
  ack->add_option("ID", k->id, tr("Alert id"))->required();
  ack->add_option("--note", k->note, tr("What was found and done (required)"))->required();
  ack->add_flag("--json", k->json, tr("JSON output"));
  run_connected(ack, std::make_shared<ConnectOptions>(), exit_code, [k](DaemonClient& c) {
    v1::ApiRequest req;
    req.mutable_alert_ack()->set_id(k->id);
    req.mutable_alert_ack()->set_note(k->note);
    auto r = c.call(req);
    if (!r) return report_error(r.error());
    const auto& a = r->alerts().alerts(0);
    if (k->json) {
      std::cout << json_dump_terminal_safe(alert_json(a)) << "\n";
    } else {
      std::cout << trf("acknowledged alert {} ({}) at {}; {} open alerts remain", shown(a.id()),
                       shown(a.rule()), time_text(a.acknowledged_at_ms()), r->alerts().open())
                << "\n";
    }
    return 0;
  });
}

}  // namespace gongshu::ctl
