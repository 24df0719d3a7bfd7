// bench_replication's daemon-level part (cluster_bench.cc): etcd, three gongshud and agents as
// real processes on loopback; figures beside the same run's single node.
#pragma once

#include <cstdint>

namespace gongshu::bench {

struct CommonOptions {
  uint64_t records = 200'000;  // per rate run, over all in-process agents
  int agents = 2;              // in-process agents
  int failovers = 3;           // failover runs, each on a fresh cluster
  int lease_ttl_s = 0;         // [cluster] lease_ttl_s; 0: gongshud's default
  int ack_timeout_ms = 0;      // the failover agent's [limits] ack_timeout_ms; 0: its default
  size_t window = 8;           // batches each in-process agent keeps unacknowledged
};

// Prints the figures; 0 when every target is met, 1 otherwise (it exits 1 on a failed step).
int run_cluster_bench(const CommonOptions& options);

}  // namespace gongshu::bench
