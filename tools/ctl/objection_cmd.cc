// gongshuctl objection: objections to data about a citizen or organisation (R-11 异议;
// daemon/objections.h, docs/objections.md):
//
//   file     an agency's desk (or the authority) files for the requester: one record, or the
//            records about a subject, of a dataset; routed to the provider (or the authoritative
//            source of the field's data item) with a deadline in working days
//   verify   the assigned agency starts checking
//   answer   the assigned agency answers: --corrected VERSION, --upheld or --transfer AGENCY
//   list     with --overdue: open objections past their deadline; --agency: assigned to one
//   show     one objection with every step and the requester's notification

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

std::string deadline_text(const v1::ObjectionInfo& o) {
  return time_text(o.deadline_ms()) + " (" + std::to_string(o.deadline_working_days()) +
         " working days)";
}

json objection_json(const v1::ObjectionInfo& o) {
  json steps = json::array();
  for (const auto& s : o.steps()) {
    steps.push_back({{"step", s.step()},
                     {"from", s.from_state()},
                     {"to", s.to_state()},
                     {"key_id", s.key_id()},
                     {"role", s.role()},
                     {"agency", s.agency()},
                     {"at", time_text(s.at_ms())},
                     {"note", s.note()}});
  }
  json j = {{"id", o.id()},
            {"state", o.state()},
            {"dataset", o.dataset()},
            {"record_key", o.record_key()},
            {"subject_token", o.subject_token()},
            {"records", std::vector<std::string>(o.records().begin(), o.records().end())},
            {"reason", o.reason()},
            {"contact", o.contact()},
            {"filed_by", o.filed_by()},
            {"filed_by_role", o.filed_by_role()},
            {"filed_by_agency", o.filed_by_agency()},
            {"filed_at", time_text(o.filed_at_ms())},
            {"filed_at_ms", o.filed_at_ms()},
            {"assigned_agency", o.assigned_agency()},
            {"routed_by", o.routed_by()},
            {"deadline", time_text(o.deadline_ms())},
            {"deadline_ms", o.deadline_ms()},
            {"deadline_working_days", o.deadline_working_days()},
            {"overdue", o.overdue()},
            {"version_at_filing", o.version_at_filing()},
            {"steps", steps}};
  if (o.corrected_version()) j["corrected_version"] = o.corrected_version();
  if (!o.transferred_to().empty()) j["transferred_to"] = o.transferred_to();
  if (!o.transferred_from().empty()) j["transferred_from"] = o.transferred_from();
  if (o.answered_at_ms()) {
    j["answer"] = o.answer();
    j["answered_by"] = o.answered_by();
    j["answered_at"] = time_text(o.answered_at_ms());
    j["notification"] = o.notification();
    j["notified_at"] = time_text(o.notified_at_ms());
  }
  return j;
}

void print_one(const v1::ObjectionInfo& o) {
  std::cout << "objection:   " << shown(o.id()) << "  异议\n"
            << "state:       " << shown(o.state()) << (o.overdue() ? "  OVERDUE 逾期" : "") << "\n"
            << "dataset:     " << shown(o.dataset()) << "\n";
  if (!o.record_key().empty()) std::cout << "record:      " << shown(o.record_key()) << "\n";
  if (!o.subject_token().empty())
    std::cout << "subject:     keyed hash " << shown(o.subject_token()) << "\n";
  std::cout << "disputed:    " << o.records_size() << " record(s)";
  for (const auto& k : o.records()) std::cout << " " << shown(k);
  std::cout << "\nreason:      " << shown(o.reason()) << "\n"
            << "contact:     " << shown(o.contact()) << "\n"
            << "filed:       " << time_text(o.filed_at_ms()) << " by " << shown(o.filed_by())
            << " (" << shown(o.filed_by_role())
            << (o.filed_by_agency().empty() ? "" : " " + shown(o.filed_by_agency())) << ")\n"
            << "assigned to: " << shown(o.assigned_agency()) << " (" << shown(o.routed_by())
            << ")\n"
            << "deadline:    " << deadline_text(o) << "\n";
  if (o.corrected_version())
    std::cout << "corrected:   by record version " << o.corrected_version() << "\n";
  if (!o.transferred_from().empty())
    std::cout << "transferred from: " << shown(o.transferred_from()) << "\n";
  if (!o.transferred_to().empty())
    std::cout << "continues as: " << shown(o.transferred_to()) << "\n";
  for (const auto& s : o.steps()) {
    std::cout << "step:        " << time_text(s.at_ms()) << " " << shown(s.step()) << " "
              << (s.from_state().empty() ? "" : shown(s.from_state()) + " -> ")
              << shown(s.to_state()) << " by " << shown(s.key_id()) << " (" << shown(s.role())
              << (s.agency().empty() ? "" : " " + shown(s.agency())) << ")"
              << (s.note().empty() ? "" : ": " + shown(s.note())) << "\n";
  }
  if (o.notified_at_ms()) {
    std::cout << "notified:    " << time_text(o.notified_at_ms()) << "\n"
              << printable_lines(o.notification()) << "\n";
  }
}

int call_and_print(DaemonClient& c, const v1::ApiRequest& req, bool as_json,
                   const std::string& done) {
  auto r = c.call(req);
  if (!r) return report_error(r.error());
  const auto& o = r->objections().objections(0);
  if (as_json) {
    std::cout << dump(objection_json(o)) << "\n";
  } else {
    if (!done.empty())
      std::cout << done << " " << shown(o.id()) << ": now " << shown(o.state()) << "\n";
    print_one(o);
  }
  return 0;
}

void add_file(CLI::App* group, int* exit_code) {
  struct Opts {
    std::string dataset, record, subject, field, reason, contact;
    bool json = false;
  };
  auto o = std::make_shared<Opts>();
  auto conn = std::make_shared<ConnectOptions>();
  auto* cmd = group->add_subcommand(
      "file",
      "File an objection (异议) for a citizen or organisation who finds data about itself wrong\n"
      "(R-11), as an agency's service desk or the authority. Name one record (--record) or the\n"
      "subject (--subject: every record about it in the dataset). The objection goes to the\n"
      "dataset's provider, or to the authoritative source of --field's data item, which must\n"
      "answer within the working days policies/policy/calendar.toml sets. While it is open the\n"
      "records are marked disputed in every read.");
  cmd->add_option("--dataset", o->dataset, "The dataset holding the data")->required();
  auto* rec = cmd->add_option("--record", o->record, "The record key objected to");
  auto* sub = cmd->add_option("--subject", o->subject,
                              "The requester's citizen ID number or credit code (kept only as a "
                              "keyed hash)");
  rec->excludes(sub);
  cmd->add_option("--field", o->field,
                  "The field objected to (routes to its authoritative source)");
  cmd->add_option("--reason", o->reason, "What is wrong, in the requester's words")->required();
  cmd->add_option("--contact", o->contact, "How the desk reaches the requester with the answer")
      ->required();
  cmd->add_flag("--json", o->json, "JSON output");
  run_connected(cmd, conn, exit_code, [o](DaemonClient& c) {
    if (o->record.empty() == o->subject.empty()) {
      std::cerr << "gongshuctl: give --record KEY or --subject ID\n";
      return 2;
    }
    v1::ApiRequest req;
    auto* f = req.mutable_objection_file();
    f->set_dataset(o->dataset);
    f->set_record_key(o->record);
    f->set_subject_id(o->subject);
    f->set_field(o->field);
    f->set_reason(o->reason);
    f->set_contact(o->contact);
    return call_and_print(c, req, o->json, "filed:");
  });
}

void add_verify(CLI::App* group, int* exit_code) {
  struct Opts {
    std::string id, note;
    bool json = false;
  };
  auto o = std::make_shared<Opts>();
  auto conn = std::make_shared<ConnectOptions>();
  auto* cmd = group->add_subcommand(
      "verify", "The assigned agency starts checking the data (filed -> verifying, 核实中).");
  cmd->add_option("ID", o->id, "Objection id, e.g. YY-2026-0001")->required();
  cmd->add_option("--note", o->note, "What is being checked");
  cmd->add_flag("--json", o->json, "JSON output");
  run_connected(cmd, conn, exit_code, [o](DaemonClient& c) {
    v1::ApiRequest req;
    req.mutable_objection_verify()->set_id(o->id);
    req.mutable_objection_verify()->set_note(o->note);
    return call_and_print(c, req, o->json, "verifying:");
  });
}

void add_answer(CLI::App* group, int* exit_code) {
  struct Opts {
    std::string id, note, transfer;
    uint64_t corrected = 0;
    bool upheld = false, json = false;
  };
  auto o = std::make_shared<Opts>();
  auto conn = std::make_shared<ConnectOptions>();
  auto* cmd = group->add_subcommand(
      "answer",
      "The assigned agency answers, and the requester's notification is recorded:\n"
      "  --corrected VERSION  the record version (delivered after the filing) that fixed it "
      "(已更正)\n"
      "  --upheld             the data is correct and stands (维持)\n"
      "  --transfer AGENCY    another agency must answer: a new objection continues there (转办)");
  cmd->add_option("ID", o->id, "Objection id")->required();
  auto* corr = cmd->add_option("--corrected", o->corrected, "The correcting record version");
  auto* up = cmd->add_flag("--upheld", o->upheld, "The data stands");
  auto* tr = cmd->add_option("--transfer", o->transfer, "The agency to pass it to");
  corr->excludes(up)->excludes(tr);
  up->excludes(tr);
  cmd->add_option("--note", o->note, "The answer the requester is told")->required();
  cmd->add_flag("--json", o->json, "JSON output");
  run_connected(cmd, conn, exit_code, [o](DaemonClient& c) {
    if ((o->corrected != 0) + int(o->upheld) + int(!o->transfer.empty()) != 1) {
      std::cerr << "gongshuctl: give one of --corrected VERSION, --upheld, --transfer AGENCY\n";
      return 2;
    }
    v1::ApiRequest req;
    auto* a = req.mutable_objection_answer();
    a->set_id(o->id);
    a->set_corrected_version(o->corrected);
    a->set_upheld(o->upheld);
    a->set_transfer_to(o->transfer);
    a->set_note(o->note);
    return call_and_print(c, req, o->json, "answered:");
  });
}

void add_list(CLI::App* group, int* exit_code) {
  struct Opts {
    std::string agency;
    bool overdue = false, json = false;
  };
  auto o = std::make_shared<Opts>();
  auto conn = std::make_shared<ConnectOptions>();
  auto* cmd = group->add_subcommand(
      "list",
      "Objections you may see (operators and officers: all; an agency: those it filed or must\n"
      "answer), with state and deadline. --overdue: open ones past their deadline (逾期).");
  cmd->add_flag("--overdue", o->overdue, "Only open objections past their deadline");
  cmd->add_option("--agency", o->agency, "Only those assigned to this agency");
  cmd->add_flag("--json", o->json, "JSON output");
  run_connected(cmd, conn, exit_code, [o](DaemonClient& c) {
    v1::ApiRequest req;
    req.mutable_objection_list()->set_overdue(o->overdue);
    req.mutable_objection_list()->set_agency(o->agency);
    auto r = c.call(req);
    if (!r) return report_error(r.error());
    const auto& list = r->objections();
    if (o->json) {
      json a = json::array();
      for (const auto& x : list.objections()) a.push_back(objection_json(x));
      std::cout << dump(json{{"now", time_text(list.now_ms())}, {"objections", a}}) << "\n";
      return 0;
    }
    Table t({"ID", "STATE", "DATASET", "RECORDS", "ASSIGNED", "DEADLINE", "OVERDUE"});
    for (const auto& x : list.objections()) {
      t.add({shown(x.id()), shown(x.state()), shown(x.dataset()), std::to_string(x.records_size()),
             shown(x.assigned_agency()), time_text(x.deadline_ms()), x.overdue() ? "yes" : ""});
    }
    if (t.empty()) {
      std::cout << (o->overdue ? "no overdue objections\n" : "no objections\n");
    } else {
      t.print(std::cout);
    }
    return 0;
  });
}

void add_show(CLI::App* group, int* exit_code) {
  struct Opts {
    std::string id;
    bool json = false;
  };
  auto o = std::make_shared<Opts>();
  auto conn = std::make_shared<ConnectOptions>();
  auto* cmd = group->add_subcommand(
      "show", "One objection: its records, deadline, every step and the notification.");
  cmd->add_option("ID", o->id, "Objection id")->required();
  cmd->add_flag("--json", o->json, "JSON output");
  run_connected(cmd, conn, exit_code, [o](DaemonClient& c) {
    v1::ApiRequest req;
    req.mutable_objection_list()->set_id(o->id);
    return call_and_print(c, req, o->json, "");
  });
}

}  // namespace

void add_objection_commands(CLI::App& app, int* exit_code) {
  auto* group = app.add_subcommand(
      "objection",
      "Objections to data (异议, R-11): file, verify, answer, list, show (docs/objections.md)");
  group->require_subcommand(1);
  add_file(group, exit_code);
  add_verify(group, exit_code);
  add_answer(group, exit_code);
  add_list(group, exit_code);
  add_show(group, exit_code);
}

}  // namespace gongshu::ctl
