#include "daemon/agent_batches.h"

#include <set>

#include "daemon/stored.pb.h"

namespace gongshu::daemon {

Reply agent_batches_stored(ApiContext& ctx, const Caller& c,
                           const v1::AgentBatchesStoredRequest& req, v1::ApiResponse& resp) {
  if (auto r = ctx.require(c, "ask which batches of a revoked agent key were stored", {"agent"});
      !r) {
    return r;
  }
  auto deny = [&](v1::ApiErrorCode code, const std::string& why) -> Reply {
    auto e = entry_for(c, "agent_batches_reconcile");
    e.set_decision(v1::DECISION_DENY);
    if (req.old_key_id().size() == 16) add_ref(e, "agent", req.old_key_id());
    e.set_detail(why);
    if (auto a = ctx.audit_refusal(c.refusal_key(), "agent_batches_reconcile", std::move(e)); !a)
      return tl::unexpected(from_error(a.error()));
    return refuse(code, why);
  };
  if (req.old_key_id().size() != 16 ||
      req.old_key_id().find_first_not_of("0123456789abcdef") != std::string::npos) {
    return deny(v1::API_BAD_REQUEST, "old_key_id must be a key id (16 lowercase hex characters)");
  }
  if (req.old_key_id() == c.key_id) {
    return deny(v1::API_BAD_REQUEST, "old_key_id is the caller's own key");
  }
  if (size_t(req.batch_seqs_size()) > kMaxReconciledBatches) {
    return deny(v1::API_BAD_REQUEST,
                "at most " + std::to_string(kMaxReconciledBatches) + " batch numbers per request");
  }
  const std::set<uint64_t> seqs(req.batch_seqs().begin(), req.batch_seqs().end());
  auto* out = resp.mutable_agent_batches_stored();
  uint64_t stored_n = 0, records = 0;
  auto s = ctx.store.env().update([&](store::WriteTxn& txn) -> Status {
    out->Clear();
    stored_n = records = 0;
    const auto& db = ctx.store.db();
    stored::Principal p;
    auto v = db.principals.get(txn, req.old_key_id());
    if (!v || !parse_value(*v, p) || p.role() != "agent") {
      return fail(ErrorCode::kNotFound, "no agent key " + req.old_key_id());
    }
    if (p.agency() != c.agency) {
      return fail(ErrorCode::kPermissionDenied,
                  "agent key " + req.old_key_id() + " is not of agency " + c.agency);
    }
    if (!p.revoked()) {
      return fail(ErrorCode::kPermissionDenied,
                  "agent key " + req.old_key_id() +
                      " is not revoked: batches may still be stored under it, so no answer "
                      "would be final (gongshuctl agent revoke " +
                      req.old_key_id() + ")");
    }
    out->set_old_key_id(req.old_key_id());
    for (uint64_t seq : seqs) {
      auto b = db.batches.get(txn, batch_key_of(req.old_key_id(), seq));
      stored::Batch batch;
      if (!b) {
        out->add_not_stored(seq);
        continue;
      }
      if (!parse_value(*b, batch)) {
        return fail(ErrorCode::kCorrupt, "stored batch " + req.old_key_id() + "/" +
                                             std::to_string(seq) + " does not parse");
      }
      v1::BatchAck* ack = out->add_stored();
      ack->set_batch_seq(seq);
      ack->set_duplicate(true);
      ack->set_accepted(batch.accepted());
      *ack->mutable_statuses() = batch.statuses();
      *ack->mutable_receipt() = batch.receipt();
      ++stored_n;
      records += batch.accepted();
    }
    auto e = entry_for(c, "agent_batches_reconcile");
    add_ref(e, "agent", req.old_key_id());
    add_ref(e, "agency", c.agency);
    e.set_record_count(records);
    e.set_detail("re-enrolled agent asked which of " + std::to_string(seqs.size()) +
                 " batches of revoked key " + req.old_key_id() +
                 " were stored: " + std::to_string(stored_n) + " stored (" +
                 std::to_string(records) + " records, answered with their receipts), " +
                 std::to_string(seqs.size() - stored_n) + " not stored (re-sealed under " +
                 c.key_id + ")");
    GONGSHU_RETURN_IF_ERROR(ctx.store.audit().append(txn, e));
    return {};
  });
  if (!s) {
    resp.clear_agent_batches_stored();
    Refusal r = from_error(s.error());
    if (r.code == v1::API_INTERNAL) return tl::unexpected(std::move(r));
    return deny(r.code, r.message);
  }
  return {};
}

}  // namespace gongshu::daemon
