// Throughput and memory of the real binary (hidden: run with `test_agent [.perf]`).

#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <fstream>

#include <catch2/catch.hpp>

#include "agent/catalog_cache.h"
#include "agent/spool.h"
#include "tests/agent/agent_test_util.h"
#include "tests/agent/rss_util.h"
#include "tests/support/test_support.h"

using namespace gongshu;
using namespace gongshu::agent::testing;
using gongshu::testing::run_process;
using gongshu::testing::TempDir;
using gongshu::testing::wait_until;
using gongshu::testing::write_text;

namespace {

uint64_t rss_kib(pid_t pid) { return proc_status_kib(pid, "VmRSS"); }

}  // namespace

TEST_CASE("perf: submit and forward 512-byte records", "[.perf]") {
  const int n = std::getenv("GONGSHU_PERF_RECORDS") ? std::atoi(std::getenv("GONGSHU_PERF_RECORDS"))
                                                    : 200'000;
  const std::string agent = std::string(GONGSHU_BINARY_DIR) + "/bin/gongshu-agent";
  TempDir dir;
  std::string config = dir.file("agent.toml");
  write_text(config, "[agent]\nstate_dir = \"state\"\n[batch]\nmax_records = 1000\n");
  DaemonState state;
  state.secret = {9};
  auto daemon_key = crypto::IdentityKey::generate();
  FakeDaemon daemon(state, daemon_key);
  REQUIRE(run_process({agent, "enroll", daemon.token(), "--config", config}).exit_code == 0);

  // Size the note so that the serialised Record is 512 bytes.
  size_t size = 512;
  {
    std::ofstream out(dir.file("in.jsonl"));
    for (int i = 0; i < n; ++i) out << jsonl_record(i, size) << "\n";
  }
  auto children_cpu = [] {
    rusage ru{};
    ::getrusage(RUSAGE_CHILDREN, &ru);
    return double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  };
  double cpu0 = children_cpu();
  auto t0 = std::chrono::steady_clock::now();
  auto sub = run_measured(
      {agent, "submit", "--dataset", kDataset, dir.file("in.jsonl"), "--config", config, "--json"},
      dir.file("submit.log"));
  double submit_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double submit_cpu = children_cpu() - cpu0;
  INFO(gongshu::testing::read_text(dir.file("submit.log")));
  REQUIRE(sub.exit_code == 0);

  Child run({agent, "run", "--config", config}, dir.file("run"));
  uint64_t max_rss = 0;
  std::string peak_smaps;
  std::vector<uint64_t> samples;
  auto t1 = std::chrono::steady_clock::now();
  REQUIRE(wait_until(
      [&] {
        uint64_t r = rss_kib(run.pid());
        samples.push_back(r);
        if (r > max_rss) {
          max_rss = r;
          peak_smaps = gongshu::testing::read_text("/proc/" + std::to_string(run.pid()) + "/smaps");
        }
        return state.records_stored() == uint64_t(n);
      },
      std::chrono::seconds(600)));
  double fwd_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
  size_t record_bytes = 0;
  {
    std::lock_guard l(state.mu);
    record_bytes = state.records.begin()->second.front().size();
  }
  std::printf("records: %d of %zu bytes serialised\n", n, record_bytes);
  std::printf("submit:  %.2f s, %.0f records/s; CPU %.2f s (%.1f us/record, both threads)\n",
              submit_s, n / submit_s, submit_cpu, submit_cpu * 1e6 / n);
  std::printf("submit:  peak RSS %llu KiB\n", (unsigned long long)sub.max_rss_kib);
  std::printf("forward: %.2f s, %.0f records/s (start to last stored)\n", fwd_s, n / fwd_s);
  uint64_t hwm = proc_status_kib(run.pid(), "VmHWM");
  std::printf("agent run max RSS: %llu KiB sampled, VmHWM %llu KiB\n", (unsigned long long)max_rss,
              (unsigned long long)hwm);
  std::printf("resident set at the sampled peak, by mapping:\n%s",
              rss_breakdown(peak_smaps).text().c_str());
  std::printf(
      "resident set now, by mapping:\n%s",
      rss_breakdown(gongshu::testing::read_text("/proc/" + std::to_string(run.pid()) + "/smaps"))
          .text()
          .c_str());
  std::string trace;
  for (size_t i = 0; i < samples.size(); i += std::max<size_t>(1, samples.size() / 40)) {
    trace += std::to_string(samples[i]) + " ";
  }
  std::printf("RSS samples (KiB): %s\n", trace.c_str());
  double cpu1 = children_cpu();
  run.signal(SIGTERM);
  CHECK(run.wait() == 0);
  double run_cpu = children_cpu() - cpu1;
  std::printf("run:     CPU %.2f s (%.1f us/record: batch, seal, send, acks)\n", run_cpu,
              run_cpu * 1e6 / n);
}

// Makes a spool with the test catalog at $GONGSHU_SEED_DIR, for profiling `submit` by hand.
TEST_CASE("perf: seed a spool", "[.seed]") {
  const char* dir = std::getenv("GONGSHU_SEED_DIR");
  REQUIRE(dir);
  auto spool = must(agent::Spool::open(dir));
  must(agent::store_catalog(*spool, {test_dataset()}, 1));
}
