# Shared by scripts/test, scripts/demo and scripts/bench: the Debian packages gongshu needs
# (DESIGN §3) and how to configure and build. Source it; do not run it.

GONGSHU_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

GONGSHU_PACKAGES=(
  build-essential cmake ninja-build pkg-config ccache
  libsodium-dev libzmq3-dev cppzmq-dev liblmdb-dev
  protobuf-compiler libprotobuf-dev libsystemd-dev catch2 libssl-dev
  libexpected-dev libtomlplusplus-dev libcli11-dev nlohmann-json3-dev libcurl4-openssl-dev
  # RE2: the catalog's pattern rule (core/catalog/pattern.h)
  libre2-dev
  systemd file
  # gongshu-powercut (the power-loss drill): libfuse3 to build it, fuse3 for fusermount3
  libfuse3-dev fuse3
  # the Chinese interface (docs/language.md): gettext's tools build the catalogues (po/), the
  # locales package gives the zh_CN.UTF-8 locale (generated below), tzdata the Asia/Shanghai zone
  gettext locales tzdata
  # the officers' report test renders gongshu-audit report's page in headless Chromium; a CJK
  # font so its Chinese renders (tests/tools/audit/report_e2e_test.cc)
  chromium fonts-wqy-microhei
  # what the tests need beyond the build: the real-systemd test (systemd-nspawn, debootstrap),
  # the packaging test (lintian), the fuzz targets (clang with libFuzzer's runtime) and the
  # replication tests, which run a real 3-member etcd cluster on loopback ports of their own
  systemd-container debootstrap lintian clang libclang-rt-14-dev etcd-server etcd-client
)

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# Installs whatever of GONGSHU_PACKAGES (plus any extra arguments) is missing.
ensure_packages() {
  local missing=()
  for p in "${GONGSHU_PACKAGES[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  if [ ${#missing[@]} -ne 0 ]; then
    log "installing missing packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
  # The tests of the Chinese interface run under zh_CN.UTF-8; a fresh machine lacks it.
  if ! locale -a 2>/dev/null | grep -qix 'zh_CN\.utf-\?8'; then
    log "generating the zh_CN.UTF-8 locale"
    $sudo localedef -i zh_CN -f UTF-8 zh_CN.UTF-8
  fi
  # gongshu-powercut (its tests, the power-loss drills) mounts FUSE through /dev/fuse, which a
  # fresh container may lack until the module is loaded. Without it those tests fail, saying so.
  if [ ! -e /dev/fuse ]; then
    log "loading the fuse module (/dev/fuse is missing)"
    $sudo modprobe fuse 2>/dev/null || $sudo mknod -m 0666 /dev/fuse c 10 229 || true
  fi
}

# configure_and_build BUILD_DIR [cmake args...]
configure_and_build() {
  local dir="$1"; shift
  local gen=()
  command -v ninja >/dev/null && gen=(-G Ninja)
  if [ ! -f "$dir/CMakeCache.txt" ]; then
    log "configuring $dir"
    cmake -S "$GONGSHU_ROOT" -B "$dir" "${gen[@]}" "$@" >/dev/null
  else
    cmake -S "$GONGSHU_ROOT" -B "$dir" "$@" >/dev/null
  fi
  log "building $dir (-j2)"
  cmake --build "$dir" -j2
}
