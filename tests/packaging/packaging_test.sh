#!/usr/bin/env bash
# Packaging checks (label "packaging"): the systemd units' exposure, `systemd-analyze verify`
# on an installed tree, the .debs built with CPack and installed into a throwaway root, and
# lintian. Exit 0 = pass, 1 = fail, 77 = skipped (the reason is printed).
#
#   packaging_test.sh security SOURCE_DIR WORK_DIR
#   packaging_test.sh verify   SOURCE_DIR BUILD_DIR WORK_DIR
#   packaging_test.sh debs     SOURCE_DIR BUILD_DIR WORK_DIR   # leaves WORK_DIR/debs/*.deb
#   packaging_test.sh lintian  SOURCE_DIR BUILD_DIR WORK_DIR   # uses WORK_DIR/debs
set -uo pipefail

mode="$1"; src="$2"; shift 2
# Highest acceptable `systemd-analyze security` exposure, times ten (1.5).
max_exposure_x10=15
units=(gongshud.service gongshu-agent.service)
# Binaries the packages must hold (set by CMake: the targets this tree builds).
read -r -a binaries <<< "${GONGSHU_PACKAGED_BINARIES:-gongshud gongshu-agent gongshuctl gongshu-audit}"

fail() { echo "FAIL: $*" >&2; exit 1; }
# In CI (a fresh machine, as root, after scripts/test installed every package) nothing may skip:
# a skip there is a missing install step, so it fails.
skip() {
  if [ "${CI:-}" = true ]; then echo "FAIL (would skip in CI): $*" >&2; exit 1; fi
  echo "SKIPPED: $*" >&2; exit 77
}
need() { command -v "$1" >/dev/null 2>&1 || skip "$1 is not installed ($2)"; }

# What a Debian system with the packages' dependencies has besides the packages: systemd's
# targets (the units name them in After=, Wants=, WantedBy= and by default dependencies) and
# /bin/kill from procps (ExecReload=). Copied from this host so verify --root finds them.
seed_dependencies() {
  local root="$1" t
  mkdir -p "$root/lib/systemd/system" "$root/bin"
  for t in /lib/systemd/system/*.target; do
    [ -e "$root$t" ] || cp "$t" "$root$t"
  done
  [ -e "$root/bin/kill" ] || cp /bin/kill "$root/bin/kill"
}

# systemd-analyze verify of every gongshu unit inside root; warnings count as failures.
verify_units() {
  local root="$1" u out
  seed_dependencies "$root"
  for u in "${units[@]}"; do
    [ -f "$root/lib/systemd/system/$u" ] || fail "$u is not installed in $root"
    local bin="${u%.service}"
    if [[ " ${binaries[*]} " != *" $bin "* ]]; then
      echo "verify $u: skipped, this tree does not build $bin"
      continue
    fi
    out=$(SYSTEMD_LOG_LEVEL=notice systemd-analyze verify --man=no --root="$root" \
          "/lib/systemd/system/$u" 2>&1)
    local rc=$?
    if [ $rc -ne 0 ] || [ -n "$out" ]; then
      echo "$out" >&2
      fail "systemd-analyze verify $u (exit $rc)"
    fi
    echo "verify $u: clean"
  done
}

case "$mode" in
security)
  work="$1"
  need systemd-analyze "package systemd"
  rm -rf "$work" && mkdir -p "$work"
  status=0
  for u in "${units[@]}"; do
    cp "$src/packaging/systemd/$u" "$work/$u"
    out=$(systemd-analyze security --offline=true --threshold=$max_exposure_x10 "$work/$u" 2>&1)
    rc=$?
    figure=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
    [ -n "$figure" ] || { echo "$out" >&2; fail "no exposure figure for $u"; }
    echo "exposure $u: $figure (limit 1.5)"
    x10=$(awk -v f="$figure" 'BEGIN { printf "%d", f * 10 + 0.5 }')
    if [ $rc -ne 0 ] || [ "$x10" -gt $max_exposure_x10 ]; then
      printf '%s\n' "$out" | grep '✗' >&2
      echo "FAIL: $u exposure $figure > 1.5" >&2
      status=1
    fi
  done
  exit $status
  ;;

verify)
  build="$1"; work="$2"
  need systemd-analyze "package systemd"
  rm -rf "$work" && mkdir -p "$work/root"
  for c in daemon agent tools; do
    DESTDIR="$work/root" cmake --install "$build" --prefix /usr --component "$c" >/dev/null ||
      fail "cmake --install --component $c"
  done
  for b in "${binaries[@]}"; do
    [ -x "$work/root/usr/bin/$b" ] || fail "/usr/bin/$b missing from the installed tree"
  done
  verify_units "$work/root"
  ;;

debs)
  build="$1"; work="$2"
  need cpack "package cmake"
  need dpkg-deb "package dpkg"
  rm -rf "$work" && mkdir -p "$work/cpack" "$work/debs"
  (cd "$work/cpack" && cpack -G DEB --config "$build/CPackConfig.cmake" -B "$work/cpack") \
    > "$work/cpack.log" 2>&1 || { cat "$work/cpack.log" >&2; fail "cpack"; }
  cp "$work"/cpack/*.deb "$work/debs/" || fail "cpack made no .deb"
  ls -l "$work/debs"
  for p in gongshu-daemon gongshu-agent gongshu-tools; do
    deb=$(ls "$work"/debs/${p}_*.deb 2>/dev/null | head -1)
    [ -n "$deb" ] || fail "no $p .deb"
    echo "--- $p: $(dpkg-deb -f "$deb" Version) depends: $(dpkg-deb -f "$deb" Depends)"
  done
  daemon_deb=$(ls "$work"/debs/gongshu-daemon_*.deb)
  agent_deb=$(ls "$work"/debs/gongshu-agent_*.deb)
  dpkg-deb -f "$daemon_deb" Depends | grep -q procps || fail "gongshu-daemon does not depend on procps"
  dpkg-deb -f "$daemon_deb" Depends | grep -q libzmq || fail "gongshu-daemon has no library dependencies"
  # RE2 (the catalog's pattern rule) is checked at the agent and again at the daemon.
  for deb in "$daemon_deb" "$agent_deb"; do
    dpkg-deb -f "$deb" Depends | grep -q libre2 || fail "$(basename "$deb") does not depend on libre2"
  done
  dpkg-deb -I "$daemon_deb" conffiles | grep -qx /etc/gongshu/gongshud.toml ||
    fail "gongshud.toml is not a conffile"
  dpkg-deb -I "$agent_deb" conffiles | grep -qx /etc/gongshu/gongshu-agent.toml ||
    fail "gongshu-agent.toml is not a conffile"

  root="$work/root"
  if [ "$(id -u)" -ne 0 ]; then
    echo "not root: unpacking with dpkg-deb -x instead of installing (maintainer scripts not run)"
    for deb in "$work"/debs/*.deb; do dpkg-deb -x "$deb" "$root"; done
  else
    # A throwaway root with its own dpkg database. The maintainer scripts run on this host
    # with DPKG_ROOT set (chrootless); they only touch files under it.
    mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates"
    touch "$root/var/lib/dpkg/status" "$root/var/lib/dpkg/available"
    dpkg_root=(dpkg --root="$root" --force-script-chrootless --force-depends --log=/dev/null)
    "${dpkg_root[@]}" -i "$work"/debs/*.deb > "$work/dpkg-install.log" 2>&1 ||
      { cat "$work/dpkg-install.log" >&2; fail "dpkg -i into $root"; }
    for u in gongshu gongshu-agent; do
      grep -q "^$u:" "$root/etc/passwd" || fail "postinst did not create user $u"
    done
    gid=$(awk -F: '$1 == "gongshu" { print $3 }' "$root/etc/passwd")
    [ "$(stat -c '%a %u' "$root/var/lib/gongshud")" = "700 $gid" ] ||
      fail "/var/lib/gongshud: $(stat -c '%a %u' "$root/var/lib/gongshud"), want 700 $gid"
    [ "$(stat -c '%a' "$root/etc/gongshu/credentials")" = 700 ] || fail "/etc/gongshu/credentials"
    for u in "${units[@]}"; do
      [ -L "$root/etc/systemd/system/multi-user.target.wants/$u" ] || fail "$u not enabled"
    done
    dpkg-query --admindir="$root/var/lib/dpkg" -W -f='${Conffiles}\n' gongshu-daemon |
      grep -q /etc/gongshu/policies/ || fail "policies are not registered conffiles"
    echo "installed into $root: users, directories, conffiles, units enabled"
  fi
  for b in "${binaries[@]}"; do
    out=$("$root/usr/bin/$b" --version 2>&1) || fail "$b --version: $out"
    echo "$b --version: $out"
  done
  if [ "$(id -u)" -eq 0 ] && command -v systemd-analyze >/dev/null; then
    verify_units "$root"
    "${dpkg_root[@]}" --purge gongshu-daemon gongshu-agent gongshu-tools \
      > "$work/dpkg-purge.log" 2>&1 || { cat "$work/dpkg-purge.log" >&2; fail "dpkg --purge"; }
    for gone in /var/lib/gongshud /var/lib/gongshu-agent /etc/gongshu /usr/bin/gongshud \
                /etc/systemd/system/multi-user.target.wants/gongshud.service; do
      [ ! -e "$root$gone" ] && [ ! -L "$root$gone" ] || fail "$gone is still there after purge"
    done
    echo "purged: state, configuration and unit links removed"
  fi
  ;;

lintian)
  build="$1"; work="$2"
  debs=("$work"/debs/*.deb)
  [ -e "${debs[0]}" ] || fail "no .debs in $work/debs (the packaging_debs test makes them)"
  if ! command -v lintian >/dev/null 2>&1; then
    # shellcheck source=../../scripts/lib/common.sh
    source "$src/scripts/lib/common.sh"
    if [ "$(id -u)" -ne 0 ] && ! sudo -n true 2>/dev/null; then
      skip "lintian is not installed and cannot be installed (not root, no sudo)"
    fi
    ensure_packages lintian > "$work/lintian-install.log" 2>&1 ||
      { tail -5 "$work/lintian-install.log" >&2; skip "lintian could not be installed"; }
  fi
  # Errors fail the test; warnings and notes are printed for the record.
  lintian --fail-on error --display-info --allow-root --tag-display-limit 0 "${debs[@]}"
  rc=$?
  [ $rc -eq 0 ] || fail "lintian reported errors (exit $rc)"
  echo "lintian: no errors"
  ;;

*)
  echo "usage: $0 security|verify|debs|lintian SOURCE_DIR ..." >&2
  exit 2
  ;;
esac
