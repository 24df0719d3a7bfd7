#include "tests/core/replication/replication_node.h"

#include <cstring>

#include "core/store/cursor.h"
#include "core/store/table.h"
#include "core/store/txn.h"
#include "core/util/check.h"

// Also linked into the replica process (no Catch there): a failed step aborts.
#define NODE_CHECK(x) GONGSHU_CHECK(static_cast<bool>(x))

namespace gongshu::replication::testing {

crypto::IdentityKey test_key(uint8_t seed_byte) {
  crypto::SecretBytes seed(32);
  for (size_t i = 0; i < 32; ++i) seed.data()[i] = static_cast<uint8_t>(seed_byte + i);
  return std::move(*crypto::IdentityKey::from_seed(seed));
}

Node::Node(const std::string& dir, ChangelogOptions options, bool with_changelog)
    : signer(test_key(7)) {
  store::EnvOptions eo;
  eo.map_size = size_t{1} << 30;
  env = std::move(*store::Env::open(dir, eo));
  audit::AuditLogOptions ao;
  ao.origin = "gongshu.test/audit";
  audit = std::move(*audit::AuditLog::open(*env, signer, ao, clock));
  records = *env->open_db("records");
  latest = *env->open_db("latest");
  scratch = *env->open_db("scratch");
  cache = *env->open_db("cache");
  if (!with_changelog) return;
  auto cl = Changelog::open(*env, probe(), options);
  NODE_CHECK(cl);
  changelog = std::move(*cl);
}

AuditProbe Node::probe() {
  audit::AuditLog* log = audit.get();
  return [log](const store::Txn& txn) -> Result<AuditState> {
    auto h = log->head(txn);
    return AuditState{h.size, h.root};
  };
}

Node::~Node() {
  env->set_commit_hook(nullptr);
  changelog.reset();
  audit.reset();
  env.reset();
}

void Node::lead(int64_t term) {
  changelog->set_term(term);
  env->set_commit_hook(changelog.get());
}

uint64_t Node::write(uint64_t i) {
  auto txn = env->begin_write();
  NODE_CHECK(txn);
  std::string v = "value of " + std::to_string(i) + std::string(i % 97, 'x');
  auto slot = txn->append_reserve(records, store::u64_key(i), v.size());
  NODE_CHECK(slot);
  std::memcpy(slot->data(), v.data(), v.size());  // filled after the reserve
  NODE_CHECK(txn->put(latest, as_bytes("k" + std::to_string(i % 13)), as_bytes(v)));
  if (i > 1) NODE_CHECK(*txn->del(scratch, store::u64_key(i - 1)));  // would fail if applied twice
  NODE_CHECK(txn->insert(scratch, store::u64_key(i), as_bytes(v)));
  if (i % 10 == 0) {
    NODE_CHECK(txn->clear(cache));
    auto c = txn->write_cursor(cache);
    for (int j = 0; j < 3; ++j) NODE_CHECK(c.put(as_bytes("c" + std::to_string(j)), as_bytes(v)));
  }
  v1::AuditEntry e;
  e.set_action("ingest");
  e.set_dataset("test.records");
  e.set_detail("write " + std::to_string(i));
  NODE_CHECK(audit->append(*txn, e));
  if (i % 25 == 0) NODE_CHECK(audit->checkpoint(*txn));
  NODE_CHECK(std::move(*txn).commit());
  return changelog ? changelog->last_seq() : 0;
}

std::map<std::string, std::map<std::string, std::string>> dump(store::Env& env) {
  std::map<std::string, std::map<std::string, std::string>> out;
  for (const char* name : {"records", "latest", "scratch", "cache", "audit_entries", "audit_nodes",
                           "audit_checkpoints", "audit_meta", "repl_changelog", "repl_state"}) {
    auto db = env.open_db(name);
    NODE_CHECK(db);
    auto txn = env.begin_read();
    auto c = txn->cursor(*db);
    auto& table = out[name];
    for (auto e = c.first(); e; e = c.next())
      table.emplace(std::string(as_chars(e->key)), std::string(as_chars(e->value)));
  }
  return out;
}

}  // namespace gongshu::replication::testing
