// audit export reveals nothing unless its audit entry committed (issue 13, item 5), and leaves
// nothing staged that a later chunk request could read unaudited.
#include "daemon/audit_export.h"

#include <catch2/catch.hpp>
#include <filesystem>

#include "core/crypto/sha256.h"
#include "core/util/encoding.h"
#include "tests/daemon/handler_fixture.h"

namespace gongshu::daemon {
namespace {

using testing::HandlerFixture;

TEST_CASE("audit export answers only once its audit entry committed") {
  HandlerFixture h(size_t{2} << 20);
  auto officer = h.add_principal("officer");
  v1::AuditExportRequest req;
  req.set_from_seq(1);
  req.set_to_seq(1);
  {
    v1::ApiResponse resp;
    auto r = audit_export(*h.ctx, h.caller_of(officer), req, resp);
    INFO((r ? std::string() : r.error().message));
    REQUIRE(r);
    CHECK(!resp.audit_export().data().empty());
  }
  req.set_to_seq(2);  // a range not yet staged: the next request makes and audits it
  auto pin = h.store->env().begin_read();
  REQUIRE(pin);
  h.fill_map();
  v1::AuditEntry probe;
  probe.set_action("probe");
  REQUIRE(!h.ctx->audit(probe));

  v1::ApiResponse resp;
  auto r = audit_export(*h.ctx, h.caller_of(officer), req, resp);
  CHECK(!r);
  CHECK(!resp.has_audit_export());
  // Nothing staged for a later chunk request either.
  for (const auto& f : std::filesystem::directory_iterator(h.options.exports_dir))
    CHECK(f.path().filename().string().find("export-1-2-") == std::string::npos);
  req.set_offset(1);
  v1::ApiResponse later;
  CHECK(!audit_export(*h.ctx, h.caller_of(officer), req, later));
  CHECK(!later.has_audit_export());
}

// Review (H1, leader too): a continuation (offset > 0) is served without an entry of its own only
// to the caller whose recorded request staged the file; the entry's sha256 is the digest of the
// whole file its chunks are cut from. Another officer's continuation is audited as its own export.
TEST_CASE("audit export continuations are bound to the caller's recorded export") {
  HandlerFixture h;
  h.options.export_chunk = 64;  // several chunks
  auto a = h.add_principal("officer");
  auto b = h.add_principal("officer");
  for (int i = 0; i < 4; ++i) {
    v1::AuditEntry e;
    e.set_action("probe");
    REQUIRE(h.ctx->audit(e));
  }
  v1::AuditExportRequest req;
  req.set_from_seq(1);
  req.set_to_seq(h.audit_size());
  auto chunk = [&](const crypto::IdentityKey& who, uint64_t offset) {
    v1::AuditExportRequest r = req;
    r.set_offset(offset);
    v1::ApiResponse resp;
    auto reply = audit_export(*h.ctx, h.caller_of(who), r, resp);
    INFO((reply ? std::string() : reply.error().message));
    REQUIRE(reply);
    return resp.audit_export();
  };
  auto exports_by = [&](uint64_t after, const crypto::IdentityKey& who) {
    std::vector<v1::AuditEntry> out;
    for (auto& e : h.audit_after(after))
      if (e.action() == "audit_export" && e.principal().key_id() == who.public_key().key_id())
        out.push_back(e);
    return out;
  };
  auto ref = [](const v1::AuditEntry& e, const std::string& kind) {
    for (const auto& r : e.refs())
      if (r.kind() == kind) return r.value();
    return std::string();
  };

  const uint64_t start = h.audit_size();
  std::string file;
  auto first = chunk(a, 0);
  file += first.data();
  REQUIRE(!first.last());
  REQUIRE(exports_by(start, a).size() == 1);
  // B's continuation: not A's file, unrecorded; B's own export, recorded under B.
  const uint64_t before_b = h.audit_size();
  auto other = chunk(b, 64);
  CHECK(!other.data().empty());
  CHECK(exports_by(before_b, b).size() == 1);
  // A's continuations: A's staged file (still there), no further entry; the whole file hashes to
  // the sha256 of A's entry.
  const uint64_t before_rest = h.audit_size();
  for (uint64_t at = file.size();;) {
    auto next = chunk(a, at);
    file += next.data();
    at += next.data().size();
    if (next.last()) break;
    REQUIRE(!next.data().empty());
  }
  CHECK(exports_by(before_rest, a).empty());
  const auto a_entry = exports_by(start, a).at(0);
  CHECK(ref(a_entry, "range") == "1-" + std::to_string(req.to_seq()));
  const crypto::Digest d = crypto::sha256(std::string_view(file));
  CHECK(ref(a_entry, "sha256") == hex_encode(ByteView(d.data(), d.size())));
}

}  // namespace
}  // namespace gongshu::daemon
