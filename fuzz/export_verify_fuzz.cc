// Audit exports (core/audit/export_file.h, verify.h, proof_file.h): the file an officer
// verifies offline, from wherever it came. The input is written to a scratch file and read
// frame by frame, verified as a full export and as an excerpt against the fixed daemon key with
// a receipt and a trusted checkpoint of the sample log (the seeds are exports of that log), and
// loaded to make proofs from. Each entry's canonical prefix must agree with protobuf's parse.
#include "core/audit/entry.h"
#include "core/audit/export_file.h"
#include "core/audit/proof_file.h"
#include "core/audit/receipt.h"
#include "core/audit/verify.h"
#include "fuzz/fuzz_support.h"

using namespace gongshu;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::quiet_protobuf();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = fuzz::scratch_file(fuzz::text(data, size));

  if (auto reader = audit::ExportReader::open(path)) {
    uint64_t last = 0;
    while (true) {
      auto frame = reader->next();
      if (!frame || !*frame) break;
      GONGSHU_FUZZ_CHECK((*frame)->offset >= last && (*frame)->offset < size,
                         "a frame outside the file");
      GONGSHU_FUZZ_CHECK((*frame)->offset + 5 + (*frame)->data.size() <= size,
                         "a frame runs past the end of the file");
      last = (*frame)->offset + 1;
      // The verifier chains entries by their canonical prefix, people read them through
      // protobuf (decode_entry): both must see the same seq and prev_hash.
      if ((*frame)->type != audit::FrameType::kEntry) continue;
      if (auto entry = audit::decode_entry((*frame)->data)) {
        auto prefix = audit::parse_entry_prefix((*frame)->data);
        GONGSHU_FUZZ_CHECK(prefix.has_value() && entry->seq() == prefix->seq &&
                               entry->prev_hash() == as_chars(prefix->prev_hash),
                           "an entry's prefix and its protobuf parse disagree");
      }
    }
  }

  const auto& log = fuzz::sample_log();
  audit::VerifyOptions options;
  options.key = fuzz::daemon_key().public_key();
  options.trusted_checkpoint = log.checkpoint(8);
  audit::ReceiptInput receipt;
  receipt.name = "fuzz.receipt";
  receipt.receipt = audit::make_receipt(fuzz::daemon_key(), audit::Hash{}, 5,
                                        audit::entry_hash(as_bytes(log.entries[4])), 8,
                                        audit::subtree_root(log.tree, 0, 8), 1795748550000);
  options.receipts.push_back(std::move(receipt));
  for (bool excerpt : {false, true}) {
    options.allow_excerpt = excerpt;
    audit::VerifyReport report = audit::verify_export(path, options);
    if (report.status == audit::VerifyStatus::kOk) {
      GONGSHU_FUZZ_CHECK(report.entries == 0 || report.last_seq >= report.first_seq,
                         "a verified export with its sequence reversed");
      GONGSHU_FUZZ_CHECK(report.checkpoints > 0, "an export verified without a checkpoint");
    }
  }

  if (auto loaded = audit::load_export(path, 1)) {
    // Called for what it may do wrong, not for its answer: any outcome is fine.
    (void)audit::prove_inclusion(path, 1, 0);
    (void)audit::prove_consistency(path, 1, loaded->tree.size());
  }
  return 0;
}
