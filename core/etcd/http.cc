#include "core/etcd/http.h"

#include <curl/curl.h>

#include <algorithm>
#include <mutex>
#include <utility>

namespace gongshu::etcd {
namespace {

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

// curl_global_init is not safe to race with other curl calls on every libcurl build: once, here.
Status init_curl_once() {
  static std::once_flag once;
  static CURLcode rc = CURLE_OK;
  std::call_once(once, [] { rc = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (rc != CURLE_OK) {
    return fail(ErrorCode::kInternal, std::string("curl_global_init: ") + curl_easy_strerror(rc));
  }
  return {};
}

}  // namespace

struct HttpConnection::Impl {
  std::string base_url;
  std::unique_ptr<CURL, CurlDeleter> curl;
  std::unique_ptr<curl_slist, SlistDeleter> headers;
  std::string url;  // base_url + path of the current request
  std::string body;
  size_t max_reply = 0;
  bool too_large = false;
  char error[CURL_ERROR_SIZE] = {};

  static size_t on_data(char* data, size_t size, size_t n, void* self_ptr) {
    auto* self = static_cast<Impl*>(self_ptr);
    size_t len = size * n;
    if (self->body.size() + len > self->max_reply) {
      self->too_large = true;
      return 0;  // curl ends the transfer with CURLE_WRITE_ERROR
    }
    self->body.append(data, len);
    return len;
  }
};

HttpConnection::HttpConnection(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpConnection::~HttpConnection() = default;
HttpConnection::HttpConnection(HttpConnection&&) noexcept = default;
HttpConnection& HttpConnection::operator=(HttpConnection&&) noexcept = default;

const std::string& HttpConnection::base_url() const { return impl_->base_url; }

Result<HttpConnection> HttpConnection::create(std::string base_url) {
  GONGSHU_RETURN_IF_ERROR(init_curl_once());
  if (!base_url.starts_with("http://") && !base_url.starts_with("https://")) {
    return fail(ErrorCode::kInvalidArgument,
                "etcd endpoint \"" + base_url + "\": expected http://host:port or https://...");
  }
  while (base_url.ends_with('/')) base_url.pop_back();
  auto impl = std::make_unique<Impl>();
  impl->base_url = std::move(base_url);
  impl->curl.reset(curl_easy_init());
  if (!impl->curl) return fail(ErrorCode::kInternal, "curl_easy_init failed");
  // Content-Type for the gateway; an empty "Expect:" stops curl from waiting up to a second
  // for "100 Continue" before sending a larger body.
  curl_slist* h = curl_slist_append(nullptr, "Content-Type: application/json");
  if (h != nullptr) {
    curl_slist* h2 = curl_slist_append(h, "Expect:");
    if (h2 == nullptr) curl_slist_free_all(h);
    h = h2;
  }
  if (h == nullptr) return fail(ErrorCode::kInternal, "curl_slist_append failed");
  impl->headers.reset(h);

  CURL* c = impl->curl.get();
  bool ok = curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
            curl_easy_setopt(c, CURLOPT_PROXY, "") == CURLE_OK &&
            curl_easy_setopt(c, CURLOPT_NOPROXY, "*") == CURLE_OK &&
            curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK &&
            curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK &&
            curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L) == CURLE_OK &&
            curl_easy_setopt(c, CURLOPT_HTTPHEADER, impl->headers.get()) == CURLE_OK &&
            curl_easy_setopt(c, CURLOPT_POST, 1L) == CURLE_OK &&
            curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &Impl::on_data) == CURLE_OK &&
            curl_easy_setopt(c, CURLOPT_WRITEDATA, impl.get()) == CURLE_OK &&
            curl_easy_setopt(c, CURLOPT_ERRORBUFFER, impl->error) == CURLE_OK;
  if (!ok) return fail(ErrorCode::kInternal, "curl_easy_setopt failed for " + impl->base_url);
  return HttpConnection(std::move(impl));
}

tl::expected<HttpReply, HttpFailure> HttpConnection::post(std::string_view path,
                                                          std::string_view body,
                                                          std::chrono::milliseconds timeout,
                                                          std::chrono::milliseconds connect_timeout,
                                                          size_t max_reply) {
  Impl& s = *impl_;
  CURL* c = s.curl.get();
  s.url = s.base_url;
  s.url.append(path);
  s.body.clear();
  s.max_reply = max_reply;
  s.too_large = false;
  s.error[0] = '\0';
  // curl reads 0 as "no timeout": never hand it that.
  long total_ms = std::max<long>(1, static_cast<long>(timeout.count()));
  long connect_ms = std::clamp<long>(static_cast<long>(connect_timeout.count()), 1, total_ms);
  bool ok = curl_easy_setopt(c, CURLOPT_URL, s.url.c_str()) == CURLE_OK &&
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data()) == CURLE_OK &&
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                             static_cast<curl_off_t>(body.size())) == CURLE_OK &&
            curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, total_ms) == CURLE_OK &&
            curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, connect_ms) == CURLE_OK;
  if (!ok) return tl::unexpected(HttpFailure{HttpFailure::Kind::kNotSent, "curl_easy_setopt"});

  CURLcode rc = curl_easy_perform(c);
  if (rc == CURLE_OK) {
    HttpReply reply;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &reply.status);
    reply.body = std::move(s.body);
    return reply;
  }
  std::string reason = s.error[0] != '\0' ? std::string(s.error) : curl_easy_strerror(rc);
  HttpFailure failure{HttpFailure::Kind::kBroken, std::move(reason)};
  // Before the transfer began (pretransfer time 0) nothing was sent.
  curl_off_t pretransfer = 0;
  curl_easy_getinfo(c, CURLINFO_PRETRANSFER_TIME_T, &pretransfer);
  if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
      rc == CURLE_COULDNT_RESOLVE_PROXY || pretransfer == 0) {
    failure.kind = HttpFailure::Kind::kNotSent;
  } else if (rc == CURLE_WRITE_ERROR && s.too_large) {
    failure.kind = HttpFailure::Kind::kTooLarge;
    failure.reason = "reply larger than " + std::to_string(max_reply) + " bytes";
  } else if (rc == CURLE_OPERATION_TIMEDOUT) {
    failure.kind = HttpFailure::Kind::kTimedOut;
  }
  return tl::unexpected(std::move(failure));
}

}  // namespace gongshu::etcd
