// gongshuctl dataset destroy | destruction: destroying a dataset by crypto-shredding its data key
// (R-23 销毁), under dual control (daemon/destroy.h): one operator requests with a reason, a
// different operator or an officer confirms within 24 hours; every step audited.

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

ordered_json destruction_json(const v1::DatasetDestruction& d) {
  ordered_json j = {{"dataset", d.dataset()},
                    {"state", d.state()},
                    {"key_id", d.key_id()},
                    {"requested_by", d.requested_by()},
                    {"requested_at", time_text(d.requested_at_ms())},
                    {"expires_at", time_text(d.expires_at_ms())},
                    {"reason", d.reason()},
                    {"confirmed_by", d.confirmed_by()},
                    {"destroyed_at", time_text(d.destroyed_at_ms())},
                    {"versions", d.versions()},
                    {"records", d.records()}};
  if (!d.cancelled_by().empty()) j["cancelled_by"] = d.cancelled_by();
  return j;
}

void print(const v1::DatasetDestruction& d) {
  // TRANSLATORS: the labels of a destruction's state line up in a column ten wide; the state
  // (none, pending, destroyed, cancelled) is shown as the daemon names it.
  std::cout << trf("dataset   {}", shown(d.dataset())) << "\n"
            << trf("state     {}", shown(d.state())) << "\n";
  if (d.state() == "none") {
    std::cout << trf("data key  {}", shown(d.key_id().empty() ? "-" : d.key_id())) << "\n";
    return;
  }
  std::cout << trf("data key  {}", shown(d.key_id())) << "\n"
            << trf("requested {} by {}: {}", time_text(d.requested_at_ms()),
                   shown(d.requested_by()), shown(d.reason()))
            << "\n";
  if (d.state() == "pending") {
    std::cout << trf("awaiting  confirmation by another operator or an officer before {} (待确认)",
                     time_text(d.expires_at_ms()))
              << "\n"
              << "          gongshuctl dataset destroy "  // i18n-exempt: a command line
              << shown(d.dataset()) << " --confirm\n";    // i18n-exempt: a command line
  } else if (d.state() == "destroyed") {
    std::cout << trf("destroyed {}, confirmed by {} (已销毁)", time_text(d.destroyed_at_ms()),
                     shown(d.confirmed_by()))
              << "\n"
              << trf("          {} stored versions of {} records are unreadable, backups included",
                     d.versions(), d.records())
              << "\n";
  } else if (d.state() == "cancelled") {
    std::cout << trf("cancelled by {}", shown(d.cancelled_by())) << "\n";
  }
}

}  // namespace

void add_dataset_commands(CLI::App& app, int* exit_code) {
  auto* group = app.add_subcommand("dataset", tr("Datasets' stored data: destruction 销毁 (R-23)"));
  group->require_subcommand(1);

  struct DestroyOpts {
    std::string id, reason;
    bool confirm = false, cancel = false, json = false;
  };
  auto o = std::make_shared<DestroyOpts>();
  auto* destroy = group->add_subcommand(
      "destroy",
      tr("Destroy a dataset by crypto-shredding its data key: every stored version becomes\n"
         "unreadable, backups taken before included. Dual control 双人控制: an operator requests\n"
         "with --reason; a different operator or an officer confirms with --confirm within 24\n"
         "hours. Cannot be undone. Every step is audited (dataset_destroy_requested,\n"
         "dataset_destroyed naming the key id and the versions made unreadable)."));
  destroy->add_option("ID", o->id, tr("Dataset id"))->required();
  destroy->add_option("--reason", o->reason, tr("Request: why (the decision, its legal basis)"));
  destroy->add_flag("--confirm", o->confirm, tr("Confirm the pending request (not its requester)"));
  destroy->add_flag("--cancel", o->cancel, tr("Withdraw the pending request"));
  destroy->add_flag("--json", o->json, tr("JSON output"));
  run_connected(destroy, std::make_shared<ConnectOptions>(), exit_code, [o](DaemonClient& c) {
    v1::ApiRequest req;
    auto* d = req.mutable_dataset_destroy();
    d->set_dataset(o->id);
    d->set_reason(o->reason);
    d->set_confirm(o->confirm);
    d->set_cancel(o->cancel);
    auto r = c.call(req);
    if (!r) return report_error(r.error());
    if (o->json) {
      std::cout << json_dump_terminal_safe(destruction_json(r->destruction())) << "\n";
    } else {
      print(r->destruction());
    }
    return 0;
  });

  struct StatusOpts {
    std::string id;
    bool json = false;
  };
  auto s = std::make_shared<StatusOpts>();
  auto* status = group->add_subcommand("destruction",
                                       tr("The destruction request of a dataset and its state"));
  status->add_option("ID", s->id, tr("Dataset id"))->required();
  status->add_flag("--json", s->json, tr("JSON output"));
  run_connected(status, std::make_shared<ConnectOptions>(), exit_code, [s](DaemonClient& c) {
    v1::ApiRequest req;
    req.mutable_dataset_destroy_status()->set_dataset(s->id);
    auto r = c.call(req);
    if (!r) return report_error(r.error());
    if (s->json) {
      std::cout << json_dump_terminal_safe(destruction_json(r->destruction())) << "\n";
    } else {
      print(r->destruction());
    }
    return 0;
  });
}

}  // namespace gongshu::ctl
