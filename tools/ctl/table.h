// Table: aligned text tables for the commands' default output. Column widths count display
// cells, so Chinese names (two cells per character) line up. Not thread-safe.
#pragma once

#include <ostream>
#include <string>
#include <vector>

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

// Display width of UTF-8 text: East Asian wide characters count two cells.
size_t display_width(const std::string& s);

}  // namespace gongshu::ctl
