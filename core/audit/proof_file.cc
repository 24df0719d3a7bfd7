#include "core/audit/proof_file.h"

#include <charconv>
#include <cstring>

#include "core/audit/entry.h"
#include "core/audit/export_file.h"
#include "core/util/encoding.h"

namespace gongshu::audit {
namespace {

constexpr std::string_view kInclusionMagic = "gongshu inclusion proof v1";
constexpr std::string_view kConsistencyMagic = "gongshu consistency proof v1";
constexpr size_t kMaxProofFile = 256 * 1024;
constexpr size_t kMaxPathLength = 64;

// Line-by-line reader over a proof file's text.
class Lines {
 public:
  explicit Lines(std::string_view text) : rest_(text) {}
  std::optional<std::string_view> next() {
    if (rest_.empty()) return std::nullopt;
    size_t nl = rest_.find('\n');
    std::string_view line = rest_.substr(0, nl);
    rest_ = nl == std::string_view::npos ? std::string_view() : rest_.substr(nl + 1);
    ++number_;
    return line;
  }
  std::string_view rest() const { return rest_; }
  size_t number() const { return number_; }

 private:
  std::string_view rest_;
  size_t number_ = 0;
};

Result<uint64_t> parse_u64(std::string_view v, std::string_view what) {
  uint64_t out = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (v.empty() || ec != std::errc() || p != v.data() + v.size()) {
    return fail(ErrorCode::kCorrupt, std::string(what) + " is not a number");
  }
  return out;
}

// Expects "name value" and returns value.
Result<std::string_view> field(Lines& lines, std::string_view name) {
  auto line = lines.next();
  std::string prefix = std::string(name) + " ";
  if (!line || line->substr(0, prefix.size()) != prefix) {
    return fail(ErrorCode::kCorrupt, "line " + std::to_string(lines.number()) + ": expected '" +
                                         std::string(name) + "'");
  }
  return line->substr(prefix.size());
}

Result<Hash> parse_hash(std::string_view b64) {
  auto b = base64_decode(b64);
  if (!b || b->size() != 32)
    return fail(ErrorCode::kCorrupt, "path element is not the base64 of 32 bytes");
  Hash h;
  std::memcpy(h.data(), b->data(), 32);
  return h;
}

void append_path(std::string& out, const std::vector<Hash>& path) {
  for (const Hash& h : path) out += "path " + base64_encode(h) + "\n";
}

}  // namespace

std::string format_inclusion_proof(const InclusionProofFile& p) {
  std::string out(kInclusionMagic);
  out += "\nseq " + std::to_string(p.seq);
  out += "\ntree_size " + std::to_string(p.tree_size);
  out += "\nentry " + base64_encode(p.entry) + "\n";
  append_path(out, p.path);
  out += "checkpoint\n";
  out += p.checkpoint;
  return out;
}

Result<InclusionProofFile> parse_inclusion_proof(std::string_view text) {
  if (text.size() > kMaxProofFile)
    return fail(ErrorCode::kCorrupt, "proof file larger than 256 KiB");
  Lines lines(text);
  if (lines.next() != kInclusionMagic)
    return fail(ErrorCode::kCorrupt, "not an inclusion proof (bad first line)");
  InclusionProofFile p;
  GONGSHU_TRY(auto seq, field(lines, "seq"));
  GONGSHU_TRY(p.seq, parse_u64(seq, "seq"));
  GONGSHU_TRY(auto size, field(lines, "tree_size"));
  GONGSHU_TRY(p.tree_size, parse_u64(size, "tree_size"));
  GONGSHU_TRY(auto entry, field(lines, "entry"));
  GONGSHU_TRY(p.entry, with_context(base64_decode(entry), "entry"));
  while (true) {
    auto line = lines.next();
    if (!line) return fail(ErrorCode::kCorrupt, "proof has no checkpoint");
    if (*line == "checkpoint") break;
    if (line->substr(0, 5) != "path " || p.path.size() >= kMaxPathLength) {
      return fail(ErrorCode::kCorrupt,
                  "line " + std::to_string(lines.number()) + ": expected 'path' or 'checkpoint'");
    }
    GONGSHU_TRY(Hash h, parse_hash(line->substr(5)));
    p.path.push_back(h);
  }
  p.checkpoint = std::string(lines.rest());
  return p;
}

std::string format_consistency_proof(const ConsistencyProofFile& p) {
  std::string out(kConsistencyMagic);
  out += "\nold_size " + std::to_string(p.old_size);
  out += "\nnew_size " + std::to_string(p.new_size) + "\n";
  append_path(out, p.path);
  return out;
}

Result<ConsistencyProofFile> parse_consistency_proof(std::string_view text) {
  if (text.size() > kMaxProofFile)
    return fail(ErrorCode::kCorrupt, "proof file larger than 256 KiB");
  Lines lines(text);
  if (lines.next() != kConsistencyMagic)
    return fail(ErrorCode::kCorrupt, "not a consistency proof (bad first line)");
  ConsistencyProofFile p;
  GONGSHU_TRY(auto old_size, field(lines, "old_size"));
  GONGSHU_TRY(p.old_size, parse_u64(old_size, "old_size"));
  GONGSHU_TRY(auto new_size, field(lines, "new_size"));
  GONGSHU_TRY(p.new_size, parse_u64(new_size, "new_size"));
  while (auto line = lines.next()) {
    if (line->empty()) continue;
    if (line->substr(0, 5) != "path " || p.path.size() >= kMaxPathLength) {
      return fail(ErrorCode::kCorrupt,
                  "line " + std::to_string(lines.number()) + ": expected 'path'");
    }
    GONGSHU_TRY(Hash h, parse_hash(line->substr(5)));
    p.path.push_back(h);
  }
  return p;
}

Result<CheckedInclusion> check_inclusion_proof(const InclusionProofFile& p,
                                               std::span<const crypto::PublicKey> keys) {
  GONGSHU_TRY(CheckpointBody cp, with_context(verify_checkpoint(p.checkpoint, keys), "checkpoint"));
  if (cp.size != p.tree_size) {
    return fail(ErrorCode::kCorrupt, "the checkpoint is for tree size " + std::to_string(cp.size) +
                                         ", the proof for " + std::to_string(p.tree_size));
  }
  GONGSHU_TRY(v1::AuditEntry entry, with_context(decode_entry(p.entry), "entry"));
  if (entry.seq() != p.seq) {
    return fail(ErrorCode::kCorrupt, "the entry is seq " + std::to_string(entry.seq()) +
                                         ", the proof claims " + std::to_string(p.seq));
  }
  if (!verify_inclusion(entry_hash(p.entry), p.seq - 1, p.tree_size, p.path, cp.root)) {
    return fail(ErrorCode::kUnauthenticated, "the Merkle path does not lead from entry " +
                                                 std::to_string(p.seq) +
                                                 " to the checkpoint's root");
  }
  return CheckedInclusion{std::move(entry), std::move(cp)};
}

Result<std::pair<CheckpointBody, CheckpointBody>> check_consistency_proof(
    std::string_view old_checkpoint, std::string_view new_checkpoint, const ConsistencyProofFile& p,
    std::span<const crypto::PublicKey> keys) {
  GONGSHU_TRY(CheckpointBody a,
              with_context(verify_checkpoint(old_checkpoint, keys), "old checkpoint"));
  GONGSHU_TRY(CheckpointBody b,
              with_context(verify_checkpoint(new_checkpoint, keys), "new checkpoint"));
  if (a.origin != b.origin)
    return fail(ErrorCode::kCorrupt, "the checkpoints are for different logs");
  if (a.size != p.old_size || b.size != p.new_size) {
    return fail(ErrorCode::kCorrupt, "the proof is for sizes " + std::to_string(p.old_size) +
                                         " -> " + std::to_string(p.new_size) +
                                         ", the checkpoints are " + std::to_string(a.size) +
                                         " -> " + std::to_string(b.size));
  }
  if (!verify_consistency(a.size, b.size, a.root, b.root, p.path)) {
    return fail(ErrorCode::kUnauthenticated, "the log at size " + std::to_string(b.size) +
                                                 " is not an extension of the log at size " +
                                                 std::to_string(a.size) +
                                                 " (fork or rewritten history)");
  }
  return std::pair{std::move(a), std::move(b)};
}

Result<LoadedExport> load_export(const std::string& path, std::optional<uint64_t> keep_seq) {
  GONGSHU_TRY(ExportReader reader, ExportReader::open(path));
  LoadedExport out;
  uint64_t expected = 1;
  while (true) {
    GONGSHU_TRY(auto frame, reader.next());
    if (!frame) break;
    if (frame->type == FrameType::kEntry) {
      GONGSHU_TRY(EntryPrefix prefix, with_context(parse_entry_prefix(frame->data),
                                                   "entry " + std::to_string(expected)));
      if (prefix.seq != expected) {
        return fail(ErrorCode::kCorrupt, "expected entry " + std::to_string(expected) + ", found " +
                                             std::to_string(prefix.seq) +
                                             (expected == 1 ? " (proofs need a full export)" : ""));
      }
      out.tree.append(entry_hash(frame->data));
      if (keep_seq == expected) out.kept_entry = Bytes(frame->data.begin(), frame->data.end());
      ++expected;
    } else {
      out.checkpoints[expected - 1] = std::string(as_chars(frame->data));
    }
  }
  return out;
}

Result<InclusionProofFile> prove_inclusion(const std::string& export_path, uint64_t seq,
                                           uint64_t checkpoint_size) {
  GONGSHU_TRY(LoadedExport ex, load_export(export_path, seq));
  if (!ex.kept_entry) {
    return fail(ErrorCode::kNotFound, "entry " + std::to_string(seq) + " is not in the export (" +
                                          std::to_string(ex.tree.size()) + " entries)");
  }
  if (ex.checkpoints.empty()) return fail(ErrorCode::kNotFound, "the export has no checkpoint");
  auto cp =
      checkpoint_size ? ex.checkpoints.find(checkpoint_size) : std::prev(ex.checkpoints.end());
  if (cp == ex.checkpoints.end()) {
    return fail(
        ErrorCode::kNotFound,
        "the export has no checkpoint" +
            (checkpoint_size ? " at tree size " + std::to_string(checkpoint_size) : std::string()));
  }
  if (cp->first < seq) {
    return fail(ErrorCode::kNotFound, "no checkpoint covers entry " + std::to_string(seq) +
                                          " yet (latest is at " + std::to_string(cp->first) + ")");
  }
  GONGSHU_TRY(CheckpointBody body, parse_checkpoint_note_unverified(cp->second));
  Hash root = subtree_root(ex.tree, 0, cp->first);
  if (body.root != root) {
    return fail(ErrorCode::kCorrupt, "the export's checkpoint at size " +
                                         std::to_string(cp->first) +
                                         " does not match its entries; verify the export first");
  }
  InclusionProofFile p;
  p.seq = seq;
  p.tree_size = cp->first;
  p.entry = std::move(*ex.kept_entry);
  p.path = inclusion_proof(ex.tree, seq - 1, cp->first);
  p.checkpoint = cp->second;
  return p;
}

Result<ConsistencyProofFile> prove_consistency(const std::string& export_path, uint64_t old_size,
                                               uint64_t new_size) {
  GONGSHU_TRY(LoadedExport ex, load_export(export_path, std::nullopt));
  if (new_size == 0) new_size = ex.tree.size();
  if (old_size == 0 || old_size > new_size || new_size > ex.tree.size()) {
    return fail(ErrorCode::kInvalidArgument,
                "need 0 < old size <= new size <= " + std::to_string(ex.tree.size()));
  }
  ConsistencyProofFile p;
  p.old_size = old_size;
  p.new_size = new_size;
  p.path = consistency_proof(ex.tree, old_size, new_size);
  return p;
}

}  // namespace gongshu::audit
