// localize_cli: CLI11's own words in the current language — the help screen's headings and
// labels ("Usage:", "Options:", "Subcommands:", "Positionals:", "REQUIRED", "Needs:",
// "Excludes:", "[Option Group: …]"), the type and range of an option's value ("INT in [1 -
// 3600]", "POSITIVE", "FILE"), the help and version flags, and the usage errors (a required
// option missing, a value out of range or not one of a set, an argument not expected, options
// that exclude each other …). Called by a main() after i18n::init() and after every subcommand
// is registered, before parsing; every gongshu binary calls it, so this is the one place CLI11's
// English is translated. Header-only (CLI11 is header-only); main() thread only.
//
// English output is CLI11's own, byte for byte, except for a positive/non-negative number's
// error, which CLI11 writes with the limits of a double. CLI11 composes its errors in English
// (Debian 12: CLI11 2.1.2); the kinds it has are recognised by their text and said again as a
// translated sentence; one not recognised is shown after its translated kind, in English.
// Help columns are aligned by display width (a Chinese character is two columns), not bytes.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/util/i18n.h"

namespace gongshu::i18n {

namespace detail {

// Columns a terminal gives the UTF-8 text: East Asian wide and full-width characters take two.
inline size_t display_width(std::string_view s) {
  size_t width = 0;
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    uint32_t cp = c;
    size_t len = 1;
    if (c >= 0xF0 && i + 3 < s.size()) {
      cp = ((c & 0x07u) << 18) | ((s[i + 1] & 0x3Fu) << 12) | ((s[i + 2] & 0x3Fu) << 6) |
           (s[i + 3] & 0x3Fu);
      len = 4;
    } else if (c >= 0xE0 && i + 2 < s.size()) {
      cp = ((c & 0x0Fu) << 12) | ((s[i + 1] & 0x3Fu) << 6) | (s[i + 2] & 0x3Fu);
      len = 3;
    } else if (c >= 0xC0 && i + 1 < s.size()) {
      cp = ((c & 0x1Fu) << 6) | (s[i + 1] & 0x3Fu);
      len = 2;
    }
    const bool wide = (cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0xA4CF) ||
                      (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
                      (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
                      (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x20000 && cp <= 0x3FFFD);
    width += wide ? 2 : 1;
    i += len;
  }
  return width;
}

// CLI11's detail::format_help, padded by display width instead of bytes.
inline std::string help_line(std::string name, const std::string& description, size_t wid) {
  name = "  " + name;
  const size_t w = display_width(name);
  std::string out = name;
  if (w < wid) out.append(wid - w, ' ');
  if (!description.empty()) {
    if (w >= wid) out += "\n" + std::string(wid, ' ');
    for (const char c : description) {
      out += c;
      if (c == '\n') out.append(wid, ' ');
    }
  }
  out += "\n";
  return out;
}

inline bool starts_with(std::string_view s, std::string_view head) {
  return s.substr(0, head.size()) == head;
}

// CLI11's words for a type or a check, as its labels and validator descriptions write them
// (tr_noop: translated when shown).
inline constexpr const char* kTypeWords[] = {
    tr_noop("TEXT"),    tr_noop("INT"),      tr_noop("UINT"),        tr_noop("FLOAT"),
    tr_noop("FILE"),    tr_noop("DIR"),      tr_noop("PATH"),        tr_noop("NUMBER"),
    tr_noop("BOOLEAN"), tr_noop("POSITIVE"), tr_noop("NONNEGATIVE"),
};

// A type word in the reader's language; anything else (a set "{a,b}", a name) as it is.
inline std::string type_word(const std::string& word) {
  for (const char* w : kTypeWords) {
    if (word == w) return tr(w);
  }
  return word;
}

// One validator's description: CLI::Range writes "INT in [1 - 3600]".
inline std::string check_words(const std::string& desc) {
  const size_t in = desc.find(" in [");  // i18n-exempt: CLI11's text, parsed
  const size_t dash = desc.find(" - ", in == std::string::npos ? 0 : in);
  if (in != std::string::npos && dash != std::string::npos && desc.back() == ']') {
    return trf("{} in [{} - {}]", type_word(desc.substr(0, in)), desc.substr(in + 5, dash - in - 5),
               desc.substr(dash + 3, desc.size() - dash - 4));
  }
  return type_word(desc);
}

// An option's full type as CLI11 builds it ("TYPE:CHECK:CHECK"), each part translated; the
// colons are CLI11's syntax and stay.
inline std::string type_text(const std::string& full) {
  std::string out;
  size_t start = 0;
  for (bool first = true;; first = false) {
    const size_t colon = full.find(':', start);
    const std::string part = full.substr(start, colon - start);
    if (!first) out += ":";
    out += first ? type_word(part) : check_words(part);
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return out;
}

// The help screen: CLI11's Formatter with every word it writes from the catalogue.
class Formatter : public CLI::Formatter {
 public:
  std::string make_group(std::string group, bool is_positional,
                         std::vector<const CLI::Option*> opts) const override {
    std::string out = "\n" + heading(group) + "\n";
    for (const CLI::Option* opt : opts) out += make_option(opt, is_positional);
    return out;
  }

  std::string make_description(const CLI::App* app) const override {
    std::string desc = app->get_description();
    const size_t min = app->get_require_option_min();
    const size_t max = app->get_require_option_max();
    if (app->get_required()) desc += " " + get_label("REQUIRED") + " ";
    if (max == min && min > 0) {
      desc += " \n" + trnf("[Exactly {} of the following options is required]",
                           "[Exactly {} of the following options are required]", min, min);
    } else if (max > 0) {
      desc += " \n" +
              (min > 0 ? trf("[Between {} and {} of the following options are required]", min, max)
                       : trf("[At most {} of the following options are allowed]", max));
    } else if (min > 0) {
      desc += " \n" + trf("[At least {} of the following options are required]", min);
    }
    return desc.empty() ? std::string() : desc + "\n";
  }

  std::string make_usage(const CLI::App* app, std::string name) const override {
    // CLI11's "Usage: NAME [OPTIONS] ARGS [SUBCOMMAND]" with its head from the catalogue: a
    // name always follows in gongshu's programs (用法：NAME, full-width colon, no space).
    std::string line = CLI::Formatter::make_usage(app, std::move(name));
    const std::string head = get_label("Usage") + ": ";  // i18n-exempt: CLI11's text, parsed
    if (starts_with(line, head)) {
      std::string rest = line.substr(head.size());
      if (!rest.empty() && rest.back() == '\n') rest.pop_back();
      line = trf("Usage: {}", rest) + "\n";
    }
    return line;
  }

  std::string make_subcommands(const CLI::App* app, CLI::AppFormatMode mode) const override {
    std::string out;
    std::vector<std::string> groups;
    for (const CLI::App* com : app->get_subcommands({})) {
      if (com->get_name().empty()) {
        if (!com->get_group().empty()) out += make_expanded(com);
        continue;
      }
      const std::string key = com->get_group();
      bool seen = key.empty();
      for (const auto& g : groups)
        seen = seen || CLI::detail::to_lower(g) == CLI::detail::to_lower(key);
      if (!seen) groups.push_back(key);
    }
    for (const std::string& group : groups) {
      out += "\n" + heading(group) + "\n";
      for (const CLI::App* sub : app->get_subcommands([&group](const CLI::App* s) {
             return CLI::detail::to_lower(s->get_group()) == CLI::detail::to_lower(group);
           })) {
        if (sub->get_name().empty()) continue;
        out += mode != CLI::AppFormatMode::All
                   ? make_subcommand(sub)
                   : sub->help(sub->get_name(), CLI::AppFormatMode::Sub) + "\n";
      }
    }
    return out;
  }

  std::string make_subcommand(const CLI::App* sub) const override {
    return help_line(sub->get_display_name(true), sub->get_description(), column_width_);
  }

  std::string make_expanded(const CLI::App* sub) const override {
    // An option group (a nameless App) is titled "[Option Group: NAME]" by CLI11.
    std::string out = sub->get_name().empty() ? trf("[Option Group: {}]", sub->get_group())
                                              : sub->get_display_name(true);
    out += "\n" + make_description(sub) + make_positionals(sub) +
           make_groups(sub, CLI::AppFormatMode::Sub) +
           make_subcommands(sub, CLI::AppFormatMode::Sub);
    std::string tmp = CLI::detail::find_and_replace(out, "\n\n", "\n");
    tmp = tmp.substr(0, tmp.size() - 1);
    return CLI::detail::find_and_replace(tmp, "\n", "\n  ") + "\n";
  }

  std::string make_option(const CLI::Option* opt, bool is_positional) const override {
    return help_line(make_option_name(opt, is_positional) + make_option_opts(opt),
                     make_option_desc(opt), column_width_);
  }

  std::string make_option_opts(const CLI::Option* opt) const override {
    if (!opt->get_option_text().empty()) return " " + opt->get_option_text();
    std::string out;
    if (opt->get_type_size() != 0) {
      if (!opt->get_type_name().empty()) out += " " + type_text(opt->get_type_name());
      if (!opt->get_default_str().empty()) out += "=" + opt->get_default_str();
      if (opt->get_expected_max() == CLI::detail::expected_max_vector_size) {
        out += " ...";
      } else if (opt->get_expected_min() > 1) {
        out += " x " + std::to_string(opt->get_expected());
      }
      if (opt->get_required()) out += " " + get_label("REQUIRED");
    }
    if (!opt->get_envname().empty()) {
      out += " (" + get_label("Env") + ":" + opt->get_envname() + ")";
    }
    if (!opt->get_needs().empty()) out += " " + trf("Needs: {}", names(opt->get_needs()));
    if (!opt->get_excludes().empty()) out += " " + trf("Excludes: {}", names(opt->get_excludes()));
    return out;
  }

 private:
  // "Options:" — a heading of the help screen; Chinese takes a full-width colon.
  static std::string heading(const std::string& group) { return trf("{}:", group); }

  static std::string names(const std::set<CLI::Option*>& opts) {
    std::string out;
    for (const CLI::Option* o : opts) out += (out.empty() ? "" : " ") + o->get_name();
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

// The text after `head` in `s` up to `tail` (which must end s when `tail_at_end`), or false.
inline bool between(std::string_view s, std::string_view head, std::string_view tail,
                    std::string* out, std::string* rest = nullptr) {
  if (!starts_with(s, head)) return false;
  const size_t at = s.find(tail, head.size());
  if (at == std::string_view::npos) return false;
  *out = std::string(s.substr(head.size(), at - head.size()));
  if (rest != nullptr) *rest = std::string(s.substr(at + tail.size()));
  return true;
}

// The option (or positional) named `name` in the app and the subcommands that were parsed.
inline const CLI::Option* find_option(const CLI::App* app, const std::string& name) {
  if (const CLI::Option* o = app->get_option_no_throw(name); o != nullptr) return o;
  for (const CLI::App* sub : app->get_subcommands()) {
    if (const CLI::Option* o = find_option(sub, name); o != nullptr) return o;
  }
  return nullptr;
}

// A validator's refusal ("Value 0 not in range 1 to 3600", "zz not in {a,b}", "File does not
// exist: x") of option `name`, said again as one sentence; "" when not recognised.
inline std::string validation_sentence(const CLI::App* app, const std::string& name,
                                       const std::string& msg) {
  std::string a, b, c, rest;
  if (between(msg, "Value ", " not in range ", &a, &rest) &&  // i18n-exempt: CLI11's text
      between(rest, "", " to ", &b, &c)) {                    // i18n-exempt: CLI11's text
    // CLI::PositiveNumber and NonNegativeNumber are ranges over a double's limits.
    const CLI::Option* opt = find_option(app, name);
    const std::string type = opt != nullptr ? opt->get_type_name() : std::string();
    if (type.find(":POSITIVE") != std::string::npos) {
      return trf("{}: {} is not a positive number", name, a);
    }
    if (type.find(":NONNEGATIVE") != std::string::npos) {
      return trf("{}: {} is not a number of zero or more", name, a);
    }
    return trf("{}: Value {} not in range {} to {}", name, a, b, c);
  }
  const size_t in = msg.rfind(" not in {");  // i18n-exempt: CLI11's text (IsMember)
  if (in != std::string::npos && msg.back() == '}') {
    return trf("{}: {} not in {}", name, msg.substr(0, in), msg.substr(in + 8));
  }
  struct Path {
    const char* cli11;
    const char* words;
  };
  static constexpr Path kPaths[] = {
      // CLI::ExistingFile, ExistingDirectory, ExistingPath, NonexistentPath
      {"File does not exist: ",  // i18n-exempt: CLI11's text, parsed
       tr_noop("{}: File does not exist: {}")},
      {"File is actually a directory: ",  // i18n-exempt: CLI11's text, parsed
       tr_noop("{}: File is actually a directory: {}")},
      {"Directory does not exist: ",  // i18n-exempt: CLI11's text, parsed
       tr_noop("{}: Directory does not exist: {}")},
      {"Directory is actually a file: ",  // i18n-exempt: CLI11's text, parsed
       tr_noop("{}: Directory is actually a file: {}")},
      {"Path does not exist: ",  // i18n-exempt: CLI11's text, parsed
       tr_noop("{}: Path does not exist: {}")},
      {"Path already exists: ",  // i18n-exempt: CLI11's text, parsed
       tr_noop("{}: Path already exists: {}")},
  };
  for (const Path& p : kPaths) {
    if (starts_with(msg, p.cli11)) {
      return i18n::format(tr(p.words), {name, msg.substr(std::string_view(p.cli11).size())});
    }
  }
  return {};
}

// CLI11's error said again in the reader's language (English: CLI11's own words).
inline std::string error_sentence(const CLI::App* app, const CLI::Error& e) {
  const std::string what = e.what();
  std::string a, b, rest;
  if (dynamic_cast<const CLI::RequiredError*>(&e) != nullptr) {
    if (what == "A subcommand is required") {  // i18n-exempt: CLI11's text, parsed
      return tr("A subcommand is required");
    }
    const std::string_view tail = " is required";  // i18n-exempt: CLI11's text, parsed
    if (what.size() > 12 && what.compare(what.size() - 12, 12, tail) == 0 &&
        what.find(' ') == what.size() - 12) {
      return trf("{} is required", what.substr(0, what.size() - 12));
    }
    return trf("a required option or argument is missing: {}", what);
  }
  if (dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr) {
    const std::string_view heads[] = {
        "The following argument was not expected: ",    // i18n-exempt: CLI11's text, parsed
        "The following arguments were not expected: ",  // i18n-exempt: CLI11's text, parsed
    };
    for (size_t n = 1; n <= 2; ++n) {
      if (starts_with(what, heads[n - 1])) {
        const std::string args = what.substr(heads[n - 1].size());
        return trnf("The following argument was not expected: {}",
                    "The following arguments were not expected: {}", n, args);
      }
    }
    return trf("an argument was not expected: {}", what);
  }
  if (dynamic_cast<const CLI::ValidationError*>(&e) != nullptr) {
    const size_t colon = what.find(": ");
    if (colon != std::string::npos) {
      std::string s = validation_sentence(app, what.substr(0, colon), what.substr(colon + 2));
      if (!s.empty()) return s;
    }
    return trf("a value is not allowed: {}", what);
  }
  if (dynamic_cast<const CLI::ConversionError*>(&e) != nullptr) {
    if (between(what, "The value ",                          // i18n-exempt: CLI11's text, parsed
                " is not an allowed value for ", &a, &b)) {  // i18n-exempt: CLI11's text
      return trf("The value {} is not an allowed value for {}", a, b);
    }
    if (between(what, "Could not convert: ", " = ", &a, &b)) {  // i18n-exempt: CLI11's text
      return trf("Could not convert: {} = {}", a, b);
    }
    return trf("a value could not be read: {}", what);
  }
  if (dynamic_cast<const CLI::ArgumentMismatch*>(&e) != nullptr) {
    // "--key: 1 required TEXT missing": an option given without its value.
    std::string count, type;
    if (between(what, "", ": ", &a, &rest) && between(rest, "", " required ", &count, &type) &&
        type.size() > 8 && type.compare(type.size() - 8, 8, " missing") == 0) {
      return trf("{}: {} required {} missing", a, count,
                 type_text(type.substr(0, type.size() - 8)));
    }
    return trf("an option has the wrong number of values: {}", what);
  }
  if (dynamic_cast<const CLI::ExcludesError*>(&e) != nullptr) {
    if (between(what, "", " excludes ", &a, &b)) return trf("{} excludes {}", a, b);
    return trf("two options exclude each other: {}", what);
  }
  if (dynamic_cast<const CLI::RequiresError*>(&e) != nullptr) {
    if (between(what, "", " requires ", &a, &b)) return trf("{} requires {}", a, b);
  }
  return trf("usage error: {}", what);
}

inline std::string usage_error(const CLI::App* app, const CLI::Error& e) {
  return error_sentence(app, e) + "\n" + trf("Run with {} for more information.", "--help") + "\n";
}

}  // namespace detail

inline void localize_cli(CLI::App& app) {
  // Subcommands copied the default formatter when they were added: each gets this one.
  auto fmt = std::make_shared<detail::Formatter>();
  fmt->label("OPTIONS", tr("OPTIONS"));
  fmt->label("SUBCOMMAND", tr("SUBCOMMAND"));
  fmt->label("SUBCOMMANDS", tr("SUBCOMMANDS"));
  fmt->label("Positionals", tr("Positionals"));
  fmt->label("REQUIRED", tr("REQUIRED"));
  fmt->label("Env", tr("Env"));
  if (CLI::Option* version = app.get_option_no_throw("--version"); version != nullptr) {
    version->description(tr("Display program version information and exit"));
  }
  app.failure_message(detail::usage_error);
  detail::localize_app(&app, fmt);
}

}  // namespace gongshu::i18n
