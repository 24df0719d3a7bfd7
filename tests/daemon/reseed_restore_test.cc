// A staged re-seed backup (docs/replication.md §6) is restored only over the store it was staged
// for: a store that applied write sets past the note's from_seq since (the backup came back
// after a power cut lost its unlink) is never rolled back; the backup and its note are removed.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "core/replication/changelog.h"
#include "core/util/fd.h"
#include "daemon/cluster_replication.h"
#include "tests/core/replication/replication_node.h"
#include "tests/support/test_support.h"

namespace gongshu::daemon {
namespace {

bool exists(const std::string& p) { return ::access(p.c_str(), F_OK) == 0; }

TEST_CASE("a staged re-seed below the store's applied head is refused and removed") {
  testing::TempDir dir;
  const std::string state = dir.path();
  std::filesystem::create_directories(state + "/store");
  std::filesystem::create_directories(state + "/reseed");
  {
    replication::testing::Node n(state + "/store");
    n.lead(2);
    for (uint64_t i = 1; i <= 5; ++i) n.write(i);
    REQUIRE(n.changelog->last_seq() == 5);
  }
  const std::string backup = reseed_backup_path(state);
  const std::string note = backup + ".why";
  auto stage = [&](uint64_t from_seq) {
    REQUIRE(write_file_atomic(backup, as_bytes(std::string("GSBACKUP1\nnot a backup\n")), 0600));
    const std::string text = encode_reseed_record({0, "behind", 2, from_seq});
    REQUIRE(write_file_atomic(note, as_bytes(text), 0600));
  };
  sys::Logger log{"gongshud-test", sys::Logger::Target::kLine, STDERR_FILENO};
  DaemonConfig config;
  config.state_dir = state;

  stage(3);  // staged at seq 3; the store has applied 5 since
  auto r = restore_staged_reseed(config, log);
  REQUIRE(r);
  CHECK(!*r);  // nothing restored
  CHECK(!exists(backup));
  CHECK(!exists(note));
  {
    store::EnvOptions eo;
    eo.read_only = true;
    eo.map_size = 0;
    auto env = store::Env::open(state + "/store", eo);
    REQUIRE(env);
    auto head = replication::Changelog::stored_head(**env);
    REQUIRE(head);
    CHECK(head->seq == 5);  // the store is the one it was
    CHECK(head->term == 2);
  }

  stage(5);  // staged for this very store: restored (this one is not a backup: refused by
             // restore_backup, and removed as before)
  r = restore_staged_reseed(config, log);
  CHECK(!r);
  CHECK(!exists(backup));
  CHECK(!exists(note));
}

}  // namespace
}  // namespace gongshu::daemon
