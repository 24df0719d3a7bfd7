// HttpConnection: HTTP POSTs to one etcd endpoint over libcurl, the one place of the tree that
// includes <curl/curl.h> (cmake/OwnedHeaders.cmake). It keeps one easy handle, so consecutive
// requests reuse the TCP connection. Move-only; one thread at a time.
//
// post() never blocks past the timeout it is given. Its failures say how far the request got,
// which decides whether another endpoint may be tried (core/etcd/client.h):
//   kNotSent   no connection was established (refused, unreachable, connect timed out): the
//              request certainly did not reach etcd;
//   kTimedOut  connected, but no complete answer in time: it may or may not have been applied;
//   kBroken    the connection failed after the request may have been sent;
//   kTooLarge  the answer exceeded max_reply bytes (the transfer is abandoned).
// Proxies from the environment (http_proxy...) are ignored: etcd is always reached directly.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "core/util/error.h"

namespace gongshu::etcd {

struct HttpReply {
  long status = 0;
  std::string body;
};

struct HttpFailure {
  enum class Kind { kNotSent, kTimedOut, kBroken, kTooLarge };
  Kind kind = Kind::kNotSent;
  std::string
      reason;  // curl's, e.g. "Failed to connect to 127.0.0.1 port 2379: Connection refused"
};

class HttpConnection {
 public:
  // base_url: "http://host:port" (https also works; no client certificates yet).
  static Result<HttpConnection> create(std::string base_url);
  ~HttpConnection();
  HttpConnection(HttpConnection&&) noexcept;
  HttpConnection& operator=(HttpConnection&&) noexcept;

  const std::string& base_url() const;

  // POSTs body (application/json) to base_url + path.
  [[nodiscard]] tl::expected<HttpReply, HttpFailure> post(std::string_view path,
                                                          std::string_view body,
                                                          std::chrono::milliseconds timeout,
                                                          std::chrono::milliseconds connect_timeout,
                                                          size_t max_reply);

 private:
  struct Impl;
  explicit HttpConnection(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace gongshu::etcd
