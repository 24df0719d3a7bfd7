#include "core/replication/shipper.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>

#include "core/util/fd.h"
#include "core/util/wire_writer.h"
#include "core/wire/curve_key.h"
#include "core/wire/poller.h"
#include "core/wire/server_channel.h"
#include "core/wire/zap_handler.h"
#include "gongshu/v1/replication.pb.h"

namespace gongshu::replication {
namespace {

constexpr size_t kStreamBytes = size_t{4} << 20;  // write sets batched into one message

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::string stream_message(const v1::ReplicationStream& fixed, const std::vector<ByteView>& sets) {
  constexpr char kStreamTag = (2 << 3) | 2;    // ReplicationMessage.stream, length-delimited
  constexpr char kWriteSetTag = (5 << 3) | 2;  // ReplicationStream.write_sets
  const size_t head = fixed.ByteSizeLong();
  size_t inner = head;
  for (ByteView w : sets) inner += 1 + varint_size(w.size()) + w.size();
  std::string out;
  out.reserve(1 + varint_size(inner) + inner);  // exact: no append below reallocates
  out.push_back(kStreamTag);
  put_varint(out, inner);
  // Straight into `out`, not through a temporary: with the keyring, `fixed` carries every dataset
  // key share, and `out` is the one serialised copy, which the caller wipes (wipe_secret). A
  // temporary would be freed with the shares in it (and no reallocation of `out` may leave an old
  // buffer behind either: the reserve above is the exact size).
  fixed.AppendToString(&out);
  for (ByteView w : sets) {
    out.push_back(kWriteSetTag);
    put_varint(out, w.size());
    out.append(reinterpret_cast<const char*>(w.data()), w.size());
  }
  return out;
}

struct Shipper::Impl {
  store::Env& env;
  Changelog& changelog;
  ShipperOptions options;
  std::map<wire::CurveKey, std::string> nodes;  // ZAP: CURVE key -> node id

  std::optional<wire::Context> context;
  std::optional<wire::ZapHandler> zap;
  std::optional<wire::ServerChannel> channel;
  std::string endpoint;
  Fd wake;
  std::atomic<bool> stopping{false};
  std::thread thread;

  struct Replica {
    std::optional<wire::RoutingId> route;
    ReplicaProgress progress;
    Clock::time_point last_sent{};
    Clock::time_point last_progress{};
    // The keyring (key_shares.h): whether a snapshot went since the last hello, and the
    // generation read before the read transaction of the message that carried it.
    bool keyring_sent = false;
    uint64_t keyring_generation = 0;
  };
  mutable std::mutex mu;  // guards replicas (the thread writes, waiters read)
  std::condition_variable acked;
  std::map<std::string, Replica> replicas;
  // One round of pumps (run()): the message streaming from a seq, made once and sent as it is
  // to every replica standing at that seq (no keyring in it): seq -> (last seq in it, bytes).
  std::map<uint64_t, std::pair<uint64_t, std::string>> round;
  std::function<void()> ack_listener;  // under mu

  Impl(store::Env& e, Changelog& c, ShipperOptions o)
      : env(e), changelog(c), options(std::move(o)) {}

  void run();
  bool handle(const wire::Incoming& in);  // true when an acknowledged seq moved
  void pump(const std::string& node, Replica& r, bool heartbeat_due);
  void send(const Replica& r, const v1::ReplicationMessage& m) {
    std::string bytes = m.SerializeAsString();
    (void)channel->send(*r.route, as_bytes(bytes));
  }
};

Shipper::Shipper(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Shipper::~Shipper() {
  impl_->stopping.store(true);
  notify();
  if (impl_->thread.joinable()) impl_->thread.join();
  impl_->channel.reset();
  impl_->zap.reset();
  impl_->context.reset();
}

Result<std::unique_ptr<Shipper>> Shipper::start(store::Env& env, Changelog& changelog,
                                                const crypto::IdentityKey& node_key,
                                                std::map<std::string, crypto::PublicKey> members,
                                                ShipperOptions options) {
  auto impl = std::make_unique<Impl>(env, changelog, std::move(options));
  for (const auto& [node, key] : members) {
    GONGSHU_TRY(wire::CurveKey ck, wire::curve_key_of(key));
    impl->nodes.emplace(ck, node);
  }
  int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) return fail(ErrorCode::kIo, "replication: eventfd failed");
  impl->wake = Fd(fd);
  GONGSHU_TRY(wire::Context ctx, wire::Context::create());
  impl->context.emplace(std::move(ctx));
  auto nodes = impl->nodes;
  GONGSHU_TRY(
      wire::ZapHandler zap,
      wire::ZapHandler::start(
          *impl->context,
          [nodes](const wire::CurveKey& k, std::string_view domain) -> std::optional<std::string> {
            if (domain != "gongshu.replication") return std::nullopt;
            auto it = nodes.find(k);
            if (it == nodes.end()) return std::nullopt;
            return it->second;
          }));
  impl->zap.emplace(std::move(zap));
  wire::ServerOptions so;
  so.zap_domain = "gongshu.replication";
  so.max_message_size = impl->options.max_message_size;
  GONGSHU_TRY(wire::ServerChannel ch,
              wire::ServerChannel::create(*impl->context, *impl->zap, node_key, so));
  impl->channel.emplace(std::move(ch));
  GONGSHU_TRY(impl->endpoint, impl->channel->bind(impl->options.bind));
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->run(); });
  return std::unique_ptr<Shipper>(new Shipper(std::move(impl)));
}

const std::string& Shipper::endpoint() const { return impl_->endpoint; }

void Shipper::notify() {
  uint64_t one = 1;
  (void)!::write(impl_->wake.get(), &one, sizeof one);
}

void Shipper::Impl::run() {
  wire::Poller poller;
  const size_t chan_index = poller.add(*channel);
  (void)chan_index;
  poller.add(wake.get());
  while (!stopping.load()) {
    auto ready = poller.wait(std::chrono::milliseconds(50));
    uint64_t drained;
    while (::read(wake.get(), &drained, sizeof drained) > 0) {
    }
    // Every message waiting, without blocking.
    for (int i = 0; i < 1024; ++i) {
      auto in = channel->receive(std::chrono::milliseconds(0));
      if (!in) continue;  // a malformed message was dropped
      if (!*in) break;
      if (handle(**in)) {
        std::function<void()> listener;
        {
          std::lock_guard lock(mu);
          listener = ack_listener;
        }
        if (listener) listener();  // outside the lock: it may ask min_acked
      }
    }
    const auto now = Clock::now();
    std::lock_guard lock(mu);
    for (auto& [node, r] : replicas) {
      if (!r.route) continue;
      pump(node, r, now - r.last_sent >= options.heartbeat);
    }
    round.clear();
  }
}

bool Shipper::Impl::handle(const wire::Incoming& in) {
  v1::ReplicationMessage m;
  if (!m.ParseFromArray(in.payload.data(), static_cast<int>(in.payload.size()))) return false;
  std::lock_guard lock(mu);
  Replica& r = replicas[in.user_id];
  r.progress.last_heard = Clock::now();
  switch (m.body_case()) {
    case v1::ReplicationMessage::kHello: {
      const auto& h = m.hello();
      if (h.node() != in.user_id) return false;  // a node speaks only for itself
      r.route = in.from;
      r.keyring_sent = false;  // a new connection, or a restarted replica: the keyring again
      r.progress.refused.clear();
      r.progress.reseed_sent = false;
      auto txn = env.begin_read();
      if (!txn) return false;
      const ChainHead head = changelog.head(*txn);
      const uint64_t applied = h.applied_seq();
      std::string reason;
      Hash applied_hash{};
      if (h.applied_hash().size() == 32)
        std::memcpy(applied_hash.data(), h.applied_hash().data(), 32);
      if (applied > head.seq) {
        reason = "diverged";  // it holds write sets this node never committed
      } else if (applied == head.seq) {
        if (applied_hash != head.hash) reason = "diverged";
      } else {
        auto next = changelog.entry(*txn, applied + 1);
        if (!next) {
          reason = "behind";
        } else {
          auto ws = decode_write_set(*next);
          if (!ws || ws->header.prev_hash != applied_hash) reason = "diverged";
        }
      }
      if (!reason.empty()) {
        v1::ReplicationMessage out;
        auto* rs = out.mutable_reseed();
        rs->set_term(changelog.term());
        rs->set_reason(reason);
        rs->set_oldest_seq(changelog.oldest(*txn));
        rs->set_head_seq(head.seq);
        send(r, out);
        r.progress.reseed_sent = true;
        return false;
      }
      r.progress.acked_seq = std::max(r.progress.acked_seq, applied);
      r.progress.sent_seq = applied;
      r.last_progress = Clock::now();
      r.last_sent = {};  // answer at once (a heartbeat if there is nothing to send)
      acked.notify_all();
      return true;
    }
    case v1::ReplicationMessage::kAck: {
      const uint64_t seq = m.ack().applied_seq();
      if (seq > r.progress.sent_seq) return false;  // cannot have applied what was never sent
      if (seq > r.progress.acked_seq) {
        r.progress.acked_seq = seq;
        r.last_progress = Clock::now();
        acked.notify_all();
        return true;
      }
      return false;
    }
    case v1::ReplicationMessage::kRefusal:
      r.progress.refused =
          "seq " + std::to_string(m.refusal().seq()) + ": " + m.refusal().reason().substr(0, 512);
      r.route.reset();  // nothing more until it says hello again
      return false;
    default:
      return false;
  }
}

void Shipper::Impl::pump(const std::string& node, Replica& r, bool heartbeat_due) {
  (void)node;
  if (r.progress.reseed_sent || !r.progress.refused.empty()) return;
  const int64_t term = changelog.term();
  if (term <= 0) return;  // not leading: ship nothing
  const auto now = Clock::now();
  // In flight for long without progress (a reconnect lost messages): send again from the ack.
  if (r.progress.sent_seq > r.progress.acked_seq &&
      now - r.last_progress > std::chrono::seconds(2)) {
    r.progress.sent_seq = r.progress.acked_seq;
    r.last_progress = now;
  }
  const uint64_t head_seq = changelog.last_seq();
  const uint64_t limit = std::min(head_seq, r.progress.acked_seq + options.window);
  if (r.progress.sent_seq >= limit && !heartbeat_due) return;
  KeyShares* keyring = changelog.key_shares();
  const uint64_t generation_before = keyring ? keyring->generation() : 0;
  auto txn = env.begin_read();
  if (!txn) return;
  // Read after the snapshot's transaction began: any share a write set below needs was bumped
  // before (key_shares.h explains why that makes the keyring arrive first).
  const uint64_t generation_after = keyring ? keyring->generation() : 0;
  bool with_keyring = keyring && (!r.keyring_sent || generation_after != r.keyring_generation);
  const ChainHead head = changelog.head(*txn);
  const uint64_t upto = std::min(head.seq, r.progress.acked_seq + options.window);
  do {
    uint64_t next = r.progress.sent_seq;
    std::string local;
    const std::string* message = &local;
    auto made = round.find(next);
    if (!with_keyring && made != round.end() && made->second.first <= upto &&
        (made->second.first > next || next >= upto)) {
      next = made->second.first;  // another replica stood here this round: the same bytes
      message = &made->second.second;
    } else {
      const uint64_t from = next;
      v1::ReplicationStream s;
      s.set_term(term);
      s.set_leader(options.node);
      s.set_head_seq(head.seq);
      s.set_head_time_ms(wall_ms());
      if (with_keyring) {
        auto shares = keyring->snapshot(*txn);
        if (!shares) return;  // no write set goes without the keyring: again at the next pump
        for (const KeyShare& k : *shares) {
          auto* ks = s.add_key_shares();
          ks->set_name(k.name);
          ks->set_share(reinterpret_cast<const char*>(k.share.data()), k.share.size());
        }
      }
      std::vector<ByteView> sets;
      size_t bytes = 0;
      while (next < upto && bytes < kStreamBytes) {
        auto e = changelog.entry(*txn, next + 1);
        if (!e) {  // trimmed while it was behind
          v1::ReplicationMessage out;
          auto* rs = out.mutable_reseed();
          rs->set_term(term);
          rs->set_reason("behind");
          rs->set_oldest_seq(changelog.oldest(*txn));
          rs->set_head_seq(head.seq);
          send(r, out);
          r.progress.reseed_sent = true;
          for (auto& ks : *s.mutable_key_shares()) wipe_secret(*ks.mutable_share());
          return;
        }
        if (bytes > 0 && bytes + e->size() > kStreamBytes) break;
        sets.push_back(*e);
        bytes += e->size();
        ++next;
      }
      local = stream_message(s, sets);
      if (with_keyring) {
        for (auto& ks : *s.mutable_key_shares()) wipe_secret(*ks.mutable_share());
      } else {
        auto kept = round.insert_or_assign(from, std::make_pair(next, std::move(local))).first;
        message = &kept->second.second;
      }
    }
    const bool sent = static_cast<bool>(channel->send(*r.route, as_bytes(*message)));
    if (with_keyring) wipe_secret(local);  // the shares leave no copy in freed memory
    if (!sent) return;                     // gone or full: again later
    if (with_keyring) {
      r.keyring_sent = true;
      r.keyring_generation = generation_before;
      with_keyring = false;
    }
    r.progress.sent_seq = next;
    r.last_sent = now;
  } while (r.progress.sent_seq < upto);
}

bool Shipper::wait_for_acks(uint64_t seq, const std::vector<std::string>& nodes,
                            Clock::time_point deadline) {
  std::unique_lock lock(impl_->mu);
  return impl_->acked.wait_until(lock, deadline, [&] {
    for (const auto& n : nodes) {
      auto it = impl_->replicas.find(n);
      if (it == impl_->replicas.end() || it->second.progress.acked_seq < seq) return false;
    }
    return true;
  });
}

bool Shipper::wait_for_quorum(uint64_t seq, size_t n, Clock::time_point deadline) {
  std::unique_lock lock(impl_->mu);
  return impl_->acked.wait_until(lock, deadline, [&] {
    size_t count = 0;
    for (const auto& [node, r] : impl_->replicas)
      if (r.progress.acked_seq >= seq) ++count;
    return count >= n;
  });
}

void Shipper::set_ack_listener(std::function<void()> listener) {
  std::lock_guard lock(impl_->mu);
  impl_->ack_listener = std::move(listener);
}

std::map<std::string, ReplicaProgress> Shipper::replicas() const {
  std::lock_guard lock(impl_->mu);
  std::map<std::string, ReplicaProgress> out;
  for (const auto& [node, r] : impl_->replicas) out.emplace(node, r.progress);
  return out;
}

uint64_t Shipper::min_acked(const std::vector<std::string>& nodes) const {
  std::lock_guard lock(impl_->mu);
  uint64_t low = UINT64_MAX;
  for (const auto& n : nodes) {
    auto it = impl_->replicas.find(n);
    low = std::min(low, it == impl_->replicas.end() ? 0 : it->second.progress.acked_seq);
  }
  return nodes.empty() ? 0 : low;
}

}  // namespace gongshu::replication
