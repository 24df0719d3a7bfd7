#include "daemon/cluster_api.h"

#include "core/util/printable.h"
#include "daemon/cluster_node.h"
#include "daemon/ingest.h"

namespace gongshu::daemon {
namespace {

Reply no_cluster() {
  return refuse(v1::API_NOT_FOUND, "this daemon is not part of a cluster (no [cluster] section)");
}

}  // namespace

Reply cluster_status(ApiContext& ctx, const Caller& c, v1::ApiResponse& resp) {
  if (auto r = ctx.require(c, "read the cluster status", {"operator", "officer"}); !r) return r;
  ClusterNode* node = ctx.options.cluster ? ctx.options.cluster->get() : nullptr;
  if (!node) return no_cluster();
  auto* out = resp.mutable_cluster_status();
  *out = node->status();
  if (ctx.options.status.ingest) {
    IngestStats s = ctx.options.status.ingest();
    out->set_batches_not_leader(s.not_leader);
    out->set_acks_withheld(s.acks_withheld);
    out->set_last_ack_mono_ns(s.last_ack_mono_ns);
    out->set_batches(s.batches);
    out->set_records_accepted(s.records_accepted);
  }
  return {};
}

Reply cluster_switchover(ApiContext& ctx, const Caller& c, const v1::ClusterSwitchoverRequest& req,
                         v1::ApiResponse& resp) {
  if (auto r = ctx.require(c, "hand the cluster's leadership over", {"operator"}); !r) return r;
  ClusterNode* node = ctx.options.cluster ? ctx.options.cluster->get() : nullptr;
  if (!node) return no_cluster();
  if (req.to().empty() || req.to().size() > 64)
    return refuse(v1::API_BAD_REQUEST, "switchover: name the node to hand over to (to)");
  auto e = entry_for(c, "cluster_switchover");
  add_ref(e, "node", req.to());
  e.set_detail("planned handover of the leadership to " + printable(req.to()));
  // Checked and audited in one transaction, the target recorded only after it committed: a
  // refused request leaves no entry and no handover, and an entry that cannot be written (a
  // failed commit) leaves no handover either, since the next tick hands over to a recorded target.
  auto s = ctx.store.env().update([&](store::WriteTxn& txn) -> Status {
    GONGSHU_RETURN_IF_ERROR(node->check_switchover(req.to()));
    GONGSHU_RETURN_IF_ERROR(ctx.store.audit().append(txn, e));
    return {};
  });
  if (s) s = node->request_switchover(req.to());
  if (!s) {
    const ErrorCode code = s.error().code();
    return refuse(code == ErrorCode::kNotFound      ? v1::API_NOT_FOUND
                  : code == ErrorCode::kUnavailable ? v1::API_UNAVAILABLE
                                                    : v1::API_BAD_REQUEST,
                  s.error().message());
  }
  *resp.mutable_cluster_status() = node->status();
  return {};
}

Reply cluster_failover(ApiContext& ctx, const Caller& c, const v1::ClusterFailoverRequest& req,
                       v1::ApiResponse& resp) {
  // A refusal of a non-operator is audited only where this node may write (require() appends);
  // on a follower the gate answered "not leader" before this ran (daemon/api.cc).
  if (auto r = ctx.require(c, "promote a node while the cluster has no leader", {"operator"}); !r)
    return r;
  ClusterNode* node = ctx.options.cluster ? ctx.options.cluster->get() : nullptr;
  if (!node) return no_cluster();
  if (req.to().size() > 64)
    return refuse(v1::API_BAD_REQUEST, "failover: `to` is not a node id (at most 64 bytes)");
  // Nothing is written here: the promoted node writes the cluster_failover entry in its first
  // transaction as leader, from the failover key this puts in etcd.
  auto plan = node->request_failover(req.to(), req.accept_loss(), c.key_id);
  if (!plan) {
    const ErrorCode code = plan.error().code();
    return refuse(code == ErrorCode::kNotFound        ? v1::API_NOT_FOUND
                  : code == ErrorCode::kUnavailable   ? v1::API_UNAVAILABLE
                  : code == ErrorCode::kAlreadyExists ? v1::API_CONFLICT
                                                      : v1::API_BAD_REQUEST,
                  plan.error().message());
  }
  auto* out = resp.mutable_cluster_failover();
  out->set_to(plan->to);
  out->set_accept_loss(plan->accept_loss);
  out->set_from_seq(plan->from.seq);
  out->set_from_term(plan->from.term);
  out->set_best_seq(plan->best.seq);
  out->set_best_term(plan->best.term);
  for (const auto& m : plan->sync_set) out->add_sync_set(m);
  out->set_sync_term(plan->sync_term);
  return {};
}

}  // namespace gongshu::daemon
