#include "core/util/i18n.h"

#include <libintl.h>
#include <unistd.h>

#include <clocale>
#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "core/util/local_time.h"

namespace gongshu {

namespace {

std::string& bound_dir() {
  static std::string dir;
  return dir;
}

std::string find_locale_dir() {
  if (const char* env = std::getenv(i18n::kLocaleDirEnv); env != nullptr && *env != '\0') {
    return env;
  }
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const auto dir = exe.parent_path().parent_path() / "share" / "locale";
    if (std::filesystem::is_directory(dir, ec)) return dir.string();
  }
  return "/usr/share/locale";
}

}  // namespace

namespace i18n {

void init(const char* domain) {
  std::setlocale(LC_ALL, "");
  // Numbers printed with printf-style functions (JSON, figures) stay as machines read them.
  std::setlocale(LC_NUMERIC, "C");
  bound_dir() = find_locale_dir();
  bindtextdomain(domain, bound_dir().c_str());
  // Our output is UTF-8 whatever the locale's character set says.
  bind_textdomain_codeset(domain, "UTF-8");
  textdomain(domain);
  // Times for people in their zone (core/util/local_time.h), settled before any thread starts.
  init_local_time();
}

const std::string& locale_dir() { return bound_dir(); }

std::string format(std::string_view pattern, const std::string* args, size_t count) {
  std::string out;
  out.reserve(pattern.size() + 16 * count);
  size_t next = 0;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if ((c == '{' || c == '}') && i + 1 < pattern.size() && pattern[i + 1] == c) {
      out += c;
      ++i;
      continue;
    }
    if (c == '{') {
      size_t j = i + 1;
      size_t index = 0;
      bool explicit_index = false;
      while (j < pattern.size() && pattern[j] >= '0' && pattern[j] <= '9' && j - i < 4) {
        index = index * 10 + static_cast<size_t>(pattern[j] - '0');
        explicit_index = true;
        ++j;
      }
      if (j < pattern.size() && pattern[j] == '}') {
        const size_t k = explicit_index ? index : next++;
        if (k < count) {
          out += args[k];
          i = j;
          continue;
        }
      }
    }
    out += c;
  }
  return out;
}

}  // namespace i18n

const char* tr(const char* msgid) { return gettext(msgid); }

const char* trn(const char* singular, const char* plural, unsigned long n) {
  return ngettext(singular, plural, n);
}

}  // namespace gongshu
