// How far behind the leader a replica's answer is (docs/replication.md §6): the one line the
// read commands (status, query, lookup, download, open-catalog, audit export) print when the
// answering node does not lead, and the "replica" object of their --json. A leader's (or a single
// node's) answers carry no lag, and nothing is printed.
#pragma once

#include <ostream>
#include <string>

#include "gongshu/v1/api.pb.h"

namespace gongshu::ctl {

// "replica node-2, 3 write sets / 120 ms behind the leader node-1" (translated).
std::string replica_lag_text(const v1::ReplicaLag& lag);

// Prints replica_lag_text and a newline to out when r carries a lag.
void print_replica_lag(const v1::ApiResponse& r, std::ostream& out);

// The lag as a JSON object (keys as in v1::ReplicaLag); call only when r.has_replica_lag().
template <class Json>
Json replica_lag_json(const v1::ApiResponse& r) {
  const v1::ReplicaLag& l = r.replica_lag();
  Json j;
  j["node"] = l.node();
  j["leader"] = l.leader();
  j["applied_seq"] = l.applied_seq();
  j["leader_seq"] = l.leader_seq();
  j["behind_seq"] = l.behind_seq();
  j["behind_ms"] = l.behind_ms() < 0 ? Json(nullptr) : Json(l.behind_ms());
  j["state"] = l.state();
  return j;
}

// Adds "replica" to a --json answer when r carries a lag.
template <class Json>
void add_replica_lag(Json& j, const v1::ApiResponse& r) {
  if (r.has_replica_lag()) j["replica"] = replica_lag_json<Json>(r);
}

}  // namespace gongshu::ctl
