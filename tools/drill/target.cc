#include "tools/drill/target.h"

#include <toml++/toml.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/util/i18n.h"

namespace gongshu::drill {

namespace {

Result<toml::table> read_config(const std::string& path) {
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  if (ec) return fail(ErrorCode::kNotFound, path + ": " + ec.message());
  if (size > (1u << 20)) {
    // English as the other reasons here: it can reach the signed report's scenario error
    // (Sandbox::create in --systemd mode), whose bytes must not depend on LANG.
    return fail(ErrorCode::kResourceExhausted, path + ": larger than 1 MiB");  // i18n-exempt
  }
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    return toml::parse(ss.str(), path);
  } catch (const toml::parse_error& e) {
    return fail(ErrorCode::kInvalidArgument, path + ":" + std::to_string(e.source().begin.line) +
                                                 ": " + std::string(e.description()));
  }
}

}  // namespace

Result<std::string> daemon_state_dir(const std::string& path) {
  GONGSHU_TRY(toml::table root, read_config(path));
  return root.at_path("daemon.state_dir").value_or(std::string("/var/lib/gongshud"));
}

Status systemd_drills_allowed(const std::string& path) {
  GONGSHU_TRY(toml::table root, read_config(path));
  const toml::node* n = root.at_path("drill.allowed").node();
  auto refusal = [&](const std::string& why) {
    return fail(ErrorCode::kPermissionDenied,
                trf("drills are not allowed on this host: {} must say `[drill] allowed = true` "
                    "(only ever on a staging host, never on production; docs/drills.md); {}",
                    path, why));
  };
  if (!n) return refusal(tr("it has no [drill] allowed"));
  if (!n->is_boolean()) return refusal(trf("line {} is not true or false", n->source().begin.line));
  if (!*n->value<bool>()) return refusal(tr("it says false"));
  return {};
}

}  // namespace gongshu::drill
