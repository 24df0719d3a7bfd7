#include "core/audit/field_text.h"

#include <charconv>

namespace gongshu::audit {

Result<FieldText> FieldText::parse(std::string_view text, std::string_view magic,
                                   std::string_view what, size_t max_size) {
  FieldText out;
  out.what_ = std::string(what);
  if (text.size() > max_size) {
    return fail(ErrorCode::kCorrupt,
                out.what_ + ": larger than " + std::to_string(max_size / 1024) + " KiB");
  }
  size_t line_no = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (++line_no == 1) {
      if (line != magic) {
        return fail(ErrorCode::kCorrupt,
                    out.what_ + ": first line is not '" + std::string(magic) + "'");
      }
      continue;
    }
    if (line.empty()) continue;
    size_t sp = line.find(' ');
    if (sp == std::string_view::npos) {
      return fail(ErrorCode::kCorrupt,
                  out.what_ + ": line " + std::to_string(line_no) + " has no value");
    }
    if (!out.fields_.emplace(std::string(line.substr(0, sp)), std::string(line.substr(sp + 1)))
             .second) {
      return fail(ErrorCode::kCorrupt,
                  out.what_ + ": duplicate field on line " + std::to_string(line_no));
    }
  }
  if (line_no == 0) return fail(ErrorCode::kCorrupt, out.what_ + ": empty");
  return out;
}

Result<std::string> FieldText::need(std::string_view name) const {
  auto it = fields_.find(name);
  if (it == fields_.end())
    return fail(ErrorCode::kCorrupt, what_ + ": missing field " + std::string(name));
  return it->second;
}

Result<int64_t> FieldText::number(std::string_view name) const {
  GONGSHU_TRY(std::string v, need(name));
  int64_t out = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || p != v.data() + v.size())
    return fail(ErrorCode::kCorrupt, what_ + ": " + std::string(name) + " is not a number");
  return out;
}

}  // namespace gongshu::audit
