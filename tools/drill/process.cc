#include "tools/drill/process.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "tools/launch/launch.h"

namespace gongshu::drill {
namespace {

// A child's environment is ours with the extra variables set or replaced, and English
// messages: the drill reads what its children print (a journal line such as "policy reload
// refused", an error's text) and its report records their output, whatever the language the
// drill itself speaks (LC_ALL overrides LANG and LC_MESSAGES; an empty LANGUAGE is unset).
// The process itself is started by tools/launch, as the benches start theirs.
Result<int> spawn(const std::vector<std::string>& argv,
                  const std::map<std::string, std::string>& env, const std::string& out_path,
                  const std::string& err_path, bool append) {
  std::map<std::string, std::string> extra = {{"LC_ALL", "C.UTF-8"}, {"LANGUAGE", ""}};
  for (const auto& [k, v] : env) extra[k] = v;
  GONGSHU_TRY(pid_t pid, launch::spawn(argv, out_path, err_path, append, extra));
  return int(pid);
}

int decode_status(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

}  // namespace

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Status write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) return fail(ErrorCode::kIo, "write " + path);
  return {};
}

std::string toml_string(const std::string& text, const std::string& key) {
  return launch::toml_string(text, key);
}

std::string command_text(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) {
    if (!s.empty()) s += ' ';
    bool quote = a.empty() || a.find_first_of(" \t\"'$") != std::string::npos;
    s += quote ? "'" + a + "'" : a;
  }
  return s;
}

Result<CommandResult> run_command(const std::vector<std::string>& argv,
                                  const std::map<std::string, std::string>& env,
                                  std::chrono::milliseconds timeout) {
  // Output goes through temporary files: no pipe can fill up and stall the child.
  char tmpl[] = "/tmp/gongshu-drill-cmd-XXXXXX";
  if (!::mkdtemp(tmpl)) {
    return tl::unexpected(Error(ErrorCode::kIo, std::string("mkdtemp: ") + std::strerror(errno)));
  }
  std::string dir = tmpl;
  auto start = std::chrono::steady_clock::now();
  auto pid = spawn(argv, env, dir + "/out", dir + "/err", false);
  auto remove_dir = [&] {
    ::unlink((dir + "/out").c_str());
    ::unlink((dir + "/err").c_str());
    ::rmdir(dir.c_str());
  };
  if (!pid) {
    remove_dir();  // the files may exist: a failed exec happens after the child opened them
    return tl::unexpected(pid.error());
  }
  int status = 0;
  auto delay = std::chrono::milliseconds(1);
  for (;;) {
    pid_t r = ::waitpid(*pid, &status, WNOHANG);
    if (r == *pid) break;
    if (std::chrono::steady_clock::now() - start > timeout) {
      ::kill(*pid, SIGKILL);
      while (::waitpid(*pid, &status, 0) < 0 && errno == EINTR) {
      }
      break;
    }
    std::this_thread::sleep_for(delay);
    delay = std::min(delay * 2, std::chrono::milliseconds(20));
  }
  CommandResult res;
  res.exit_code = decode_status(status);
  res.took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  res.out = read_text(dir + "/out");
  res.err = read_text(dir + "/err");
  remove_dir();
  return res;
}

Result<Child> Child::start(const std::vector<std::string>& argv, const std::string& log_path,
                           const std::map<std::string, std::string>& env) {
  GONGSHU_TRY(int pid, spawn(argv, env, log_path, log_path, true));
  return Child(pid);
}

Child::Child(Child&& o) noexcept : pid_(o.pid_), status_(o.status_), reaped_(o.reaped_) {
  o.reaped_ = true;
}

Child& Child::operator=(Child&& o) noexcept {
  if (this != &o) {
    if (!reaped_ && pid_ > 0) {
      ::kill(pid_, SIGKILL);
      wait();
    }
    pid_ = o.pid_;
    status_ = o.status_;
    reaped_ = o.reaped_;
    o.reaped_ = true;
  }
  return *this;
}

Child::~Child() {
  if (!reaped_ && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    wait();
  }
}

void Child::signal(int sig) const {
  if (!reaped_) ::kill(pid_, sig);
}

int Child::wait() {
  if (!reaped_) {
    while (::waitpid(pid_, &status_, 0) < 0 && errno == EINTR) {
    }
    reaped_ = true;
  }
  return decode_status(status_);
}

bool Child::running() {
  if (reaped_) return false;
  if (::waitpid(pid_, &status_, WNOHANG) == pid_) reaped_ = true;
  return !reaped_;
}

}  // namespace gongshu::drill
