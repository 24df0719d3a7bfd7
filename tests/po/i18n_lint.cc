#include "tests/po/i18n_lint.h"

#include <cctype>
#include <set>

namespace gongshu::test {

namespace {

bool is_ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

bool has_letter(std::string_view s) {
  for (char c : s) {
    if (std::isalpha(static_cast<unsigned char>(c))) return true;
  }
  return false;
}

// Two words of two or more ASCII letters with white space between them.
bool is_prose(std::string_view s) {
  int words = 0;
  bool space_since_word = false;
  size_t run = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    const char c = i < s.size() ? s[i] : ' ';
    if (std::isalpha(static_cast<unsigned char>(c))) {
      ++run;
      continue;
    }
    if (run >= 2) {
      if (words == 0 || space_since_word) {
        ++words;
        if (words >= 2) return true;
      }
      space_since_word = false;
    }
    run = 0;
    if (c == ' ' || c == '\n' || c == '\t') space_since_word = true;
  }
  return false;
}

struct Frame {
  char open;
  std::string name;  // the identifier before the bracket ("tr", "Table", ...), or ""
  int commas = 0;    // top-level commas seen inside it: the argument's index
};

const std::set<std::string, std::less<>> kWrappers = {"tr", "trf", "trn", "trnf", "tr_noop"};
// The daemon's answers to clients are protocol text, English whatever the daemon's language
// (po/README.md): a refusal `refuse(code, "...")` and the action named by `ctx.require(c,
// "list alerts", roles)`.
// english("...", args) (core/util/i18n.h) says the same of any text: formatted, never translated
// (a refusal built before it is sent, a reason stored for later readers).
// A broken invariant's message, GONGSHU_CHECK_MSG(cond, "...") (core/util/check.h), is written
// beside file:line for a developer as the process aborts: the name of a bug, not a message.
const std::set<std::string, std::less<>> kProtocol = {"refuse", "require", "english",
                                                      "GONGSHU_CHECK_MSG"};

// The tokeniser behind i18n_lint and tr_messages: findings, and the messages when asked.
std::vector<LintFinding> scan(std::string_view src, std::vector<TrMessage>* messages);

}  // namespace

std::vector<LintFinding> i18n_lint(std::string_view src) { return scan(src, nullptr); }

std::vector<TrMessage> tr_messages(std::string_view src) {
  std::vector<TrMessage> out;
  (void)scan(src, &out);
  return out;
}

std::string fragment_reason(std::string_view m) {
  if (m.empty()) return {};
  if (m.front() == ' ') return "starts with a space";
  if (m.back() == ' ') return "ends with a space";
  // An ellipsis ("... and more") is a whole line after a list, not a piece of one.
  if (m.substr(0, 3) == "...") return {};
  if (std::string_view(",;:.()]").find(m.front()) != std::string_view::npos) {
    return "starts with punctuation";
  }
  return {};
}

namespace {

std::vector<LintFinding> scan(std::string_view src, std::vector<TrMessage>* messages) {
  std::vector<LintFinding> out;
  std::set<int> exempt_lines;
  std::vector<Frame> stack;
  int line = 1;
  std::string prev_ident;       // last identifier (for the frame name)
  std::string prev_prev_ident;  // the one before it: `Table name(`
  std::string prev_token;       // last non-literal token ("<<", an identifier, ...)
  size_t i = 0;
  bool at_line_start = true;

  auto judge = [&](int at, const std::string& lit, const std::string& before) {
    if (exempt_lines.count(at) != 0) return;
    for (const auto& f : stack) {
      if (kWrappers.count(f.name) != 0 || kProtocol.count(f.name) != 0) return;
    }
    if (!has_letter(lit)) return;
    if (before == "<<") {
      out.push_back({at, lit, "streamed without tr()"});
      return;
    }
    for (const auto& f : stack) {
      if (f.name == "Table") {
        out.push_back({at, lit, "table header without tr()"});
        return;
      }
    }
    if (is_prose(lit)) out.push_back({at, lit, "prose without tr()"});
  };

  // Lines marked exempt, found first (the marker is a comment, after the code on its line).
  {
    int l = 1;
    size_t start = 0;
    for (size_t k = 0; k <= src.size(); ++k) {
      if (k == src.size() || src[k] == '\n') {
        if (src.substr(start, k - start).find("i18n-exempt") != std::string_view::npos) {
          exempt_lines.insert(l);
        }
        ++l;
        start = k + 1;
      }
    }
  }

  while (i < src.size()) {
    const char c = src[i];
    if (c == '\n') {
      ++line;
      ++i;
      at_line_start = true;
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\r') {
      ++i;
      continue;
    }
    if (at_line_start && c == '#') {  // preprocessor line (with continuations)
      while (i < src.size() && src[i] != '\n') {
        if (src[i] == '\\' && i + 1 < src.size() && src[i + 1] == '\n') {
          ++line;
          ++i;
        }
        ++i;
      }
      continue;
    }
    at_line_start = false;
    if (c == '/' && i + 1 < src.size() && src[i + 1] == '/') {
      while (i < src.size() && src[i] != '\n') ++i;
      continue;
    }
    if (c == '/' && i + 1 < src.size() && src[i + 1] == '*') {
      i += 2;
      while (i + 1 < src.size() && !(src[i] == '*' && src[i + 1] == '/')) {
        if (src[i] == '\n') ++line;
        ++i;
      }
      i += 2;
      continue;
    }
    if (c == '\'' && i > 0 && std::isalnum(static_cast<unsigned char>(src[i - 1]))) {
      ++i;  // a digit separator (1'000)
      continue;
    }
    if (c == '\'') {  // character literal
      ++i;
      while (i < src.size() && src[i] != '\'') i += src[i] == '\\' ? 2 : 1;
      ++i;
      prev_token = "'";
      continue;
    }
    // A string literal, raw or not, with adjacent literals joined.
    auto literal_start = [&](size_t k) -> bool {
      if (src[k] == '"') return true;
      size_t p = k;
      while (p < src.size() && (src[p] == 'u' || src[p] == 'U' || src[p] == 'L' || src[p] == '8'))
        ++p;
      if (p < src.size() && src[p] == 'R') ++p;
      return p > k && p < src.size() && src[p] == '"' && (k == 0 || !is_ident_char(src[k - 1]));
    };
    if (literal_start(i)) {
      const int at = line;
      std::string lit;
      while (i < src.size() && literal_start(i)) {
        bool raw = false;
        while (src[i] != '"') raw = src[i++] == 'R' || raw;
        ++i;
        if (raw) {
          const size_t paren = src.find('(', i);
          const std::string close = ")" + std::string(src.substr(i, paren - i)) + "\"";
          const size_t end = src.find(close, paren);
          for (size_t k = paren + 1; k < end; ++k) {
            if (src[k] == '\n') ++line;
            lit += src[k];
          }
          i = end + close.size();
        } else {
          while (i < src.size() && src[i] != '"') {
            if (src[i] == '\\' && i + 1 < src.size()) {
              lit += src[i + 1] == 'n' ? '\n' : src[i + 1] == 't' ? '\t' : src[i + 1];
              i += 2;
            } else {
              lit += src[i++];
            }
          }
          ++i;
        }
        // skip white space and comments between adjacent literals
        while (i < src.size()) {
          if (src[i] == '\n') {
            ++line;
            ++i;
          } else if (src[i] == ' ' || src[i] == '\t' || src[i] == '\r') {
            ++i;
          } else if (src[i] == '/' && i + 1 < src.size() && src[i + 1] == '/') {
            while (i < src.size() && src[i] != '\n') ++i;
          } else {
            break;
          }
        }
      }
      judge(at, lit, prev_token);
      if (messages != nullptr && !stack.empty() && kWrappers.count(stack.back().name) != 0) {
        const Frame& f = stack.back();
        const bool plural = f.name == "trn" || f.name == "trnf";
        if (f.commas == 0 || (plural && f.commas == 1)) messages->push_back({at, lit});
      }
      prev_token = "\"";
      continue;
    }
    if (is_ident_char(c)) {
      size_t k = i;
      while (k < src.size() && is_ident_char(src[k])) ++k;
      prev_prev_ident = prev_ident;
      prev_ident = std::string(src.substr(i, k - i));
      prev_token = prev_ident;
      i = k;
      continue;
    }
    if (c == '(' || c == '{' || c == '[') {
      std::string name;
      if (prev_token == prev_ident) {
        name = prev_ident;
        // `Table name(` / `Table name{`: a declaration of a Table.
        if (prev_prev_ident == "Table") name = "Table";
      }
      stack.push_back({c, name});
      prev_token = std::string(1, c);
      prev_ident.clear();
      ++i;
      continue;
    }
    if (c == ')' || c == '}' || c == ']') {
      if (!stack.empty()) stack.pop_back();
      prev_token = std::string(1, c);
      prev_ident.clear();
      prev_prev_ident.clear();
      ++i;
      continue;
    }
    if (c == '<' && i + 1 < src.size() && src[i + 1] == '<') {
      prev_token = "<<";
      i += 2;
      continue;
    }
    if (c == ';') {
      prev_ident.clear();
      prev_prev_ident.clear();
    }
    if (c == ',' && !stack.empty()) ++stack.back().commas;
    prev_token = std::string(1, c);
    ++i;
  }
  return out;
}

}  // namespace

}  // namespace gongshu::test
