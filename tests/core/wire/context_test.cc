#include "core/wire/context.h"

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <optional>

#include <catch2/catch.hpp>

#include "tests/core/wire/wire_test_support.h"
#include "tests/support/test_support.h"

namespace gongshu::wire {
namespace {

using testing::must;

TEST_CASE("a context counts the sockets made from it") {
  auto context = must(Context::create());
  CHECK(context.open_sockets() == 0);
  auto id = crypto::IdentityKey::generate();
  auto daemon = crypto::IdentityKey::generate();
  {
    auto client = must(ClientChannel::create(context, id, daemon.public_key()));
    CHECK(context.open_sockets() == 2);  // the DEALER and the monitor reader
    Context moved = std::move(context);
    CHECK(moved.open_sockets() == 2);
    context = std::move(moved);
  }
  CHECK(context.open_sockets() == 0);
  CHECK(!Context::create(0));
}

TEST_CASE("tearing down in declaration order is prompt, even with unsent messages") {
  auto start = std::chrono::steady_clock::now();
  {
    testing::TestDaemon daemon;
    auto client_id = crypto::IdentityKey::generate();
    daemon.registry.allow(client_id.public_key(), "agent:a");
    auto client_context = must(Context::create());
    auto client = testing::connected_client(client_context, client_id, daemon);
    must(client.send(to_bytes("hello")));
    auto in = must(daemon.server.receive(std::chrono::seconds(5)));
    REQUIRE(in);
    // Replies the client never reads, and messages to a port nobody listens on: with linger 0
    // none of them holds up destruction.
    for (int i = 0; i < 100; ++i) must(daemon.server.send(in->from, Bytes(1000, 7)));
    auto lost =
        must(ClientChannel::create(client_context, client_id, daemon.identity.public_key()));
    must(lost.connect("tcp://127.0.0.1:1"));
    for (int i = 0; i < 100; ++i) must(lost.send(Bytes(1000, 7)));
  }
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(3));
}

// The child's CHECK message is expected; keep it out of the test output.
void quiet_stderr() {
  if (std::freopen("/dev/null", "w", stderr) == nullptr) ::_exit(3);
}

// Runs body in a child process and returns how it ended (setup failures exit with 2, so only
// the CHECK under test produces SIGABRT).
int run_in_child(void (*body)()) {
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // Catch2's own SIGABRT handler would report a failure from the child; die plainly instead.
    std::signal(SIGABRT, SIG_DFL);
    body();
    ::_exit(0);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  return status;
}

TEST_CASE("destroying a context before its sockets aborts instead of hanging") {
  int status = run_in_child([] {
    quiet_stderr();
    auto created = Context::create();
    if (!created) ::_exit(2);
    std::optional<Context> context(std::move(*created));
    auto id = crypto::IdentityKey::generate();
    auto client = ClientChannel::create(*context, id, id.public_key());
    if (!client) ::_exit(2);
    context.reset();  // wrong order: the client is still open
  });
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGABRT);
}

TEST_CASE("destroying a ZAP handler before its server channel aborts") {
  int status = run_in_child([] {
    quiet_stderr();
    auto context = Context::create();
    if (!context) ::_exit(2);
    auto started = ZapHandler::start(
        *context, [](const CurveKey&, std::string_view) { return std::optional<std::string>(); });
    if (!started) ::_exit(2);
    std::optional<ZapHandler> zap(std::move(*started));
    auto id = crypto::IdentityKey::generate();
    auto server = ServerChannel::create(*context, *zap, id, testing::test_server_options());
    if (!server) ::_exit(2);
    zap.reset();  // wrong order: the server still relies on it
  });
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGABRT);
}

}  // namespace
}  // namespace gongshu::wire
