#include "daemon/destroy.h"

#include "core/util/clock.h"
#include "core/util/printable.h"
#include "daemon/stored.pb.h"

namespace gongshu::daemon {
namespace {

constexpr size_t kMaxReason = 2000;

using Table = store::Table<std::string_view>;

Result<Table> destructions(DaemonStore& store) { return Table::open(store.env(), "destructions"); }

std::optional<v1::DatasetDestruction> read(const Table& t, const store::Txn& txn,
                                           const std::string& dataset) {
  auto v = t.get(txn, dataset);
  v1::DatasetDestruction d;
  if (!v || !parse_value(*v, d)) return std::nullopt;
  return d;
}

stored::DatasetState state_of(DaemonStore& store, const store::Txn& txn,
                              const std::string& dataset) {
  stored::DatasetState st;
  if (auto v = store.db().datasets.get(txn, dataset)) (void)parse_value(*v, st);
  return st;
}

}  // namespace

Reply dataset_destroy(ApiContext& ctx, const Caller& c, const v1::DatasetDestroyRequest& req,
                      v1::ApiResponse& resp) {
  const std::string& id = req.dataset();
  if (req.confirm() && req.cancel())
    return refuse(v1::API_BAD_REQUEST, "confirm or cancel, not both");
  if (req.confirm()) {
    if (auto r = ctx.require(c, "confirm dataset destruction", {"operator", "officer"}); !r)
      return r;
  } else if (auto r = ctx.require(c, "request dataset destruction", {"operator"}); !r) {
    return r;
  }
  auto table = destructions(ctx.store);
  if (!table) return tl::unexpected(from_error(table.error()));
  const int64_t now = ctx.store.clock().now_ms();
  v1::DatasetDestruction d;
  std::string refusal;  // a refusal decided inside the transaction, audited as a denial
  v1::ApiErrorCode refusal_code = v1::API_DENIED;
  bool shred = false;
  auto s = ctx.store.env().update([&](store::WriteTxn& txn) -> Status {
    refusal.clear();
    const stored::DatasetState st = state_of(ctx.store, txn, id);
    auto current = read(*table, txn, id);
    const bool pending = current && current->state() == "pending";
    auto deny = [&](v1::ApiErrorCode code, std::string why) -> Status {
      refusal_code = code;
      refusal = std::move(why);
      auto e = entry_for(c, req.confirm() ? "dataset_destroy_confirm" : "dataset_destroy_request");
      e.set_dataset(id);
      e.set_decision(v1::DECISION_DENY);
      e.set_policy_rule("dual-control");
      e.set_detail(refusal);
      GONGSHU_RETURN_IF_ERROR(ctx.store.audit().append(txn, e));
      return {};
    };
    if (st.destroyed_at_ms())
      return deny(v1::API_CONFLICT, "dataset " + id + " was already destroyed at " +
                                        format_utc(st.destroyed_at_ms() * 1'000'000));
    if (req.cancel()) {
      if (!pending) return fail(ErrorCode::kNotFound, "no pending destruction of " + id);
      d = *current;
      d.set_state("cancelled");
      d.set_cancelled_by(c.key_id);
      auto e = entry_for(c, "dataset_destroy_cancelled");
      e.set_dataset(id);
      add_ref(e, "key", d.key_id());
      e.set_detail("destruction requested by " + d.requested_by() + " withdrawn");
      GONGSHU_RETURN_IF_ERROR(ctx.store.audit().append(txn, e));
      return table->put(txn, id, as_bytes(d.SerializeAsString()));
    }
    if (!req.confirm()) {
      if (st.wrapped_key().empty())
        return fail(ErrorCode::kNotFound, "no dataset " + id + " with stored data");
      if (pending && current->expires_at_ms() > now)
        return deny(v1::API_CONFLICT, "a destruction of " + id + " requested by " +
                                          current->requested_by() + " awaits confirmation until " +
                                          format_utc(current->expires_at_ms() * 1'000'000));
      if (req.reason().empty() || req.reason().size() > kMaxReason || !is_printable(req.reason()))
        return fail(ErrorCode::kInvalidArgument,
                    "a destruction needs --reason: why (the decision or legal basis), 1..2000 "
                    "bytes of text");
      d.Clear();
      d.set_dataset(id);
      d.set_state("pending");
      d.set_requested_by(c.key_id);
      d.set_requested_at_ms(now);
      d.set_expires_at_ms(now + kConfirmWindowMs);
      d.set_reason(req.reason());
      d.set_key_id(ctx.store.data_key_id(txn, id));
      d.set_versions(st.versions());
      d.set_records(st.records());
      auto e = entry_for(c, "dataset_destroy_requested");
      e.set_dataset(id);
      e.set_record_count(st.versions());
      add_ref(e, "key", d.key_id());
      e.set_detail(
          "destruction requested, to be confirmed by another operator or an officer "
          "before " +
          format_utc(d.expires_at_ms() * 1'000'000) + ": " + req.reason());
      GONGSHU_RETURN_IF_ERROR(ctx.store.audit().append(txn, e));
      return table->put(txn, id, as_bytes(d.SerializeAsString()));
    }
    // Confirmation.
    if (!pending) return fail(ErrorCode::kNotFound, "no pending destruction of " + id);
    if (current->requested_by() == c.key_id)
      return deny(v1::API_DENIED, "dual control: the destruction of " + id +
                                      " must be confirmed by another operator or an officer, "
                                      "not by " +
                                      c.key_id + " who requested it");
    if (current->expires_at_ms() <= now) {
      d = *current;
      d.set_state("expired");
      GONGSHU_RETURN_IF_ERROR(table->put(txn, id, as_bytes(d.SerializeAsString())));
      return deny(v1::API_CONFLICT, "the destruction request of " + id + " expired at " +
                                        format_utc(current->expires_at_ms() * 1'000'000) +
                                        "; request it again");
    }
    d = *current;
    GONGSHU_TRY(std::string key_id,
                ctx.store.destroy_data_key(txn, id, d.requested_by(), c.key_id, now));
    d.set_state("destroyed");
    d.set_confirmed_by(c.key_id);
    d.set_destroyed_at_ms(now);
    d.set_key_id(key_id);
    d.set_versions(st.versions());
    d.set_records(st.records());
    auto e = entry_for(c, "dataset_destroyed");
    e.set_dataset(id);
    e.set_record_count(st.versions());
    add_ref(e, "key", key_id);
    add_ref(e, "requested_by", d.requested_by());
    e.set_detail("data key " + key_id + " destroyed (crypto-shredding): " +
                 std::to_string(st.versions()) + " stored versions of " +
                 std::to_string(st.records()) + " records are unreadable, backups included; " +
                 "requested by " + d.requested_by() + ": " + d.reason());
    GONGSHU_RETURN_IF_ERROR(ctx.store.audit().append(txn, e));
    shred = true;
    return table->put(txn, id, as_bytes(d.SerializeAsString()));
  });
  if (!s) return tl::unexpected(from_error(s.error()));
  if (!refusal.empty()) return refuse(refusal_code, refusal);
  if (shred) {
    if (auto r = ctx.store.shred_share(id); !r) {
      // Committed: the next start finishes it (DaemonStore::open).
      return refuse(v1::API_INTERNAL, "dataset " + id +
                                          " is destroyed, but its key share could not be deleted "
                                          "yet (done at the next start): " +
                                          r.error().message());
    }
  }
  *resp.mutable_destruction() = std::move(d);
  return {};
}

Reply dataset_destroy_status(ApiContext& ctx, const Caller& c,
                             const v1::DatasetDestroyStatusRequest& req, v1::ApiResponse& resp) {
  if (auto r = ctx.require(c, "read dataset destructions", {"operator", "officer"}); !r) return r;
  auto table = destructions(ctx.store);
  if (!table) return tl::unexpected(from_error(table.error()));
  auto txn = ctx.store.env().begin_read();
  if (!txn) return tl::unexpected(from_error(txn.error()));
  auto d = read(*table, *txn, req.dataset());
  auto* out = resp.mutable_destruction();
  if (d) {
    *out = *d;
    if (out->state() == "pending" && out->expires_at_ms() <= ctx.store.clock().now_ms())
      out->set_state("expired");
  } else {
    out->set_dataset(req.dataset());
    out->set_state("none");
    out->set_key_id(ctx.store.data_key_id(*txn, req.dataset()));
  }
  return {};
}

}  // namespace gongshu::daemon
