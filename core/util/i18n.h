// Messages for people in their language: GNU gettext from the C library, one catalogue per
// Debian package (text domain "gongshu-tools", "gongshu-agent", "gongshu-daemon"), all built
// from po/zh_CN.po (po/README.md). English is the msgid and the fallback.
//
// i18n::init(domain) is the first thing a main() calls: it takes the locale from the environment
// (LANG, LC_ALL, LC_MESSAGES, LANGUAGE), keeps LC_NUMERIC at "C" so that numbers written for
// machines never change with the language, and binds the domain to the catalogue directory
// (locale_dir()). Afterwards tr()/trf()/trn() may be called from any thread.
//
// What goes through tr(): every line meant for a person — help, errors and reasons, table
// headers, progress, confirmations. What never does: --json keys and values, exit codes, audit
// entries, protocol messages, log fields read by programs. po/POTFILES lists the translated
// source files; tests/po holds them to the catalogue (xgettext, msgfmt --check, and a lint for
// literals that bypass tr()).
#pragma once

#include <cstddef>
#include <initializer_list>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>

namespace gongshu {

namespace i18n {

// Environment variable naming the catalogue directory (<dir>/<lang>/LC_MESSAGES/<domain>.mo);
// tests and uninstalled trees use it. Without it: <directory of the executable>/../share/locale
// when that exists (so build/bin finds build/share/locale and /usr/bin finds /usr/share/locale),
// else /usr/share/locale.
inline constexpr const char* kLocaleDirEnv = "GONGSHU_LOCALEDIR";

// Sets the locale from the environment and binds `domain` (a string literal). Safe to call
// more than once (tests); not thread-safe against concurrent tr().
void init(const char* domain);

// The directory init() bound, or "" before init().
const std::string& locale_dir();

// Replaces {} (in order) and {N} (the N-th argument, from 0, so a translation may reorder) in
// `pattern` by args; {{ and }} stand for braces. A placeholder without an argument stays as it
// is, so a bad translation shows its mistake instead of crashing.
std::string format(std::string_view pattern, const std::string* args, size_t count);
inline std::string format(std::string_view pattern, std::initializer_list<std::string> args) {
  return format(pattern, args.begin(), args.size());
}

template <typename T>
std::string to_text(const T& v) {
  if constexpr (std::is_convertible_v<const T&, std::string_view>) {
    return std::string(std::string_view(v));
  } else if constexpr (std::is_same_v<T, char>) {
    return std::string(1, v);
  } else {
    std::ostringstream out;  // the classic locale: digits as machines write them
    out << v;
    return out.str();
  }
}

}  // namespace i18n

// The translation of msgid (a string literal) in the current language, or msgid itself.
// The returned pointer lives as long as the process.
const char* tr(const char* msgid);

// Marks a literal for the catalogue without translating it (static tables translated later
// with tr(variable)).
constexpr const char* tr_noop(const char* msgid) { return msgid; }

// Singular or plural translation chosen by n (Chinese has one form; English two).
const char* trn(const char* singular, const char* plural, unsigned long n);

// tr() then i18n::format(): trf("agency {} not found", id).
template <typename... Args>
std::string trf(const char* msgid, const Args&... args) {
  const std::string texts[sizeof...(Args) + 1] = {i18n::to_text(args)..., std::string()};
  return i18n::format(tr(msgid), texts, sizeof...(Args));
}

// i18n::format() of an English pattern, never translated: for text that must not change with
// the language — the daemon's refusals to clients (protocol text, po/README.md), reasons stored
// for later readers.
template <typename... Args>
std::string english(const char* pattern, const Args&... args) {
  const std::string texts[sizeof...(Args) + 1] = {i18n::to_text(args)..., std::string()};
  return i18n::format(pattern, texts, sizeof...(Args));
}

// trn() then i18n::format(): trnf("{} record", "{} records", n, n).
template <typename... Args>
std::string trnf(const char* singular, const char* plural, unsigned long n, const Args&... args) {
  const std::string texts[sizeof...(Args) + 1] = {i18n::to_text(args)..., std::string()};
  return i18n::format(trn(singular, plural, n), texts, sizeof...(Args));
}

}  // namespace gongshu
