// A staged re-seed backup (docs/replication.md §6) is restored only over the store it was staged
// for, the one whose applied head (term, seq and hash) its note names: a store that applied write
// sets since (the backup came back after a power cut lost its unlink), or whose history is not
// the one the note names (a deposed leader's diverged tail at the same or a lower seq), is never
// rolled back; the backup and its note are removed. A backup restored before (its note names the
// restored head) is recorded and removed, not restored again.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "core/replication/changelog.h"
#include "core/util/encoding.h"
#include "core/util/fd.h"
#include "daemon/cluster_replication.h"
#include "tests/core/replication/replication_node.h"
#include "tests/support/test_support.h"

namespace gongshu::daemon {
namespace {

bool exists(const std::string& p) { return ::access(p.c_str(), F_OK) == 0; }

replication::ChainHead head_of(const std::string& store_dir) {
  store::EnvOptions eo;
  eo.read_only = true;
  eo.map_size = 0;
  auto env = store::Env::open(store_dir, eo);
  REQUIRE(env);
  auto head = replication::Changelog::stored_head(**env);
  REQUIRE(head);
  return *head;
}

// A node's store in dir/store: write sets 1..terms.size(), write set k under term terms[k-1].
replication::ChainHead make_store(const std::string& dir, const std::vector<int64_t>& terms) {
  std::filesystem::create_directories(dir + "/store");
  {
    replication::testing::Node n(dir + "/store");
    for (uint64_t k = 1; k <= terms.size(); ++k) {
      if (k == 1 || terms[k - 1] != terms[k - 2]) n.lead(terms[k - 1]);
      n.write(k);
    }
    REQUIRE(n.changelog->last_seq() == terms.size());
  }
  return head_of(dir + "/store");
}

struct Staged {
  testing::TempDir dir;
  std::string state = dir.path();
  std::string backup = reseed_backup_path(state);
  std::string note = backup + ".why";
  sys::Logger log{"gongshud-test", sys::Logger::Target::kLine, STDERR_FILENO};
  DaemonConfig config;
  Staged() {
    config.state_dir = state;
    std::filesystem::create_directories(state + "/reseed");
  }
  // Not a backup: restore_backup refuses it, so an Error says a restore was tried.
  void stage(const std::optional<std::string>& note_text) {
    REQUIRE(write_file_atomic(backup, as_bytes(std::string("GSBACKUP1\nnot a backup\n")), 0600));
    if (note_text) REQUIRE(write_file_atomic(note, as_bytes(*note_text), 0600));
  }
  // Not tried: kept the store, removed the backup and its note.
  void refused() {
    auto r = restore_staged_reseed(config, log);
    REQUIRE(r);
    CHECK(!*r);
    CHECK(!exists(backup));
    CHECK(!exists(note));
  }
  // Tried (and refused by restore_backup): both removed as well.
  void tried() {
    auto r = restore_staged_reseed(config, log);
    CHECK(!r);
    CHECK(!exists(backup));
    CHECK(!exists(note));
  }
};

std::string note_text(const cluster::ReseedRecord& r, const replication::ChainHead* from = nullptr,
                      const replication::ChainHead* restored = nullptr) {
  std::string text = encode_reseed_record(r);
  if (from) text += "from_hash " + hex_encode(from->hash) + "\n";
  if (restored)
    text += "restored_term " + std::to_string(restored->term) + "\nrestored_seq " +
            std::to_string(restored->seq) + "\nrestored_hash " + hex_encode(restored->hash) + "\n";
  return text;
}

TEST_CASE("a staged re-seed below the store's applied head is refused and removed") {
  Staged s;
  make_store(s.state, {2, 2, 2, 2, 2});

  s.stage(encode_reseed_record({0, "behind", 2, 3}));  // staged at seq 3; the store applied 5
  s.refused();
  const auto head = head_of(s.state + "/store");
  CHECK(head.seq == 5);  // the store is the one it was
  CHECK(head.term == 2);

  s.stage(encode_reseed_record({0, "behind", 2, 5}));  // staged for this very store: tried
  s.tried();
  s.stage(note_text({0, "behind", 2, 5}, &head));  // the same, with the head's hash
  s.tried();
}

TEST_CASE("a deposed leader's staged re-seed is not restored over the cluster's history") {
  Staged s;
  // The store now holds the cluster's history: 1..3 under term 1, 4..5 under term 2 (the
  // re-seed restored it, then applied 4..5 from the new leader and acknowledged them).
  const auto cluster = make_store(s.state, {1, 1, 1, 2, 2});
  testing::TempDir other;

  SECTION("the deposed leader's own tail, at the same seq under its old term") {
    const auto deposed = make_store(other.path(), {1, 1, 1, 1, 1});
    s.stage(note_text({0, "diverged", deposed.term, deposed.seq}, &deposed));
  }
  SECTION("a note of an older gongshud (no hash), at the same seq under the old term") {
    s.stage(encode_reseed_record({0, "diverged", 1, 5}));
  }
  SECTION("the same term and seq, another history (write set 4 under term 1)") {
    const auto deposed = make_store(other.path(), {1, 1, 1, 1, 2});
    REQUIRE(deposed.term == cluster.term);
    REQUIRE(deposed.seq == cluster.seq);
    REQUIRE(deposed.hash != cluster.hash);
    s.stage(note_text({0, "diverged", deposed.term, deposed.seq}, &deposed));
  }
  s.refused();
  CHECK(head_of(s.state + "/store") == cluster);
  CHECK(!exists(last_reseed_path(s.state)));
}

TEST_CASE("a staged re-seed backup without its note is removed, not restored") {
  Staged s;
  const auto head = make_store(s.state, {2, 2, 2});
  s.stage(std::nullopt);
  s.refused();
  CHECK(head_of(s.state + "/store") == head);

  s.stage("reason behind\n");  // a note that does not decode
  s.refused();
}

TEST_CASE("a staged re-seed backup restored before is recorded and removed, not restored again") {
  Staged s;
  const auto head = make_store(s.state, {1, 1, 2});
  const cluster::ReseedRecord record{1765100000000, "diverged", 1, 7};

  SECTION("the store still holds the restored head: recorded from the note") {
    s.stage(note_text(record, nullptr, &head));
    s.refused();
    auto last = read_last_reseed(s.state);
    REQUIRE(last);
    REQUIRE(*last);
    CHECK((*last)->at_ms == record.at_ms);
    CHECK((*last)->reason == "diverged");
    CHECK((*last)->from_term == 1);
    CHECK((*last)->from_seq == 7);
  }
  SECTION("the store applied past the restored head since") {
    replication::ChainHead restored = head;
    restored.seq = 2;
    s.stage(note_text(record, nullptr, &restored));
    s.refused();
    CHECK(!exists(last_reseed_path(s.state)));
  }
  CHECK(head_of(s.state + "/store") == head);
}

TEST_CASE("a staged re-seed over a store whose head cannot be read is kept, not restored") {
  Staged s;
  // data.mdb is there but does not open (a directory in its place: root reads any file).
  std::filesystem::create_directories(s.state + "/store/data.mdb");
  s.stage(encode_reseed_record({0, "behind", 2, 5}));
  auto r = restore_staged_reseed(s.config, s.log);
  REQUIRE(!r);
  CHECK(r.error().message().find("is kept, not restored") != std::string::npos);
  CHECK(exists(s.backup));  // for the operator, or the next start once the store reads
  CHECK(exists(s.note));
  CHECK(std::filesystem::is_directory(s.state + "/store/data.mdb"));  // nothing restored over it
}

TEST_CASE("a staged re-seed with no store to protect is tried") {
  Staged s;
  s.stage(encode_reseed_record({0, "behind", 2, 5}));
  s.tried();
}

}  // namespace
}  // namespace gongshu::daemon
