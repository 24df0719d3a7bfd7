// JsonWriter: a small streaming writer for the --json output of the commands. It escapes
// strings per RFC 8259 (control characters as \u00XX, UTF-8 passed through) and tracks commas,
// so callers only say what goes where. Its output is always valid UTF-8 (a byte that is not
// becomes U+FFFD) and safe on a terminal: DEL and whatever core/util/printable.h escapes
// are written as \uNNNN too. Not thread-safe; one writer per output.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace gongshu {

// JSON text written by another encoder (nlohmann-json's dump) made as safe on a terminal as
// JsonWriter's: DEL and the characters core/util/printable.h escapes become \uNNNN escapes.
// Outside strings JSON text is ASCII structure, so only string contents change, and they decode
// to the same characters.
std::string json_terminal_safe(std::string_view json_text);

// The one way the commands print a document built with nlohmann-json (json or ordered_json):
// compact, a byte that is not UTF-8 replaced by U+FFFD (a plain dump() throws on it, and a name
// or reason from an agent or the daemon may hold one), then json_terminal_safe. A template so
// that core does not depend on nlohmann-json; J is any nlohmann::basic_json.
template <class J>
std::string json_dump_terminal_safe(const J& j) {
  return json_terminal_safe(j.dump(-1, ' ', false, J::error_handler_t::replace));
}

class JsonWriter {
 public:
  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(std::string_view k);
  JsonWriter& value(std::string_view v);
  JsonWriter& value(const char* v) { return value(std::string_view(v)); }
  JsonWriter& value(int64_t v);
  JsonWriter& value(uint64_t v);
  JsonWriter& value(int v) { return value(int64_t(v)); }
  JsonWriter& value(unsigned v) { return value(uint64_t(v)); }
  JsonWriter& value(bool v);
  JsonWriter& null();

  // key(k).value(v) in one call.
  template <typename T>
  JsonWriter& field(std::string_view k, const T& v) {
    key(k);
    return value(v);
  }

  const std::string& str() const { return out_; }

 private:
  void separate();
  std::string out_;
  std::vector<bool> first_;  // per open container: nothing written in it yet
  bool after_key_ = false;
};

// The JSON string literal for s, quotes included.
std::string json_quote(std::string_view s);

}  // namespace gongshu
