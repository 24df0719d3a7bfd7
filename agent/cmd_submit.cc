// gongshu-agent submit --dataset D FILE: validates and spools a JSON Lines or CSV file; returns
// once every record (or its rejection) is durable in the spool.

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>

#include "agent/api_client.h"
#include "agent/cmd_common.h"
#include "agent/commands.h"
#include "agent/intake.h"
#include "agent/resident.h"
#include "core/util/json.h"
#include "core/util/printable.h"
#include "core/wire/context.h"

namespace gongshu::agent {
namespace {

// Fetches the catalog once when the dataset is not cached (it may be new).
void try_refresh(const AgentConfig& config, Spool& spool) {
  auto key = load_agent_key(config.key_file);
  if (!key) return;
  auto context = wire::Context::create();
  if (!context) return;
  auto r = refresh_catalog(*context, config, *key, spool, SystemClock::instance(),
                           std::chrono::seconds(5));
  if (!r) {
    std::cerr << "gongshu-agent submit: "  // i18n-exempt: program and command names
              << trf("catalog refresh: {}", r.error().message()) << "\n";
  }
}

}  // namespace

void add_submit_command(CLI::App& app, int* exit_code) {
  struct Options {
    std::string config;
    std::string dataset;
    std::string file;
    std::string format = "auto";
    std::string encoding = "auto";
    bool json = false;
    bool progress = false;
    size_t max_line = 0;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "submit",
      tr("Validate the records of FILE against the cached catalog entry of DATASET and spool "
         "them\n"
         "(encrypted, durable); the running service forwards them. Returns only when every record\n"
         "is durable. Rejected records are kept with their line and reason (gongshu-agent\n"
         "rejected list). If an earlier submit of the same unchanged file was interrupted, this\n"
         "one resumes after the rows it had spooled. Formats: JSON Lines (one object per line,\n"
         "{\"record_key\":..,\"subject_id\":..,\"op\":\"upsert\"|\"invalidate\",\"observed_at\":..,"
         "\n"
         "\"fields\":{..}} or flat) and CSV (header row of field names plus optional record_key,\n"
         "subject_id, op, observed_at, invalidate_reason). Only an approved dataset accepts\n"
         "records: one that is a draft, submitted, rejected or retired in the catalog is refused\n"
         "whole, naming its state. Exit 0 all accepted, 1 some rejected (or the dataset refused),\n"
         "2 could not run."));
  add_config_option(cmd, &o->config);
  cmd->add_option("--dataset,-d", o->dataset, tr("Catalog id of the records' dataset"))->required();
  cmd->add_option("FILE", o->file, tr("The input file; - reads standard input"))->required();
  cmd->add_option("--format", o->format, tr("jsonl, csv, or auto (by the file name's extension)"))
      ->check(CLI::IsMember({"auto", "jsonl", "csv"}))
      ->capture_default_str();
  cmd->add_option("--encoding", o->encoding,
                  tr("utf-8, gb18030 (also GBK/GB2312 files), or auto: a UTF-8 byte order mark "
                     "or valid UTF-8 is read as UTF-8, anything else as GB18030; the output says "
                     "which"))
      ->check(
          CLI::IsMember({"auto", "utf-8", "utf8", "gb18030", "gbk", "gb2312"}, CLI::ignore_case))
      ->capture_default_str();
  cmd->add_flag("--progress", o->progress,
                tr("Show progress on stderr (the default when stderr is a terminal)"));
  cmd->add_flag("--json", o->json, tr("Print the result as JSON"));
  cmd->callback([o, exit_code] {
    tune_heap();
    release_startup_pages();  // agent/resident.h
    auto loaded = load_config_and_spool(o->config);
    if (!loaded) return void(*exit_code = report("submit", loaded.error()));
    Spool& spool = *loaded->spool;
    Intake intake(spool, SystemClock::instance());
    if (auto s = intake.refresh_catalog(); !s)
      return void(*exit_code = report("submit", s.error()));
    // Not cached (it may be new), or cached in a state that refuses records (it may have been
    // approved since): ask the daemon once.
    const auto* cached = intake.catalog().find(o->dataset);
    if (!cached || intake.catalog().refused_state(*cached)) {
      try_refresh(loaded->config, spool);
      if (auto s = intake.refresh_catalog(); !s) {
        return void(*exit_code = report("submit", s.error()));
      }
    }
    const catalog::DatasetSchema* schema = intake.catalog().find(o->dataset);
    if (!schema) {
      std::string known;
      for (const auto* d : intake.catalog().all()) known += (known.empty() ? "" : ", ") + d->id();
      return void(
          *exit_code = report(
              "submit",
              Error(ErrorCode::kNotFound,
                    known.empty()
                        ? trf("dataset '{}' is not in this agent's catalog (cached: none; enroll "
                              "first)",
                              o->dataset)
                        : trf("dataset '{}' is not in this agent's catalog (cached: {})",
                              o->dataset, known))));
    }
    // nothing is spooled for a dataset the catalog does not have approved.
    if (auto refused = intake.catalog().refused_state(*schema)) {
      return void(*exit_code = report("submit", Error(ErrorCode::kPermissionDenied, *refused), 1));
    }
    InputFormat format = InputFormat::kJsonLines;
    if (o->format == "csv") {
      format = InputFormat::kCsv;
    } else if (o->format == "auto") {
      auto f = format_from_name(o->file);
      if (!f && o->file != "-") {
        return void(*exit_code =
                        report("submit", Error(ErrorCode::kInvalidArgument,
                                               trf("{}: cannot tell the format from the name; "
                                                   "use --format jsonl or --format csv",
                                                   o->file))));
      }
      format = f.value_or(InputFormat::kJsonLines);
    }
    auto encoding = parse_encoding(o->encoding);
    if (!encoding) return void(*exit_code = report("submit", encoding.error()));
    auto input = InputFile::open(o->file, *encoding);
    if (!input) return void(*exit_code = report("submit", input.error()));
    const std::string encoding_used = charset_name(input->charset());
    const std::string encoding_note = input->encoding_note();
    ReaderLimits limits;
    limits.max_row_bytes = loaded->config.limits.max_line_bytes;
    auto reader = make_reader(format, std::move(*input), *schema, limits);
    if (!reader) return void(*exit_code = report("submit", reader.error(), 1));

    bool show = o->progress || ::isatty(2);
    auto start = std::chrono::steady_clock::now();
    auto last_shown = start;
    SpoolFileOptions so;
    so.source = o->file == "-" ? "stdin" : o->file;
    so.dataset = o->dataset;
    so.progress_key = file_progress_key(o->file);
    so.on_commit = [&](const FileProgress& p) {
      auto now = std::chrono::steady_clock::now();
      if (!show || now - last_shown < std::chrono::milliseconds(500)) return;
      last_shown = now;
      double secs = std::chrono::duration<double>(now - start).count();
      std::string line =
          trf("{}: {} rows, {} accepted, {} rejected, {} rows/s", so.source, p.rows, p.accepted,
              p.rejected, uint64_t(secs > 0 ? double(p.rows - p.resumed_after) / secs : 0.0));
      if (p.bytes_total > 0) {
        line +=
            " (" + std::to_string(int(100.0 * double(p.bytes_read) / double(p.bytes_total))) + "%)";
      }
      std::fprintf(stderr, "\r%s", line.c_str());
      std::fflush(stderr);
    };
    auto r = spool_file(intake, **reader, so);
    if (show && last_shown != start) std::fprintf(stderr, "\n");
    if (!r) return void(*exit_code = report("submit", r.error()));
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    uint64_t done = r->accepted + r->rejected;
    if (o->json) {
      JsonWriter w;
      w.begin_object()
          .field("file", so.source)
          .field("dataset", o->dataset)
          .field("encoding", encoding_used)
          .field("accepted", r->accepted)
          .field("rejected", r->rejected)
          .field("resumed_after_rows", r->resumed_after)
          .field("milliseconds", int64_t(secs * 1000))
          .field("records_per_second", uint64_t(secs > 0 ? double(done) / secs : 0));
      w.key("first_rejections").begin_array();
      for (const auto& x : r->first_rejections) w.value(x);
      w.end_array().end_object();
      std::cout << w.str() << "\n";
    } else {
      if (r->resumed_after > 0) {
        std::cout << trf("resumed after row {} (an earlier submit of this file was interrupted)",
                         r->resumed_after)
                  << "\n";
      }
      std::cout << trf("{}: read as {}", so.source, encoding_note) << "\n";
      std::cout << trf("{}: {} accepted, {} rejected; spooled durably for dataset {}", so.source,
                       r->accepted, r->rejected, o->dataset)
                << "\n";
      // A rejection quotes the input (a column's name, the dataset asked for): escaped, so a
      // file cannot drive the terminal (core/util/printable.h).
      for (const auto& x : r->first_rejections)
        std::cerr << "  " << trf("rejected {}", printable(x)) << "\n";
      if (r->rejected > r->first_rejections.size()) {
        std::cerr << "  " << tr("... (gongshu-agent rejected list shows them all)") << "\n";
      }
    }
    *exit_code = r->rejected > 0 ? 1 : 0;
  });
}

}  // namespace gongshu::agent
