#include "tools/ctl/table.h"

#include <algorithm>

namespace gongshu::ctl {

size_t display_width(const std::string& s) {
  size_t w = 0;
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
    uint32_t cp = 0;
    if (len == 1) cp = c;
    if (len == 3 && i + 2 < s.size())
      cp = (c & 0x0f) << 12 | (s[i + 1] & 0x3f) << 6 | (s[i + 2] & 0x3f);
    // CJK ideographs, symbols and full-width forms take two cells.
    bool wide = (cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf) ||
                (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff) ||
                (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) ||
                (cp >= 0xffe0 && cp <= 0xffe6) || len == 4;
    w += wide ? 2 : 1;
    i += len;
  }
  return w;
}

void Table::print(std::ostream& out) const {
  // Escaped before measuring: the widths are those of what is shown.
  std::vector<std::vector<std::string>> rows;
  rows.reserve(rows_.size());
  for (const auto& r : rows_) {
    auto& shown_row = rows.emplace_back();
    for (const auto& cell : r) shown_row.push_back(printable(cell));
  }
  // Headers too: some are the daemon's (an aggregate's group_by fields).
  std::vector<std::string> header;
  for (const auto& h : header_) header.push_back(printable(h));
  std::vector<size_t> widths(header.size());
  for (size_t i = 0; i < header.size(); ++i) widths[i] = display_width(header[i]);
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.size() && i < widths.size(); ++i)
      widths[i] = std::max(widths[i], display_width(r[i]));
  }
  auto line = [&](const std::vector<std::string>& r) {
    for (size_t i = 0; i < widths.size(); ++i) {
      std::string cell = i < r.size() ? r[i] : "";
      out << cell;
      if (i + 1 < widths.size()) out << std::string(widths[i] - display_width(cell) + 2, ' ');
    }
    out << "\n";
  };
  line(header);
  for (const auto& r : rows) line(r);
}

}  // namespace gongshu::ctl
