// The agent's view of a file's character set (core/util/charset.h): the auto rule over any
// bytes, fed whole or in two pieces, and GB18030/UTF-8 decoding through iconv. Holds that the
// auto decision agrees with a whole-file UTF-8 check, that splitting the input never changes it,
// and that decoding either fails leaving the text as it was or yields valid UTF-8.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/util/charset.h"
#include "core/util/utf8.h"

using namespace gongshu;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);

  AutoDetector whole;
  whole.feed(text);
  const bool bom = text.starts_with("\xEF\xBB\xBF");
  const Charset expected = bom || is_utf8(text) ? Charset::kUtf8 : Charset::kGb18030;
  if (whole.decide() != expected) std::abort();
  const size_t cut = size == 0 ? 0 : data[0] % (size + 1);
  AutoDetector split;
  split.feed(std::string_view(text).substr(0, cut));
  split.feed(std::string_view(text).substr(cut));
  if (split.decide() != whole.decide() || split.reason() != whole.reason()) std::abort();

  for (Charset c : {Charset::kGb18030, Charset::kUtf8}) {
    auto decoder = TextDecoder::create(c);
    if (!decoder) std::abort();
    std::string s = text;
    if (decoder->to_utf8(s)) {
      if (!is_utf8(s)) std::abort();
      if (c == Charset::kUtf8 && s != text) std::abort();
    } else {
      if (s != text) std::abort();
      if (c == Charset::kUtf8 && is_utf8(text)) std::abort();
    }
  }
  return 0;
}
