#include "agent/config.h"

#include <filesystem>
#include <limits>
#include <set>

#include <toml++/toml.h>

#include "core/util/fd.h"
#include "core/util/i18n.h"

namespace gongshu::agent {
namespace {

constexpr size_t kMaxConfigBytes = 1 << 20;

std::string where(const std::string& file, const toml::source_region& src) {
  return file + ":" + std::to_string(src.begin.line);
}

// Walks the parsed document, collecting the first error with its line.
class Reader {
 public:
  Reader(const toml::table& root, std::string file) : root_(root), file_(std::move(file)) {}

  const toml::table* table(const char* name, const std::set<std::string>& keys) {
    const toml::node* n = root_.get(name);
    if (!n) return nullptr;
    const toml::table* t = n->as_table();
    if (!t) {
      error(n->source(), trf("[{}] must be a table", name));
      return nullptr;
    }
    for (const auto& [k, v] : *t) {
      if (!keys.count(std::string(k.str()))) {
        error(v.source(), trf("[{}] unknown key '{}'", name, std::string(k.str())));
      }
    }
    return t;
  }

  void check_top(const std::set<std::string>& tables) {
    for (const auto& [k, v] : root_) {
      if (!tables.count(std::string(k.str()))) {
        error(v.source(), trf("unknown table or key '{}'", std::string(k.str())));
      }
    }
  }

  void str(const toml::table* t, const char* table, const char* key, std::string* out) {
    if (!t) return;
    const toml::node* n = t->get(key);
    if (!n) return;
    if (auto v = n->value<std::string>()) {
      *out = *v;
    } else {
      error(n->source(), trf("[{}] {}: must be a string", table, key));
    }
  }

  template <typename T>
  void num(const toml::table* t, const char* table, const char* key, T* out, int64_t lo,
           int64_t hi) {
    if (!t) return;
    const toml::node* n = t->get(key);
    if (!n) return;
    auto v = n->value_exact<int64_t>();
    if (!v) {
      error(n->source(), trf("[{}] {}: must be an integer", table, key));
      return;
    }
    if (*v < lo || *v > hi) {
      error(n->source(), trf("[{}] {}: must be {}..{}", table, key, lo, hi));
      return;
    }
    *out = static_cast<T>(*v);
  }

  void error(const toml::source_region& src, const std::string& message) {
    if (error_.empty()) error_ = where(file_, src) + ": " + message;
  }
  void error_at_file(const std::string& message) {
    if (error_.empty()) error_ = file_ + ": " + message;
  }
  const std::string& first_error() const { return error_; }

 private:
  const toml::table& root_;
  std::string file_;
  std::string error_;
};

std::string resolve(const std::string& base_dir, const std::string& p) {
  if (p.empty() || p[0] == '/') return p;
  return (std::filesystem::path(base_dir) / p).lexically_normal().string();
}

}  // namespace

Result<AgentConfig> parse_config(std::string_view text, const std::string& path) {
  if (text.size() > kMaxConfigBytes) {
    return fail(ErrorCode::kInvalidArgument, trf("{}: larger than 1 MiB", path));
  }
  toml::table root;
  try {
    root = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    return fail(ErrorCode::kInvalidArgument,
                where(path, e.source()) + ": " + std::string(e.description()));
  }
  AgentConfig c;
  c.path = path;
  Reader r(root, path);
  r.check_top({"agent", "daemon", "batch", "limits"});
  const toml::table* agent =
      r.table("agent", {"state_dir", "key_file", "drop_dir", "drop_encoding", "ipc", "hostname"});
  const toml::table* daemon = r.table("daemon", {"api", "ingest", "public_key", "cluster_ingest"});
  const toml::table* batch = r.table("batch", {"max_records", "max_delay_ms", "window"});
  const toml::table* limits = r.table(
      "limits", {"max_line_bytes", "ack_timeout_ms", "shutdown_timeout_ms", "catalog_refresh_s",
                 "drop_rescan_ms", "spool_max_bytes", "cluster_probe_ms"});
  r.str(agent, "agent", "state_dir", &c.state_dir);
  r.str(agent, "agent", "key_file", &c.key_file);
  r.str(agent, "agent", "drop_dir", &c.drop_dir);
  std::string drop_encoding;
  r.str(agent, "agent", "drop_encoding", &drop_encoding);
  std::string ipc;
  r.str(agent, "agent", "ipc", &ipc);
  r.str(agent, "agent", "hostname", &c.hostname);
  r.str(daemon, "daemon", "api", &c.daemon_api);
  r.str(daemon, "daemon", "ingest", &c.daemon_ingest);
  r.str(daemon, "daemon", "public_key", &c.daemon_public_key);
  if (const toml::node* n = daemon ? daemon->get("cluster_ingest") : nullptr) {
    const toml::array* a = n->as_array();
    if (!a) r.error(n->source(), tr("[daemon] cluster_ingest: must be a list of ingest endpoints"));
    for (size_t i = 0; a && i < a->size(); ++i) {
      auto v = (*a)[i].value<std::string>();
      if (!v || v->empty()) {
        r.error((*a)[i].source(),
                tr("[daemon] cluster_ingest: must be a list of ingest endpoints"));
        break;
      }
      c.daemon_cluster_ingest.push_back(*v);
    }
  }
  r.num(batch, "batch", "max_records", &c.batch.max_records, 1, 10'000);
  r.num(batch, "batch", "max_delay_ms", &c.batch.max_delay_ms, 1, 60'000);
  r.num(batch, "batch", "window", &c.batch.window, 1, 64);
  r.num(limits, "limits", "max_line_bytes", &c.limits.max_line_bytes, 1024, 16 << 20);
  r.num(limits, "limits", "ack_timeout_ms", &c.limits.ack_timeout_ms, 100, 3'600'000);
  r.num(limits, "limits", "cluster_probe_ms", &c.limits.cluster_probe_ms, 0, 600'000);
  r.num(limits, "limits", "shutdown_timeout_ms", &c.limits.shutdown_timeout_ms, 0, 600'000);
  r.num(limits, "limits", "catalog_refresh_s", &c.limits.catalog_refresh_s, 1, 86'400);
  r.num(limits, "limits", "drop_rescan_ms", &c.limits.drop_rescan_ms, 10, 3'600'000);
  r.num(limits, "limits", "spool_max_bytes", &c.limits.spool_max_bytes, int64_t{64} << 20,
        std::numeric_limits<int64_t>::max());
  if (!agent) {
    r.error_at_file(tr("missing [agent] table (it needs at least state_dir)"));
  } else if (c.state_dir.empty()) {
    r.error(agent->source(), tr("[agent] state_dir is required"));
  }
  if (!drop_encoding.empty()) {
    if (auto e = parse_encoding(drop_encoding); e) {
      c.drop_encoding = *e;
    } else {
      r.error(agent->get("drop_encoding")->source(),
              tr("[agent] drop_encoding: must be auto, utf-8 or gb18030"));
    }
  }
  if (!ipc.empty()) {
    constexpr std::string_view kIpc = "ipc://";
    c.ipc_path = ipc.starts_with(kIpc) ? ipc.substr(kIpc.size()) : ipc;
    if (c.ipc_path.empty() || c.ipc_path.size() > 100) {
      r.error(agent->get("ipc")->source(),
              tr("[agent] ipc: must be ipc:///absolute/path (at most 100 characters)"));
    }
  }
  if (!r.first_error().empty()) return fail(ErrorCode::kInvalidArgument, r.first_error());

  std::string base = std::filesystem::path(path).parent_path().string();
  if (base.empty()) base = ".";
  c.state_dir = resolve(base, c.state_dir);
  c.key_file = c.key_file.empty() ? c.state_dir + "/agent.key" : resolve(base, c.key_file);
  c.drop_dir = resolve(base, c.drop_dir);
  c.ipc_path = resolve(base, c.ipc_path);
  return c;
}

Result<AgentConfig> load_config(const std::string& path) {
  GONGSHU_TRY(Bytes text, with_context(read_file(path, kMaxConfigBytes), "config " + path));
  return parse_config(as_chars(text), path);
}

}  // namespace gongshu::agent
