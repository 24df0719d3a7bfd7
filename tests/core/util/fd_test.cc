#include "core/util/fd.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "tests/support/test_support.h"

namespace gongshu {
namespace {

using testing::TempDir;

TEST_CASE("write_new_file refuses to overwrite and sets the mode") {
  TempDir dir;
  std::string p = dir.file("a");
  REQUIRE(write_new_file(p, as_bytes("hello"), 0600));
  struct stat st;
  REQUIRE(::stat(p.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto again = write_new_file(p, as_bytes("x"), 0600);
  REQUIRE(!again);
  CHECK(again.error().code() == ErrorCode::kAlreadyExists);
  CHECK(as_chars(*read_file(p, 100)) == "hello");
}

TEST_CASE("read_file enforces its size limit") {
  TempDir dir;
  std::string p = dir.file("big");
  REQUIRE(write_file_atomic(p, Bytes(1000, 'x'), 0644));
  CHECK(read_file(p, 1000)->size() == 1000);
  auto r = read_file(p, 999);
  REQUIRE(!r);
  CHECK(r.error().code() == ErrorCode::kResourceExhausted);
  CHECK(read_file(dir.file("missing"), 10).error().code() == ErrorCode::kNotFound);
  CHECK(read_file(dir.path(), 10).error().code() != ErrorCode::kNotFound);
}

TEST_CASE("write_file_atomic replaces content") {
  TempDir dir;
  std::string p = dir.file("c");
  REQUIRE(write_file_atomic(p, as_bytes("one"), 0644));
  REQUIRE(write_file_atomic(p, as_bytes("two"), 0644));
  CHECK(as_chars(*read_file(p, 100)) == "two");
}

TEST_CASE("Fd is move-only and closes once") {
  TempDir dir;
  auto fd = Fd::open(dir.file("f"), O_CREAT | O_WRONLY, 0600);
  REQUIRE(fd);
  int raw = fd->get();
  Fd moved = std::move(*fd);
  CHECK(moved.get() == raw);
  CHECK(!fd->valid());
  CHECK((::fcntl(raw, F_GETFD) & FD_CLOEXEC) != 0);
}

}  // namespace
}  // namespace gongshu
