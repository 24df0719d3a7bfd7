// gongshuctl query | lookup | open-catalog | download | aggregate: data through gongshud's
// policy (DESIGN §8). The daemon decides, masks and audits; these commands print what it
// answered — tables by default, --json, and CSV where rows fit — and say which rule allowed it
// and how the rows were masked. Downloads stream in chunks with progress, resume from the last
// chunk's cursor, and wait out the public rate limit.

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "core/util/clock.h"
#include "core/util/encoding.h"
#include "core/util/i18n.h"
#include "core/util/json.h"
#include "core/util/local_time.h"
#include "tools/ctl/commands.h"
#include "tools/ctl/daemon_client.h"
#include "tools/ctl/replica_lag.h"
#include "tools/ctl/table.h"

namespace gongshu::ctl {

void run_connected(CLI::App* cmd, std::shared_ptr<ConnectOptions> conn, int* exit_code,
                   std::function<int(DaemonClient&)> body) {
  add_connect_options(cmd, conn.get());
  cmd->callback([conn, exit_code, body] {
    auto client = DaemonClient::connect(*conn);
    if (!client) {
      *exit_code = report_error(client.error());
      return;
    }
    *exit_code = body(**client);
  });
}

std::string time_text(int64_t ms) { return ms ? format_utc(ms * 1'000'000) : "-"; }

std::string local_time_text(int64_t ms) { return ms ? format_local_time(ms) : "-"; }

Result<int64_t> parse_time(const std::string& text) {
  auto bad = [&] {
    return fail(ErrorCode::kInvalidArgument,
                "time '" + text + tr("': use 2027-01-01 or 2027-01-01T08:30:00+08:00"));
  };
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  char rest[16] = {0};
  int n = std::sscanf(text.c_str(), "%4d-%2d-%2d", &y, &mo, &d);
  if (n != 3 || text.size() < 10 || !is_valid_civil_date(y, unsigned(mo), unsigned(d)))
    return bad();
  // A date alone is midnight in the zone people use (core/util/local_time.h).
  if (text.size() == 10) {
    auto local = parse_local_date(text);
    if (!local) return bad();
    return *local;
  }
  int64_t offset_min = 8 * 60;  // a time without a zone: China Standard Time
  if (text.size() > 10) {
    if (text[10] != 'T' && text[10] != ' ') return bad();
    int m = std::sscanf(text.c_str() + 11, "%2d:%2d:%2d%15s", &h, &mi, &sec, rest);
    if (m < 3 || h > 23 || mi > 59 || sec > 60) return bad();
    std::string zone = m == 4 ? rest : "";
    if (zone == "Z" || zone == "z") {
      offset_min = 0;
    } else if (zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':') {
      int zh = 0, zm = 0;
      if (std::sscanf(zone.c_str() + 1, "%2d:%2d", &zh, &zm) != 2) return bad();
      offset_min = (zone[0] == '-' ? -1 : 1) * (zh * 60 + zm);
    } else {
      return bad();
    }
  }
  const int64_t days = days_from_civil({y, unsigned(mo), unsigned(d)});
  return ((days * 86400 + h * 3600 + mi * 60 + sec) - offset_min * 60) * 1000;
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in(text);
  while (std::getline(in, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

namespace {

using nlohmann::json;

std::string value_text(const v1::FieldValue& v) {
  switch (v.kind_case()) {
    case v1::FieldValue::kText:
      return v.text();
    case v1::FieldValue::kInteger:
      return std::to_string(v.integer());
    case v1::FieldValue::kReal: {
      std::ostringstream o;
      o.precision(15);
      o << v.real();
      return o.str();
    }
    case v1::FieldValue::kBoolean:
      return v.boolean() ? "true" : "false";
    case v1::FieldValue::kBlob:
      return base64_encode(as_bytes(v.blob()));
    case v1::FieldValue::kDateDays: {
      CivilDate c = civil_from_days(v.date_days());
      char buf[16];
      std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", c.year % 10000, c.month % 100, c.day % 100);
      return buf;
    }
    case v1::FieldValue::kTimestampMs:
      return time_text(v.timestamp_ms());
    default:
      return "";
  }
}

json value_json(const v1::FieldValue& v) {
  switch (v.kind_case()) {
    case v1::FieldValue::kInteger:
      return v.integer();
    case v1::FieldValue::kReal:
      return std::isfinite(v.real()) ? json(v.real()) : json(nullptr);
    case v1::FieldValue::kBoolean:
      return v.boolean();
    case v1::FieldValue::KIND_NOT_SET:
      return nullptr;
    default:
      return value_text(v);
  }
}

std::string csv_cell(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"') out += '"';
    out += ch;
  }
  return out + "\"";
}

// A CSV line. To a terminal each cell is escaped first (printable()): a record's text must not
// drive the terminal (ESC[2J, a bidirectional override); to a file or a pipe the cells stay
// the data they are.
std::string csv_line(const std::vector<std::string>& cells, bool terminal) {
  std::string out;
  for (size_t i = 0; i < cells.size(); ++i)
    out += (i ? "," : "") + csv_cell(terminal ? printable(cells[i]) : cells[i]);
  return out + "\n";
}

bool stdout_is_terminal() { return ::isatty(STDOUT_FILENO) == 1; }

// A row as cells: record key, subject, then the columns (an absent field is empty).
std::vector<std::string> row_cells(const v1::Row& row,
                                   const google::protobuf::RepeatedPtrField<std::string>& columns) {
  std::vector<std::string> cells = {row.record().record_key(), row.record().subject_id()};
  for (const auto& col : columns) {
    std::string cell;
    for (const auto& f : row.record().fields()) {
      if (f.name() == col) cell = value_text(f.value());
    }
    cells.push_back(cell);
  }
  if (row.invalidated()) cells.push_back("invalidated: " + row.record().invalidate_reason());
  return cells;
}

json row_json(const v1::Row& row) {
  json fields = json::object();
  for (const auto& f : row.record().fields()) fields[f.name()] = value_json(f.value());
  json j = {{"record_key", row.record().record_key()},
            {"subject_id", row.record().subject_id()},
            {"fields", fields}};
  if (row.invalidated()) {
    j["invalidated"] = true;
    j["invalidate_reason"] = row.record().invalidate_reason();
  }
  if (row.version()) j["version"] = row.version();
  if (row.disputed()) {
    j["disputed"] = true;
    j["objections"] = std::vector<std::string>(row.objections().begin(), row.objections().end());
  }
  return j;
}

json decision_json(const v1::AccessDecision& d) {
  json j = {{"rule", d.rule()},
            {"policy_version", d.policy_version()},
            {"mask_profile", d.mask_profile()}};
  if (d.max_rows()) j["max_rows"] = d.max_rows();
  if (d.k_threshold()) j["k_threshold"] = d.k_threshold();
  if (!d.agreement_id().empty()) j["agreement"] = d.agreement_id();
  if (d.has_quota()) j["rows_remaining"] = d.rows_remaining();
  return j;
}

std::string decision_line(const v1::AccessDecision& d) {
  std::string s = trf("allowed by rule {} (policy {})", d.rule(), d.policy_version());
  // Each addition a whole message around the decision so far ({0}), for the translation's order.
  if (!d.mask_profile().empty()) s = trf("{0}, masked with profile {1}", s, d.mask_profile());
  if (!d.agreement_id().empty()) s = trf("{0}, under agreement {1}", s, d.agreement_id());
  if (d.has_quota()) s = trf("{0} ({1} rows of quota left)", s, d.rows_remaining());
  return s;
}

void print_rows(const google::protobuf::RepeatedPtrField<v1::Row>& rows,
                const google::protobuf::RepeatedPtrField<std::string>& columns, bool csv) {
  std::vector<std::string> header = {tr("RECORD KEY"), "SUBJECT"};
  for (const auto& c : columns) header.push_back(c);
  if (csv) {
    std::vector<std::string> h = {"record_key", "subject_id"};
    for (const auto& c : columns) h.push_back(c);
    const bool terminal = stdout_is_terminal();
    std::cout << csv_line(h, terminal);
    for (const auto& r : rows) std::cout << csv_line(row_cells(r, columns), terminal);
    return;
  }
  bool any_invalid = false;
  for (const auto& r : rows) any_invalid = any_invalid || r.invalidated();
  if (any_invalid) header.push_back("STATE");
  // records an open objection disputes are marked (docs/objections.md).
  bool any_disputed = false;
  for (const auto& r : rows) any_disputed = any_disputed || r.disputed();
  if (any_disputed) header.push_back("DISPUTED 有异议");
  Table t(header);
  for (const auto& r : rows) {
    auto cells = row_cells(r, columns);
    if (any_invalid && !r.invalidated()) cells.push_back("");
    if (any_disputed) {
      std::string ids;
      for (const auto& id : r.objections()) ids.append(ids.empty() ? "" : " ").append(id);
      cells.push_back(r.disputed() ? (ids.empty() ? std::string("yes") : ids) : std::string());
    }
    t.add(cells);
  }
  t.print(std::cout);
}

// The daemon says "retry in N ms" when it rate-limits; the client only sees the message.
std::optional<int64_t> rate_limited(const Error& e) {
  if (e.message().rfind("rate limited", 0) != 0) return std::nullopt;  // i18n-exempt
  static const std::regex kRetry("retry in ([0-9]+) ms");              // i18n-exempt
  std::smatch m;
  if (std::regex_search(e.message(), m, kRetry)) return std::stoll(m[1].str());
  return 1000;
}

// Calls, waiting out rate limits (at most `patience` of them).
Result<v1::ApiResponse> call_patiently(DaemonClient& c, const v1::ApiRequest& req, bool quiet,
                                       int patience = 600) {
  while (true) {
    auto r = c.call(req);
    if (r) return r;
    auto wait = rate_limited(r.error());
    if (!wait || patience-- <= 0) return r;
    if (!quiet) std::cerr << trf("\n(rate limited; waiting {} ms)", *wait);
    std::this_thread::sleep_for(std::chrono::milliseconds(*wait));
  }
}

// How an access command prints: a table by default, --json for scripts, --csv where rows fit.
struct Output {
  bool json = false;
  bool csv = false;
};

// The shape the access commands share: subcommand `name` with its output flags bound to *out.
// The command adds its own options, then its body with run_connected.
CLI::App* add_access_subcommand(CLI::App& app, const std::string& name, const std::string& help,
                                Output* out, bool with_csv) {
  auto* cmd = app.add_subcommand(name, help);
  cmd->add_flag("--json", out->json, tr("JSON output"));
  if (with_csv) cmd->add_flag("--csv", out->csv, tr("CSV output"));
  return cmd;
}

void add_open_catalog(CLI::App& app, int* exit_code) {
  struct Opts {
    Output out;
    std::string purpose;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = add_access_subcommand(
      app, "open-catalog",
      tr("The open catalog (R-14): the datasets you may see, with name, provider, open attribute\n"
         "and update frequency. Anyone may ask, with any key (gongshuctl keygen --kind public)."),
      &o->out, true);
  cmd->add_option("--purpose", o->purpose, tr("Licensed operators: a purpose of the licence"));
  run_connected(cmd, std::make_shared<ConnectOptions>(), exit_code, [o](DaemonClient& c) {
    v1::ApiRequest req;
    req.mutable_open_catalog()->set_purpose(o->purpose);
    auto r = c.call(req);
    if (!r) return report_error(r.error());
    const auto& cat = r->open_catalog();
    if (o->out.json) {
      json list = json::array();
      for (const auto& d : cat.datasets()) {
        json fields = json::array();
        for (const auto& f : d.fields())
          fields.push_back({{"name", f.name()}, {"description", f.description()}});
        list.push_back({{"id", d.id()},
                        {"name", d.name()},
                        {"provider", d.provider()},
                        {"provider_name", d.provider_name()},
                        {"open", d.open_attribute()},
                        {"update_frequency", d.update_frequency()},
                        {"category", d.category()},
                        {"grade", d.grade()},
                        {"records", d.records()},
                        {"fields", fields}});
      }
      json j = {{"policy_version", cat.policy_version()}, {"datasets", list}};
      add_replica_lag(j, *r);
      std::cout << json_dump_terminal_safe(j) << "\n";
      return 0;
    }
    print_replica_lag(*r, std::cerr);
    if (o->out.csv) {
      const bool terminal = stdout_is_terminal();
      std::cout << csv_line(
          {"id", "name", "provider", "provider_name", "open", "update_frequency", "records"},
          terminal);
      for (const auto& d : cat.datasets()) {
        std::cout << csv_line(
            {d.id(), d.name(), d.provider(), d.provider_name(), d.open_attribute(),
             d.update_frequency(), std::to_string(d.records())},
            terminal);
      }
      return 0;
    }
    Table t({tr("ID"), tr("NAME"), tr("PROVIDER"), tr("OPEN"), tr("UPDATES"), tr("RECORDS")});
    for (const auto& d : cat.datasets()) {
      t.add({d.id(), d.name(), d.provider_name().empty() ? d.provider() : d.provider_name(),
             d.open_attribute(), d.update_frequency(), std::to_string(d.records())});
    }
    t.print(std::cout);
    std::cerr << trf("{} dataset(s) (policy {})", cat.datasets_size(), shown(cat.policy_version()))
              << "\n";
    return 0;
  });
}

void add_query(CLI::App& app, int* exit_code) {
  struct Opts {
    std::string dataset, record, subject, fields, purpose, cursor;
    uint32_t limit = 0;
    uint64_t max_lag_ms = 0;
    bool invalidated = false, all = false;
    Output out;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = add_access_subcommand(
      app, "query",
      tr("Rows of one dataset, masked as the policy says for you (action read), or the rows about\n"
         "one subject in it with --subject (action query_subject). Every query is audited."),
      &o->out, true);
  cmd->add_option("DATASET", o->dataset, tr("Dataset id"))->required();
  cmd->add_option("--record", o->record, tr("Only this record key"));
  cmd->add_option("--subject", o->subject, tr("Only rows about this citizen ID / credit code"));
  cmd->add_option("--fields", o->fields,
                  tr("Fields to return, e.g. name,address (default all); rows carry their subject\n"
                     "only when the identifier field (citizen_id, credit_code) is among them"));
  cmd->add_option("--limit", o->limit, tr("Rows per page (default 100, at most 1000)"));
  cmd->add_option("--purpose", o->purpose, tr("Why you ask (most rules require one)"));
  cmd->add_option("--cursor", o->cursor, tr("Continue after a page (printed with each page)"));
  cmd->add_flag("--all", o->all, tr("Follow the pages to the end"));
  cmd->add_flag("--invalidated", o->invalidated, tr("Include invalidated records (R-12)"));
  cmd->add_option(
      "--max-lag-ms", o->max_lag_ms,
      tr("On a replica: refused (ask the leader) when its data is more than this many ms\n"
         "behind the leader's (default: the replica's own bound, 30 s)"));
  run_connected(cmd, std::make_shared<ConnectOptions>(), exit_code, [o](DaemonClient& c) {
    v1::ApiRequest req;
    req.set_max_lag_ms(o->max_lag_ms);
    auto* q = req.mutable_query();
    q->set_dataset(o->dataset);
    q->set_record_key(o->record);
    q->set_subject_id(o->subject);
    for (auto& f : split_list(o->fields)) q->add_fields(f);
    q->set_limit(o->limit);
    q->set_purpose(o->purpose);
    q->set_include_invalidated(o->invalidated);
    q->set_cursor(o->cursor);
    v1::QueryResponse all;
    v1::ApiResponse last;  // the last page's answer: its replica lag, if a replica answered
    while (true) {
      auto r = c.call(req);
      if (!r) return report_error(r.error());
      last.clear_replica_lag();
      if (r->has_replica_lag()) *last.mutable_replica_lag() = r->replica_lag();
      const auto& page = r->query();
      if (all.columns().empty()) *all.mutable_columns() = page.columns();
      *all.mutable_decision() = page.decision();
      for (const auto& row : page.rows()) *all.add_rows() = row;
      all.set_next_cursor(page.next_cursor());
      if (!o->all || page.next_cursor().empty()) break;
      req.mutable_query()->set_cursor(page.next_cursor());
    }
    if (o->out.json) {
      json rows = json::array();
      for (const auto& row : all.rows()) rows.push_back(row_json(row));
      json j = {{"dataset", o->dataset},
                {"rows", rows},
                {"columns", std::vector<std::string>(all.columns().begin(), all.columns().end())},
                {"decision", decision_json(all.decision())}};
      if (!all.next_cursor().empty()) j["next_cursor"] = all.next_cursor();
      add_replica_lag(j, last);
      std::cout << json_dump_terminal_safe(j) << "\n";
      return 0;
    }
    print_rows(all.rows(), all.columns(), o->out.csv);
    print_replica_lag(last, std::cerr);
    std::cerr << trf("{} row(s) of {}; {}", all.rows_size(), o->dataset,
                     shown(decision_line(all.decision())))
              << "\n";
    if (!all.next_cursor().empty())
      std::cerr << trf("more rows: --cursor {} (or --all)", shown(all.next_cursor())) << "\n";
    return 0;
  });
}

void add_lookup(CLI::App& app, int* exit_code) {
  struct Opts {
    std::string subject, purpose;
    uint64_t max_lag_ms = 0;
    bool invalidated = false;
    Output out;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = add_access_subcommand(
      app, "lookup",
      tr("One subject across every dataset you may query (一数一源): the rows about a citizen ID\n"
         "number or unified social credit code, dataset by dataset, masked for you. Datasets you\n"
         "may not query are listed with the rule, whether or not they hold rows about the "
         "subject."),
      &o->out, false);
  cmd->add_option("SUBJECT", o->subject, tr("Citizen ID number or unified social credit code"))
      ->required();
  cmd->add_option("--purpose", o->purpose, tr("Why you ask"));
  cmd->add_flag("--invalidated", o->invalidated, tr("Include invalidated records"));
  cmd->add_option(
      "--max-lag-ms", o->max_lag_ms,
      tr("On a replica: refused (ask the leader) when its data is more than this many ms\n"
         "behind the leader's (default: the replica's own bound, 30 s)"));
  run_connected(cmd, std::make_shared<ConnectOptions>(), exit_code, [o](DaemonClient& c) {
    v1::ApiRequest req;
    req.set_max_lag_ms(o->max_lag_ms);
    req.mutable_lookup()->set_subject_id(o->subject);
    req.mutable_lookup()->set_purpose(o->purpose);
    req.mutable_lookup()->set_include_invalidated(o->invalidated);
    auto r = c.call(req);
    if (!r) return report_error(r.error());
    const auto& l = r->lookup();
    if (o->out.json) {
      json datasets = json::array();
      for (const auto& d : l.datasets()) {
        json rows = json::array();
        for (const auto& row : d.rows()) rows.push_back(row_json(row));
        datasets.push_back({{"dataset", d.dataset()},
                            {"name", d.name()},
                            {"provider", d.provider()},
                            {"rows", rows},
                            {"truncated", d.truncated()},
                            {"decision", decision_json(d.decision())}});
      }
      json denied = json::array();
      for (const auto& d : l.denied())
        denied.push_back({{"dataset", d.dataset()}, {"rule", d.rule()}, {"reason", d.reason()}});
      json j = {{"subject_kind", l.subject_kind()}, {"datasets", datasets}, {"denied", denied}};
      add_replica_lag(j, *r);
      std::cout << json_dump_terminal_safe(j) << "\n";
      return 0;
    }
    print_replica_lag(*r, std::cout);
    if (l.datasets().empty()) std::cout << tr("no rows you may see about this subject\n");
    for (const auto& d : l.datasets()) {
      std::cout << "\n"
                << shown(d.dataset()) << "  " << shown(d.name()) << "  (" << shown(d.provider())
                << ")\n";
      print_rows(d.rows(), d.columns(), false);
      const std::string decision = shown(decision_line(d.decision()));
      std::cout << "  "
                << (d.truncated()
                        ? trf("{}; more rows than the policy allows in one answer", decision)
                        : decision)
                << "\n";
    }
    if (!l.denied().empty()) {
      std::cout << tr("\nnot visible to you:\n");
      Table t({tr("DATASET"), tr("RULE")});
      for (const auto& d : l.denied()) t.add({d.dataset(), d.rule()});
      t.print(std::cout);
    }
    return 0;
  });
}

void add_download(CLI::App& app, int* exit_code) {
  struct Opts {
    std::string dataset, out, format = "csv", purpose, resume_cursor, download_id;
    uint32_t chunk = 0;
    bool export_ = false, quiet = false, progress = false;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand(
      "download",
      tr("A whole dataset, masked, streamed in chunks into a file (R-17: unconditionally open\n"
         "data for anyone; agencies their own data and shared data under a sharing request).\n"
         "--export marks a copy for another system (action export). Every chunk is audited.\n"
         "The public rate limit is waited out; an interrupted download resumes with --resume."));
  cmd->add_option("DATASET", o->dataset, tr("Dataset id"))->required();
  cmd->add_option("--out", o->out, tr("File to write ('-' for standard output)"))->required();
  cmd->add_option("--format", o->format, tr("csv or jsonl"))
      ->check(CLI::IsMember({"csv", "jsonl"}))
      ->capture_default_str();
  cmd->add_option("--purpose", o->purpose, tr("Why you download"));
  cmd->add_option("--chunk", o->chunk, tr("Rows per chunk (default 500, at most 5000)"));
  cmd->add_option("--resume", o->resume_cursor, tr("Cursor printed by an interrupted download"));
  cmd->add_option("--download-id", o->download_id,
                  tr("Its download id, to keep the audit together"));
  cmd->add_flag("--export", o->export_, tr("A copy for another system (action export)"));
  cmd->add_flag("--quiet", o->quiet, tr("No progress"));
  cmd->add_flag("--progress", o->progress,
                tr("Progress even when standard error is not a terminal (one line per chunk)"));
  run_connected(cmd, std::make_shared<ConnectOptions>(), exit_code, [o](DaemonClient& c) {
    const bool to_stdout = o->out == "-";
    // The file is opened when the first chunk has arrived: a refused download leaves an
    // existing file (an earlier download, say) as it was.
    std::ofstream file;
    std::ostream* out = to_stdout ? &std::cout : nullptr;
    const bool terminal = to_stdout && stdout_is_terminal();
    // On a terminal the progress line is redrawn in place; elsewhere each chunk gets a line.
    const bool tty = ::isatty(STDERR_FILENO);
    const bool progress = !o->quiet && (o->progress || tty);
    v1::ApiRequest req;
    auto* d = req.mutable_download();
    d->set_dataset(o->dataset);
    d->set_purpose(o->purpose);
    d->set_export_(o->export_);
    d->set_chunk_rows(o->chunk);
    d->set_cursor(o->resume_cursor);
    d->set_download_id(o->download_id);
    uint64_t rows = 0;
    bool header = o->resume_cursor.empty();
    v1::AccessDecision decision;
    std::string id;
    v1::ApiResponse last;  // the last chunk's answer: its replica lag, if a replica answered
    while (true) {
      auto r = call_patiently(c, req, o->quiet);
      if (!r) {
        if (progress && tty) std::cerr << "\n";
        if (!req.download().cursor().empty()) {
          std::cerr << trf("gongshuctl: download interrupted after {} rows; resume with "
                           "--resume {} --download-id {}",
                           rows, shown(req.download().cursor()), id)
                    << "\n";
        }
        return report_error(r.error());
      }
      if (!out) {
        file.open(o->out, o->resume_cursor.empty() ? std::ios::trunc : std::ios::app);
        if (!file) {
          std::cerr << "gongshuctl: "  // i18n-exempt: the program name
                    << trf("cannot write {}", o->out) << "\n";
          return 2;
        }
        out = &file;
      }
      const auto& chunk = r->download();
      last.clear_replica_lag();
      if (r->has_replica_lag()) *last.mutable_replica_lag() = r->replica_lag();
      id = chunk.download_id();
      decision = chunk.decision();
      if (header && o->format == "csv") {
        std::vector<std::string> h = {"record_key", "subject_id"};
        for (const auto& col : chunk.columns()) h.push_back(col);
        *out << csv_line(h, terminal);
        header = false;
      }
      for (const auto& row : chunk.rows()) {
        if (o->format == "csv") {
          *out << csv_line(row_cells(row, chunk.columns()), terminal);
        } else {
          *out << json_dump_terminal_safe(row_json(row)) << "\n";
        }
      }
      rows += uint64_t(chunk.rows_size());
      if (progress) {
        const uint64_t total = std::max<uint64_t>(chunk.total_rows(), rows);
        std::cerr << (tty ? "\r" : "") << o->dataset << ": "
                  << trf("{} / {} rows ({}%)", rows, total, total ? rows * 100 / total : 100)
                  << (tty ? "" : "\n") << std::flush;
      }
      if (chunk.last() || chunk.next_cursor().empty()) break;
      req.mutable_download()->set_cursor(chunk.next_cursor());
      req.mutable_download()->set_download_id(id);
    }
    out->flush();
    if (progress && tty) std::cerr << "\n";
    if (!*out) {
      std::cerr << trf("gongshuctl: writing {} failed", o->out) << "\n";
      return 2;
    }
    if (!o->quiet) {
      std::string done;
      if (to_stdout) {
        done = o->export_ ? trf("exported {} rows of {}", rows, o->dataset)
                          : trf("downloaded {} rows of {}", rows, o->dataset);
      } else {
        done = o->export_ ? trf("exported {} rows of {} to {}", rows, o->dataset, o->out)
                          : trf("downloaded {} rows of {} to {}", rows, o->dataset, o->out);
      }
      std::cerr << trf("{}; {}; download id {}", done, shown(decision_line(decision)), id) << "\n";
      print_replica_lag(last, std::cerr);
    }
    return 0;
  });
}

void add_aggregate(CLI::App& app, int* exit_code) {
  struct Opts {
    std::string dataset, by, sum, purpose;
    Output out;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = add_access_subcommand(
      app, "aggregate",
      tr("Counts (and sums) by group, computed on the platform: no row leaves it. For licensed\n"
         "operators and applicants, groups smaller than the policy's k are left out (R-20)."),
      &o->out, true);
  cmd->add_option("DATASET", o->dataset, tr("Dataset id"))->required();
  cmd->add_option("--by", o->by,
                  tr("Fields to group by, e.g. address (masked as the policy says)"));
  cmd->add_option("--sum", o->sum, tr("Integer or real fields to sum per group"));
  cmd->add_option("--purpose", o->purpose, tr("Why you ask"));
  run_connected(cmd, std::make_shared<ConnectOptions>(), exit_code, [o](DaemonClient& c) {
    v1::ApiRequest req;
    auto* a = req.mutable_aggregate();
    a->set_dataset(o->dataset);
    a->set_purpose(o->purpose);
    for (auto& f : split_list(o->by)) a->add_group_by(f);
    for (auto& f : split_list(o->sum)) a->add_sum(f);
    auto r = c.call(req);
    if (!r) return report_error(r.error());
    const auto& ag = r->aggregate();
    if (o->out.json) {
      json groups = json::array();
      for (const auto& g : ag.groups()) {
        json key = json::array();
        for (const auto& v : g.key()) key.push_back(value_json(v));
        groups.push_back({{"key", key},
                          {"count", g.count()},
                          {"sums", std::vector<double>(g.sums().begin(), g.sums().end())}});
      }
      std::cout << json_dump_terminal_safe(
                       json{{"dataset", ag.dataset()},
                            {"group_by",
                             std::vector<std::string>(ag.group_by().begin(), ag.group_by().end())},
                            {"sum", std::vector<std::string>(ag.sum().begin(), ag.sum().end())},
                            {"groups", groups},
                            {"suppressed_groups", ag.suppressed_groups()},
                            {"decision", decision_json(ag.decision())}})
                << "\n";
      return 0;
    }
    std::vector<std::string> header;
    for (const auto& f : ag.group_by()) header.push_back(f);
    header.push_back(o->out.csv ? "count" : "COUNT");
    for (const auto& f : ag.sum()) header.push_back(o->out.csv ? "sum_" + f : "SUM(" + f + ")");
    std::vector<std::vector<std::string>> lines;
    for (const auto& g : ag.groups()) {
      std::vector<std::string> cells;
      for (const auto& v : g.key()) cells.push_back(value_text(v));
      cells.push_back(std::to_string(g.count()));
      for (double s : g.sums()) {
        v1::FieldValue v;
        v.set_real(s);
        cells.push_back(value_text(v));
      }
      lines.push_back(std::move(cells));
    }
    if (o->out.csv) {
      const bool terminal = stdout_is_terminal();
      std::cout << csv_line(header, terminal);
      for (const auto& l : lines) std::cout << csv_line(l, terminal);
    } else {
      Table t(header);
      for (auto& l : lines) t.add(l);
      t.print(std::cout);
    }
    const std::string decision = shown(decision_line(ag.decision()));
    std::cerr << (ag.decision().k_threshold()
                      ? trf("{} group(s); {} group(s) smaller than k={} suppressed; {}",
                            ag.groups_size(), ag.suppressed_groups(), ag.decision().k_threshold(),
                            decision)
                      : trf("{} group(s); {}", ag.groups_size(), decision))
              << "\n";
    return 0;
  });
}

}  // namespace

void add_access_commands(CLI::App& app, int* exit_code) {
  add_query(app, exit_code);
  add_lookup(app, exit_code);
  add_open_catalog(app, exit_code);
  add_download(app, exit_code);
  add_aggregate(app, exit_code);
}

}  // namespace gongshu::ctl
