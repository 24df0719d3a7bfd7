// gongshuctl backup create: a hot, consistent backup of gongshud's store streamed over the api
// socket (the daemon's unit may write only its state directory, so the file is written here).
// Also download_to_file, the chunked download that backup and audit export share.

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <iostream>
#include <memory>

#include "core/util/encoding.h"
#include "core/util/fd.h"
#include "core/util/i18n.h"
#include "core/util/json.h"
#include "tools/ctl/commands.h"
#include "tools/ctl/daemon_client.h"

namespace gongshu::ctl {

Result<uint64_t> download_to_file(const std::string& out, mode_t mode, const std::string& label,
                                  bool progress,
                                  const std::function<Result<Chunk>(uint64_t offset)>& next) {
  std::string tmp = out + ".partial";
  ::unlink(tmp.c_str());
  GONGSHU_TRY(Fd fd, Fd::open(tmp, O_WRONLY | O_CREAT | O_EXCL, mode));
  // Removes the partial file on every failure below.
  struct Partial {
    std::string path;
    ~Partial() {
      if (!path.empty()) ::unlink(path.c_str());
    }
  } partial{tmp};
  const bool tty = ::isatty(STDERR_FILENO);
  uint64_t offset = 0;
  while (true) {
    GONGSHU_TRY(Chunk chunk, next(offset));
    GONGSHU_RETURN_IF_ERROR(with_context(fd.write_all(as_bytes(chunk.data)), "write " + tmp));
    offset += chunk.data.size();
    if (progress) {
      std::cerr << (tty ? "\r" : "") << label << ": "
                << (chunk.total > 0 ? trf("{} KiB of {} KiB", offset / 1024, chunk.total / 1024)
                                    : trf("{} KiB", offset / 1024));
      std::cerr << (tty ? "" : "\n") << std::flush;
    }
    if (chunk.last) break;
    if (chunk.data.empty()) {
      return fail(ErrorCode::kInternal,
                  trf("{}: the daemon sent an empty chunk before the end", label));
    }
  }
  if (progress && tty) std::cerr << "\n";
  GONGSHU_RETURN_IF_ERROR(with_context(fd.sync(), "sync " + tmp));
  if (::rename(tmp.c_str(), out.c_str()) != 0) return fail_errno(trf("rename to {}", out), errno);
  partial.path.clear();
  std::string dir = out.find('/') == std::string::npos ? "." : out.substr(0, out.rfind('/') + 1);
  // The rename is durable only once its directory is synced: a backup that may vanish in a
  // crash is not reported as written.
  if (dir.empty()) dir = "/";
  GONGSHU_TRY(Fd d, Fd::open(dir, O_RDONLY | O_DIRECTORY));
  GONGSHU_RETURN_IF_ERROR(with_context(d.sync(), "sync " + dir));
  return offset;
}

void add_backup_commands(CLI::App& app, int* exit_code) {
  auto* backup = app.add_subcommand("backup", tr("Hot backups of gongshud's store"));
  backup->require_subcommand(1);

  struct Opts {
    std::string out;
    bool progress = false;
    bool quiet = false;
    bool json = false;
  };
  auto o = std::make_shared<Opts>();
  auto conn = std::make_shared<ConnectOptions>();
  // The first answer comes only once the daemon has copied, hashed and staged the whole store.
  conn->timeout_s = 3600;
  auto* create = backup->add_subcommand(
      "create",
      tr("Make a consistent backup of the running daemon's store while ingest continues and\n"
         "write it to FILE (mode 0600; written to FILE.partial, synced, then renamed). The\n"
         "file holds a manifest signed by the daemon (audit tree size and root, SHA-256 of the\n"
         "data) and the LMDB data (docs/protocol.md, \"Backups\"). The backup is audited.\n"
         "Keys are NOT in it: keep the daemon's daemon.key and master.key safe separately.\n"
         "The first chunk comes once the whole copy is made (--timeout defaults to 3600 s here).\n"
         "Restore with: gongshud restore --from FILE --state DIR (operators only)."));
  create->add_option("--out", o->out, tr("Backup file to create"))->required();
  create->add_flag("--progress", o->progress,
                   tr("Progress on stderr even when it is not a terminal (one line per chunk)"));
  create->add_flag("--quiet", o->quiet, tr("No progress"));
  create->add_flag("--json", o->json, tr("Print the backup's manifest figures as JSON"));
  run_connected(create, conn, exit_code, [o](DaemonClient& c) {
    std::string id;
    uint64_t tree_size = 0;
    std::string root, sha;
    bool progress = !o->quiet && (o->progress || ::isatty(STDERR_FILENO));
    auto written =
        download_to_file(o->out, 0600, "backup", progress, [&](uint64_t offset) -> Result<Chunk> {
          v1::ApiRequest req;
          req.mutable_backup()->set_offset(offset);
          req.mutable_backup()->set_backup_id(id);
          GONGSHU_TRY(v1::ApiResponse r, c.call(req));
          auto* b = r.mutable_backup();
          if (id.empty()) {
            id = b->backup_id();
            tree_size = b->tree_size();
            root = b->root();
            sha = b->data_sha256();
          }
          return Chunk{std::move(*b->mutable_data()), b->last(), b->total_bytes()};
        });
    if (!written) return report_error(written.error());
    if (o->json) {
      JsonWriter w;
      w.begin_object()
          .field("file", o->out)
          .field("bytes", *written)
          .field("backup_id", id)
          .field("tree_size", tree_size)
          .field("root", root)
          .field("data_sha256", sha)
          .end_object();
      std::cout << w.str() << "\n";
    } else {
      std::cout << trf("backup {} written to {} ({} bytes)", id, o->out, *written) << "\n"
                << trf("audit tree size {}, root {}", tree_size, root) << "\n"
                << trf("data sha256 {}", sha) << "\n";
    }
    return 0;
  });
}

}  // namespace gongshu::ctl
