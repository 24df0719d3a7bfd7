// The small text form shared by receipts and daemon key rotation statements: a magic first
// line, then one `name value` field per line (the value runs to the end of the line), blank
// lines ignored. Each name appears once. Parsed strictly, with a size limit, because these files
// come from outside (an agency hands in a receipt, an agent is given a statement).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "core/util/error.h"

namespace gongshu::audit {

class FieldText {
 public:
  // what names the document in errors ("receipt", "rotation statement").
  static Result<FieldText> parse(std::string_view text, std::string_view magic,
                                 std::string_view what, size_t max_size);

  // The value of a field, or kCorrupt "<what>: missing field <name>".
  Result<std::string> need(std::string_view name) const;
  // A field holding a decimal integer, all of it.
  Result<int64_t> number(std::string_view name) const;

 private:
  std::string what_;
  std::map<std::string, std::string, std::less<>> fields_;
};

}  // namespace gongshu::audit
