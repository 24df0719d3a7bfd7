// gongshuctl id check: checks citizen ID numbers (GB 11643) and unified social credit codes
// (GB 32100) the way the agent and the daemon do, for operators fixing source data.

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "core/ids/id_check.h"
#include "core/util/clock.h"
#include "core/util/i18n.h"
#include "core/util/json.h"
#include "core/util/printable.h"
#include "tools/ctl/commands.h"
#include "tools/ctl/table.h"

namespace gongshu::ctl {
namespace {

std::string format_date(const CivilDate& d) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", d.year, d.month, d.day);
  return buf;
}

void print_human(std::string_view raw, const ids::IdCheck& r, std::string& out) {
  // Positions in the reason count characters of the normalised text, so show that when there
  // is one.
  out += printable(r.normalized.empty() ? raw : std::string_view(r.normalized));
  out += "  ";
  out += r.valid ? tr("valid") : tr("INVALID");
  out += "  ";
  // The kind and sex by their names for people; --json keeps the machine names.
  const std::string_view kind = ids::id_kind_name(r.kind);
  out += kind == "citizen_id"    ? tr("citizen_id")
         : kind == "credit_code" ? tr("credit_code")
                                 : tr("unknown");
  out += "\n";
  auto line = [&out](std::string_view label, std::string_view value) {
    out += "  ";
    out += label;
    const size_t width = display_width(std::string(label));
    out.append(width < 12 ? 12 - width : 1, ' ');
    out += value;
    out += "\n";
  };
  if (!r.valid) line(tr("reason"), r.reason);
  if (r.citizen) {
    line(tr("region"), r.citizen->region_code);
    line(tr("birth date"), format_date(r.citizen->birth_date));
    const std::string_view sex = ids::sex_name(r.citizen->sex);
    line(tr("sex"), sex == "female" ? tr("female") : sex == "male" ? tr("male") : sex);
    if (r.citizen->converted_from_15) {
      line(tr("converted"), tr("from a 15-digit first-generation number"));
    }
  }
  for (const auto& w : r.warnings) line(tr("warning"), w);
}

void write_json(const ids::IdCheck& r, JsonWriter& w) {
  w.begin_object().field("kind", ids::id_kind_name(r.kind)).field("valid", r.valid);
  // normalized is valid UTF-8 whenever it is not empty (core/ids/id_check.h).
  w.key("normalized");
  if (r.normalized.empty()) {
    w.null();
  } else {
    w.value(r.normalized);
  }
  if (!r.valid) w.field("reason", r.reason);
  if (r.citizen) {
    w.field("region_code", r.citizen->region_code)
        .field("birth_date", format_date(r.citizen->birth_date))
        .field("sex", ids::sex_name(r.citizen->sex))
        .field("converted_from_15", r.citizen->converted_from_15);
  }
  w.key("warnings").begin_array();
  for (const auto& warning : r.warnings) w.value(warning);
  w.end_array().end_object();
}

}  // namespace

void add_id_commands(CLI::App& app, int* exit_code) {
  struct Options {
    std::vector<std::string> values;
    bool json = false;
  };
  auto opts = std::make_shared<Options>();
  CLI::App* id =
      app.add_subcommand("id", tr("Check citizen ID numbers and unified social credit codes"));
  id->require_subcommand(1);
  CLI::App* check = id->add_subcommand(
      "check",
      tr("Check each VALUE as a citizen ID number (GB 11643-1999, 18 characters, or 15 for a\n"
         "first-generation number, which is converted) or a unified social credit code\n"
         "(GB 32100-2015, 18 characters), whichever its shape says, as the agent and gongshud do.\n"
         "Surrounding spaces (also U+3000) are trimmed, full-width digits and letters and lower\n"
         "case are accepted. Prints the kind and normalised form of each value; for a citizen ID\n"
         "the region code, birth date and sex; warnings; or why the value is invalid. With\n"
         "--json: an array of objects with kind, valid, normalized, reason (when invalid),\n"
         "region_code, birth_date, sex, converted_from_15 (valid citizen IDs) and warnings.\n"
         "Exit status: 0 all values valid, 1 some value invalid, 2 usage error."));
  check->add_option("VALUE", opts->values, tr("Identifiers to check"))->required();
  check->add_flag("--json", opts->json, tr("Print a JSON array, one object per value"));
  check->callback([opts, exit_code] {
    const Clock& clock = SystemClock::instance();
    bool all_valid = true;
    std::string out;
    JsonWriter w;
    w.begin_array();
    for (const auto& value : opts->values) {
      const ids::IdCheck r = ids::check_identifier(value, clock);
      all_valid = all_valid && r.valid;
      if (opts->json) {
        write_json(r, w);
      } else {
        print_human(value, r, out);
      }
    }
    w.end_array();
    std::cout << (opts->json ? w.str() + "\n" : out) << std::flush;
    *exit_code = all_valid ? 0 : 1;
  });
}

}  // namespace gongshu::ctl
