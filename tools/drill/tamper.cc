#include "tools/drill/tamper.h"

// Languages: what was tampered with is the report's evidence (a signed record with its own
// Chinese beside English), written the same in every language (i18n-exempt).

#include <vector>

namespace gongshu::drill {
namespace {

constexpr std::string_view kMagic = "GSAUDIT1\n";

struct Frame {
  uint8_t type = 0;
  size_t offset = 0;  // of the type byte
  size_t data = 0;    // of the data
  size_t length = 0;
};

Result<std::vector<Frame>> frames(const std::string& b) {
  if (b.compare(0, kMagic.size(), kMagic) != 0) {
    return fail(ErrorCode::kCorrupt, "not an audit export");  // i18n-exempt
  }
  std::vector<Frame> out;
  size_t at = kMagic.size();
  while (at < b.size()) {
    if (b.size() - at < 5)
      return fail(ErrorCode::kCorrupt, "export ends inside a frame header");  // i18n-exempt
    Frame f;
    f.type = uint8_t(b[at]);
    f.offset = at;
    f.length = (size_t(uint8_t(b[at + 1])) << 24) | (size_t(uint8_t(b[at + 2])) << 16) |
               (size_t(uint8_t(b[at + 3])) << 8) | size_t(uint8_t(b[at + 4]));
    f.data = at + 5;
    if (b.size() - f.data < f.length)
      return fail(ErrorCode::kCorrupt, "export ends in a frame");  // i18n-exempt
    out.push_back(f);
    at = f.data + f.length;
  }
  return out;
}

}  // namespace

Result<Tampered> tamper(const std::string& bytes, const std::string& kind) {
  GONGSHU_TRY(auto fs, frames(bytes));
  std::vector<size_t> entries, checkpoints;
  for (size_t i = 0; i < fs.size(); ++i) (fs[i].type == 1 ? entries : checkpoints).push_back(i);
  if (entries.size() < 3 || checkpoints.empty()) {
    return fail(ErrorCode::kInvalidArgument,
                "the export is too small to tamper with (" +  // i18n-exempt
                    std::to_string(entries.size()) +          // i18n-exempt
                    " entries, " + std::to_string(checkpoints.size()) + " checkpoints)");
  }
  // A full export holds entries 1..n in order, so the k-th entry frame (from 0) is seq k + 1.
  size_t mid = entries.size() / 2;
  const Frame& e = fs[entries[mid]];
  Tampered t;
  t.bytes = bytes;
  if (kind == "flip-entry") {
    size_t at = e.data + e.length - 1;
    t.bytes[at] = char(t.bytes[at] ^ 0x01);
    t.seq = mid + 1;
    t.description = "flipped the last bit of entry " + std::to_string(t.seq) +  // i18n-exempt
                    " (byte " +                                                 // i18n-exempt
                    std::to_string(at) + ")";
    t.description_zh = "翻转了审计日志项 " + std::to_string(t.seq) +      // i18n-exempt
                       " 的最后一位（字节 " + std::to_string(at) + "）";  // i18n-exempt
  } else if (kind == "drop-entry") {
    t.bytes.erase(e.offset, 5 + e.length);
    t.seq = mid + 1;
    t.description = "removed entry " + std::to_string(t.seq) + " whole";  // i18n-exempt
    t.description_zh = "整条删除了审计日志项 " + std::to_string(t.seq);   // i18n-exempt
  } else if (kind == "flip-checkpoint") {
    const Frame& c = fs[checkpoints.front()];
    // The first line of a note is its origin; flip a byte of the body's last line before the
    // signature block, the root hash or tree size the checkpoint vouches for.
    size_t at = c.data + c.length / 3;
    t.bytes[at] = char(t.bytes[at] ^ 0x02);
    size_t entries_before = 0;
    for (size_t i : entries) entries_before += i < checkpoints.front() ? 1 : 0;
    t.seq = entries_before;
    t.description =
        "flipped a byte of the checkpoint after entry " + std::to_string(t.seq);  // i18n-exempt
    t.description_zh =
        "翻转了审计日志项 " + std::to_string(t.seq) + " 之后检查点中的一个字节";  // i18n-exempt
  } else if (kind == "truncate") {
    const Frame& last = fs.back();
    t.bytes.resize(last.data + last.length / 2);
    t.seq = entries.size();
    t.description = "cut the file inside its last frame (" +  // i18n-exempt
                    std::to_string(bytes.size()) +            // i18n-exempt
                    " → " +                                   // i18n-exempt
                    std::to_string(t.bytes.size()) + " bytes)";
    t.description_zh = "在文件最后一帧中间截断（" + std::to_string(bytes.size()) +  // i18n-exempt
                       " → " + std::to_string(t.bytes.size()) + " 字节）";          // i18n-exempt
  } else {
    return fail(ErrorCode::kInvalidArgument, "unknown tamper kind " + kind);  // i18n-exempt
  }
  return t;
}

}  // namespace gongshu::drill
