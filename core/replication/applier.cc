#include "core/replication/applier.h"

#include <cstring>
#include <optional>
#include <thread>

#include "core/wire/client_channel.h"
#include "core/wire/context.h"
#include "gongshu/v1/replication.pb.h"

namespace gongshu::replication {

namespace {
// A run of queued streams applied in one transaction stops growing at this many bytes.
constexpr size_t kRunBytes = size_t{64} << 20;

// The seq a write set's header claims (magic, term, then seq, big-endian), read without trusting
// the rest: so a refusal of one that does not decode still names it. 0: too short.
uint64_t claimed_seq(ByteView encoded) {
  if (encoded.size() < 20) return 0;
  uint64_t seq = 0;
  for (size_t i = 12; i < 20; ++i) seq = (seq << 8) | encoded[i];
  return seq;
}
}  // namespace

namespace {
// Checks one write set against the chain as txn sees it, writing nothing: the write set to apply
// next, or nullopt for one this node already holds (a resend: acknowledged, nothing applied).
Result<std::optional<DecodedWriteSet>> check_one(const store::Txn& txn, Changelog& changelog,
                                                 ByteView encoded, int64_t sender_term,
                                                 std::atomic<int64_t>& known_term) {
  int64_t known = known_term.load();
  if (sender_term < known)
    return fail(ErrorCode::kPermissionDenied,
                "replication: a write set sent under term " + std::to_string(sender_term) +
                    ", older than the leader term " + std::to_string(known) +
                    " this node knows: a deposed primary is refused");
  while (sender_term > known && !known_term.compare_exchange_weak(known, sender_term)) {
  }
  auto decoded = decode_write_set(encoded);
  if (!decoded)
    return fail(decoded.error().code(), "replication: write set " +
                                            std::to_string(claimed_seq(encoded)) +
                                            " (as received) refused: " + decoded.error().message());
  DecodedWriteSet ws = std::move(*decoded);
  const std::string at = "replication: write set " + std::to_string(ws.header.seq);
  if (ws.header.term > sender_term)
    return fail(ErrorCode::kPermissionDenied,
                at + " claims term " + std::to_string(ws.header.term) +
                    ", beyond its sender's term " + std::to_string(sender_term));
  const ChainHead head = changelog.head(txn);
  if (ws.header.seq <= head.seq) {
    // Applied before (a resend after a reconnect or a crash): acknowledge again, apply nothing —
    // but only the very write set this node holds.
    Hash held = head.hash;
    if (ws.header.seq < head.seq) {
      auto e = changelog.entry(txn, ws.header.seq);
      if (!e) return std::nullopt;  // trimmed here; the chain from head on is what counts
      std::memcpy(held.data(), e->data() + e->size() - 32, 32);
    }
    if (held != ws.hash)
      return fail(ErrorCode::kCorrupt, at + " differs from the one this node applied (diverged)");
    return std::nullopt;
  }
  if (ws.header.seq > head.seq + 1)
    return fail(ErrorCode::kUnavailable,
                at + " arrived after " + std::to_string(head.seq) + ": a gap");
  if (ws.header.prev_hash != head.hash)
    return fail(ErrorCode::kCorrupt,
                at + " does not chain to write set " + std::to_string(head.seq) + ": refused");
  if (ws.header.term < head.term)
    return fail(ErrorCode::kPermissionDenied, at + " has term " + std::to_string(ws.header.term) +
                                                  ", older than the applied term " +
                                                  std::to_string(head.term));
  return ws;
}
}  // namespace

Result<ChainHead> apply_write_set(store::Env& env, Changelog& changelog, ByteView encoded,
                                  int64_t sender_term, std::atomic<int64_t>& known_term) {
  const ByteView one[] = {encoded};
  AppliedRun run = apply_write_sets(env, changelog, one, sender_term, known_term);
  if (run.error) return tl::unexpected(std::move(*run.error));
  return run.head;
}

AppliedRun apply_write_sets(store::Env& env, Changelog& changelog, std::span<const ByteView> run,
                            int64_t sender_term, std::atomic<int64_t>& known_term) {
  AppliedRun out;
  size_t prefix = run.size();  // how many to apply in one transaction
  for (;;) {
    auto txn = env.begin_write_unrecorded();
    if (!txn) {
      out.error = txn.error();
      if (auto r = env.begin_read()) out.head = changelog.head(*r);  // what is on disk
      return out;
    }
    // The head on disk before the run: what is reported when nothing of it commits (a failure at
    // the first write set, a failed commit), never the head of an aborted transaction.
    const ChainHead before = changelog.head(*txn);
    out.head = before;
    size_t i = 0;
    bool partial = false;  // run[i] failed while being written: part of it may be in txn
    for (; i < prefix; ++i) {
      auto ws = check_one(*txn, changelog, run[i], sender_term, known_term);
      if (!ws) {  // refused before anything of it was written: txn holds exactly run[0, i)
        out.error = ws.error();
        break;
      }
      if (!*ws) continue;  // held already: the head stays
      if (auto s = changelog.apply(*txn, **ws, run[i]); !s) {
        out.error = s.error();
        partial = true;
        break;
      }
      out.head = (*ws)->head();
    }
    if (i == 0 && i < prefix) {  // nothing before it: the transaction is abandoned (aborted here)
      out.head = before;         // read before the failure: the txn may be unusable now
      return out;
    }
    if (partial) {
      // Some of run[i]'s ops may be in txn, or LMDB left it unusable: abandon it and apply the
      // write sets before run[i] alone (the one case where they are applied twice).
      prefix = i;
      continue;
    }
    auto committed = std::move(*txn).commit();  // fsync: only then acknowledge
    if (!committed) {
      out.error = committed.error();  // nothing of the run is applied
      out.applied = 0;
      out.head = before;  // not the aborted run's head: it is not on disk
      return out;
    }
    out.applied = i;
    changelog.applied(out.head.seq);
    return out;
  }
}

struct Applier::Impl {
  store::Env& env;
  Changelog& changelog;
  ApplierOptions options;
  std::optional<wire::Context> context;
  std::optional<wire::ClientChannel> channel;
  std::atomic<int64_t> known_term{0};
  std::atomic<bool> stopping{false};
  std::atomic<uint64_t> primary_head{0};
  std::atomic<int64_t> caught_up_ms{0};
  std::atomic<uint64_t> refusals{0};
  mutable std::mutex mu;
  ApplierState state = ApplierState::kFollowing;
  std::string reason;
  std::string last_refusal;
  std::string last_refusal_kind;  // Applier::last_refusal_kind
  uint64_t last_refused_seq = 0;
  std::string reseed_reason;  // kNeedsReseed: "behind", "diverged" or "other"
  ChainHead head;
  std::thread thread;

  Impl(store::Env& e, Changelog& c, ApplierOptions o)
      : env(e), changelog(c), options(std::move(o)) {}

  void stop_with(ApplierState s, std::string why) {
    std::lock_guard lock(mu);
    state = s;
    reason = std::move(why);
  }
  // Refuses (seq, why): tells the primary, applies nothing more until refusal_retry has passed
  // (dropping what arrives meanwhile), then says hello from the stored head.
  void refuse(uint64_t seq, const std::string& why, const char* kind) {
    v1::ReplicationMessage r;
    r.mutable_refusal()->set_seq(seq);
    // Bounded: the primary takes at most kMaxReplicaMessage from a replica.
    r.mutable_refusal()->set_reason(why.substr(0, 4096));
    send(r);
    {
      std::lock_guard lock(mu);
      state = ApplierState::kRefused;
      reason = why;
      last_refusal = why;
      last_refusal_kind = kind;
      last_refused_seq = seq;
    }
    refusals.fetch_add(1);
    const auto until = std::chrono::steady_clock::now() + options.refusal_retry;
    while (!stopping.load() && std::chrono::steady_clock::now() < until) {
      auto in = channel->receive(std::chrono::milliseconds(50));
      (void)in;  // dropped: the leader sends again from the hello
    }
    if (!stopping.load()) hello();
  }
  void send(const v1::ReplicationMessage& m) {
    std::string bytes = m.SerializeAsString();
    (void)channel->send(as_bytes(bytes));
  }
  void hello() {
    v1::ReplicationMessage m;
    auto* h = m.mutable_hello();
    ChainHead hd;
    {
      std::lock_guard lock(mu);
      hd = head;
    }
    h->set_node(options.node);
    h->set_applied_term(hd.term);
    h->set_applied_seq(hd.seq);
    h->set_applied_hash(hd.hash.data(), hd.hash.size());
    h->set_known_term(known_term.load());
    send(m);
  }
  void ack(int64_t term, uint64_t seq) {
    v1::ReplicationMessage m;
    m.mutable_ack()->set_term(term);
    m.mutable_ack()->set_applied_seq(seq);
    send(m);
  }
  void run();

  // The keyring that came with a stream (core/replication/key_shares.h), made durable before
  // any write set beside it is applied; a deposed sender's is ignored. Wipes the copies.
  Status install_key_shares(v1::ReplicationMessage& m, Bytes& raw) {
    std::vector<KeyShare> shares;
    for (auto& ks : *m.mutable_stream()->mutable_key_shares()) {
      shares.push_back({ks.name(), crypto::SecretBytes::copy_of(as_bytes(ks.share()))});
      wipe_secret(*ks.mutable_share());
    }
    wipe_secret(raw);
    KeyShares* keyring = changelog.key_shares();
    if (!keyring || m.stream().term() < known_term.load()) return {};
    return with_context(keyring->install(shares),
                        "replication: installing the leader's key shares");
  }
};

Applier::Applier(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Applier::~Applier() {
  impl_->stopping.store(true);
  if (impl_->thread.joinable()) impl_->thread.join();
  impl_->channel.reset();
  impl_->context.reset();
}

Result<std::unique_ptr<Applier>> Applier::start(store::Env& env, Changelog& changelog,
                                                const crypto::IdentityKey& node_key,
                                                ApplierOptions options) {
  auto impl = std::make_unique<Impl>(env, changelog, std::move(options));
  {
    GONGSHU_TRY(auto txn, env.begin_read());
    impl->head = changelog.head(txn);
    impl->known_term.store(impl->head.term);
  }
  GONGSHU_TRY(wire::Context ctx, wire::Context::create());
  impl->context.emplace(std::move(ctx));
  wire::ClientOptions co;
  co.max_message_size = impl->options.max_message_size;
  GONGSHU_TRY(wire::ClientChannel ch,
              wire::ClientChannel::create(*impl->context, node_key, impl->options.primary_key, co));
  impl->channel.emplace(std::move(ch));
  GONGSHU_RETURN_IF_ERROR(impl->channel->connect(impl->options.primary_endpoint));
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->run(); });
  return std::unique_ptr<Applier>(new Applier(std::move(impl)));
}

namespace {
// A message as received, parsed once: its bytes (wiped once a keyring is installed from them) and
// the message; ok false: it did not parse (dropped).
struct Received {
  Bytes raw;
  v1::ReplicationMessage m;
  bool ok = false;
  Received() = default;
  Received(Received&&) = default;
  Received& operator=(Received&&) = default;
  // A keyring message carries dataset key shares (core/replication/key_shares.h). However it is
  // dropped — applied (install_key_shares wiped it already), refused, or left pending when the
  // applier stops or re-seeds — both copies are wiped before they are freed; so is a message
  // that did not parse, whose content is unknown.
  ~Received() {
    const bool shares = m.has_stream() && m.stream().key_shares_size() > 0;
    if (shares) {
      for (auto& ks : *m.mutable_stream()->mutable_key_shares()) wipe_secret(*ks.mutable_share());
    }
    if (shares || !ok) wipe_secret(raw);
  }
};
Received parse_received(Bytes raw) {
  Received r;
  r.raw = std::move(raw);
  r.ok = r.m.ParseFromArray(r.raw.data(), static_cast<int>(r.raw.size()));
  return r;
}
}  // namespace

void Applier::Impl::run() {
  hello();
  auto last_heard = std::chrono::steady_clock::now();
  std::optional<Received> pending;  // a message received while gathering a run, not yet handled
  while (!stopping.load()) {
    std::optional<Received> got;
    if (pending) {
      got = std::move(pending);
      pending.reset();
    } else {
      auto in = channel->receive(std::chrono::milliseconds(50));
      if (!in) {
        if (in.error().code() == ErrorCode::kUnauthenticated) {
          stop_with(ApplierState::kFailed, "replication: the primary refused this node's key");
          return;
        }
        continue;
      }
      if (*in) got = parse_received(std::move(**in));
    }
    const auto now = std::chrono::steady_clock::now();
    if (!got) {
      if (now - last_heard >= options.hello_interval) {
        hello();  // the primary restarted, or our hello was lost: say where we stand again
        last_heard = now;
      }
      continue;
    }
    last_heard = now;
    if (!got->ok) continue;
    v1::ReplicationMessage& m = got->m;
    if (m.has_reseed()) {
      {
        std::lock_guard lock(mu);
        const std::string& why = m.reseed().reason();
        reseed_reason = why == "behind" || why == "diverged" ? why : "other";
      }
      stop_with(
          ApplierState::kNeedsReseed,
          "replication: the primary cannot stream to this node (" +
              m.reseed().reason().substr(0, 64) + "; it holds write sets " +
              std::to_string(m.reseed().oldest_seq()) + ".." +
              std::to_string(m.reseed().head_seq()) +
              "): restore a backup of the primary (gongshud restore --replica) and start again");
      return;
    }
    if (!m.has_stream()) continue;
    if (m.stream().leader() != options.primary_node) {
      // Only the leader this node follows may stream on this channel (its node key is pinned).
      refuse(0,
             "replication: a stream from " + m.stream().leader().substr(0, 64) + " under term " +
                 std::to_string(m.stream().term()) + ", not from the leader " +
                 options.primary_node + " this node follows: refused",
             "other-leader");
      last_heard = std::chrono::steady_clock::now();
      continue;
    }
    if (m.stream().key_shares_size() > 0) {  // the keyring first: small edit by C (key_shares.h)
      auto installed = install_key_shares(m, got->raw);
      if (!installed) {
        v1::ReplicationMessage r;
        r.mutable_refusal()->set_reason(installed.error().message().substr(0, 4096));
        send(r);
        stop_with(ApplierState::kFailed, installed.error().message());
        return;
      }
    }
    // Under load the leader streams faster than one fsync per write set: the streams already
    // queued behind this one (same leader and term, no keyring beside them) join its run, applied
    // in one transaction and acknowledged once (apply_write_sets).
    std::vector<v1::ReplicationMessage> more;
    size_t run_bytes = got->raw.size();
    while (run_bytes < kRunBytes && !stopping.load()) {
      auto next = channel->receive(std::chrono::milliseconds(0));
      if (!next || !*next) break;
      Received n = parse_received(std::move(**next));
      if (n.ok && n.m.has_stream() && n.m.stream().leader() == m.stream().leader() &&
          n.m.stream().term() == m.stream().term() && n.m.stream().key_shares_size() == 0) {
        run_bytes += n.raw.size();
        more.push_back(std::move(n.m));
        continue;
      }
      pending = std::move(n);  // handled on its own, after this run (not parsed again)
      break;
    }
    const auto& last = more.empty() ? m.stream() : more.back().stream();
    std::vector<ByteView> run;
    run.reserve(m.stream().write_sets_size());
    for (const auto& bytes : m.stream().write_sets()) run.push_back(as_bytes(bytes));
    for (const auto& n : more)
      for (const auto& bytes : n.stream().write_sets()) run.push_back(as_bytes(bytes));
    const int64_t term = m.stream().term();
    primary_head.store(last.head_seq());
    AppliedRun applied;
    if (run.empty()) {  // a heartbeat: nothing to apply, no transaction (the writer's lock)
      std::lock_guard lock(mu);
      applied.head = head;
    } else {
      applied = apply_write_sets(env, changelog, run, term, known_term);
    }
    if (!applied.error || applied.applied > 0) {  // nothing committed: the head has not moved
      std::lock_guard lock(mu);
      head = applied.head;
    }
    if (applied.error) {
      const Error& e = *applied.error;
      // The write set that failed: a run that fails stops at run[applied] (apply_write_sets
      // commits only those before it, or none), and an empty run (a heartbeat) cannot fail.
      const uint64_t seq = claimed_seq(run[applied.applied]);
      if (e.code() == ErrorCode::kUnavailable) {  // a gap: ask again from the head
        hello();
        continue;
      }
      if (e.code() == ErrorCode::kIo || e.code() == ErrorCode::kResourceExhausted ||
          e.code() == ErrorCode::kInternal) {  // local: stop for good
        v1::ReplicationMessage r;
        r.mutable_refusal()->set_seq(seq);
        r.mutable_refusal()->set_reason(e.message().substr(0, 4096));
        send(r);
        stop_with(ApplierState::kFailed, e.message());
        return;
      }
      pending.reset();  // refuse() drops what arrives until it says hello again
      refuse(seq, e.message(), e.code() == ErrorCode::kPermissionDenied ? "deposed" : "altered");
      last_heard = std::chrono::steady_clock::now();
      continue;
    }
    {
      std::lock_guard lock(mu);
      // As fresh as the leader was when it sent this (its clock): the age of this node's data.
      if (head.seq >= last.head_seq()) caught_up_ms.store(last.head_time_ms());
    }
    if (term >= known_term.load()) {
      uint64_t seq;
      {
        std::lock_guard lock(mu);
        seq = head.seq;
        if (state == ApplierState::kRefused) {
          state = ApplierState::kFollowing;  // the current leader's stream applied: following
          reason.clear();
        }
      }
      ack(term, seq);
    }
  }
}

void Applier::observe_term(int64_t term) {
  int64_t known = impl_->known_term.load();
  while (term > known && !impl_->known_term.compare_exchange_weak(known, term)) {
  }
}
int64_t Applier::known_term() const { return impl_->known_term.load(); }
ApplierState Applier::state() const {
  std::lock_guard lock(impl_->mu);
  return impl_->state;
}
std::string Applier::reason() const {
  std::lock_guard lock(impl_->mu);
  return impl_->reason;
}
ChainHead Applier::head() const {
  std::lock_guard lock(impl_->mu);
  return impl_->head;
}
std::string Applier::reseed_reason() const {
  std::lock_guard lock(impl_->mu);
  return impl_->reseed_reason;
}
uint64_t Applier::refusals() const { return impl_->refusals.load(); }
std::string Applier::last_refusal() const {
  std::lock_guard lock(impl_->mu);
  return impl_->last_refusal;
}
std::string Applier::last_refusal_kind() const {
  std::lock_guard lock(impl_->mu);
  return impl_->last_refusal_kind;
}
uint64_t Applier::last_refused_seq() const {
  std::lock_guard lock(impl_->mu);
  return impl_->last_refused_seq;
}
uint64_t Applier::primary_head() const { return impl_->primary_head.load(); }
int64_t Applier::caught_up_ms() const { return impl_->caught_up_ms.load(); }

}  // namespace gongshu::replication
