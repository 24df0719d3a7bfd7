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

#include "core/util/i18n.h"
#include "core/util/json.h"
#include "tools/ctl/commands.h"
#include "tools/ctl/daemon_client.h"
#include "tools/ctl/table.h"

namespace gongshu::ctl {
namespace {

using nlohmann::json;

// For people: the deadline in their zone and the working days it allows.
std::string deadline_text(const v1::ObjectionInfo& o) {
  const auto days = static_cast<unsigned long>(o.deadline_working_days());
  return trnf("{} ({} working day)", "{} ({} working days)", days, local_time_text(o.deadline_ms()),
              days);
}

// An objection's state (daemon/objections.h) in the reader's language; the protocol word
// itself for one this gongshuctl does not know. --json keeps the protocol word.
std::string state_text(const std::string& state) {
  static constexpr const char* kStates[][2] = {{"filed", tr_noop("filed")},
                                               {"verifying", tr_noop("verifying")},
                                               {"corrected", tr_noop("corrected")},
                                               {"upheld", tr_noop("upheld")},
                                               {"transferred", tr_noop("transferred")}};
  for (const auto& s : kStates) {
    if (state == s[0]) return tr(s[1]);
  }
  return shown(state);
}

// A step's name (file, verify, correct, uphold, transfer) in the reader's language.
std::string step_text(const std::string& step) {
  static constexpr const char* kSteps[][2] = {{"file", tr_noop("file")},
                                              {"verify", tr_noop("verify")},
                                              {"correct", tr_noop("correct")},
                                              {"uphold", tr_noop("uphold")},
                                              {"transfer", tr_noop("transfer")}};
  for (const auto& s : kSteps) {
    if (step == s[0]) return tr(s[1]);
  }
  return shown(step);
}

// "operator" or "agency sjz-minzheng": who took a step.
std::string who_text(const std::string& role, const std::string& agency) {
  return agency.empty() ? shown(role) : shown(role) + " " + shown(agency);
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
  // TRANSLATORS: the labels of an objection line up in a column thirteen wide.
  std::cout << trf("objection:   {}  异议", shown(o.id())) << "\n"
            << (o.overdue() ? trf("state:       {}  OVERDUE 逾期", state_text(o.state()))
                            : trf("state:       {}", state_text(o.state())))
            << "\n"
            << trf("dataset:     {}", shown(o.dataset())) << "\n";
  if (!o.record_key().empty()) std::cout << trf("record:      {}", shown(o.record_key())) << "\n";
  if (!o.subject_token().empty())
    std::cout << trf("subject:     keyed hash {}", shown(o.subject_token())) << "\n";
  const auto n = static_cast<unsigned long>(o.records_size());
  std::cout << trnf("disputed:    {} record", "disputed:    {} records", n, n);
  for (const auto& k : o.records()) std::cout << " " << shown(k);
  std::cout << "\n"
            << trf("reason:      {}", shown(o.reason())) << "\n"
            << trf("contact:     {}", shown(o.contact())) << "\n"
            << trf("filed:       {} by {} ({})", local_time_text(o.filed_at_ms()),
                   shown(o.filed_by()), who_text(o.filed_by_role(), o.filed_by_agency()))
            << "\n"
            << trf("assigned to: {} ({})", shown(o.assigned_agency()), shown(o.routed_by())) << "\n"
            << trf("deadline:    {}", deadline_text(o)) << "\n";
  if (o.corrected_version())
    std::cout << trf("corrected:   by record version {}", o.corrected_version()) << "\n";
  if (!o.transferred_from().empty())
    std::cout << trf("transferred from: {}", shown(o.transferred_from())) << "\n";
  if (!o.transferred_to().empty())
    std::cout << trf("continues as: {}", shown(o.transferred_to())) << "\n";
  for (const auto& s : o.steps()) {
    const std::string to = state_text(s.to_state());
    const std::string change =
        s.from_state().empty() ? to : state_text(s.from_state()) + " -> " + to;
    const std::string who = who_text(s.role(), s.agency());
    if (s.note().empty()) {
      std::cout << trf("step:        {} {} {} by {} ({})", local_time_text(s.at_ms()),
                       step_text(s.step()), change, shown(s.key_id()), who)
                << "\n";
    } else {
      std::cout << trf("step:        {} {} {} by {} ({}): {}", local_time_text(s.at_ms()),
                       step_text(s.step()), change, shown(s.key_id()), who, shown(s.note()))
                << "\n";
    }
  }
  if (o.notified_at_ms()) {
    std::cout << trf("notified:    {}", local_time_text(o.notified_at_ms())) << "\n"
              << printable_lines(o.notification()) << "\n";
  }
}

int call_and_print(DaemonClient& c, const v1::ApiRequest& req, bool as_json,
                   const std::string& done) {
  auto r = c.call(req);
  if (!r) return report_error(r.error());
  const auto& o = r->objections().objections(0);
  if (as_json) {
    std::cout << json_dump_terminal_safe(objection_json(o)) << "\n";
  } else {
    if (!done.empty()) std::cout << trf(done.c_str(), shown(o.id()), state_text(o.state())) << "\n";
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
      tr("File an objection (异议) for a citizen or organisation who finds data about itself "
         "wrong\n"
         "(R-11), as an agency's service desk or the authority. Name one record (--record) or "
         "the\n"
         "subject (--subject: every record about it in the dataset). The objection goes to the\n"
         "dataset's provider, or to the authoritative source of --field's data item, which must\n"
         "answer within the working days policies/policy/calendar.toml sets. While it is open "
         "the\n"
         "records are marked disputed in every read."));
  cmd->add_option("--dataset", o->dataset, tr("The dataset holding the data"))->required();
  auto* rec = cmd->add_option("--record", o->record, tr("The record key objected to"));
  auto* sub = cmd->add_option(
      "--subject", o->subject,
      tr("The requester's citizen ID number or credit code (kept only as a keyed hash)"));
  rec->excludes(sub);
  cmd->add_option("--field", o->field,
                  tr("The field objected to (routes to its authoritative source)"));
  cmd->add_option("--reason", o->reason, tr("What is wrong, in the requester's words"))->required();
  cmd->add_option("--contact", o->contact, tr("How the desk reaches the requester with the answer"))
      ->required();
  cmd->add_flag("--json", o->json, tr("JSON output"));
  run_connected(cmd, conn, exit_code, [o](DaemonClient& c) {
    if (o->record.empty() == o->subject.empty()) {
      std::cerr << tr("gongshuctl: give --record KEY or --subject ID") << "\n";
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
    return call_and_print(c, req, o->json, tr_noop("filed: {}: now {}"));
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
      "verify", tr("The assigned agency starts checking the data (filed -> verifying, 核实中)."));
  cmd->add_option("ID", o->id, tr("Objection id, e.g. YY-2026-0001"))->required();
  cmd->add_option("--note", o->note, tr("What is being checked"));
  cmd->add_flag("--json", o->json, tr("JSON output"));
  run_connected(cmd, conn, exit_code, [o](DaemonClient& c) {
    v1::ApiRequest req;
    req.mutable_objection_verify()->set_id(o->id);
    req.mutable_objection_verify()->set_note(o->note);
    return call_and_print(c, req, o->json, tr_noop("verifying: {}: now {}"));
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
      tr("The assigned agency answers, and the requester's notification is recorded:\n"
         "  --corrected VERSION  the record version (delivered after the filing) that fixed it "
         "(已更正)\n"
         "  --upheld             the data is correct and stands (维持)\n"
         "  --transfer AGENCY    another agency must answer: a new objection continues there "
         "(转办)"));
  cmd->add_option("ID", o->id, tr("Objection id"))->required();
  auto* corr = cmd->add_option("--corrected", o->corrected, tr("The correcting record version"));
  auto* up = cmd->add_flag("--upheld", o->upheld, tr("The data stands"));
  auto* transfer = cmd->add_option("--transfer", o->transfer, tr("The agency to pass it to"));
  corr->excludes(up)->excludes(transfer);
  up->excludes(transfer);
  cmd->add_option("--note", o->note, tr("The answer the requester is told"))->required();
  cmd->add_flag("--json", o->json, tr("JSON output"));
  run_connected(cmd, conn, exit_code, [o](DaemonClient& c) {
    if ((o->corrected != 0) + int(o->upheld) + int(!o->transfer.empty()) != 1) {
      std::cerr << tr("gongshuctl: give one of --corrected VERSION, --upheld, --transfer AGENCY")
                << "\n";
      return 2;
    }
    v1::ApiRequest req;
    auto* a = req.mutable_objection_answer();
    a->set_id(o->id);
    a->set_corrected_version(o->corrected);
    a->set_upheld(o->upheld);
    a->set_transfer_to(o->transfer);
    a->set_note(o->note);
    return call_and_print(c, req, o->json, tr_noop("answered: {}: now {}"));
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
      tr("Objections you may see (operators and officers: all; an agency: those it filed or "
         "must\n"
         "answer), with state and deadline. --overdue: open ones past their deadline (逾期)."));
  cmd->add_flag("--overdue", o->overdue, tr("Only open objections past their deadline"));
  cmd->add_option("--agency", o->agency, tr("Only those assigned to this agency"));
  cmd->add_flag("--json", o->json, tr("JSON output"));
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
      std::cout << json_dump_terminal_safe(
                       json{{"now", time_text(list.now_ms())}, {"objections", a}})
                << "\n";
      return 0;
    }
    Table t({tr("ID"), tr("STATE"), tr("DATASET"), tr("RECORDS"), tr("ASSIGNED"), tr("DEADLINE"),
             tr("OVERDUE")});
    for (const auto& x : list.objections()) {
      t.add({x.id(), state_text(x.state()), x.dataset(),  // print() escapes (table.h)
             std::to_string(x.records_size()), x.assigned_agency(),
             local_time_text(x.deadline_ms()), x.overdue() ? tr("yes") : ""});
    }
    if (t.empty()) {
      std::cout << (o->overdue ? tr("no overdue objections") : tr("no objections")) << "\n";
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
      "show", tr("One objection: its records, deadline, every step and the notification."));
  cmd->add_option("ID", o->id, tr("Objection id"))->required();
  cmd->add_flag("--json", o->json, tr("JSON output"));
  run_connected(cmd, conn, exit_code, [o](DaemonClient& c) {
    v1::ApiRequest req;
    req.mutable_objection_list()->set_id(o->id);
    return call_and_print(c, req, o->json, "");
  });
}

}  // namespace

void add_objection_commands(CLI::App& app, int* exit_code) {
  auto* group = app.add_subcommand(
      "objection", tr("Objections to data (异议, R-11): file, verify, answer, list, show "
                      "(docs/objections.md)"));
  group->require_subcommand(1);
  add_file(group, exit_code);
  add_verify(group, exit_code);
  add_answer(group, exit_code);
  add_list(group, exit_code);
  add_show(group, exit_code);
}

}  // namespace gongshu::ctl
