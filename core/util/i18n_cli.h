// localize_cli: CLI11's own words (labels of the help screen, the help and version flags,
// the groups "Options" and "Subcommands", usage errors) in the current language. Called by a
// main() after i18n::init() and after every subcommand is registered, before parsing.
// Header-only (CLI11 is header-only); main() thread only.
//
// Limits: CLI11 composes its error messages in English; the common kinds (a required option
// missing, an unexpected argument, a value that does not convert or validate, a wrong count)
// get a translated sentence, with CLI11's own English detail kept after it.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "core/util/i18n.h"

namespace gongshu::i18n {

namespace detail {

// CLI11's formatter with the usage line's head from the catalogue: CLI11 writes the label and
// an ASCII colon ("Usage: "), where Chinese takes a full-width one with no space (用法：).
class Formatter : public CLI::Formatter {
 public:
  std::string make_usage(const CLI::App* app, std::string name) const override {
    std::string out = CLI::Formatter::make_usage(app, std::move(name));
    // "Usage: NAME ..." (a name always follows in gongshu's programs); 用法：NAME, no space.
    const std::string head = get_label("Usage") + ": ";  // i18n-exempt: CLI11's own text
    if (out.compare(0, head.size(), head) == 0) out.replace(0, head.size(), tr("Usage: "));
    return out;
  }
};

inline void localize_app(CLI::App* app, const std::shared_ptr<CLI::FormatterBase>& fmt) {
  app->formatter(fmt);
  if (CLI::Option* help = app->get_help_ptr(); help != nullptr) {
    help->description(tr("Print this help message and exit"));
  }
  for (CLI::Option* opt : app->get_options()) {
    if (opt->get_group() == "Options") opt->group(tr("Options"));
  }
  for (CLI::App* sub : app->get_subcommands([](CLI::App*) { return true; })) {
    if (sub->get_group() == "Subcommands") sub->group(tr("Subcommands"));
    localize_app(sub, fmt);
  }
}

inline std::string usage_error(const CLI::App* app, const CLI::Error& e) {
  std::string what;
  if (dynamic_cast<const CLI::RequiredError*>(&e) != nullptr) {
    what = tr("a required option or argument is missing");
  } else if (dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr) {
    what = tr("an argument was not expected");
  } else if (dynamic_cast<const CLI::ConversionError*>(&e) != nullptr) {
    what = tr("a value could not be read");
  } else if (dynamic_cast<const CLI::ValidationError*>(&e) != nullptr) {
    what = tr("a value is not allowed");
  } else if (dynamic_cast<const CLI::ArgumentMismatch*>(&e) != nullptr) {
    what = tr("an option has the wrong number of values");
  } else if (dynamic_cast<const CLI::ExcludesError*>(&e) != nullptr) {
    what = tr("two options exclude each other");
  } else {
    what = tr("usage error");
  }
  std::string out = trf("{}: {}", what, e.what()) + "\n";
  out += trf("Run with {} for more information.", "--help") + "\n";
  (void)app;
  return out;
}

}  // namespace detail

inline void localize_cli(CLI::App& app) {
  // Subcommands copied the default formatter when they were added: each gets this one.
  auto fmt = std::make_shared<detail::Formatter>();
  fmt->label("Usage", tr("Usage"));
  fmt->label("OPTIONS", tr("OPTIONS"));
  fmt->label("SUBCOMMAND", tr("SUBCOMMAND"));
  fmt->label("SUBCOMMANDS", tr("SUBCOMMANDS"));
  fmt->label("Positionals", tr("Positionals"));
  fmt->label("REQUIRED", tr("REQUIRED"));
  fmt->label("Needs", tr("Needs"));
  fmt->label("Excludes", tr("Excludes"));
  fmt->label("TEXT", tr("TEXT"));
  fmt->label("INT", tr("INT"));
  fmt->label("UINT", tr("UINT"));
  if (CLI::Option* version = app.get_option_no_throw("--version"); version != nullptr) {
    version->description(tr("Display program version information and exit"));
  }
  app.failure_message(detail::usage_error);
  detail::localize_app(&app, fmt);
}

}  // namespace gongshu::i18n
