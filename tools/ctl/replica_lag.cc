#include "tools/ctl/replica_lag.h"

#include "core/util/i18n.h"
#include "tools/ctl/table.h"

namespace gongshu::ctl {

std::string replica_lag_text(const v1::ReplicaLag& l) {
  std::string line;
  if (l.leader().empty()) {
    line = trf("replica {}, no leader known: answered as of write set {}", shown(l.node()),
               l.applied_seq());
  } else if (l.behind_ms() < 0) {
    line =
        trf("replica {}, {} write sets behind the leader {} (the age of its data is not known "
            "yet)",
            shown(l.node()), l.behind_seq(), shown(l.leader()));
  } else {
    line = trf("replica {}, {} write sets / {} ms behind the leader {}", shown(l.node()),
               l.behind_seq(), l.behind_ms(), shown(l.leader()));
  }
  // The replication's state names (protocol words).
  const bool stopped = !l.state().empty() && l.state() != "following" &&
                       l.state() != "no leader";  // i18n-exempt: a state's protocol name
  if (stopped) line = trf("{}; replication stopped: {}", line, shown(l.state()));
  return line;
}

void print_replica_lag(const v1::ApiResponse& r, std::ostream& out) {
  if (r.has_replica_lag()) out << replica_lag_text(r.replica_lag()) << "\n";
}

}  // namespace gongshu::ctl
