// Text from outside — the daemon's answers, records, audit entries, hostnames — on its way to a
// terminal or a log line. Such text may carry ESC (which starts terminal control sequences that
// can rewrite the screen, the title or the clipboard), other control characters, C1 controls
// (U+009B is a one-character CSI), bidirectional overrides that reorder what is shown, or bytes
// that are not UTF-8. printable() makes it safe to show; is_printable() is the intake check for
// fields that should never hold such characters (docs/protocol.md, "Text and control
// characters"). Valid UTF-8 text otherwise, Chinese included, passes unchanged. Pure functions.
#pragma once

#include <string>
#include <string_view>

namespace gongshu {

// s with every character a terminal would act on written out as an escape:
//   \n \r \t           for those three
//   \\                 for a backslash (so an escape shown is never ambiguous)
//   \xNN               for other C0 controls, DEL, and each byte that is not part of valid UTF-8
//   \uNNNN             for C1 controls (U+0080..U+009F), U+2028/U+2029 and the bidirectional
//                      embeddings, overrides and isolates (U+202A..U+202E, U+2066..U+2069)
std::string printable(std::string_view s);

// printable() line by line: the line breaks of multi-line text (a commitment, a checkpoint
// note) stay line breaks, everything else is escaped as printable() does.
std::string printable_lines(std::string_view s);

// Whether s is valid UTF-8 holding nothing printable() escapes (a backslash aside).
bool is_printable(std::string_view s);

}  // namespace gongshu
