#!/usr/bin/env bash
# The packaging check, run by .ci/run after `make test` (root only):
# build the .deb, install it, run weir through its SysV init script (systemd
# is not running in CI) on the packaged configuration — start, curl, reload
# (-sf takeover), stop — verify the systemd unit, purge and check that the
# `weir` user is gone; lintian the .deb (errors fail); build the .rpm and
# check its file list. Prints how long each step took.
set -euo pipefail
cd "$(dirname "$0")/.."

# Skipping is for a developer's machine: under CI (CI=true) it fails.
skip() {
    if [ "${CI:-}" = true ]; then
        echo "test-deb: FAILED: $1, and CI=true" >&2
        exit 1
    fi
    echo "test-deb: skipped: $1"
    exit 0
}
if [ "$(id -u)" != 0 ]; then
    skip "installing a package needs root"
fi
if ! command -v dpkg >/dev/null || ! command -v apt-get >/dev/null; then
    skip "not a Debian system (no dpkg/apt-get)"
fi

T0=$(date +%s)
step_start=$T0
step() {
    local now
    now=$(date +%s)
    echo "test-deb: [$((now - step_start))s] $1"
    step_start=$now
}
fail() {
    echo "test-deb: FAILED: $*" >&2
    if [ -r /etc/init.d/weir ]; then /etc/init.d/weir stop >/dev/null 2>&1 || true; fi
    exit 1
}

# Tools the check uses, installed when missing.
missing=""
for t in curl:curl lintian:lintian systemd-analyze:systemd rpm:rpm ss:iproute2 pgrep:procps; do
    command -v "${t%%:*}" >/dev/null 2>&1 || missing="$missing ${t##*:}"
done
if [ -n "$missing" ]; then
    echo "test-deb: installing:$missing"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
step "tools ready"

# 127.0.0.1:8080 and :8081 are the packaged configuration's; something else
# listening there (e.g. `make run`) would make this check meaningless.
if ss -Hltn 'sport = :8080 or sport = :8081' | grep -q .; then
    fail "127.0.0.1:8080 or :8081 is already in use; stop what listens there"
fi
if dpkg -s weir >/dev/null 2>&1; then
    echo "test-deb: purging a weir package installed before this check"
    /etc/init.d/weir stop >/dev/null 2>&1 || true
    dpkg --purge weir >/dev/null
fi

# Missing cargo-deb / cargo-generate-rpm are built unoptimised, sharing one
# target directory: ~140 s of CPU instead of ~340 s (packaging/README.md).
export PKG_TOOLS_INSTALL="cargo install --locked --debug --target-dir target/pkg-tools"
make -s deb
deb=$(ls -t target/debian/weir_*.deb | head -1)
step "built $deb"

DEBIAN_FRONTEND=noninteractive dpkg -i "$deb" || fail "dpkg -i"
getent passwd weir >/dev/null || fail "no weir user after install"
getent group weir >/dev/null || fail "no weir group after install"
[ "$(getent passwd weir | cut -d: -f6)" = /var/lib/weir ] || fail "weir's home is not /var/lib/weir"
[ -d /var/lib/weir ] || fail "no chroot /var/lib/weir"
[ "$(stat -c %U /var/lib/weir)" = root ] || fail "/var/lib/weir must belong to root"
dpkg-query -W -f '${Conffiles}\n' weir | grep -q ' /etc/weir/weir.toml ' ||
    fail "/etc/weir/weir.toml is not a conffile"
/usr/sbin/weir -c -f /etc/weir/weir.toml || fail "the packaged configuration does not pass weir -c"
man -l /usr/share/man/man8/weir.8.gz >/dev/null 2>&1 || fail "man weir does not render"
step "installed"

# systemd's own check of the unit, now that the binary and man page exist.
verify=$(systemd-analyze verify /lib/systemd/system/weir.service 2>&1) || fail "systemd-analyze verify: $verify"
[ -z "$verify" ] || fail "systemd-analyze verify is not clean: $verify"
step "systemd-analyze verify weir.service: clean"

pidfile=/run/weir/weir.pid
/etc/init.d/weir start || fail "init script start"
/etc/init.d/weir status || fail "status after start"
pid=$(cat "$pidfile")
body=$(curl -sS --max-time 5 http://127.0.0.1:8080/) || fail "curl after start"
case "$body" in *"weir is running"*) ;; *) fail "unexpected body: $body" ;; esac
[ "$(curl -sS --max-time 5 http://127.0.0.1:8080/health)" = ok ] || fail "/health"
# Workers: user weir, chrooted in /var/lib/weir.
workers=$(pgrep -P "$pid") || fail "the master $pid has no workers"
for w in $workers; do
    [ "$(ps -o user= -p "$w")" = weir ] || fail "worker $w does not run as weir"
    [ "$(readlink "/proc/$w/root")" = /var/lib/weir ] || fail "worker $w is not chrooted"
done
step "init script start: master $pid, workers $(echo $workers), served"

/etc/init.d/weir checkconfig >/dev/null || fail "init script checkconfig"
/etc/init.d/weir reload || fail "init script reload"
new=$(cat "$pidfile")
[ "$new" != "$pid" ] || fail "reload did not start a new master"
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
! kill -0 "$pid" 2>/dev/null || fail "the old master $pid is still running 10 s after the reload"
[ "$(cat "$pidfile" 2>/dev/null)" = "$new" ] || fail "the pidfile lost the new master's pid"
body=$(curl -sS --max-time 5 http://127.0.0.1:8080/) || fail "curl after reload"
case "$body" in *"weir is running"*) ;; *) fail "unexpected body after reload: $body" ;; esac
step "init script reload: master $pid -> $new (-sf), served"

/etc/init.d/weir stop || fail "init script stop"
! kill -0 "$new" 2>/dev/null || fail "master $new still running after stop"
rc=0
/etc/init.d/weir status >/dev/null || rc=$?
[ "$rc" = 3 ] || fail "status after stop exited $rc, want 3"
! curl -s --max-time 2 http://127.0.0.1:8080/ >/dev/null || fail "still serving after stop"
step "init script stop"

dpkg --purge weir || fail "dpkg --purge"
! getent passwd weir >/dev/null || fail "the weir user is still there after purge"
! getent group weir >/dev/null || fail "the weir group is still there after purge"
[ ! -e /var/lib/weir ] || fail "/var/lib/weir is still there after purge"
[ ! -e /etc/weir ] || fail "/etc/weir is still there after purge"
[ ! -e /etc/init.d/weir ] || fail "/etc/init.d/weir is still there after purge"
step "purged: user, group, chroot and configuration gone"

lintian_out=$(lintian --fail-on error "$deb" 2>&1) || {
    echo "$lintian_out"
    fail "lintian reports errors"
}
echo "$lintian_out" | grep -v 'running with root privileges' || true
step "lintian: no errors ($(echo "$lintian_out" | grep -c '^W:') warnings, $(echo "$lintian_out" | grep -c '^I:') infos; see packaging/README.md)"

make -s rpm >/dev/null
rpmfile=$(ls -t target/generate-rpm/weir-*.rpm | head -1)
files=$(rpm -qlp "$rpmfile")
for f in /usr/sbin/weir /etc/weir/weir.toml /etc/sysconfig/weir /etc/rc.d/init.d/weir \
    /usr/lib/systemd/system/weir.service /usr/share/man/man8/weir.8 /usr/share/doc/weir/README.md; do
    echo "$files" | grep -qx "$f" || fail "$f missing from $rpmfile"
done
rpm -qp --configfiles "$rpmfile" | grep -qx /etc/weir/weir.toml || fail "weir.toml is not %config in the rpm"
rpm -qp --scripts "$rpmfile" | grep -q 'useradd -r' || fail "the rpm's %pre does not create the weir user"
step "built $rpmfile: $(echo "$files" | wc -l) files, %config and %pre as expected"

echo "test-deb: all good in $(($(date +%s) - T0))s"
