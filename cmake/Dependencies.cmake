# Every dependency of DESIGN §3, found through pkg-config or CMake's own modules.
# Nothing is vendored or downloaded at build time.
find_package(PkgConfig REQUIRED)
pkg_check_modules(sodium REQUIRED IMPORTED_TARGET libsodium>=1.0.18)
pkg_check_modules(zmq REQUIRED IMPORTED_TARGET libzmq>=4.3)
pkg_check_modules(cppzmq REQUIRED IMPORTED_TARGET cppzmq)
pkg_check_modules(lmdb REQUIRED IMPORTED_TARGET lmdb)
pkg_check_modules(systemd REQUIRED IMPORTED_TARGET libsystemd)
pkg_check_modules(tomlplusplus REQUIRED IMPORTED_TARGET tomlplusplus>=3.3)
find_package(Protobuf REQUIRED)
find_package(OpenSSL 3 REQUIRED COMPONENTS Crypto)
find_package(tl-expected REQUIRED)
find_package(CLI11 REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
# libcurl: core/etcd speaks etcd's v3 JSON gateway over HTTP (issue 20).
find_package(CURL 7.74 REQUIRED)
# libfuse3: gongshu-powercut, the disk that loses its write cache in the power-loss drill.
pkg_check_modules(fuse3 REQUIRED IMPORTED_TARGET fuse3>=3.10)
# RE2: the catalog's pattern rule (core/catalog/pattern.h), matched in linear time.
pkg_check_modules(re2 REQUIRED IMPORTED_TARGET re2)
find_package(Threads REQUIRED)
if(GONGSHU_BUILD_TESTS)
  find_package(Catch2 2 REQUIRED)
endif()
