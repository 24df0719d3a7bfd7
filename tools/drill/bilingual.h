// Text of the drill report written in both languages at once (应急演练报告 中英对照).
//
// The signed report is an artefact filed with the authority: it must read the same for someone
// who reads only Chinese and for someone who reads only English, whatever the LANG of the drill
// that wrote it. So what a step records for people (its title, each expectation and its
// evidence) is built here twice, from a Chinese and an English pattern written side by side in
// the source — never through the message catalogue, whose choice follows the reader's
// environment (po/README.md: the report is not translated, it carries its own Chinese). The
// report's JSON keeps both (`title_zh`, `expectation_zh`, `evidence_zh` beside the English
// fields), so the JSON, and the signature over it, are the same bytes under LANG=C and
// zh_CN.UTF-8; the terminal's progress lines pick one of the two (runner.cc).
//
// Terms follow po/glossary.md (应急演练, 预期, 证据, 审计日志, 主节点, 故障转移 …). Values only;
// any thread.
#pragma once

#include <string>
#include <string_view>
#include <type_traits>

#include "core/util/i18n.h"

namespace gongshu::drill {

struct Bilingual {
  std::string zh;
  std::string en;
};

namespace bilingual_detail {
template <typename T>
std::string zh_of(const T& v) {
  if constexpr (std::is_same_v<T, Bilingual>) {
    return v.zh;
  } else {
    return i18n::to_text(v);
  }
}
template <typename T>
std::string en_of(const T& v) {
  if constexpr (std::is_same_v<T, Bilingual>) {
    return v.en;
  } else {
    return i18n::to_text(v);
  }
}
}  // namespace bilingual_detail

// both("{} 启动并就绪", "{} starts and is ready", who("daemon")): the two patterns filled with
// the same values (i18n::format: {} in order, {N} by number); a Bilingual argument gives its
// Chinese to the Chinese pattern and its English to the English one. Numbers are written as
// machines write them in both.
template <typename... Args>
Bilingual both(std::string_view zh, std::string_view en, const Args&... args) {
  const std::string zhs[sizeof...(Args) + 1] = {bilingual_detail::zh_of(args)..., std::string()};
  const std::string ens[sizeof...(Args) + 1] = {bilingual_detail::en_of(args)..., std::string()};
  return {i18n::format(zh, zhs, sizeof...(Args)), i18n::format(en, ens, sizeof...(Args))};
}

// The same text in both (a command, a name, a number): `same(x)`.
inline Bilingual same(const std::string& text) { return {text, text}; }

inline Bilingual operator+(const Bilingual& a, const Bilingual& b) {
  return {a.zh + b.zh, a.en + b.en};
}

// A figure measured by a step (`lost`, `failover_ms` …) as the report names it for people:
// "丢失记录数（lost）" in Chinese, the figure's own name in English. A figure without a Chinese
// name here is shown by its name alone in both.
Bilingual figure_name(const std::string& figure);

// A wait-until condition (`drained`, `new-leader` …) in words.
Bilingual condition_name(const std::string& condition);

// An English reason that comes from elsewhere (a command's error, gongshu-audit's reason, an
// Error message of the core libraries): the Chinese line gives its class in Chinese with the
// English text in brackets, as po/README.md does for the daemon's refusals —
// "未就绪（could not start: …）"; the English line is the reason itself.
Bilingual with_reason(std::string_view zh_class, const std::string& english_reason);

}  // namespace gongshu::drill
