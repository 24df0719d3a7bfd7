// The drill's checker, in the Jepsen manner (docs/drills.md "The checker"): the history of what
// an agency sent and what the daemon acknowledged — each acknowledgement a signed receipt
// naming the batch's hash and the audit entry that recorded it — held against the audit log as
// it stands after recovery. Every acknowledged batch must be recorded by exactly one ingest
// entry, the entry its receipt names, and that entry must be proven by an inclusion proof
// against a checkpoint taken after recovery (gongshu-audit prove / check-proof, run by the
// caller through `prove`). A batch the log records for the agency but whose acknowledgement the
// agent never got (lost in the fault) is counted as unknown: never as lost, never as proven.
//
// Pure: no processes, no files; the runner (tools/drill/runner.cc) gathers the inputs with the
// real commands. Values; any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/util/error.h"

namespace gongshu::drill {

// A receipt in the text form `gongshu-agent receipts export` writes (docs/protocol.md
// "Receipts"); only the fields the checker needs.
struct ReceiptRef {
  std::string file;
  std::string event_hash;  // the batch hash, 64 hex
  uint64_t seq = 0;        // the audit entry that records the batch
  std::string entry_hash;  // that entry's hash, 64 hex
  uint64_t tree_size = 0;
};
[[nodiscard]] Result<ReceiptRef> parse_receipt_ref(std::string_view text, const std::string& file);

// An ingest entry of the log, from `gongshu-audit show --json`.
struct IngestEntry {
  uint64_t seq = 0;
  std::string entry_hash;
  std::string agency;
  std::string key_id;  // the agent key that sent the batch
  std::string batch_hash;
  std::string dataset;
  uint64_t record_count = 0;
};
// Every ingest entry of a `gongshu-audit show --json` output (JSON Lines); kCorrupt naming the
// line when a line is not JSON.
[[nodiscard]] Result<std::vector<IngestEntry>> parse_ingest_entries(std::string_view jsonl);

// What an inclusion proof established for entry seq: the entry's hash and the tree size of
// the checkpoint it is proven under; an error when no proof could be made or checked.
struct Proven {
  std::string entry_hash;
  uint64_t tree_size = 0;
};
using ProveFn = std::function<Result<Proven>(uint64_t seq)>;

struct HistoryInput {
  std::set<std::string> key_ids;            // the agent's keys, before and after re-enrollment
  std::vector<ReceiptRef> receipts;         // every acknowledgement the agent holds
  const std::vector<IngestEntry>* entries;  // the whole log after recovery
  uint64_t checkpoint_size = 0;             // the checkpoint taken after recovery
  ProveFn prove;
  // After a restore from a backup: the restored log's size. A batch acknowledged beyond it and
  // absent from the log was acknowledged after the backup (RPO), to be re-delivered: counted
  // as rpo, not as lost. 0: no restore.
  uint64_t restored_size = 0;
};

struct HistoryCheck {
  uint64_t acknowledged_batches = 0;
  uint64_t proven_batches = 0;    // recorded exactly once, as its receipt says, proven included
  uint64_t proven_records = 0;    // the record counts of their entries
  uint64_t lost_batches = 0;      // acknowledged, not in the log (or not as the receipt says)
  uint64_t doubled_batches = 0;   // recorded by more than one ingest entry
  uint64_t unproven_batches = 0;  // in the log, but no inclusion proof against the checkpoint
  uint64_t unknown_batches = 0;   // in the log under the agent's keys, no acknowledgement held
  uint64_t unknown_records = 0;
  uint64_t rpo_batches = 0;
  // Their receipts: the restored log forks from them (the entries they name were lost with
  // the store), so they are set aside, not held against the log.
  std::vector<std::string> rpo_receipts;
  std::vector<std::string> problems;     // the first few, each naming the batch and the evidence
  std::vector<std::string> problems_zh;  // the same in Chinese, for the report (bilingual.h)
  bool holds() const { return lost_batches == 0 && doubled_batches == 0 && unproven_batches == 0; }
};

HistoryCheck check_history(const HistoryInput& in);

}  // namespace gongshu::drill
