# sithsd-setup.sh - sourced after env_up (and pam-setup.sh where PAM is
# used): sithsd started and stopped inside the environment's namespace, on
# a socket in a short private runtime directory (Unix socket paths are
# short), and the configuration its clients and it share.
#
#   svc_conf NAME MODE [SED]   a siths.conf with [service] mode MODE and
#                              sithsd's socket; sets SVC_CONF
#   start_sithsd CONF [UID]    start sithsd (as UID when given), wait until
#                              it listens; its log is $STATE/sithsd.log
#                              (not in $(...): it sets SITHSD_PID)
#   stop_sithsd                SIGTERM, then wait for it
#   hup_sithsd                 SIGHUP, wait until the reload is logged

SITHSD=$SITHS_BUILDDIR/sithsd/sithsd
SITHSD_RUN=$(mktemp -d /tmp/sithsd-XXXXXX)
chmod 755 "$SITHSD_RUN"
SITHSD_SOCK=$SITHSD_RUN/s.sock
SITHSD_PID=
SITHSD_WRAP=()          # e.g. (valgrind --leak-check=full): run sithsd under it
trap 'stop_sithsd; rm -rf "$SITHSD_RUN"; env_down' EXIT

svc_conf() { # NAME MODE [SED] [USER]
  SVC_CONF=$(conf_with "$1" "${3:-}")
  sed -i "s|^\[pam\]|[service]\nmode = $2\nsocket = $SITHSD_SOCK\nuser = ${4:-root}\ntimeout_ms = 3000\n\n[pam]|" \
    "$SVC_CONF"
}

start_sithsd() { # CONF [UID]
  local i as=()
  [ -z "${2:-}" ] || as=(setpriv --reuid="$2" --regid="$2" --clear-groups)
  : >"$STATE/sithsd.log"
  # the user database of the tests' users is nss_wrapper's: sithsd maps users too
  in_env bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$SITHSD_RUN/pid" \
    "${as[@]}" env LD_PRELOAD=libnss_wrapper.so "${SITHSD_WRAP[@]}" "$SITHSD" \
    --config "$1" --foreground >>"$STATE/sithsd.log" 2>&1 &
  for i in $(seq 200); do
    grep -q 'listening on' "$STATE/sithsd.log" 2>/dev/null && break
    sleep 0.05
  done
  read -r SITHSD_PID <"$SITHSD_RUN/pid"
  grep -q 'listening on' "$STATE/sithsd.log"
}

stop_sithsd() {
  local i
  [ -n "$SITHSD_PID" ] || return 0
  kill -TERM "$SITHSD_PID" 2>/dev/null || true
  for i in $(seq 200); do
    kill -0 "$SITHSD_PID" 2>/dev/null || break
    sleep 0.05
  done
  kill -KILL "$SITHSD_PID" 2>/dev/null || true
  SITHSD_PID=
}

hup_sithsd() {
  local i n
  n=$(grep -c 'loaded again\|is not used' "$STATE/sithsd.log" || true)
  kill -HUP "$SITHSD_PID"
  for i in $(seq 200); do
    [ "$(grep -c 'loaded again\|is not used' "$STATE/sithsd.log" || true)" -gt "$n" ] && return 0
    sleep 0.05
  done
  return 1
}

# pam_once_as USER-OR-EMPTY CARD [SETPRIV-UID]: one PAM login through the
# "siths" service (pam-setup.sh); sets $pam (the line pam_once prints).
pam_once_as() {
  local as=()
  [ -z "${3:-}" ] || as=(setpriv --reuid="$3" --regid="$3" --clear-groups)
  pam=$(SOFTHSM2_CONF=${CARD_CONF:-$(card "$2")} run_pam_test env PAM_ONCE_USER="$1" \
    SOFTHSM2_CONF="${CARD_CONF:-$(card "$2")}" "${as[@]}" \
    "$SITHS_BUILDDIR/tests/integration/pam_once" 2>>"$STATE/pam_once.err")
}

# expect_pam DESCRIPTION PATTERN: the last login's line matches PATTERN (grep -E).
expect_pam() {
  if grep -Eq -- "$2" <<<"$pam"; then
    ok 0 "$1"
  else
    ok 1 "$1"
    echo "#   got: $pam"
    [ ! -f "$STATE/sithsd.log" ] || tail -n 8 "$STATE/sithsd.log" | sed 's/^/#   sithsd: /'
  fi
}
