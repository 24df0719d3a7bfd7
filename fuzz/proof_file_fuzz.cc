// Proof files (core/audit/proof_file.h), both kinds: what an officer, a court or an inspector
// is handed. Parsed, formatted and parsed again to the same proof, and checked against the
// fixed daemon keys; a consistency proof is checked between the sample log's checkpoints of
// its two sizes, which the seeds were made from.
#include "core/audit/proof_file.h"
#include "fuzz/fuzz_support.h"

using namespace gongshu;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::quiet_protobuf();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = fuzz::text(data, size);
  const crypto::PublicKey keys[] = {fuzz::daemon_key().public_key(),
                                    fuzz::next_daemon_key().public_key()};
  if (auto p = audit::parse_inclusion_proof(text)) {
    auto again = audit::parse_inclusion_proof(audit::format_inclusion_proof(*p));
    GONGSHU_FUZZ_CHECK(again.has_value(), "a formatted inclusion proof does not parse");
    GONGSHU_FUZZ_CHECK(again->seq == p->seq && again->tree_size == p->tree_size &&
                           again->entry == p->entry && again->path == p->path &&
                           again->checkpoint == p->checkpoint,
                       "a formatted inclusion proof parses to another");
    if (auto checked = audit::check_inclusion_proof(*p, keys)) {
      GONGSHU_FUZZ_CHECK(checked->entry.seq() == p->seq && checked->checkpoint.size == p->tree_size,
                         "a checked proof is about another entry or tree");
    }
  }
  if (auto p = audit::parse_consistency_proof(text)) {
    auto again = audit::parse_consistency_proof(audit::format_consistency_proof(*p));
    GONGSHU_FUZZ_CHECK(again.has_value(), "a formatted consistency proof does not parse");
    GONGSHU_FUZZ_CHECK(
        again->old_size == p->old_size && again->new_size == p->new_size && again->path == p->path,
        "a formatted consistency proof parses to another");
    const auto& log = fuzz::sample_log();
    if (p->old_size >= 1 && p->new_size >= 1 && p->old_size <= fuzz::kLogSize &&
        p->new_size <= fuzz::kLogSize) {
      // Called for what it may do wrong, not for its answer: any outcome is fine.
      (void)audit::check_consistency_proof(log.checkpoint(p->old_size), log.checkpoint(p->new_size),
                                           *p, keys);
    }
  }
  return 0;
}
