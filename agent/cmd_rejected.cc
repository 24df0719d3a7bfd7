// gongshu-agent rejected list|export: the records refused by this agent or by the daemon, with
// their source, code, field and reason. `export` writes JSON Lines in the submit format plus
// the rejection, so that an agency can fix the records and submit them again.

#include <fcntl.h>

#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "agent/cmd_common.h"
#include "agent/commands.h"
#include "agent/values.h"
#include "core/util/encoding.h"
#include "core/util/fd.h"
#include "core/util/json.h"
#include "core/util/printable.h"
#include "core/util/refusal_text.h"
#include "gongshu/v1/batch.pb.h"
#include "gongshu/v1/record.pb.h"

namespace gongshu::agent {

constexpr const char* kList = "rejected list";      // i18n-exempt: the command's name
constexpr const char* kExport = "rejected export";  // i18n-exempt: the command's name
namespace {

using nlohmann::json;

json value_json(const v1::FieldValue& v) {
  switch (v.kind_case()) {
    case v1::FieldValue::kText:
      return v.text();
    case v1::FieldValue::kInteger:
      return v.integer();
    case v1::FieldValue::kReal:
      return v.real();
    case v1::FieldValue::kBoolean:
      return v.boolean();
    case v1::FieldValue::kBlob:
      return base64_encode(as_bytes(v.blob()));
    case v1::FieldValue::kDateDays:
      return format_date_days(v.date_days());
    case v1::FieldValue::kTimestampMs:
      return format_timestamp_ms(v.timestamp_ms());
    default:
      return nullptr;
  }
}

json rejection_json(uint64_t id, const agentpb::RejectedRecord& r) {
  json j;
  j["id"] = id;
  j["time"] = format_ms(r.time_ms());
  j["source"] = r.source();
  j["dataset"] = r.dataset();
  j["code"] = v1::RecordStatusCode_Name(static_cast<v1::RecordStatusCode>(r.code()));
  j["field"] = r.field();
  j["reason"] = r.reason();
  j["by"] = r.by_daemon() ? "daemon" : "agent";
  if (r.batch_seq() != 0) j["batch_seq"] = r.batch_seq();
  v1::Record rec;
  if (!r.record().empty() && rec.ParseFromString(r.record())) {
    json record;
    record["record_key"] = rec.record_key();
    if (!rec.subject_id().empty()) record["subject_id"] = rec.subject_id();
    record["op"] = rec.op() == v1::RECORD_OP_INVALIDATE ? "invalidate" : "upsert";
    if (!rec.invalidate_reason().empty()) record["invalidate_reason"] = rec.invalidate_reason();
    if (rec.observed_at_ms() != 0)
      record["observed_at"] = format_timestamp_ms(rec.observed_at_ms());
    json fields = json::object();
    for (const auto& f : rec.fields()) fields[f.name()] = value_json(f.value());
    record["fields"] = fields;
    j["record"] = record;
  } else if (!r.raw().empty()) {
    j["raw"] = r.raw();
  }
  return j;
}

// Compact JSON; bytes that are not UTF-8 replaced, and, as gongshuctl's, safe on a terminal:
// nlohmann-json writes C1 controls and bidirectional overrides as they are (core/util/json.h).
std::string dump(const json& j) { return json_dump_terminal_safe(j); }

// Calls fn(id, record) for each rejected record, oldest first.
Status each_rejected(Spool& spool,
                     const std::function<Status(uint64_t, const agentpb::RejectedRecord&)>& fn) {
  GONGSHU_TRY(store::ReadTxn txn, spool.env().begin_read());
  store::Cursor cur = spool.rejected().cursor(txn);
  for (auto e = cur.first(); e; e = cur.next()) {
    uint64_t id = store::parse_u64_key(e->key).value_or(0);
    GONGSHU_TRY(agentpb::RejectedRecord r, spool.open_rejected(id, e->value));
    GONGSHU_RETURN_IF_ERROR(fn(id, r));
  }
  return {};
}

}  // namespace

void add_rejected_commands(CLI::App& app, int* exit_code) {
  struct Options {
    std::string config;
    bool json = false;
    std::string out;
    size_t limit = 0;
  };
  auto o = std::make_shared<Options>();
  CLI::App* group = app.add_subcommand(
      "rejected", tr("Records refused by this agent (validation) or by the daemon, with reasons"));
  group->require_subcommand(1);
  CLI::App* list = group->add_subcommand(
      "list",
      tr("List rejected records, oldest first: id, time, source (file:line, drop:NAME:line or\n"
         "ipc:uid=..), code, field and reason."));
  add_config_option(list, &o->config);
  list->add_flag("--json", o->json, tr("Print a JSON array, each with the record itself"));
  list->add_option("--limit", o->limit, tr("Show at most this many (0: all)"));
  list->callback([o, exit_code] {
    auto loaded = load_config_and_spool(o->config);
    if (!loaded) return void(*exit_code = report(kList, loaded.error()));
    size_t n = 0;
    bool first = true;
    if (o->json) std::cout << "[";
    auto s = each_rejected(*loaded->spool, [&](uint64_t id, const agentpb::RejectedRecord& r) {
      if (o->limit && n >= o->limit) return Status{};
      ++n;
      if (o->json) {
        std::cout << (first ? "" : ",") << "\n" << dump(rejection_json(id, r));
        first = false;
      } else {
        // The stored reason is English (the language of whoever stored it must not matter);
        // its code's class is shown in the reader's language (core/util/refusal_text.h).
        const std::string code =
            v1::RecordStatusCode_Name(static_cast<v1::RecordStatusCode>(r.code()));
        std::cout << id << "  " << format_local_ms(r.time_ms()) << "  " << printable(r.source())
                  << "  " << code;
        if (!r.field().empty()) std::cout << " [" << printable(r.field()) << "]";
        std::cout << "  " << (r.by_daemon() ? tr("(daemon) ") : "")
                  << printable(explain_refusal(code, r.reason())) << "\n";
      }
      return Status{};
    });
    if (o->json) std::cout << (first ? "]\n" : "\n]\n");
    if (!s) return void(*exit_code = report(kList, s.error()));
    if (!o->json && n == 0) std::cout << tr("no rejected records") << "\n";
    *exit_code = 0;
  });
  CLI::App* exp = group->add_subcommand(
      "export",
      tr("Write every rejected record to FILE as JSON Lines: the record in the submit format\n"
         "(under \"record\", or the raw input under \"raw\") with id, source, code, field and\n"
         "reason. Fix the records and submit them again. The file is created mode 0600 and holds\n"
         "personal data: handle it accordingly."));
  add_config_option(exp, &o->config);
  exp->add_option("--out,-o", o->out, tr("The file to write (must not exist)"))->required();
  exp->callback([o, exit_code] {
    auto loaded = load_config_and_spool(o->config);
    if (!loaded) return void(*exit_code = report(kExport, loaded.error()));
    auto fd = Fd::open(o->out, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (!fd) return void(*exit_code = report(kExport, fd.error()));
    std::string buf;
    size_t n = 0;
    auto s =
        each_rejected(*loaded->spool, [&](uint64_t id, const agentpb::RejectedRecord& r) -> Status {
          buf += dump(rejection_json(id, r));
          buf += "\n";
          ++n;
          if (buf.size() > (1 << 20)) {
            GONGSHU_RETURN_IF_ERROR(fd->write_all(as_bytes(buf)));
            buf.clear();
          }
          return {};
        });
    if (s) s = fd->write_all(as_bytes(buf));
    if (s) s = fd->sync();
    if (!s) return void(*exit_code = report(kExport, s.error()));
    std::cout << trnf("wrote {} rejected record to {}", "wrote {} rejected records to {}", n, n,
                      o->out)
              << "\n";
    *exit_code = 0;
  });
}

}  // namespace gongshu::agent
