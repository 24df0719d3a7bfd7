// gongshuctl drill mark: the audit log's record of an emergency drill (daemon/drill_marker.h),
// written by gongshu-drill at a drill's start and end, or by an operator who rehearses by hand.
#pragma once

#include <CLI/CLI.hpp>

namespace gongshu::ctl {

void add_drill_commands(CLI::App& app, int* exit_code);

}  // namespace gongshu::ctl
