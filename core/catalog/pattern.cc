#include "core/catalog/pattern.h"

#include <re2/re2.h>

#include "core/util/printable.h"

namespace gongshu::catalog {

Result<Pattern> Pattern::compile(std::string_view text) {
  if (text.empty()) return fail(ErrorCode::kInvalidArgument, "the pattern is empty");
  if (text.size() > kMaxPatternBytes)
    return fail(ErrorCode::kInvalidArgument,
                "the pattern is longer than " + std::to_string(kMaxPatternBytes) + " bytes");
  if (!is_printable(text))
    return fail(ErrorCode::kInvalidArgument,
                "the pattern must be UTF-8 text without control characters");
  RE2::Options options;
  options.set_encoding(RE2::Options::EncodingUTF8);
  options.set_max_mem(kPatternMaxMem);
  options.set_log_errors(false);  // the error goes into the catalog's message, not to stderr
  options.set_never_capture(true);
  auto re = std::make_shared<const RE2>(re2::StringPiece(text.data(), text.size()), options);
  if (!re->ok()) {
    std::string why = re->error();
    if (re->error_code() == RE2::ErrorPatternTooLarge)
      why = "the pattern compiles to more than the " + std::to_string(kPatternMaxMem >> 10) +
            " KiB a pattern may use (" + why + ")";
    return fail(ErrorCode::kInvalidArgument, "the pattern does not compile: " + printable(why));
  }
  Pattern p;
  p.text_ = std::string(text);
  p.re_ = std::move(re);
  return p;
}

bool Pattern::full_match(std::string_view value) const {
  return re_ && RE2::FullMatch(re2::StringPiece(value.data(), value.size()), *re_);
}

}  // namespace gongshu::catalog
