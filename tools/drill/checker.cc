#include "tools/drill/checker.h"

// Languages: the problems found here are the report's evidence (a signed record with its own
// Chinese beside English), written in both languages whatever the language (i18n-exempt,
// tools/drill/bilingual.h).

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "tools/drill/bilingual.h"

namespace gongshu::drill {
namespace {

constexpr size_t kMaxProblems = 5;

void problem(HistoryCheck& out, Bilingual text) {
  if (out.problems.size() < kMaxProblems) {
    out.problems.push_back(std::move(text.en));
    out.problems_zh.push_back(std::move(text.zh));
  }
}

std::string short_hash(const std::string& h) { return h.substr(0, 16) + "…"; }

}  // namespace

Result<ReceiptRef> parse_receipt_ref(std::string_view text, const std::string& file) {
  ReceiptRef r;
  r.file = file;
  std::istringstream in{std::string(text)};
  std::string line;
  bool header = false;
  while (std::getline(in, line)) {
    if (line == "gongshu receipt v1") {  // i18n-exempt
      header = true;
      continue;
    }
    auto sp = line.find(' ');
    if (sp == std::string::npos) continue;
    std::string key = line.substr(0, sp), value = line.substr(sp + 1);
    try {
      if (key == "event_hash") r.event_hash = value;
      if (key == "entry_hash") r.entry_hash = value;
      if (key == "seq") r.seq = std::stoull(value);
      if (key == "tree_size") r.tree_size = std::stoull(value);
    } catch (const std::exception&) {
      return fail(ErrorCode::kCorrupt, file + ": " + key + " is not a number");  // i18n-exempt
    }
  }
  if (!header || r.event_hash.size() != 64 || r.entry_hash.size() != 64 || r.seq == 0)
    return fail(ErrorCode::kCorrupt, file + ": not a receipt (gongshu receipt v1)");  // i18n-exempt
  return r;
}

Result<std::vector<IngestEntry>> parse_ingest_entries(std::string_view jsonl) {
  std::vector<IngestEntry> out;
  size_t line_no = 0;
  size_t at = 0;
  while (at < jsonl.size()) {
    size_t end = jsonl.find('\n', at);
    if (end == std::string_view::npos) end = jsonl.size();
    std::string_view line = jsonl.substr(at, end - at);
    at = end + 1;
    ++line_no;
    if (line.empty()) continue;
    try {
      auto j = nlohmann::json::parse(line);
      if (j.value("type", "") != "entry" || j.value("action", "") != "ingest") continue;
      IngestEntry e;
      e.seq = j.at("seq").get<uint64_t>();
      e.entry_hash = j.value("entry_hash", "");
      e.agency = j.at("principal").value("agency", "");
      e.key_id = j.at("principal").value("key_id", "");
      e.dataset = j.value("dataset", "");
      e.record_count = j.value("record_count", uint64_t{0});
      for (const auto& ref : j.value("refs", nlohmann::json::array())) {
        if (ref.value("kind", "") == "batch_hash") e.batch_hash = ref.value("value", "");
      }
      out.push_back(std::move(e));
    } catch (const std::exception& ex) {
      return fail(ErrorCode::kCorrupt,
                  "gongshu-audit show --json, line " + std::to_string(line_no) +  // i18n-exempt
                      ": " +                                                      // i18n-exempt
                      ex.what());                                                 // i18n-exempt
    }
  }
  return out;
}

HistoryCheck check_history(const HistoryInput& in) {
  HistoryCheck out;
  std::map<std::string, std::vector<const IngestEntry*>> by_batch;
  for (const auto& e : *in.entries) {
    if (!e.batch_hash.empty()) by_batch[e.batch_hash].push_back(&e);
  }
  std::set<std::string> acknowledged;
  for (const auto& r : in.receipts) {
    // One batch may hold several receipts (a duplicate answer re-sends the stored one); the
    // agent keeps one per batch, but count each batch once all the same.
    if (!acknowledged.insert(r.event_hash).second) continue;
    ++out.acknowledged_batches;
    auto it = by_batch.find(r.event_hash);
    size_t n = it == by_batch.end() ? 0 : it->second.size();
    Bilingual name =
        both("批次 {}（回执对应审计日志项 {}）", "batch {} (receipt for entry {})",  // i18n-exempt
             short_hash(r.event_hash), r.seq);
    if (n == 0) {
      if (in.restored_size > 0 && r.seq > in.restored_size) {
        ++out.rpo_batches;  // acknowledged after the backup the store was restored from
        out.rpo_receipts.push_back(r.file);
        continue;
      }
      ++out.lost_batches;
      problem(
          out,
          name + both("：已确认，但审计日志中没有记录它的报送日志项",                 // i18n-exempt
                      ": acknowledged, but no ingest entry in the log records it"));  // i18n-exempt
      continue;
    }
    if (n > 1) {
      ++out.doubled_batches;
      std::string seqs;
      for (const auto* e : it->second) seqs += (seqs.empty() ? "" : ", ") + std::to_string(e->seq);
      problem(out, name + both("：被记录 {} 次，审计日志项 {}",
                               ": recorded {} times, entries {}",  // i18n-exempt
                               n, seqs));
      continue;
    }
    const IngestEntry& e = *it->second.front();
    if (e.seq != r.seq || e.entry_hash != r.entry_hash) {
      ++out.lost_batches;  // the log no longer holds what the daemon signed for
      problem(
          out,
          name +
              both("：审计日志记为日志项 {0}（{1}），回执所载为 {2}（{3}）",         // i18n-exempt
                   ": the log records it as entry {0} ({1}), the receipt says {2} "  // i18n-exempt
                   "({3})",
                   e.seq, short_hash(e.entry_hash), r.seq, short_hash(r.entry_hash)));
      continue;
    }
    auto proven = in.prove(r.seq);
    if (!proven || proven->entry_hash != r.entry_hash || proven->tree_size != in.checkpoint_size) {
      ++out.unproven_batches;
      problem(
          out,
          name +
              both("：在树大小为 {} 的检查点下没有包含证明：",                     // i18n-exempt
                   ": no inclusion proof under the checkpoint at tree size {}: ",  // i18n-exempt
                   in.checkpoint_size) +
              (proven ? both("该证明针对的是日志项哈希 {}，树大小 {}",         // i18n-exempt
                             "the proof is of entry hash {} at tree size {}",  // i18n-exempt
                             short_hash(proven->entry_hash), proven->tree_size)
                      : with_reason("证明失败", proven.error().message())));
      continue;
    }
    ++out.proven_batches;
    out.proven_records += e.record_count;
  }
  // What the log holds from the agent's keys that the agent holds no receipt for: stored, but
  // the acknowledgement was lost in the fault. Unknown to the agency; not lost, not a pass.
  for (const auto& e : *in.entries) {
    if (!in.key_ids.count(e.key_id) || e.batch_hash.empty() || acknowledged.count(e.batch_hash))
      continue;
    ++out.unknown_batches;
    out.unknown_records += e.record_count;
  }
  return out;
}

}  // namespace gongshu::drill
