// Text from outside (an audit log, a drill plan) on its way into an HTML page: made printable
// first (core/util/printable.h: control characters, bidirectional overrides and invalid UTF-8
// written out as escapes), then the five characters HTML gives meaning to replaced by entities,
// so the result is safe in element content and in quoted attribute values. Chinese passes
// unchanged. Pure.
#pragma once

#include <string>
#include <string_view>

namespace gongshu {

std::string html_text(std::string_view raw);

}  // namespace gongshu
