#include "daemon/protobuf_log.h"

#include <google/protobuf/stubs/logging.h>

#include <atomic>

#include "core/util/i18n.h"

namespace gongshu::daemon {
namespace {

std::atomic<sys::LogLimiter*> g_limiter{nullptr};
thread_local ProtobufLogBatch* t_batch = nullptr;

void handle(google::protobuf::LogLevel level, const char* filename, int line,
            const std::string& message) {
  if (t_batch != nullptr) {
    t_batch->add(message);
    return;
  }
  sys::LogLimiter* limiter = g_limiter.load(std::memory_order_acquire);
  if (limiter == nullptr) return;
  const sys::Level l = level >= google::protobuf::LOGLEVEL_ERROR     ? sys::Level::kError
                       : level == google::protobuf::LOGLEVEL_WARNING ? sys::Level::kWarning
                                                                     : sys::Level::kInfo;
  limiter->log(l, "protobuf",  // i18n-exempt: the limiter's kind, a name
               trf("protobuf ({}:{}): {}", filename ? filename : "?", line, message));
}

}  // namespace

void route_protobuf_log(sys::LogLimiter& limiter) {
  g_limiter.store(&limiter, std::memory_order_release);
  google::protobuf::SetLogHandler(&handle);
}

void unroute_protobuf_log() {
  google::protobuf::SetLogHandler(nullptr);
  g_limiter.store(nullptr, std::memory_order_release);
}

ProtobufLogBatch::ProtobufLogBatch(std::string name) : name_(std::move(name)), outer_(t_batch) {
  t_batch = this;
}

void ProtobufLogBatch::add(const std::string& message) {
  if (count_++ == 0) first_ = message.substr(0, 300);
}

ProtobufLogBatch::~ProtobufLogBatch() {
  t_batch = outer_;
  if (count_ == 0) return;
  sys::LogLimiter* limiter = g_limiter.load(std::memory_order_acquire);
  if (limiter == nullptr) return;
  limiter->log(sys::Level::kWarning, "protobuf",  // i18n-exempt: the limiter's kind, a name
               trf("batch {}: protobuf reported {} problem(s) while reading its records (those "
                   "records are refused as malformed); the first: {}",
                   name_, count_, first_));
}

}  // namespace gongshu::daemon
