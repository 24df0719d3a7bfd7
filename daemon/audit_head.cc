#include "daemon/audit_head.h"

namespace gongshu::daemon {

Reply audit_head(ApiContext& ctx, const Caller& c, v1::ApiResponse& resp) {
  if (auto r = ctx.require(c, "read the audit head", {"operator", "officer", "agent"}); !r)
    return r;
  auto txn = ctx.store.env().begin_read();
  if (!txn) return tl::unexpected(from_error(txn.error()));
  auto latest = ctx.store.audit().latest_checkpoint(*txn);
  if (!latest) return refuse(v1::API_NOT_FOUND, "no checkpoint yet");
  resp.mutable_audit_head()->set_checkpoint(*latest);
  return {};
}

Reply audit_checkpoint(ApiContext& ctx, const Caller& c, v1::ApiResponse& resp) {
  if (auto r = ctx.require(c, "sign checkpoints", {"operator", "officer"}); !r) return r;
  std::string note;
  auto s = ctx.store.env().update([&](store::WriteTxn& txn) -> Status {
    auto e = entry_for(c, "audit_checkpoint");
    GONGSHU_RETURN_IF_ERROR(ctx.store.audit().append(txn, e));
    GONGSHU_TRY(note, ctx.store.audit().checkpoint(txn));
    return {};
  });
  if (!s) return tl::unexpected(from_error(s.error()));
  resp.mutable_audit_head()->set_checkpoint(note);
  return {};
}

}  // namespace gongshu::daemon
