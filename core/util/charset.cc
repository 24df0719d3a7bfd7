#include "core/util/charset.h"

// Languages: a row's decoding error is a rejected row's reason, stored in the agent's spool:
// English whatever the language (i18n-exempt); the auto-detection note and option errors are for
// people and translated.

#include <iconv.h>

#include <cerrno>
#include <cstdio>

#include "core/util/i18n.h"
#include "core/util/utf8.h"

namespace gongshu {

namespace {

const iconv_t kNoIconv = reinterpret_cast<iconv_t>(-1);  // iconv_open's failure value

bool is_ascii(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

std::string bytes_at(std::string_view s, size_t at) {
  std::string out;
  for (size_t k = at; k < s.size() && k < at + 4; ++k) {
    char hex[4];
    std::snprintf(hex, sizeof hex, "%s%02X", out.empty() ? "" : " ",
                  static_cast<unsigned char>(s[k]));
    out += hex;
  }
  return out;
}

// Where the first invalid UTF-8 sequence starts, or npos.
size_t first_invalid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    char32_t cp;
    const size_t n = utf8_decode(s, i, &cp);
    if (n == 0) return i;
    i += n;
  }
  return std::string_view::npos;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace

const char* charset_name(Charset c) { return c == Charset::kUtf8 ? "UTF-8" : "GB18030"; }

const char* encoding_choice_name(EncodingChoice c) {
  switch (c) {
    case EncodingChoice::kAuto:
      return "auto";
    case EncodingChoice::kUtf8:
      return "utf-8";
    case EncodingChoice::kGb18030:
      return "gb18030";
  }
  return "auto";
}

Result<EncodingChoice> parse_encoding(std::string_view text) {
  const std::string t = lower(text);
  if (t == "auto") return EncodingChoice::kAuto;
  if (t == "utf-8" || t == "utf8") return EncodingChoice::kUtf8;
  if (t == "gb18030" || t == "gbk" || t == "gb2312") return EncodingChoice::kGb18030;
  return fail(ErrorCode::kInvalidArgument,
              trf("encoding '{}': must be utf-8, gb18030 or auto", text.substr(0, 32)));
}

void AutoDetector::feed(std::string_view bytes) {
  if (settled()) {
    seen_ += bytes.size();
    return;
  }
  // The byte order mark may arrive split over pieces: look at the first three bytes together.
  if (seen_ < 3) {
    head_.append(bytes.substr(0, 3 - seen_));
    if (head_ == "\xEF\xBB\xBF") {
      bom_ = true;
      seen_ += bytes.size();
      return;
    }
  }
  std::string joined;
  std::string_view s = bytes;
  uint64_t base = seen_;
  if (!carry_.empty()) {
    base -= carry_.size();
    joined = carry_ + std::string(bytes);
    s = joined;
    carry_.clear();
  }
  seen_ += bytes.size();
  size_t i = 0;
  while (i < s.size()) {
    if (s.size() - i >= 8 && is_ascii(s.substr(i, 8))) {
      i += 8;
      continue;
    }
    char32_t cp;
    const size_t n = utf8_decode(s, i, &cp);
    if (n > 0) {
      i += n;
      continue;
    }
    // Maybe a sequence cut by the end of this piece: keep it for the next one.
    const auto b0 = static_cast<unsigned char>(s[i]);
    const size_t want = b0 >= 0xF0 ? 4 : b0 >= 0xE0 ? 3 : b0 >= 0xC2 ? 2 : 0;
    if (want > 0 && s.size() - i < want) {
      bool prefix_ok = true;
      for (size_t k = i + 1; k < s.size(); ++k) {
        if ((static_cast<unsigned char>(s[k]) & 0xC0) != 0x80) prefix_ok = false;
      }
      if (prefix_ok) {
        carry_.assign(s.substr(i));
        return;
      }
    }
    invalid_at_ = static_cast<int64_t>(base + i);
    return;
  }
}

Charset AutoDetector::decide() const {
  if (bom_) return Charset::kUtf8;
  return invalid_at_ < 0 && carry_.empty() ? Charset::kUtf8 : Charset::kGb18030;
}

std::string AutoDetector::reason() const {
  // For people (the note `submit` and the drop directory print), in their language.
  if (bom_) return tr("UTF-8 byte order mark");
  if (invalid_at_ >= 0) return trf("not UTF-8 at byte {}", invalid_at_);
  if (!carry_.empty()) return trf("not UTF-8 at byte {}", seen_ - carry_.size());
  return tr("valid UTF-8");
}

Result<TextDecoder> TextDecoder::create(Charset from) {
  if (from == Charset::kUtf8) return TextDecoder(from, nullptr);
  iconv_t cd = ::iconv_open("UTF-8", "GB18030");
  if (cd == kNoIconv) return fail_errno("iconv_open GB18030 -> UTF-8", errno);  // i18n-exempt
  return TextDecoder(from, reinterpret_cast<void*>(cd));
}

TextDecoder::TextDecoder(TextDecoder&& o) noexcept : charset_(o.charset_), cd_(o.cd_) {
  o.cd_ = nullptr;
}

TextDecoder& TextDecoder::operator=(TextDecoder&& o) noexcept {
  if (this != &o) {
    if (cd_ != nullptr) ::iconv_close(reinterpret_cast<iconv_t>(cd_));
    charset_ = o.charset_;
    cd_ = o.cd_;
    o.cd_ = nullptr;
  }
  return *this;
}

TextDecoder::~TextDecoder() {
  if (cd_ != nullptr) ::iconv_close(reinterpret_cast<iconv_t>(cd_));
}

Status TextDecoder::to_utf8(std::string& text) {
  if (is_utf8(text) && (charset_ == Charset::kUtf8 || is_ascii(text))) return {};
  if (charset_ == Charset::kUtf8) {
    const size_t at = first_invalid_utf8(text);
    return fail(ErrorCode::kInvalidArgument, "not valid UTF-8 at byte " +  // i18n-exempt
                                                 std::to_string(at) +      // i18n-exempt
                                                 " (bytes " + bytes_at(text, at) + ")");
  }
  auto cd = reinterpret_cast<iconv_t>(cd_);
  ::iconv(cd, nullptr, nullptr, nullptr, nullptr);  // initial state
  // GB18030 takes at most 4 bytes a character, UTF-8 at most 4: 2x is a safe start.
  scratch_.resize(text.size() * 2 + 16);
  char* in = text.data();
  size_t in_left = text.size();
  size_t out_used = 0;
  while (in_left > 0) {
    char* out = scratch_.data() + out_used;
    size_t out_left = scratch_.size() - out_used;
    const size_t r = ::iconv(cd, &in, &in_left, &out, &out_left);
    out_used = scratch_.size() - out_left;
    if (r != static_cast<size_t>(-1)) break;
    if (errno == E2BIG) {
      scratch_.resize(scratch_.size() * 2);
      continue;
    }
    const size_t at = static_cast<size_t>(in - text.data());
    return fail(
        ErrorCode::kInvalidArgument,
        std::string(errno == EINVAL ? "an incomplete GB18030 character at byte "  // i18n-exempt
                                    : "not valid GB18030 at byte ") +             // i18n-exempt
            std::to_string(at) +
            " (bytes " + bytes_at(text, at) + ")");
  }
  scratch_.resize(out_used);
  // The C library's tables are trusted to produce UTF-8, but what goes on is checked anyway.
  if (!is_utf8(scratch_)) {
    return fail(ErrorCode::kInvalidArgument,
                "GB18030 text did not convert to valid UTF-8");  // i18n-exempt
  }
  text.swap(scratch_);
  return {};
}

}  // namespace gongshu
