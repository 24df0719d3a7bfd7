#!/usr/bin/env bash
# End to end under a real systemd (../shared/systemd-notes.md): boots Debian 12 with systemd as
# PID 1 in a systemd-nspawn container, installs the .debs made by the packaging_debs test, and
# checks what DESIGN §9 promises: user and unit installed and enabled but not started, start
# with READY=1 (credential, store, sockets), STATUS=, structured journal fields, reload with a
# good and a bad configuration, a watchdog restart of a hung daemon, a clean stop, and purge.
#
#   systemd_test.sh DEBS_DIR CACHE_DIR WORK_DIR
#
# The debootstrap root is cached in CACHE_DIR (under the build directory, never in the repo);
# each run boots a copy of it. Exit 0 = pass, 1 = fail, 77 = skipped (the reason is printed).
set -uo pipefail

debs="$1"; cache="$2"; work="$3"
suite=bookworm
cache_version=1

fail() { echo "FAIL: $*" >&2; exit 1; }
# In CI (a fresh machine, as root, after scripts/test installed every package) nothing may skip:
# a skip there is a missing install step, so it fails.
skip() {
  if [ "${CI:-}" = true ]; then echo "FAIL (would skip in CI): $*" >&2; exit 1; fi
  echo "SKIPPED: $*" >&2; exit 77
}
step() { echo "== $*"; }

[ "$(id -u)" -eq 0 ] || skip "needs root (debootstrap, systemd-nspawn)"
# LeakSanitizer stops the world with ptrace at exit, which the units' SystemCallFilter forbids.
[ "${GONGSHU_SANITIZE:-0}" != 1 ] || skip "sanitizer build: the hardened units forbid what ASan/LSan need"
for tool in systemd-nspawn:systemd-container debootstrap:debootstrap nsenter:util-linux; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || skip "${tool%%:*} is not installed (package ${tool#*:})"
done
shopt -s nullglob
packages=("$debs"/*.deb)
[ ${#packages[@]} -gt 0 ] || fail "no .debs in $debs (the packaging_debs test makes them)"

# The libraries the packages need, preinstalled in the cached root so that a run needs no
# network: the first alternative of every Depends entry, without versions.
runtime_deps=$(for d in "${packages[@]}"; do dpkg-deb -f "$d" Depends; done | tr ',' '\n' |
  sed 's/|.*//; s/(.*)//; s/[[:space:]]//g' | grep -v '^$' | sort -u | tr '\n' ' ')

# --- the cached root --------------------------------------------------------------------------
root_cache="$cache/$suite"
stamp="$root_cache/.gongshu-cache"
if [ ! -f "$stamp" ] || [ "$(head -1 "$stamp")" != "v$cache_version" ]; then
  step "debootstrap $suite into $root_cache (cached for later runs)"
  rm -rf "$root_cache" "$root_cache.new"
  mkdir -p "$cache"
  debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,libsystemd0,procps \
    "$suite" "$root_cache.new" > "$cache/debootstrap.log" 2>&1 ||
    { tail -20 "$cache/debootstrap.log" >&2; skip "debootstrap failed (network?)"; }
  echo "v$cache_version" > "$root_cache.new/.gongshu-cache"
  mv "$root_cache.new" "$root_cache"
fi
missing=""
for p in $runtime_deps; do grep -qx "$p" "$stamp" || missing="$missing $p"; done
if [ -n "$missing" ]; then
  step "adding to the cached root:$missing"
  systemd-nspawn -q -D "$root_cache" --register=no --keep-unit --pipe -- /bin/sh -c \
    "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
     --no-install-recommends $missing" > "$cache/apt.log" 2>&1 ||
    { tail -20 "$cache/apt.log" >&2; skip "could not install$missing in the container root"; }
  for p in $missing; do echo "$p" >> "$stamp"; done
fi

# --- boot a copy --------------------------------------------------------------------------------
rm -rf "$work" && mkdir -p "$work"
root="$work/root"
step "copying the cached root"
cp -a --reflink=auto "$root_cache" "$root" || fail "copy $root_cache"
mkdir -p "$root/opt/gongshu-debs"
cp "${packages[@]}" "$root/opt/gongshu-debs/"

nspawn_pid=""
cleanup() {
  if [ -n "$nspawn_pid" ] && kill -0 "$nspawn_pid" 2>/dev/null; then
    kill -TERM "$nspawn_pid" 2>/dev/null  # nspawn powers the container off
    for _ in $(seq 1 60); do kill -0 "$nspawn_pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$nspawn_pid" 2>/dev/null && kill -KILL "$nspawn_pid" 2>/dev/null
  fi
  [ "${KEEP_ROOT:-0}" = 1 ] || rm -rf "$root"
}
trap cleanup EXIT

step "booting systemd in the container"
SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 setsid systemd-nspawn -D "$root" --boot \
  --register=no --keep-unit --console=passive -M "gongshu-test-$$" \
  --system-call-filter=bpf --system-call-filter=@memlock </dev/null >"$work/container.log" 2>&1 &
nspawn_pid=$!
ct=""
for _ in $(seq 1 200); do
  ct=$(ps -o pid= --ppid "$nspawn_pid" 2>/dev/null | head -1 | tr -d ' ')
  [ -n "$ct" ] && [ "$(cat /proc/"$ct"/comm 2>/dev/null)" = systemd ] && break
  ct=""
  kill -0 "$nspawn_pid" 2>/dev/null || break
  sleep 0.3
done
[ -n "$ct" ] || { cat "$work/container.log" >&2; fail "the container's systemd did not start"; }

in_ct() { nsenter -t "$ct" -m -u -i -n -p -C -- "$@"; }
# systemd's bus socket appears a moment after PID 1 starts: retry until it answers.
state=""
for _ in $(seq 1 240); do
  state=$(in_ct timeout 120 systemctl is-system-running --wait 2>&1)
  case "$state" in *"Failed to connect to bus"*) sleep 0.5 ;; *) break ;; esac
done
echo "container: systemd is $state"
case "$state" in running|degraded) ;; *) cat "$work/container.log" >&2; fail "boot: $state";; esac

# Polls a shell condition inside the container for up to $1 seconds.
wait_ct() {
  local seconds="$1"; shift
  for _ in $(seq 1 $((seconds * 4))); do
    in_ct /bin/sh -c "$*" >/dev/null 2>&1 && return 0
    sleep 0.25
  done
  return 1
}
show() { in_ct systemctl show -p "$2" --value "$1"; }
journal_tail() { in_ct journalctl -u "$1" --no-pager -n 40 >&2; }

# --- install ------------------------------------------------------------------------------------
step "installing the packages"
in_ct /bin/sh -c 'DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  /opt/gongshu-debs/*.deb' > "$work/apt-install.log" 2>&1 ||
  { cat "$work/apt-install.log" >&2; fail "apt-get install"; }
in_ct id gongshu >/dev/null || fail "user gongshu not created"
in_ct id gongshu-agent >/dev/null || fail "user gongshu-agent not created"
for u in gongshud gongshu-agent; do
  [ "$(in_ct systemctl is-enabled $u.service)" = enabled ] || fail "$u not enabled"
  [ "$(in_ct systemctl is-active $u.service)" = inactive ] || fail "$u started by the install"
  if ! in_ct test -x /usr/bin/$u; then
    echo "verify $u.service: skipped, the package has no /usr/bin/$u (not built in this tree)"
    continue
  fi
  out=$(in_ct systemd-analyze verify $u.service 2>&1) || fail "verify $u: $out"
  [ -z "$out" ] || fail "verify $u: $out"
done
echo "installed: users, units enabled and not started, units verify clean"

# --- provision and start ------------------------------------------------------------------------
step "provisioning gongshud (init, master key as a credential)"
in_ct runuser -u gongshu -- gongshud init --state /var/lib/gongshud \
  --operator-key-out /var/lib/gongshud/operator.key >/dev/null || fail "gongshud init"
in_ct /bin/sh -c 'install -m 0400 -o root -g root /var/lib/gongshud/master.key \
  /etc/gongshu/credentials/master.key && rm /var/lib/gongshud/master.key' || fail "credential"
# The container shares the host's network: let the OS choose the ports.
in_ct sed -i 's|tcp://127.0.0.1:740[01]|tcp://127.0.0.1:*|' /etc/gongshu/gongshud.toml
in_ct mkdir -p /etc/systemd/system/gongshud.service.d
printf '[Service]\nWatchdogSec=3s\nRestartSec=1s\n' > "$root/etc/systemd/system/gongshud.service.d/test.conf"
in_ct systemctl daemon-reload

step "start: READY=1"
in_ct timeout 120 systemctl start gongshud || { journal_tail gongshud; fail "systemctl start gongshud"; }
[ "$(in_ct systemctl is-active gongshud)" = active ] || { journal_tail gongshud; fail "not active"; }
pid1=$(show gongshud MainPID)
[ "$(in_ct stat -c %U /proc/"$pid1")" = gongshu ] || fail "gongshud does not run as gongshu"
in_ct test ! -e /var/lib/gongshud/master.key || fail "master key left in the state directory"
wait_ct 20 'systemctl show -p StatusText --value gongshud | grep -q "^serving"' ||
  fail "no STATUS= (StatusText: $(show gongshud StatusText))"
echo "active as gongshu, pid $pid1; status: $(show gongshud StatusText)"
# grep reads the whole journal (not -q): under pipefail an early exit would fail journalctl.
in_ct journalctl -u gongshud -o export --no-pager | grep '^GONGSHU_DAEMON_KEY=' >/dev/null ||
  { journal_tail gongshud; fail "no structured journal fields"; }
echo "journal: structured fields present"
# The unit's system call filter lets the ingest workers lower their own priority (worker_nice).
in_ct journalctl -u gongshud --no-pager | grep "ingest workers run at the daemon's priority" &&
  { journal_tail gongshud; fail "the ingest workers could not lower their priority"; }
nices=$(in_ct sh -c "grep -h '(gs-ingest-work)' /proc/$pid1/task/*/stat" | sed 's/.*) //' |
  awk '{print $17}' | sort -u)
[ "$nices" = 10 ] || fail "the ingest workers' nice is '$nices', not 10"
echo "ingest workers at nice $nices"

step "reload: good configuration, then a bad one"
in_ct timeout 60 systemctl reload gongshud || fail "reload"
[ "$(show gongshud MainPID)" = "$pid1" ] && [ "$(in_ct systemctl is-active gongshud)" = active ] ||
  fail "reload did not keep the daemon running"
in_ct cp /etc/gongshu/gongshud.toml /root/gongshud.toml.good
in_ct /bin/sh -c 'echo "bogus = 1" >> /etc/gongshu/gongshud.toml'
in_ct timeout 60 systemctl reload gongshud || fail "reload with a bad file did not complete"
[ "$(show gongshud MainPID)" = "$pid1" ] && [ "$(in_ct systemctl is-active gongshud)" = active ] ||
  fail "a bad configuration stopped the daemon"
show gongshud StatusText | grep -q "reload refused" || fail "status does not say the reload was refused"
in_ct cp /root/gongshud.toml.good /etc/gongshu/gongshud.toml
echo "reloads: running pid $pid1 kept; bad file refused"

step "watchdog: a hung daemon is restarted"
in_ct kill -STOP "$pid1"
wait_ct 60 "[ \"\$(systemctl show -p MainPID --value gongshud)\" != $pid1 ] && \
  [ \"\$(systemctl show -p MainPID --value gongshud)\" != 0 ] && systemctl is-active -q gongshud" ||
  { journal_tail gongshud; fail "no watchdog restart"; }
pid2=$(show gongshud MainPID)
in_ct journalctl -u gongshud --no-pager | grep -i watchdog >/dev/null || fail "journal does not mention the watchdog"
echo "restarted by the watchdog: pid $pid1 -> $pid2"

# --- an emergency drill on the real units (issue 14; docs/drills.md) ------------------------------
step "drill: refused without [drill] allowed = true"
in_ct install -m 0600 -o root -g root /var/lib/gongshud/operator.key /root/operator.key
out=$(in_ct gongshu-drill run daemon-crash --target systemd --key /root/operator.key 2>&1)
rc=$?
[ "$rc" = 2 ] && echo "$out" | grep -q 'allowed = true' ||
  fail "gongshu-drill --target systemd without [drill] allowed: exit $rc: $out"
echo "refused: exit 2 ($(echo "$out" | head -1 | cut -c1-100)...)"

step "drill: daemon-crash against gongshud.service (systemctl kill -s KILL, start)"
# The ports the daemon chose, kept (a restarted daemon must come back where the agents look),
# and drills allowed on this staging machine.
info=/var/lib/gongshud/daemon.info
ingest=$(in_ct sed -n 's/^ingest = "\(.*\)"$/\1/p' "$info")
api=$(in_ct sed -n 's/^api = "\(.*\)"$/\1/p' "$info")
[ -n "$ingest" ] && [ -n "$api" ] || fail "no endpoints in $info"
in_ct sed -i -e "/^\[ingest\]/,/^\[/ s|^endpoint = .*|endpoint = \"$ingest\"|" \
  -e "/^\[api\]/,/^\[/ s|^endpoint = .*|endpoint = \"$api\"|" /etc/gongshu/gongshud.toml
in_ct /bin/sh -c 'printf "\n[drill]\nallowed = true\n" >> /etc/gongshu/gongshud.toml'
in_ct timeout 120 systemctl restart gongshud || { journal_tail gongshud; fail "restart for the drill"; }
pid_before=$(show gongshud MainPID)
if ! in_ct timeout 300 gongshu-drill run daemon-crash --target systemd --key /root/operator.key \
    --report /root/drill.report --json > "$work/drill.json" 2> "$work/drill.log"; then
  tail -40 "$work/drill.log" >&2; journal_tail gongshud; fail "gongshu-drill run daemon-crash --target systemd"
fi
grep -q '"passed": *true' "$work/drill.json" || fail "the drill report does not say passed"
grep -q '"target": *"systemd: gongshud.service' "$work/drill.json" || fail "the report names another target"
grep -q 'systemctl kill -s 9 gongshud.service' "$work/drill.json" ||
  fail "the report does not show systemctl kill"
[ "$(show gongshud MainPID)" != "$pid_before" ] && in_ct systemctl is-active -q gongshud ||
  fail "gongshud was not killed and started again"
in_ct gongshu-drill verify-report /root/drill.report --quiet || fail "verify-report"
in_ct journalctl -u gongshud --no-pager | grep -q "code=killed, status=9/KILL" ||
  echo "note: the journal does not show the SIGKILL in systemd's words"
echo "drill passed on the real unit: pid $pid_before killed, restarted; report verified"

step "stop: drains and exits 0"
in_ct timeout 120 systemctl stop gongshud || fail "stop"
[ "$(show gongshud Result)" = success ] && [ "$(show gongshud ExecMainStatus)" = 0 ] ||
  { journal_tail gongshud; fail "stop: Result=$(show gongshud Result) status=$(show gongshud ExecMainStatus)"; }
echo "stopped: Result=success, exit 0"

step "purge"
in_ct /bin/sh -c 'DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq gongshu-daemon gongshu-agent \
  gongshu-tools' > "$work/apt-purge.log" 2>&1 || { cat "$work/apt-purge.log" >&2; fail "purge"; }
for gone in /var/lib/gongshud /var/lib/gongshu-agent /etc/gongshu /usr/bin/gongshud \
            /etc/systemd/system/multi-user.target.wants/gongshud.service; do
  in_ct test ! -e "$gone" || fail "$gone is still there after purge"
done
echo "purged: state, configuration and units gone"

# --- docs/operations.md, as a new operator would follow it ----------------------------------------
# Every ```sh block of the handbook, in order, in one shell, on the purged machine.
step "walkthrough: docs/operations.md"
doc="$(cd "$(dirname "$0")/../.." && pwd)/docs/operations.md"
[ -f "$doc" ] || fail "no $doc"
{
  echo 'set -euo pipefail'
  echo 'cd /root'
  awk '/^```sh$/ {on=1; print "echo \"+ block at line " NR "\""; next} /^```/ {on=0; next} on' "$doc"
} > "$root/root/operations.sh"
blocks=$(grep -c '^```sh$' "$doc")
if ! in_ct timeout 600 bash /root/operations.sh > "$work/walkthrough.log" 2>&1; then
  tail -40 "$work/walkthrough.log" >&2
  journal_tail gongshud
  fail "docs/operations.md: a command failed (last block shown above)"
fi
echo "walkthrough: $blocks blocks of docs/operations.md ran as written"
echo "PASS"
