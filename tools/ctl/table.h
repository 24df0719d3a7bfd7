// Table: aligned text tables for the commands' default output. Column widths count display
// cells, so Chinese names (two cells per character) line up. Cells and headers are text from
// the daemon and from records: print() escapes what a terminal would act on
// (core/util/printable.h), so callers add them as they came (not through shown(), which would
// escape twice: a backslash shown as four). Not thread-safe.
//
// shown(): the same escaping for every other human-readable line the commands print.
#pragma once

#include <ostream>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "core/util/printable.h"

namespace gongshu::ctl {

class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  void print(std::ostream& out) const;
  bool empty() const { return rows_.empty(); }

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

// Text from the daemon or from records as it may be shown on a terminal (printable());
// anything that is not text (numbers) as it is.
template <typename T>
auto shown(const T& v) {
  if constexpr (std::is_convertible_v<const T&, std::string_view>) {
    return printable(std::string_view(v));
  } else {
    return v;
  }
}

// Display width of UTF-8 text: East Asian wide characters count two cells.
size_t display_width(const std::string& s);

}  // namespace gongshu::ctl
