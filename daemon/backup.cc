#include "daemon/backup.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <vector>

#include "core/audit/export_log.h"
#include "core/audit/verify.h"
#include "core/crypto/key_file.h"
#include "core/crypto/keyed_hash.h"
#include "core/store/txn.h"
#include "core/util/encoding.h"
#include "core/util/fd.h"
#include "daemon/api_context.h"
#include "daemon/config.h"
#include "daemon/daemon_store.h"
#include "gongshu/v1/audit.pb.h"

namespace gongshu::daemon {
namespace {

constexpr size_t kCopyBuffer = 1 << 20;
constexpr std::string_view kStagedPrefix = "backup-";
constexpr std::string_view kStagedSuffix = ".gsb";
// A staged backup (or a copy directory) untouched this long was abandoned: the next backup
// removes it. Each chunk served touches its file, so a download in progress — another
// operator's, or another replica re-seeding at the same time — is never taken away.
constexpr std::filesystem::file_time_type::duration kAbandonedAfter = std::chrono::minutes(10);
// Each staged backup is a full copy of the store. A replica whose re-seed keeps failing asks
// again every 5 s, and every attempt's file stays until abandoned: without a bound, a failing
// replica could fill the disk of the node that must keep acknowledging. Beyond this many
// downloads at once a new backup is refused until one finishes or is abandoned.
constexpr size_t kMaxStagedBackups = 4;

// The newest modification time of path and, for a directory, of what it holds directly.
std::filesystem::file_time_type last_touched(const std::filesystem::path& path) {
  std::error_code ec;
  auto t = std::filesystem::last_write_time(path, ec);
  if (std::filesystem::is_directory(path, ec))
    for (const auto& f : std::filesystem::directory_iterator(path, ec))
      t = std::max(t, std::filesystem::last_write_time(f.path(), ec));
  return t;
}

// Removes a directory tree when it goes out of scope, whatever happened.
class RemoveOnExit {
 public:
  explicit RemoveOnExit(std::string path) : path_(std::move(path)) {}
  ~RemoveOnExit() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  RemoveOnExit(const RemoveOnExit&) = delete;
  RemoveOnExit& operator=(const RemoveOnExit&) = delete;
  void keep() { path_.clear(); }

 private:
  std::string path_;
};

Result<std::string> make_temp_dir(const std::string& parent, const std::string& prefix) {
  std::string tmpl = parent + "/" + prefix + "XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) return fail_errno("create a directory in " + parent, errno);
  return std::string(buf.data());
}

// Copies len bytes from in (at its current offset) to out (if valid), hashing them.
Status copy_hashing(const Fd& in, const Fd* out, uint64_t len, crypto::Sha256& hash,
                    const std::string& what) {
  uint64_t left = len;
  while (left > 0) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(left, kCopyBuffer));
    GONGSHU_TRY(Bytes chunk, with_context(in.read_up_to(n), what));
    if (chunk.size() != n) {
      return fail(ErrorCode::kCorrupt,
                  what + ": file ended " + std::to_string(left - chunk.size()) + " bytes early");
    }
    hash.update(chunk);
    if (out) GONGSHU_RETURN_IF_ERROR(with_context(out->write_all(chunk), what));
    left -= n;
  }
  return {};
}

Result<uint64_t> file_size(const Fd& fd, const std::string& path) {
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return fail_errno("stat " + path, errno);
  if (!S_ISREG(st.st_mode)) return fail(ErrorCode::kInvalidArgument, path + ": not a regular file");
  return static_cast<uint64_t>(st.st_size);
}

bool parse_u64(std::string_view s, uint64_t& out) {
  if (s.empty() || s.size() > 20 || (s.size() > 1 && s[0] == '0')) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

// The audit head and origin of a store copy, read from the copy itself.
struct CopyHead {
  std::string origin;
  audit::TreeHead head;
};

Result<CopyHead> read_copy_head(const std::string& dir, const crypto::IdentityKey& signer,
                                const Clock& clock) {
  store::EnvOptions eo;
  eo.read_only = true;
  eo.map_size = 0;  // adopt the size recorded in the file
  GONGSHU_TRY(auto env, store::Env::open(dir, eo));
  GONGSHU_TRY(auto tables, DaemonStore::Tables::open(*env));
  CopyHead out;
  {
    GONGSHU_TRY(store::ReadTxn txn, env->begin_read());
    auto origin = tables.meta.get(txn, "audit_origin");
    if (!origin) return fail(ErrorCode::kCorrupt, "store copy: no audit origin");
    out.origin = std::string(as_chars(*origin));
  }
  // The log's databases are opened before the transaction that reads them: a transaction sees
  // only the database handles that existed when it began.
  audit::AuditLogOptions ao;
  ao.origin = out.origin;
  GONGSHU_TRY(auto log, audit::AuditLog::open(*env, signer, ao, clock));
  {
    GONGSHU_TRY(store::ReadTxn txn, env->begin_read());
    out.head = log->head(txn);
  }
  return out;
}

}  // namespace

std::string manifest_text(const BackupManifest& m) {
  std::string t;
  t.append("format ").append(std::to_string(m.format)).push_back('\n');
  t.append("origin ").append(m.origin).push_back('\n');
  t.append("tree_size ").append(std::to_string(m.tree_size)).push_back('\n');
  t.append("root ").append(base64_encode(m.root)).push_back('\n');
  t.append("data_sha256 ").append(hex_encode(m.data_sha256)).push_back('\n');
  t.append("data_length ").append(std::to_string(m.data_length)).push_back('\n');
  t.append("created_at_ms ").append(std::to_string(m.created_at_ms)).push_back('\n');
  t.append("daemon_key ").append(m.daemon_key.hex()).push_back('\n');
  return t;
}

Result<BackupHeader> read_backup_header(const std::string& path) {
  GONGSHU_TRY(Fd fd, Fd::open(path, O_RDONLY));
  GONGSHU_TRY(uint64_t size, file_size(fd, path));
  GONGSHU_TRY(Bytes head, with_context(fd.read_up_to(kMaxBackupHeader), "read " + path));
  std::string_view text(reinterpret_cast<const char*>(head.data()), head.size());
  auto bad = [&](const std::string& why) {
    return fail(ErrorCode::kCorrupt, path + ": not a valid backup: " + why);
  };
  if (text.substr(0, kBackupMagic.size()) != kBackupMagic)
    return bad("it does not start with " + std::string("GSBACKUP1"));
  size_t pos = kBackupMagic.size();
  // The manifest's lines in their fixed order, then the signature line.
  static constexpr std::string_view kFields[] = {"format",        "origin",      "tree_size",
                                                 "root",          "data_sha256", "data_length",
                                                 "created_at_ms", "daemon_key",  "signature"};
  BackupHeader h;
  h.file_size = size;
  size_t signed_start = pos;
  for (std::string_view field : kFields) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos)
      return bad("the header is cut off before '" + std::string(field) + "'");
    std::string_view line = text.substr(pos, nl - pos);
    if (line.substr(0, field.size()) != field || line.size() <= field.size() ||
        line[field.size()] != ' ') {
      return bad("expected field '" + std::string(field) + "' at byte " + std::to_string(pos));
    }
    std::string_view value = line.substr(field.size() + 1);
    std::string fname(field);
    if (field == "signature")
      h.signed_text = std::string(text.substr(signed_start, pos - signed_start));
    pos = nl + 1;
    BackupManifest& m = h.manifest;
    uint64_t n = 0;
    if (field == "format") {
      if (!parse_u64(value, n)) return bad("format is not a number");
      if (n != kBackupFormat)
        return bad("format " + std::string(value) + " is not supported (1 is)");
      m.format = static_cast<uint32_t>(n);
    } else if (field == "origin") {
      if (value.empty() || value.find(' ') != std::string_view::npos) return bad("bad origin");
      m.origin = std::string(value);
    } else if (field == "tree_size" || field == "data_length" || field == "created_at_ms") {
      if (!parse_u64(value, n)) return bad(fname + " is not a number");
      if (field == "tree_size") m.tree_size = n;
      if (field == "data_length") m.data_length = n;
      if (field == "created_at_ms") {
        if (n > uint64_t(INT64_MAX)) return bad("created_at_ms is out of range");
        m.created_at_ms = static_cast<int64_t>(n);
      }
    } else if (field == "root") {
      auto raw = base64_decode(value);
      if (!raw || raw->size() != m.root.size()) return bad("root is not 32 bytes of base64");
      std::memcpy(m.root.data(), raw->data(), m.root.size());
    } else if (field == "data_sha256") {
      auto raw = hex_decode(value);
      if (!raw || raw->size() != m.data_sha256.size()) return bad("data_sha256 is not 64 hex");
      std::memcpy(m.data_sha256.data(), raw->data(), m.data_sha256.size());
    } else if (field == "daemon_key") {
      auto key = crypto::PublicKey::from_hex(value);
      if (!key) return bad("daemon_key: " + key.error().message());
      m.daemon_key = *key;
    } else if (field == "signature") {
      auto raw = base64_decode(value);
      if (!raw || raw->size() != h.signature.size())
        return bad("signature is not 64 bytes of base64");
      std::memcpy(h.signature.data(), raw->data(), h.signature.size());
    }
  }
  h.data_offset = pos;
  uint64_t data_here = size - h.data_offset;
  if (data_here != h.manifest.data_length) {
    return fail(ErrorCode::kCorrupt,
                path + ": " +
                    (data_here < h.manifest.data_length ? "truncated" : "trailing bytes") +
                    ": the file holds " + std::to_string(data_here) +
                    " bytes of data, its manifest says " + std::to_string(h.manifest.data_length));
  }
  return h;
}

namespace {
// Staged backups in staging_dir touched within kAbandonedAfter: downloads in progress.
size_t staged_in_progress(const std::string& staging_dir) {
  std::error_code ec;
  const auto now = std::filesystem::file_time_type::clock::now();
  size_t n = 0;
  for (const auto& f : std::filesystem::directory_iterator(staging_dir, ec)) {
    const std::string name = f.path().filename().string();
    if (name.starts_with(kStagedPrefix) && name.ends_with(kStagedSuffix) &&
        now - last_touched(f.path()) <= kAbandonedAfter)
      ++n;
  }
  return n;
}
}  // namespace

Result<std::string> staged_backup_path(const std::string& staging_dir, std::string_view id) {
  if (id.size() != 16 || id.find_first_not_of("0123456789abcdef") != std::string_view::npos)
    return fail(ErrorCode::kInvalidArgument, "backup id '" + std::string(id.substr(0, 32)) +
                                                 "' is not 16 lowercase hex characters");
  return staging_dir + "/" + std::string(kStagedPrefix) + std::string(id) +
         std::string(kStagedSuffix);
}

Result<StagedBackup> create_backup(DaemonStore& store, const std::string& staging_dir) {
  std::error_code ec;
  std::filesystem::create_directories(staging_dir, ec);
  if (ec) return fail(ErrorCode::kIo, "create " + staging_dir + ": " + ec.message());
  if (::chmod(staging_dir.c_str(), 0700) != 0) return fail_errno("chmod " + staging_dir, errno);
  // What is left here untouched for long is from a backup whose download was abandoned; a
  // staged backup still being downloaded stays (two replicas re-seeding at once each keep
  // their own).
  const auto now = std::filesystem::file_time_type::clock::now();
  for (const auto& f : std::filesystem::directory_iterator(staging_dir, ec))
    if (now - last_touched(f.path()) > kAbandonedAfter) std::filesystem::remove_all(f.path(), ec);

  StagedBackup out;
  {
    crypto::SecretBytes r = crypto::SecretBytes::random(8);
    out.id = hex_encode(ByteView(r.data(), r.size()));
  }
  GONGSHU_TRY(out.path, staged_backup_path(staging_dir, out.id));
  GONGSHU_TRY(std::string copy_dir, make_temp_dir(staging_dir, "copy-"));
  RemoveOnExit remove_copy(copy_dir);
  GONGSHU_RETURN_IF_ERROR(with_context(store.env().copy_to(copy_dir), "backup"));
  GONGSHU_TRY(CopyHead head,
              with_context(read_copy_head(copy_dir, store.daemon_key(), store.clock()),
                           "backup: open the copy"));

  std::string data_path = copy_dir + "/data.mdb";
  GONGSHU_TRY(Fd data, Fd::open(data_path, O_RDONLY));
  GONGSHU_TRY(uint64_t data_len, file_size(data, data_path));
  crypto::Sha256 hash;
  GONGSHU_RETURN_IF_ERROR(copy_hashing(data, nullptr, data_len, hash, "backup: hash the copy"));

  BackupManifest& m = out.manifest;
  m.origin = head.origin;
  m.tree_size = head.head.size;
  m.root = head.head.root;
  m.data_sha256 = hash.finish();
  m.data_length = data_len;
  m.created_at_ms = store.clock().now_ms();
  m.daemon_key = store.daemon_key().public_key();
  std::string text = manifest_text(m);
  crypto::Signature sig = store.daemon_key().sign(kBackupDomain, as_bytes(text));
  std::string header = std::string(kBackupMagic) + text + "signature " + base64_encode(sig) + "\n";

  RemoveOnExit remove_partial(out.path);
  GONGSHU_TRY(Fd file, Fd::open(out.path, O_WRONLY | O_CREAT | O_EXCL, 0600));
  GONGSHU_RETURN_IF_ERROR(with_context(file.write_all(as_bytes(header)), "backup: write"));
  if (::lseek(data.get(), 0, SEEK_SET) != 0) return fail_errno("backup: seek " + data_path, errno);
  crypto::Sha256 again;
  GONGSHU_RETURN_IF_ERROR(copy_hashing(data, &file, data_len, again, "backup: write"));
  // The copy cannot change under us (it is private), but the disk can lie: check what was read.
  if (again.finish() != m.data_sha256)
    return fail(ErrorCode::kIo, "backup: the copy changed while it was written out");
  out.size = header.size() + data_len;
  remove_partial.keep();
  return out;
}

Result<FileChunk> read_file_chunk(const std::string& path, uint64_t offset, size_t max) {
  GONGSHU_TRY(Fd fd, Fd::open(path, O_RDONLY));
  GONGSHU_TRY(uint64_t size, file_size(fd, path));
  if (offset > size) {
    return fail(ErrorCode::kInvalidArgument, "offset " + std::to_string(offset) +
                                                 " is beyond the end (" + std::to_string(size) +
                                                 " bytes)");
  }
  if (::lseek(fd.get(), static_cast<off_t>(offset), SEEK_SET) < 0)
    return fail_errno("seek " + path, errno);
  FileChunk c;
  GONGSHU_TRY(c.data, fd.read_up_to(max));
  c.total = size;
  c.last = offset + c.data.size() >= size;
  return c;
}

Reply backup(ApiContext& ctx, const Caller& c, const v1::BackupRequest& req,
             v1::ApiResponse& resp) {
  if (auto r = ctx.require(c, "make backups", {"operator"}); !r) return r;
  const std::string& dir = ctx.options.backups_dir;
  if (dir.empty()) return refuse(v1::API_UNAVAILABLE, "this daemon has no backup directory");
  auto* out = resp.mutable_backup();
  std::string path;
  if (req.backup_id().empty()) {
    if (req.offset() != 0) return refuse(v1::API_BAD_REQUEST, "a new backup starts at offset 0");
    if (size_t n = staged_in_progress(dir); n >= kMaxStagedBackups)
      return refuse(v1::API_UNAVAILABLE,
                    std::to_string(n) +
                        " backups are being downloaded from this daemon, the most it stages at "
                        "once (each is a full copy of the store); try again when one finishes, "
                        "or once an abandoned one is 10 minutes old");
    auto staged = create_backup(ctx.store, dir);
    if (!staged) return tl::unexpected(from_error(staged.error()));
    const BackupManifest& m = staged->manifest;
    auto e = entry_for(c, "backup");
    add_ref(e, "backup", staged->id);
    add_ref(e, "tree_size", std::to_string(m.tree_size));
    add_ref(e, "root", base64_encode(m.root));
    add_ref(e, "data_sha256", hex_encode(m.data_sha256));
    e.set_detail("hot backup of " + std::to_string(m.data_length) +
                 " bytes of store data streamed to the operator");
    // No unaudited backup leaves the daemon.
    if (auto s = ctx.audit(std::move(e)); !s) {
      ::unlink(staged->path.c_str());
      return tl::unexpected(from_error(s.error()));
    }
    path = staged->path;
    out->set_backup_id(staged->id);
    out->set_tree_size(m.tree_size);
    out->set_root(base64_encode(m.root));
    out->set_data_sha256(hex_encode(m.data_sha256));
  } else {
    auto p = staged_backup_path(dir, req.backup_id());
    if (!p) return refuse(v1::API_BAD_REQUEST, p.error().message());
    if (::access(p->c_str(), R_OK) != 0)
      return refuse(v1::API_NOT_FOUND, "no staged backup " + req.backup_id() +
                                           " (finished, or abandoned: untouched for 10 minutes)");
    path = *p;
    (void)::utimensat(AT_FDCWD, path.c_str(), nullptr, 0);  // in use: not abandoned
    out->set_backup_id(req.backup_id());
  }
  auto chunk = read_file_chunk(path, req.offset(), ctx.options.export_chunk);
  if (!chunk) return tl::unexpected(from_error(chunk.error()));
  out->set_data(chunk->data.data(), chunk->data.size());
  out->set_last(chunk->last);
  out->set_total_bytes(chunk->total);
  if (chunk->last) ::unlink(path.c_str());
  return {};
}

Result<RestoreReport> restore_backup(const RestoreOptions& options, const Clock& clock) {
  const std::string& dir = options.state_dir;
  const std::string live_store = dir + "/store";
  bool existing = ::access((live_store + "/data.mdb").c_str(), F_OK) == 0;
  if (existing && !options.force) {
    return fail(ErrorCode::kAlreadyExists,
                dir +
                    " already holds a store; refusing to overwrite it (stop gongshud, keep a "
                    "copy, and pass --force to replace it)");
  }

  // The keys of the target state directory: the restore entry is signed with its daemon key and
  // the restored data keys must open with its master key.
  GONGSHU_TRY(crypto::KeyFile kf, crypto::load_key_file(dir + "/daemon.key"));
  if (kf.kind != crypto::KeyKind::kDaemon)
    return fail(ErrorCode::kInvalidArgument, dir + "/daemon.key: not a daemon key");
  // The daemon's own rule: --master-key, else $CREDENTIALS_DIRECTORY/master.key (so a
  // `systemd-run -p LoadCredential=master.key:...` restore finds the credential), else DIR's.
  DaemonConfig where;
  where.state_dir = dir;
  where.master_key = options.master_key_path;
  std::string master_path = where.master_key_path();
  GONGSHU_TRY(crypto::SecretBytes master,
              crypto::load_secret_file(master_path, crypto::kDataKeySize));
  crypto::PublicKey trusted = kf.key.public_key();
  if (!options.trusted_daemon_key.empty()) {
    GONGSHU_TRY(trusted, with_context(crypto::PublicKey::from_hex(options.trusted_daemon_key),
                                      "--daemon-key"));
  }

  // 1. The manifest: well-formed, from the trusted key, signed.
  GONGSHU_TRY(BackupHeader h, read_backup_header(options.from));
  const BackupManifest& m = h.manifest;
  if (m.daemon_key != trusted) {
    return fail(ErrorCode::kPermissionDenied, options.from + ": the manifest names daemon key " +
                                                  m.daemon_key.key_id() + ", not the trusted key " +
                                                  trusted.key_id());
  }
  if (!crypto::verify(trusted, kBackupDomain, as_bytes(h.signed_text), h.signature)) {
    return fail(ErrorCode::kCorrupt, options.from +
                                         ": the manifest's signature does not verify with daemon "
                                         "key " +
                                         trusted.key_id() + " (altered or signed by another key)");
  }
  if (kf.key.public_key() != m.daemon_key) {
    return fail(ErrorCode::kInvalidArgument,
                dir + "/daemon.key (" + kf.key.public_key().key_id() +
                    ") is not the key of the daemon that made the backup (" +
                    m.daemon_key.key_id() + "); copy that daemon's key files into " + dir);
  }

  // 2. The data: copied into a private directory inside the state directory, hashed on the way.
  GONGSHU_TRY(std::string tmp, make_temp_dir(dir, ".restore-"));
  RemoveOnExit remove_tmp(tmp);
  std::string new_store = tmp + "/store";
  if (::mkdir(new_store.c_str(), 0700) != 0) return fail_errno("create " + new_store, errno);
  {
    GONGSHU_TRY(Fd in, Fd::open(options.from, O_RDONLY));
    if (::lseek(in.get(), static_cast<off_t>(h.data_offset), SEEK_SET) < 0)
      return fail_errno("seek " + options.from, errno);
    GONGSHU_TRY(Fd out, Fd::open(new_store + "/data.mdb", O_WRONLY | O_CREAT | O_EXCL, 0600));
    crypto::Sha256 hash;
    GONGSHU_RETURN_IF_ERROR(
        copy_hashing(in, &out, m.data_length, hash, "restore: copy " + options.from));
    if (hash.finish() != m.data_sha256) {
      return fail(ErrorCode::kCorrupt, options.from +
                                           ": the data's SHA-256 does not match the signed "
                                           "manifest (the data was altered)");
    }
    GONGSHU_RETURN_IF_ERROR(out.sync());
  }

  // 3. The restored store: the whole audit log verified, and it is the log the manifest names.
  RestoreReport report;
  report.manifest = m;
  {
    StoreOptions so;
    so.state_dir = tmp;
    so.audit_origin = m.origin;
    // The datasets' key shares are the state directory's: never in a backup, so a dataset
    // destroyed since the backup was taken stays unreadable in it (daemon/destroy.h).
    so.keyring_dir = options.state_dir + "/keyring";
    GONGSHU_TRY(auto store, with_context(DaemonStore::open(so, kf.key, std::move(master), clock),
                                         "restore: open the restored store"));
    {
      GONGSHU_TRY(store::ReadTxn txn, store->env().begin_read());
      audit::TreeHead head = store->audit().head(txn);
      if (store->audit().origin() != m.origin)
        return fail(ErrorCode::kCorrupt, "restore: the store's audit origin '" +
                                             store->audit().origin() + "' is not the manifest's '" +
                                             m.origin + "'");
      if (head.size != m.tree_size || head.root != m.root) {
        return fail(ErrorCode::kCorrupt,
                    "restore: the restored audit head (size " + std::to_string(head.size) +
                        ") is not the manifest's (size " + std::to_string(m.tree_size) + ")");
      }
      std::string export_path = tmp + "/audit-check.gsa";
      GONGSHU_RETURN_IF_ERROR(with_context(
          audit::export_log(store->audit(), txn, 1, head.size, export_path), "restore: audit"));
      audit::VerifyOptions vo;
      vo.key = m.daemon_key;
      for (const std::string& hex : options.audit_keys) {
        GONGSHU_TRY(crypto::PublicKey k,
                    with_context(crypto::PublicKey::from_hex(hex), "--audit-key"));
        vo.more_keys.push_back(k);
      }
      audit::VerifyReport v = audit::verify_export(export_path, vo);
      ::unlink(export_path.c_str());
      if (v.status != audit::VerifyStatus::kOk) {
        return fail(ErrorCode::kCorrupt,
                    "restore: the restored audit log does not verify" +
                        (v.failing_seq ? " at entry " + std::to_string(v.failing_seq) : "") + ": " +
                        v.reason);
      }
      if (v.tree_size != m.tree_size || v.root != m.root) {
        return fail(ErrorCode::kCorrupt,
                    "restore: the verified audit log (size " + std::to_string(v.tree_size) +
                        ") does not match the manifest (size " + std::to_string(m.tree_size) + ")");
      }
      report.verified_entries = v.entries;
      report.checkpoints = v.checkpoints;
      // The master key must open what it protects, or every record is unreadable. A dataset
      // whose key share is gone was destroyed: it stays unreadable, and is reported.
      auto cur = store->db().datasets.cursor(txn);
      for (auto e = cur.first(); e; e = cur.next()) {
        std::string dataset(as_chars(e->key));
        auto k = store->data_key(txn, dataset);
        if (k) continue;
        if (k.error().code() == ErrorCode::kNotFound) {
          report.shredded.push_back(dataset);
          continue;
        }
        return fail(ErrorCode::kPermissionDenied,
                    "restore: " + master_path + " does not open the restored data keys (" +
                        k.error().message() + "); use the master key of the backed-up daemon");
      }
    }
    // 4. Recorded in the restored log itself, and covered by a checkpoint — unless it re-seeds a
    // replica, whose store must stay its primary's byte for byte (docs/replication.md §6).
    GONGSHU_RETURN_IF_ERROR(store->env().update([&](store::WriteTxn& txn) -> Status {
      if (options.replica) return {};
      v1::AuditEntry e;
      e.mutable_principal()->set_key_id(kf.key.public_key().key_id());
      e.mutable_principal()->set_role("daemon");
      e.set_action("restore");
      auto ref = [&](std::string kind, std::string value) {
        auto* r = e.add_refs();
        r->set_kind(std::move(kind));
        r->set_value(std::move(value));
      };
      ref("tree_size", std::to_string(m.tree_size));
      ref("root", base64_encode(m.root));
      ref("data_sha256", hex_encode(m.data_sha256));
      ref("backup_created_at_ms", std::to_string(m.created_at_ms));
      e.set_detail("store restored from a backup of " + format_utc(m.created_at_ms * 1'000'000) +
                   "; audit log verified (" + std::to_string(report.verified_entries) +
                   " entries)");
      GONGSHU_TRY(audit::Appended a, store->audit().append(txn, e));
      report.restore_seq = a.seq;
      GONGSHU_RETURN_IF_ERROR(store->audit().checkpoint(txn));
      return {};
    }));
  }

  // 5. Into place: the old store (if forced) moves aside into the temporary directory, which is
  // removed with it; the verified one takes its name.
  if (::access(live_store.c_str(), F_OK) == 0) {
    if (::rename(live_store.c_str(), (tmp + "/replaced-store").c_str()) != 0)
      return fail_errno("move " + live_store + " aside", errno);
    report.replaced = existing;
  }
  ::unlink((new_store + "/lock.mdb").c_str());
  if (::rename(new_store.c_str(), live_store.c_str()) != 0)
    return fail_errno("move the restored store to " + live_store, errno);
  GONGSHU_RETURN_IF_ERROR(sync_dir(dir));
  return report;
}

}  // namespace gongshu::daemon
