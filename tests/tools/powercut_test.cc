// gongshu-powercut: the model of a disk that loses its write cache (tools/powercut/disk.h) on its
// own, then mounted for real with FUSE and written through the kernel, by plain syscalls and by
// LMDB (core/store) as gongshud and the agent use it. The mounted cases need /dev/fuse: they fail
// loudly without it (scripts/test loads the fuse module), never skip.

#include "tools/powercut/disk.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "core/store/env.h"
#include "core/store/txn.h"
#include "tests/support/test_support.h"

namespace gongshu::powercut {
namespace {

using testing::TempDir;

std::unique_ptr<Disk> make_disk(const TempDir& dir, bool lie = false) {
  auto d = Disk::open(DiskOptions{dir.path(), lie});
  REQUIRE(d);
  return std::move(*d);
}

std::string on_disk(const TempDir& dir, const std::string& name) {
  return testing::read_text(dir.file(name));
}

std::string read_all(Disk& d, uint64_t h, size_t n = 1 << 20) {
  std::string buf(n, '\0');
  auto r = d.read(h, buf.data(), buf.size(), 0);
  REQUIRE(r);
  buf.resize(*r);
  return buf;
}

void put(Disk& d, uint64_t h, const std::string& s, uint64_t off) {
  auto r = d.write(h, s.data(), s.size(), off);
  REQUIRE(r);
  REQUIRE(*r == s.size());
}

TEST_CASE("powercut model: a write not fsynced is gone after the cut; fsynced data stays") {
  TempDir dir;
  auto d = make_disk(dir);
  auto a = d->open_file("/a", O_CREAT | O_RDWR, 0600);
  auto b = d->open_file("/b", O_CREAT | O_RDWR, 0600);
  REQUIRE(a);
  REQUIRE(b);
  put(*d, *a, std::string(5000, 'a'), 0);
  put(*d, *b, std::string(3000, 'b'), 0);
  REQUIRE(d->fsync(*a));
  put(*d, *a, std::string(100, 'x'), 5000);  // after the fsync: unsynced
  // Before the cut the programs above see everything.
  CHECK(read_all(*d, *a) == std::string(5000, 'a') + std::string(100, 'x'));
  CHECK(d->getattr("/b", std::nullopt)->st_size == 3000);
  CHECK(on_disk(dir, "b").empty());  // created (durable at once), contents not yet
  Stats s = d->cut();
  CHECK(s.cut);
  CHECK(s.discarded_bytes == 3100);
  CHECK(s.discarded_files == 2);
  CHECK(s.bytes_synced == 5000);
  CHECK(on_disk(dir, "a") == std::string(5000, 'a'));
  CHECK(on_disk(dir, "b").empty());
  // The machine is off.
  CHECK(d->getattr("/a", std::nullopt).error() == EIO);
  CHECK(d->write(*a, "z", 1, 0).error() == EIO);
  CHECK(d->fsync(*a).error() == EIO);
}

TEST_CASE("powercut model: a partial overwrite reads merged, and only fsync makes it durable") {
  TempDir dir;
  auto d = make_disk(dir);
  auto h = *d->open_file("/f", O_CREAT | O_RDWR, 0600);
  put(*d, h, std::string(8192, 'a'), 0);
  REQUIRE(d->fsync(h));
  put(*d, h, std::string(100, 'b'), 4000);
  put(*d, h, std::string(50, 'c'), 4050);  // overlaps the previous unsynced write
  put(*d, h, std::string(10, 'd'), 8190);  // past the end: the size grows to 8200
  std::string want = std::string(4000, 'a') + std::string(50, 'b') + std::string(50, 'c') +
                     std::string(4090, 'a') + std::string(10, 'd');
  CHECK(read_all(*d, h) == want);
  CHECK(d->getattr("/f", std::nullopt)->st_size == 8200);
  CHECK(on_disk(dir, "f") == std::string(8192, 'a'));
  CHECK(d->stats().unsynced_bytes == 110);  // 4000..4100 and 8190..8200

  SECTION("cut before fsync: the old bytes") {
    CHECK(d->cut().discarded_bytes == 110);
    CHECK(on_disk(dir, "f") == std::string(8192, 'a'));
  }
  SECTION("fsync, then cut: the merged bytes") {
    REQUIRE(d->fsync(h));
    CHECK(d->cut().discarded_bytes == 0);
    CHECK(on_disk(dir, "f") == want);
  }
}

TEST_CASE("powercut model: truncation is unsynced until fsync, and cut bytes never come back") {
  TempDir dir;
  auto d = make_disk(dir);
  auto h = *d->open_file("/t", O_CREAT | O_RDWR, 0600);
  put(*d, h, std::string(100, 'a'), 0);
  REQUIRE(d->fsync(h));
  REQUIRE(d->truncate("", h, 10));
  CHECK(d->getattr("", h)->st_size == 10);
  CHECK(read_all(*d, h) == std::string(10, 'a'));
  put(*d, h, std::string(10, 'n'), 50);  // the hole 10..50 must read as zeros, not old 'a's
  std::string want = std::string(10, 'a') + std::string(40, '\0') + std::string(10, 'n');
  CHECK(read_all(*d, h) == want);
  CHECK(on_disk(dir, "t") == std::string(100, 'a'));

  SECTION("cut: the file as it was synced") {
    Stats s = d->cut();
    CHECK(s.discarded_truncations == 1);
    CHECK(s.discarded_bytes == 10);
    CHECK(on_disk(dir, "t") == std::string(100, 'a'));
  }
  SECTION("fsync: truncated, the hole zero, the new bytes") {
    REQUIRE(d->fsync(h));
    d->cut();
    CHECK(on_disk(dir, "t") == want);
  }
  SECTION("a truncate that grows the file, by path, synced") {
    REQUIRE(d->truncate("/t", std::nullopt, 70));
    REQUIRE(d->fsync(h));
    CHECK(on_disk(dir, "t") == want + std::string(10, '\0'));
  }
  SECTION("O_TRUNC at open is a truncation like any other") {
    auto h2 = *d->open_file("/t", O_RDWR | O_TRUNC);
    CHECK(read_all(*d, h2).empty());
    d->cut();
    CHECK(on_disk(dir, "t") == std::string(100, 'a'));
  }
}

TEST_CASE("powercut model: a renamed file keeps its unsynced data under the new name") {
  TempDir dir;
  auto d = make_disk(dir);
  auto h = *d->open_file("/old", O_CREAT | O_RDWR, 0600);
  put(*d, h, "synced", 0);
  REQUIRE(d->fsync(h));
  put(*d, h, "+unsynced", 6);
  d->release(h);  // closed with unsynced data: the data stays in the cache, like a page cache
  REQUIRE(d->rename("/old", "/new", 0));
  CHECK(!std::filesystem::exists(dir.file("old")));  // the rename is durable at once
  CHECK(d->getattr("/new", std::nullopt)->st_size == 15);
  auto h2 = *d->open_file("/new", O_RDWR);
  CHECK(read_all(*d, h2) == "synced+unsynced");

  SECTION("cut: the new name with what was synced") {
    d->cut();
    CHECK(on_disk(dir, "new") == "synced");
  }
  SECTION("fsync through the new name: all of it") {
    REQUIRE(d->fsync(h2));
    d->cut();
    CHECK(on_disk(dir, "new") == "synced+unsynced");
  }
  SECTION("a directory renamed carries its files") {
    REQUIRE(d->mkdir("/d", 0700));
    auto h3 = *d->open_file("/d/x", O_CREAT | O_RDWR, 0600);
    put(*d, h3, "inside", 0);
    d->release(h3);
    REQUIRE(d->rename("/d", "/e", 0));
    CHECK(d->getattr("/e/x", std::nullopt)->st_size == 6);
    auto h4 = *d->open_file("/e/x", O_RDWR);
    REQUIRE(d->fsync(h4));
    CHECK(on_disk(dir, "e/x") == "inside");
  }
}

TEST_CASE("powercut model: O_DSYNC writes are durable at once, the file's other writes are not") {
  TempDir dir;
  auto d = make_disk(dir);
  auto plain = *d->open_file("/m", O_CREAT | O_RDWR, 0600);
  auto dsync = *d->open_file("/m", O_RDWR | O_DSYNC);
  put(*d, plain, std::string(4096, 'p'), 4096);  // a data page, not synced
  put(*d, dsync, std::string(4096, 'M'), 0);     // the meta page, as LMDB writes it
  CHECK(read_all(*d, plain) == std::string(4096, 'M') + std::string(4096, 'p'));
  Stats s = d->cut();
  CHECK(s.sync_writes == 1);
  CHECK(s.discarded_bytes == 4096);
  CHECK(on_disk(dir, "m") == std::string(4096, 'M'));
}

TEST_CASE("powercut model: lying about fsync keeps nothing (what the drill must catch)") {
  TempDir dir;
  auto d = make_disk(dir, /*lie=*/true);
  auto h = *d->open_file("/l", O_CREAT | O_RDWR | O_DSYNC, 0600);
  put(*d, h, "acknowledged", 0);
  REQUIRE(d->fsync(h));  // says yes
  Stats s = d->cut();
  CHECK(s.lie_about_fsync);
  CHECK(s.discarded_bytes == 12);
  CHECK(on_disk(dir, "l").empty());
}

TEST_CASE("powercut model: armed, the power goes right after the next unsynced write") {
  TempDir dir;
  auto d = make_disk(dir);
  auto plain = *d->open_file("/p", O_CREAT | O_RDWR, 0600);
  auto dsync = *d->open_file("/p", O_RDWR | O_DSYNC);
  put(*d, plain, "synced.", 0);
  REQUIRE(d->fsync(plain));
  d->arm();
  CHECK(!d->wait_cut(std::chrono::milliseconds(1)));  // nothing written yet: no cut
  put(*d, dsync, "meta", 7);                          // durable at once: not the moment either
  CHECK(!d->stats().cut);
  // The write is acknowledged (as a disk's cache acknowledges it), then the power goes.
  put(*d, plain, "pages", 11);
  auto s = d->wait_cut(std::chrono::milliseconds(1));
  REQUIRE(s);
  CHECK(s->cut);
  CHECK(s->at_write);
  CHECK(s->discarded_bytes == 5);
  CHECK(d->fsync(plain).error() == EIO);  // the fsync that would have followed
  CHECK(on_disk(dir, "p") == "synced.meta");
}

// --- mounted for real -------------------------------------------------------------------------

const std::string kPowercut = testing::binary_path("bin/gongshu-powercut");

bool mounted(const std::string& mp) {
  struct stat a, b;
  return ::stat(mp.c_str(), &a) == 0 && ::stat((mp + "/..").c_str(), &b) == 0 &&
         a.st_dev != b.st_dev;
}

std::string fusermount() {
  for (const char* p : {"/usr/bin/fusermount3", "/bin/fusermount3"}) {
    if (::access(p, X_OK) == 0) return p;
  }
  FAIL("no fusermount3: install fuse3 (scripts/test does)");
  return "";
}

// One "boot" of the disk: gongshu-powercut serving backing on mp.
class Mount {
 public:
  Mount(const TempDir& dir, const std::string& backing, const std::string& mp, bool lie = false)
      : mp_(mp), stats_(dir.file("stats.json")) {
    INFO("/dev/fuse must exist and be usable: scripts/test loads the fuse module (modprobe fuse)");
    REQUIRE(::access("/dev/fuse", R_OK | W_OK) == 0);
    std::filesystem::remove(stats_);
    std::vector<std::string> argv = {kPowercut, backing, mp, "--stats", stats_};
    if (lie) argv.push_back("--lie-about-fsync");
    proc_.emplace(argv, dir.file("powercut.log"));
    INFO(testing::read_text(dir.file("powercut.log")));
    REQUIRE(testing::wait_until([&] { return mounted(mp_) || !proc_->running(); }));
    REQUIRE(mounted(mp_));
  }
  ~Mount() {
    if (mounted(mp_)) unmount();
  }
  std::string cut() {
    proc_->signal(SIGUSR1);
    REQUIRE(testing::wait_until(
        [&] { return testing::read_text(stats_).find("\"cut\":true") != std::string::npos; }));
    return testing::read_text(stats_);
  }
  void unmount() {
    auto r = testing::run_process({fusermount(), "-u", "-z", mp_});
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(proc_->wait() == 0);
  }

 private:
  std::string mp_;
  std::string stats_;
  std::optional<testing::ChildProcess> proc_;
};

void write_file(const std::string& path, const std::string& text, int flags, bool do_fsync) {
  int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | flags, 0600);
  REQUIRE(fd >= 0);
  REQUIRE(::write(fd, text.data(), text.size()) == ssize_t(text.size()));
  if (do_fsync) REQUIRE(::fdatasync(fd) == 0);
  ::close(fd);
}

TEST_CASE("gongshu-powercut mounted: after the cut the backing holds what was synced, exactly") {
  TempDir dir;
  std::string backing = dir.file("disk"), mp = dir.file("mnt");
  std::filesystem::create_directories(backing);
  std::filesystem::create_directories(mp);
  {
    Mount m(dir, backing, mp);
    write_file(mp + "/synced", std::string(10000, 's'), 0, true);
    write_file(mp + "/unsynced", std::string(3000, 'u'), 0, false);
    write_file(mp + "/dsync", std::string(2000, 'd'), O_DSYNC, false);
    // Through the kernel everything reads back before the cut.
    CHECK(testing::read_text(mp + "/unsynced") == std::string(3000, 'u'));
    std::string stats = m.cut();
    INFO(stats);
    CHECK(stats.find("\"discarded_bytes\":3000") != std::string::npos);
    // The machine is off: nothing more goes in or comes out.
    int fd = ::open((mp + "/synced").c_str(), O_RDONLY);
    CHECK(fd < 0);
    if (fd >= 0) ::close(fd);
    m.unmount();
  }
  CHECK(testing::read_text(backing + "/synced") == std::string(10000, 's'));
  CHECK(testing::read_text(backing + "/unsynced").empty());
  CHECK(testing::read_text(backing + "/dsync") == std::string(2000, 'd'));
  // Rebooted over the same disk: the files as they reached it.
  Mount again(dir, backing, mp);
  CHECK(testing::read_text(mp + "/synced") == std::string(10000, 's'));
  CHECK(std::filesystem::file_size(mp + "/unsynced") == 0);
}

std::optional<std::string> lmdb_get(const std::string& path, const std::string& key) {
  auto env = store::Env::open(path, {});
  REQUIRE(env);
  auto db = (*env)->open_db("t");
  REQUIRE(db);
  auto r = (*env)->begin_read();
  REQUIRE(r);
  auto v = r->get(*db, as_bytes(key));
  if (!v) return std::nullopt;
  return std::string(as_chars(*v));
}

void lmdb_put(store::Env& env, const store::Db& db, const std::string& key,
              const std::string& value) {
  auto txn = env.begin_write();
  REQUIRE(txn);
  REQUIRE(txn->put(db, as_bytes(key), as_bytes(value)));
  REQUIRE(std::move(*txn).commit());
}

TEST_CASE(
    "gongshu-powercut mounted: LMDB (pwrite, fdatasync, O_DSYNC meta, mmap reads) keeps "
    "every commit across a cut, and loses them all on a disk that lies about fsync") {
  TempDir dir;
  std::string backing = dir.file("disk"), mp = dir.file("mnt");
  std::filesystem::create_directories(backing);
  std::filesystem::create_directories(mp);
  {
    Mount m(dir, backing, mp);
    std::filesystem::create_directories(mp + "/store");
    auto env = store::Env::open(mp + "/store", {});
    REQUIRE(env);
    auto db = (*env)->open_db("t");
    REQUIRE(db);
    for (int i = 0; i < 200; ++i) {
      lmdb_put(**env, *db, "k" + std::to_string(i), std::string(300, char('a' + i % 26)));
    }
    // Read back through the map, as gongshud reads.
    CHECK((*env)->begin_read()->get(*db, as_bytes("k199")).has_value());
    env->reset();
    m.cut();
    m.unmount();
  }
  {
    Mount m(dir, backing, mp);
    CHECK(lmdb_get(mp + "/store", "k0") == std::string(300, 'a'));
    CHECK(lmdb_get(mp + "/store", "k199") == std::string(300, char('a' + 199 % 26)));
    m.unmount();
  }
  {
    Mount m(dir, backing, mp, /*lie=*/true);
    auto env = store::Env::open(mp + "/store", {});
    REQUIRE(env);
    auto db = (*env)->open_db("t");
    REQUIRE(db);
    for (int i = 0; i < 50; ++i) lmdb_put(**env, *db, "lost" + std::to_string(i), "acknowledged");
    CHECK((*env)->begin_read()->get(*db, as_bytes("lost49")).has_value());
    env->reset();
    std::string stats = m.cut();
    INFO(stats);
    CHECK(stats.find("\"discarded_bytes\":0,") == std::string::npos);
    m.unmount();
  }
  Mount m(dir, backing, mp);
  CHECK(lmdb_get(mp + "/store", "k199").has_value());    // synced before the lying disk
  CHECK(!lmdb_get(mp + "/store", "lost0").has_value());  // "committed" on it: gone
  CHECK(!lmdb_get(mp + "/store", "lost49").has_value());
}

}  // namespace
}  // namespace gongshu::powercut
