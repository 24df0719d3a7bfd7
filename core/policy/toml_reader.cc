#include "core/policy/toml_reader.h"

#include <algorithm>

#include "core/util/clock.h"

namespace gongshu::policy::detail {
namespace {

constexpr int64_t kChinaOffsetMinutes = 8 * 60;
constexpr size_t kMaxErrors = 100;

std::string_view type_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a number";
    case toml::node_type::boolean:
      return "a boolean";
    default:
      return "a date or time";
  }
}

}  // namespace

void TomlReader::error(int line, std::string_view reason) {
  if (errors_->size() >= kMaxErrors) return;
  std::string e = file_;
  e.append(":").append(std::to_string(line)).append(": ").append(reason);
  errors_->push_back(std::move(e));
}

void TomlReader::check_keys(const toml::table& t, std::initializer_list<std::string_view> known,
                            std::string_view what) {
  for (const auto& [k, v] : t) {
    if (std::find(known.begin(), known.end(), k.str()) == known.end()) {
      error(v, "unknown key '" + std::string(k.str()) + "' in " + std::string(what));
    }
  }
}

std::optional<std::string> TomlReader::string(const toml::table& t, std::string_view key,
                                              bool required) {
  const toml::node* n = t.get(key);
  if (!n) {
    if (required) error(t, "missing key '" + std::string(key) + "'");
    return std::nullopt;
  }
  if (const auto* s = n->as_string()) return s->get();
  error(*n, "'" + std::string(key) + "' must be a string, not " + std::string(type_name(*n)));
  return std::nullopt;
}

std::optional<bool> TomlReader::boolean(const toml::table& t, std::string_view key) {
  const toml::node* n = t.get(key);
  if (!n) return std::nullopt;
  if (const auto* b = n->as_boolean()) return b->get();
  error(*n, "'" + std::string(key) + "' must be true or false");
  return std::nullopt;
}

std::optional<int64_t> TomlReader::integer(const toml::table& t, std::string_view key, int64_t min,
                                           int64_t max) {
  const toml::node* n = t.get(key);
  if (!n) return std::nullopt;
  const auto* i = n->as_integer();
  if (!i || i->get() < min || i->get() > max) {
    error(*n, "'" + std::string(key) + "' must be an integer in " + std::to_string(min) + ".." +
                  std::to_string(max));
    return std::nullopt;
  }
  return i->get();
}

std::optional<std::vector<Located>> TomlReader::strings(const toml::table& t, std::string_view key,
                                                        bool required) {
  const toml::node* n = t.get(key);
  if (!n) {
    if (required) error(t, "missing key '" + std::string(key) + "'");
    return std::nullopt;
  }
  std::vector<Located> out;
  if (const auto* s = n->as_string()) {
    out.push_back({s->get(), line_of(*n)});
    return out;
  }
  const auto* a = n->as_array();
  if (!a) {
    error(*n, "'" + std::string(key) + "' must be an array of strings");
    return std::nullopt;
  }
  for (const toml::node& e : *a) {
    const auto* s = e.as_string();
    if (!s) {
      error(e,
            "'" + std::string(key) + "' must hold only strings, not " + std::string(type_name(e)));
      return std::nullopt;
    }
    out.push_back({s->get(), line_of(e)});
  }
  return out;
}

std::optional<int64_t> TomlReader::instant(const toml::table& t, std::string_view key,
                                           bool required) {
  const toml::node* n = t.get(key);
  if (!n) {
    if (required) error(t, "missing key '" + std::string(key) + "'");
    return std::nullopt;
  }
  auto day_ms = [](const toml::date& d) {
    return days_from_civil({int(d.year), unsigned(d.month), unsigned(d.day)}) * 86'400'000;
  };
  if (const auto* d = n->as_date()) {
    return day_ms(d->get()) - kChinaOffsetMinutes * 60'000;
  }
  if (const auto* dt = n->as_date_time()) {
    const toml::date_time& v = dt->get();
    const int64_t offset_min = v.offset ? v.offset->minutes : kChinaOffsetMinutes;
    return day_ms(v.date) + int64_t(v.time.hour) * 3'600'000 + int64_t(v.time.minute) * 60'000 +
           int64_t(v.time.second) * 1000 + int64_t(v.time.nanosecond) / 1'000'000 -
           offset_min * 60'000;
  }
  error(*n, "'" + std::string(key) + "' must be a TOML date or date-time");
  return std::nullopt;
}

std::optional<toml::table> parse_toml(std::string_view text, const std::string& file,
                                      std::vector<std::string>* errors) {
  try {
    return toml::parse(text, file);
  } catch (const toml::parse_error& e) {
    errors->push_back(file + ":" + std::to_string(e.source().begin.line) + ": " +
                      std::string(e.description()));
    return std::nullopt;
  }
}

}  // namespace gongshu::policy::detail
