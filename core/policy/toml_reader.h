// Internal to core/policy: typed reads from toml++ tables that record "file:line: reason" for
// every problem instead of stopping at the first, so a policy author sees all of them at once.
// Not thread-safe; one reader per parse.
#pragma once

#include <toml++/toml.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gongshu::policy::detail {

// A string from a TOML array, with the line it was written on.
struct Located {
  std::string value;
  int line;
};

class TomlReader {
 public:
  TomlReader(std::string file, std::vector<std::string>* errors)
      : file_(std::move(file)), errors_(errors) {}

  const std::string& file() const { return file_; }
  static int line_of(const toml::node& n) { return int(n.source().begin.line); }
  void error(int line, std::string_view reason);
  void error(const toml::node& n, std::string_view reason) { error(line_of(n), reason); }

  // Records an error for every key of t not in `known`. `what` names the table ("[[rule]]").
  void check_keys(const toml::table& t, std::initializer_list<std::string_view> known,
                  std::string_view what);

  // Each returns nullopt when the key is absent (an error if required) or has the wrong type
  // (always an error).
  std::optional<std::string> string(const toml::table& t, std::string_view key,
                                    bool required = false);
  std::optional<bool> boolean(const toml::table& t, std::string_view key);
  std::optional<int64_t> integer(const toml::table& t, std::string_view key, int64_t min,
                                 int64_t max);
  // An array of strings; a bare string is accepted as a one-element array.
  std::optional<std::vector<Located>> strings(const toml::table& t, std::string_view key,
                                              bool required = false);
  // A TOML date-time with an offset (or a local date-time, read as UTC+8), or a date (midnight
  // UTC+8), as ms since the epoch.
  std::optional<int64_t> instant(const toml::table& t, std::string_view key, bool required);

 private:
  std::string file_;
  std::vector<std::string>* errors_;
};

// Parses text with toml++; a syntax error is recorded as "file:line: reason".
std::optional<toml::table> parse_toml(std::string_view text, const std::string& file,
                                      std::vector<std::string>* errors);

}  // namespace gongshu::policy::detail
