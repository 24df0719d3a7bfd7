// i18n_lint: finds string literals in C++ source that would reach a person without going
// through the catalogue (tr, trf, trn, trnf, tr_noop of core/util/i18n.h). Used by
// i18n_lint_test.cc over the files of po/POTFILES.
//
// The file is tokenised as C++ (comments, character literals, raw strings, adjacent literals
// joined, preprocessor lines skipped) and each literal is judged in its context — the calls and
// braces around it. A literal inside a tr-family call is fine, and so is one inside the daemon's
// protocol calls `refuse(...)` and `require(...)` (its answers to clients stay English), and so is
// a broken invariant's message in `GONGSHU_CHECK_MSG(...)` (a bug's name for developers). Otherwise
// it is reported when
//   - it is prose: two words of letters separated by white space ("agency not found"), or
//   - it is streamed (`<< "..."`) and holds a letter ("OK\n", "agency"), or
//   - it is a Table header cell (inside `Table(...)` / `Table name{...}`) and holds a letter.
// A line that carries the comment `i18n-exempt` is skipped (with the reason beside it): protocol
// words, JSON written by hand, names that are not words.
//
// Limits: it sees literals, not strings: English assembled elsewhere (a core library's error
// text, a literal without a space stored in a variable and printed later, text from the daemon)
// passes unseen, and a literal nested in the arguments of a tr-family call counts as wrapped.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace gongshu::test {

struct LintFinding {
  int line = 0;
  std::string literal;
  std::string reason;
};

std::vector<LintFinding> i18n_lint(std::string_view source);

// The messages the source hands to the catalogue: the literal first argument of tr, trf, trn,
// trnf and tr_noop (and the plural, trn's and trnf's second), adjacent literals joined — what
// xgettext extracts with po/CMakeLists.txt's keywords.
struct TrMessage {
  int line = 0;
  std::string msgid;
};
std::vector<TrMessage> tr_messages(std::string_view source);

// Why a message is a fragment glued to others at run time, which a translator can neither see
// whole nor reorder ("" when it is not): it starts or ends with a space (" of ", "status: "),
// or starts with punctuation that joins it to text before it (", ", ": ", "(", ")", ";", ".").
// Make it one sentence with placeholders instead: trf("{} of {}", a, b).
std::string fragment_reason(std::string_view msgid);

}  // namespace gongshu::test
