// Where a drill runs. The sandbox (the default) is a throwaway platform the drill builds itself.
// The systemd target is a staging host installed from the packages, whose real units the drill
// would fault; it is allowed only when that host's gongshud configuration says so:
//
//   [drill]
//   allowed = true
//
// so a production host, whose configuration never says it, can never be hit by mistake. The
// configuration is read here with the daemon's own rule for the key (daemon/config.h); nothing
// else in it is the drill's business.
#pragma once

#include <string>

#include "core/util/error.h"

namespace gongshu::drill {

inline constexpr const char* kDefaultDaemonConfig = "/etc/gongshu/gongshud.toml";

// Ok when config_path says `[drill] allowed = true`; otherwise kPermissionDenied naming the file
// and what it says (missing, false, not a boolean), or the error reading it.
[[nodiscard]] Status systemd_drills_allowed(const std::string& config_path);

// The daemon's state directory as config_path says ([daemon] state_dir, default
// /var/lib/gongshud): where the systemd target finds daemon.info.
[[nodiscard]] Result<std::string> daemon_state_dir(const std::string& config_path);

}  // namespace gongshu::drill
