// Two backups downloaded at the same time (two replicas re-seeding at once from one leader,
// docs/replication.md §6): each keeps its staged file until it is done. Before, every new backup
// emptied the staging directory, so the second deleted the first's file mid-download and both
// replicas retried every 5 s, deleting each other's again. Only a staged backup untouched for
// 10 minutes (abandoned) is removed now.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "daemon/backup.h"
#include "tests/daemon/handler_fixture.h"

namespace gongshu::daemon {
namespace {

using testing::HandlerFixture;

// Downloads a backup to the end, chunk by chunk, from `first` (its first answer).
uint64_t finish(HandlerFixture& fx, const Caller& c, const v1::ApiResponse& first) {
  uint64_t offset = first.backup().data().size();
  bool last = first.backup().last();
  while (!last) {
    v1::BackupRequest req;
    req.set_backup_id(first.backup().backup_id());
    req.set_offset(offset);
    v1::ApiResponse resp;
    auto r = backup(*fx.ctx, c, req, resp);
    REQUIRE(r);
    offset += resp.backup().data().size();
    last = resp.backup().last();
  }
  return offset;
}

TEST_CASE("two backups downloaded at once each keep their staged file; an abandoned one goes") {
  HandlerFixture fx;
  fx.options.backups_dir = fx.dir.file("backups");
  fx.options.export_chunk = 4096;  // many chunks, so the downloads interleave
  const Caller op = fx.caller_of(fx.add_principal("operator"));

  v1::ApiResponse a, b;
  REQUIRE(backup(*fx.ctx, op, v1::BackupRequest(), a));
  REQUIRE(!a.backup().last());
  // Abandoned long ago: a leftover the next backup removes.
  const std::string stale = fx.options.backups_dir + "/backup-00000000deadbeef.gsb";
  {
    std::FILE* f = std::fopen(stale.c_str(), "w");
    REQUIRE(f);
    std::fclose(f);
    std::filesystem::last_write_time(
        stale, std::filesystem::file_time_type::clock::now() - std::chrono::hours(1));
  }
  REQUIRE(backup(*fx.ctx, op, v1::BackupRequest(), b));  // the second, while a is mid-download
  CHECK(a.backup().backup_id() != b.backup().backup_id());
  CHECK(!std::filesystem::exists(stale));
  const uint64_t size_a = finish(fx, op, a);  // not refused as "no staged backup"
  const uint64_t size_b = finish(fx, op, b);
  CHECK(size_a == a.backup().total_bytes());
  CHECK(size_b == b.backup().total_bytes());
  // Each removed once downloaded.
  for (const auto& f : std::filesystem::directory_iterator(fx.options.backups_dir))
    CHECK(f.path().filename().string().find(".gsb") == std::string::npos);
}

TEST_CASE("at most four backups are staged at once; a fifth is refused until one finishes") {
  HandlerFixture fx;
  fx.options.backups_dir = fx.dir.file("backups");
  fx.options.export_chunk = 4096;
  const Caller op = fx.caller_of(fx.add_principal("operator"));

  std::vector<v1::ApiResponse> started(4);
  for (auto& r : started) REQUIRE(backup(*fx.ctx, op, v1::BackupRequest(), r));
  v1::ApiResponse refused;
  auto r = backup(*fx.ctx, op, v1::BackupRequest(), refused);
  REQUIRE(!r);
  CHECK(r.error().code == v1::API_UNAVAILABLE);
  CHECK(r.error().message.find("4 backups are being downloaded") != std::string::npos);
  finish(fx, op, started[0]);  // one done: its slot is free
  v1::ApiResponse fifth;
  REQUIRE(backup(*fx.ctx, op, v1::BackupRequest(), fifth));
  // An abandoned one no longer counts.
  for (const auto& f : std::filesystem::directory_iterator(fx.options.backups_dir))
    std::filesystem::last_write_time(
        f.path(), std::filesystem::file_time_type::clock::now() - std::chrono::hours(1));
  v1::ApiResponse after;
  REQUIRE(backup(*fx.ctx, op, v1::BackupRequest(), after));
}

}  // namespace
}  // namespace gongshu::daemon
