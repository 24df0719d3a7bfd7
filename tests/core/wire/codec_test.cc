#include "core/wire/codec.h"

#include <catch2/catch.hpp>

#include "gongshu/v1/api.pb.h"

namespace gongshu::wire {
namespace {

v1::ApiResponse sample_response() {
  v1::ApiResponse r;
  r.set_request_id(42);
  r.mutable_pong()->set_daemon_public_key(std::string(64, 'a'));
  r.mutable_pong()->set_version("0.1.0");
  return r;
}

TEST_CASE("a message survives encode and decode") {
  Bytes bytes = *encode(sample_response());
  auto back = decode_as<v1::ApiResponse>(bytes, bytes.size());
  REQUIRE(back);
  CHECK(back->request_id() == 42);
  REQUIRE(back->has_pong());
  CHECK(back->pong().version() == "0.1.0");

  v1::ApiResponse into;
  REQUIRE(decode(bytes, 1024, into));
  CHECK(into.pong().daemon_public_key() == std::string(64, 'a'));
}

TEST_CASE("garbage does not decode and leaves the message cleared") {
  v1::ApiResponse out = sample_response();
  // A varint longer than ten bytes: never valid protobuf.
  Bytes overlong_varint(12, 0xff);
  auto s = decode(overlong_varint, 1024, out);
  REQUIRE(!s);
  CHECK(s.error().code() == ErrorCode::kCorrupt);
  CHECK(out.request_id() == 0);
  CHECK(!out.has_pong());

  // Field 10 (pong) announced as 16 bytes long with only one present.
  Bytes truncated = {0x52, 0x10, 0x01};
  auto t = decode_as<v1::ApiResponse>(truncated, 1024);
  REQUIRE(!t);
  CHECK(t.error().code() == ErrorCode::kCorrupt);

  // A proto3 string field must be UTF-8 (protobuf also logs an error line for this one).
  v1::Pong pong;
  pong.set_version("ok");
  Bytes bad_utf8 = *encode(pong);
  bad_utf8.back() = 0xff;
  auto u = decode_as<v1::Pong>(bad_utf8, 1024);
  REQUIRE(!u);
  CHECK(u.error().code() == ErrorCode::kCorrupt);
}

TEST_CASE("the size limit is checked before parsing") {
  Bytes valid = *encode(sample_response());
  auto over = decode_as<v1::ApiResponse>(valid, valid.size() - 1);
  REQUIRE(!over);
  CHECK(over.error().code() == ErrorCode::kResourceExhausted);
  CHECK_THAT(over.error().message(),
             Catch::Contains("message of " + std::to_string(valid.size()) +
                             " bytes exceeds the limit of " + std::to_string(valid.size() - 1)));
  // Garbage over the limit is reported as oversize, not corrupt: the parser never saw it.
  Bytes garbage(4096, 0xff);
  auto g = decode_as<v1::ApiResponse>(garbage, 1024);
  REQUIRE(!g);
  CHECK(g.error().code() == ErrorCode::kResourceExhausted);
}

TEST_CASE("an empty payload decodes to the default message") {
  auto r = decode_as<v1::ApiRequest>(Bytes{}, 16);
  REQUIRE(r);
  CHECK(r->request_id() == 0);
  CHECK(r->body_case() == v1::ApiRequest::BODY_NOT_SET);
}

}  // namespace
}  // namespace gongshu::wire
