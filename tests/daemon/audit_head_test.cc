// The audit head's handlers (daemon/audit_head.h) over a real store, without a socket.
#include "daemon/audit_head.h"

#include <catch2/catch.hpp>

#include "tests/daemon/handler_fixture.h"

namespace gongshu::daemon {
namespace {

using testing::HandlerFixture;

TEST_CASE("a checkpoint on demand is audited, signed, and then the head") {
  HandlerFixture h;
  auto officer = h.caller_of(h.add_principal("officer"));
  auto agent = h.caller_of(h.add_principal("agent", "sjz-gongan"));

  v1::ApiResponse resp;
  auto none = audit_head(*h.ctx, agent, resp);
  REQUIRE(!none);
  CHECK(none.error().code == v1::API_NOT_FOUND);

  uint64_t before = h.audit_size();
  REQUIRE(audit_checkpoint(*h.ctx, officer, resp));
  const std::string note = resp.audit_head().checkpoint();
  CHECK(!note.empty());
  auto audited = h.audit_after(before);
  REQUIRE(audited.size() == 1);
  CHECK(audited[0].action() == "audit_checkpoint");
  // The note covers the entry that asked for it.
  CHECK(note.find("\n" + std::to_string(before + 1) + "\n") != std::string::npos);

  v1::ApiResponse head;
  REQUIRE(audit_head(*h.ctx, agent, head));
  CHECK(head.audit_head().checkpoint() == note);

  // Agents read the head but do not sign checkpoints; the refusal is audited.
  before = h.audit_size();
  v1::ApiResponse denied;
  CHECK(audit_checkpoint(*h.ctx, agent, denied).error().code == v1::API_DENIED);
  REQUIRE(h.audit_size() == before + 1);
  CHECK(h.audit_after(before)[0].decision() == v1::DECISION_DENY);
}

}  // namespace
}  // namespace gongshu::daemon
