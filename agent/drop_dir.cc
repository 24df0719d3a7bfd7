#include "agent/drop_dir.h"

#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <vector>

#include "core/util/fd.h"
#include "core/util/i18n.h"

namespace gongshu::agent {
namespace fs = std::filesystem;

DropDirWatcher::DropDirWatcher(Spool& spool, const Clock& clock, std::string dir,
                               std::chrono::milliseconds rescan, ReaderLimits limits,
                               EncodingChoice encoding)
    : spool_(spool),
      clock_(clock),
      dir_(std::move(dir)),
      rescan_(rescan),
      limits_(limits),
      encoding_(encoding),
      intake_(spool, clock) {}

Status DropDirWatcher::prepare() {
  std::error_code ec;
  for (const char* sub : {"", "/done", "/failed"}) {
    fs::create_directories(dir_ + sub, ec);
    if (ec) return fail(ErrorCode::kIo, trf("drop directory {}{}: {}", dir_, sub, ec.message()));
  }
  return {};
}

Status DropDirWatcher::move_to(const std::string& name, const std::string& sub,
                               const std::string& reason) {
  std::string target = dir_ + "/" + sub + "/" + name;
  std::error_code ec;
  for (int i = 1; fs::exists(target, ec) && i < 10000; ++i) {
    target = dir_ + "/" + sub + "/" + name + "." + std::to_string(i);
  }
  if (!reason.empty()) {
    std::string text = reason + "\n";
    GONGSHU_RETURN_IF_ERROR(write_file_atomic(target + ".reason", as_bytes(text), 0640));
  }
  if (::rename((dir_ + "/" + name).c_str(), target.c_str()) != 0) {
    return fail_errno(trf("drop: move {} to {}/", name, sub), errno);
  }
  return {};
}

Status DropDirWatcher::process(const std::string& name) {
  std::string path = dir_ + "/" + name;
  auto format = format_from_name(name);
  auto sep = name.find("--");
  if (!format || sep == std::string::npos || sep == 0) {
    return move_to(name, "failed",
                   tr("the name must be DATASET--anything.jsonl or DATASET--anything.csv"));
  }
  std::string dataset = name.substr(0, sep);
  GONGSHU_RETURN_IF_ERROR(intake_.refresh_catalog());
  const catalog::DatasetSchema* schema = intake_.catalog().find(dataset);
  if (!schema) {
    return move_to(name, "failed",
                   trf("dataset '{}' is not in this agent's cached catalog (gongshu-agent "
                       "catalog list)",
                       dataset));
  }
  auto input = InputFile::open(path, encoding_);
  if (!input) return move_to(name, "failed", input.error().message());
  const std::string encoding = input->encoding_note();
  auto reader = make_reader(*format, std::move(*input), *schema, limits_);
  if (!reader) return move_to(name, "failed", reader.error().message());
  SpoolFileOptions o;
  o.source = "drop:" + name;
  o.dataset = dataset;
  o.progress_key = file_progress_key(path);
  o.keep_complete_marker = true;
  auto done = spool_file(intake_, **reader, o);
  // A spool failure leaves the file where it is, to be tried again.
  if (!done) return tl::unexpected(std::move(done).error());
  const std::string line = trf("gongshu-agent: drop {}: read as {}; {} accepted, {} rejected\n",
                               name, encoding, done->accepted, done->rejected);
  std::fputs(line.c_str(), stderr);
  // Spooled whole and marked so: a crash before the move cannot spool it twice.
  GONGSHU_RETURN_IF_ERROR(move_to(name, "done", ""));
  if (o.progress_key.empty()) return {};
  return spool_.env().update(
      [&](store::WriteTxn& txn) { return spool_.del_meta(txn, o.progress_key); });
}

Result<size_t> DropDirWatcher::scan_once(bool all_ready) {
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.empty() || name[0] == '.' || !it->is_regular_file(ec)) continue;
    if (!format_from_name(name) && name.find("--") == std::string::npos) continue;
    if (name.ends_with(".reason")) continue;
    names.push_back(std::move(name));
  }
  if (ec) return fail(ErrorCode::kIo, trf("drop directory {}: {}", dir_, ec.message()));
  std::sort(names.begin(), names.end());
  size_t handled = 0;
  auto now = fs::file_time_type::clock::now();
  for (const auto& name : names) {
    if (!all_ready && !signalled_.count(name)) {
      auto mtime = fs::last_write_time(dir_ + "/" + name, ec);
      if (ec || now - mtime < std::chrono::seconds(1)) continue;  // may still be written
    }
    signalled_.erase(name);
    if (auto s = process(name); !s) {
      last_error_ = "drop " + name + ": " + s.error().message();
      continue;
    }
    ++handled;
  }
  return handled;
}

Status DropDirWatcher::run(const std::atomic<bool>& stop) {
  GONGSHU_RETURN_IF_ERROR(prepare());
  Fd ino(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
  if (!ino.valid()) return fail_errno(tr("drop directory: inotify"), errno);
  if (::inotify_add_watch(ino.get(), dir_.c_str(), IN_CLOSE_WRITE | IN_MOVED_TO) < 0) {
    return fail_errno(trf("drop directory {}: watch", dir_), errno);
  }
  auto next_scan = std::chrono::steady_clock::now();
  alignas(struct inotify_event) char buf[16 * 1024];
  while (!stop.load()) {
    auto now = std::chrono::steady_clock::now();
    bool scan = now >= next_scan;
    pollfd p{ino.get(), POLLIN, 0};
    int r = ::poll(&p, 1, scan ? 0 : 100);
    if (r > 0) {
      ssize_t n;
      while ((n = ::read(ino.get(), buf, sizeof buf)) > 0) {
        for (char* q = buf; q < buf + n;) {
          auto* ev = reinterpret_cast<struct inotify_event*>(q);
          if (ev->len > 0) signalled_.insert(ev->name);
          q += sizeof(struct inotify_event) + ev->len;
        }
      }
      scan = true;
    }
    if (scan) {
      std::string before = last_error_;
      auto s = scan_once();
      if (!s) last_error_ = s.error().message();
      if (last_error_ != before && !last_error_.empty()) {
        std::fprintf(stderr, "gongshu-agent: %s\n", last_error_.c_str());
      }
      next_scan = std::chrono::steady_clock::now() + rescan_;
    }
  }
  return {};
}

}  // namespace gongshu::agent
