// gongshuctl drill mark --phase started|finished --plan NAME --report-id ID [--target T]
// [--outcome O]: one audit entry (drill_started / drill_finished) that tells officers the
// entries between the two belong to a drill, not to an incident.

#include "tools/ctl/drill_cmd.h"

#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "core/util/i18n.h"
#include "core/util/json.h"
#include "tools/ctl/commands.h"
#include "tools/ctl/daemon_client.h"

namespace gongshu::ctl {

void add_drill_commands(CLI::App& app, int* exit_code) {
  struct Opts {
    std::string phase, plan, report_id, target = "sandbox", outcome;
    bool json = false;
  };
  auto o = std::make_shared<Opts>();
  auto conn = std::make_shared<ConnectOptions>();
  auto* group =
      app.add_subcommand("drill", tr("应急演练 emergency drills in the audit log (R-25)"));
  group->require_subcommand(1);
  auto* mark = group->add_subcommand(
      "mark",
      tr("Record the start or the end of an emergency drill in the audit log (actions\n"
         "drill_started / drill_finished, naming the scenario, the drill's report id and the\n"
         "target), so officers can tell the drill's faults and refusals from a real incident.\n"
         "gongshu-drill does this itself; operators and officers only."));
  mark->add_option("--phase", o->phase, tr("started or finished"))
      ->required()
      ->check(CLI::IsMember({"started", "finished"}));
  mark->add_option("--plan", o->plan, tr("The scenario, e.g. daemon-crash"))->required();
  mark->add_option("--report-id", o->report_id, tr("The drill run's id, as its report names it"))
      ->required();
  mark->add_option("--target", o->target, tr("sandbox (default) or systemd"))
      ->check(CLI::IsMember({"sandbox", "systemd"}));
  mark->add_option("--outcome", o->outcome, tr("finished: passed, failed or error"))
      ->check(CLI::IsMember({"passed", "failed", "error"}));
  mark->add_flag("--json", o->json, tr("JSON output"));
  run_connected(mark, conn, exit_code, [o](DaemonClient& c) {
    v1::ApiRequest req;
    auto* m = req.mutable_drill_mark();
    m->set_phase(o->phase);
    m->set_plan(o->plan);
    m->set_report_id(o->report_id);
    m->set_target(o->target);
    m->set_outcome(o->outcome);
    auto r = c.call(req);
    if (!r) return report_error(r.error());
    uint64_t seq = r->drill_mark().seq();
    if (o->json) {
      std::cout << json_dump_terminal_safe(nlohmann::ordered_json{{"seq", seq},
                                                                  {"action", "drill_" + o->phase},
                                                                  {"plan", o->plan},
                                                                  {"report_id", o->report_id}})
                << "\n";
    } else {
      std::cout << trf("audit entry {}: drill_{} {} (report {})", seq, o->phase, o->plan,
                       o->report_id)
                << "\n";
    }
    return 0;
  });
}

}  // namespace gongshu::ctl
