#include "daemon/drill_marker.h"

#include "core/util/printable.h"

namespace gongshu::daemon {
namespace {

// Plan names and report ids are short identifiers; anything else is not a marker's business.
bool is_token(const std::string& s, size_t max) {
  if (s.empty() || s.size() > max) return false;
  for (char ch : s) {
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || ch == '_' || ch == '.';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

Reply drill_mark(ApiContext& ctx, const Caller& c, const v1::DrillMarkRequest& req,
                 v1::ApiResponse& resp) {
  if (auto r = ctx.require(c, "mark drills", {"operator", "officer"}); !r) return r;
  const bool start = req.phase() == "started";
  if (!start && req.phase() != "finished")
    return refuse(v1::API_BAD_REQUEST,
                  "phase '" + printable(req.phase()) + "' is not started or finished");
  if (!is_token(req.plan(), 64))
    return refuse(v1::API_BAD_REQUEST, "plan: 1..64 of [A-Za-z0-9._-] (the scenario's name)");
  if (!is_token(req.report_id(), 64))
    return refuse(v1::API_BAD_REQUEST, "report_id: 1..64 of [A-Za-z0-9._-]");
  if (req.target() != "sandbox" && req.target() != "systemd")
    return refuse(v1::API_BAD_REQUEST,
                  "target '" + printable(req.target()) + "' is not sandbox or systemd");
  if (start && !req.outcome().empty())
    return refuse(v1::API_BAD_REQUEST, "a drill that starts has no outcome yet");
  if (!start && req.outcome() != "passed" && req.outcome() != "failed" && req.outcome() != "error")
    return refuse(v1::API_BAD_REQUEST,
                  "outcome '" + printable(req.outcome()) + "' is not passed, failed or error");

  auto e = entry_for(c, start ? "drill_started" : "drill_finished");
  e.set_purpose("emergency drill (R-25), not an incident");
  add_ref(e, "drill_plan", req.plan());
  add_ref(e, "drill_report", req.report_id());
  add_ref(e, "drill_target", req.target());
  e.set_detail(start ? "drill " + req.plan() + " started on the " + req.target() +
                           " target; entries until drill_finished are the drill's"
                     : "drill " + req.plan() + " finished: " + req.outcome());
  uint64_t seq = 0;
  auto s = ctx.store.env().update([&](store::WriteTxn& txn) -> Status {
    GONGSHU_TRY(audit::Appended a, ctx.store.audit().append(txn, e));
    seq = a.seq;
    return {};
  });
  if (!s) return tl::unexpected(from_error(s.error()));
  resp.mutable_drill_mark()->set_seq(seq);
  return {};
}

}  // namespace gongshu::daemon
