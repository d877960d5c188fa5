# lib.sh - shared by the integration tests (*.test): TAP output, and one
# private SITHS/HSA environment (tests/env/sithsenv) per test, brought down
# on exit whatever happens.
#
# A test sources this file, calls env_up, then `check NAME CMD...` per case.
# Needs: SITHS_SRCDIR and SITHS_BUILDDIR (set by make check).

set -u

: "${SITHS_SRCDIR:?run through make check}"
: "${SITHS_BUILDDIR:?run through make check}"
SITHSENV=$SITHS_SRCDIR/tests/env/sithsenv
SITHS_TOOL=$SITHS_BUILDDIR/tools/siths
PAM_MODULE=$SITHS_BUILDDIR/pam_siths/.libs/pam_siths.so
export LD_LIBRARY_PATH=$SITHS_BUILDDIR/libsiths/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}

tap_n=0
tap_failed=0

ok() {   # ok RESULT(0 = pass) DESCRIPTION
  tap_n=$((tap_n + 1))
  if [ "$1" -eq 0 ]; then
    echo "ok $tap_n - $2"
  else
    echo "not ok $tap_n - $2"
    tap_failed=$((tap_failed + 1))
  fi
}

skip_all() {
  echo "1..0 # SKIP $*"
  exit 0
}

bail() {
  echo "Bail out! $*"
  exit 1
}

# The PKI takes seconds to make: make it once per build tree and copy it.
pki_cached() {
  # keyed by the script that makes it, so an edited sithsenv makes a new one
  local cache
  cache=$SITHS_BUILDDIR/tests/pki-cache/$(sha256sum "$SITHSENV" | cut -c1-16)
  mkdir -p "$cache"
  (
    flock 9
    [ -f "$cache/env/pki/.done" ] || "$SITHSENV" pki "$cache/env" >"$cache/pki.log" 2>&1
  ) 9>"$cache/.lock" || return 1
  mkdir -p "$STATE"
  rm -rf "$STATE/pki"
  cp -a "$cache/env/pki" "$STATE/pki"
  touch "$STATE/.sithsenv"   # sithsenv's mark: this directory is its own
}

env_down() {
  "$SITHSENV" down "$STATE" >/dev/null 2>&1 || true
}

env_up() {
  [ "$(id -u)" -eq 0 ] || skip_all "needs root for a private network namespace"
  STATE=$SITHS_BUILDDIR/tests/state/$(basename "$0" .test)
  env_down
  rm -rf "$STATE"
  pki_cached || bail "cannot make the test PKI (see $SITHS_BUILDDIR/tests/pki-cache/*/pki.log)"
  trap env_down EXIT
  "$SITHSENV" up "$STATE" >"$STATE.up.log" 2>&1 || bail "sithsenv up failed: $(tail -3 "$STATE.up.log")"
  # shellcheck disable=SC1091
  . "$STATE/env.sh"
}

in_env() {
  "$SITHSENV" exec "$STATE" -- "$@"
}

# The token of a card scenario (anna, bertil, cecilia, david, elsa, eva-other, evil, signonly).
card() {
  echo "$STATE/tokens/$1/softhsm2.conf"
}

# Run the siths tool in the environment: sets $out (stdout) and $rc.
# $TOOL_WRAP (e.g. "timeout 10") runs in front of the tool when set.
run_tool() {
  local mock=() v
  # the mock PKCS#11 module's settings (tests/mock/mock-pkcs11.c), when set
  for v in MOCK_PKCS11_FAULT MOCK_PKCS11_REAL MOCK_PKCS11_PAD_PIN; do
    [ -z "${!v:-}" ] || mock+=("$v=${!v}")
  done
  set +e
  # sithsenv exec exports env.sh again: pass this shell's card choice through.
  # shellcheck disable=SC2086
  out=$(in_env env SOFTHSM2_CONF="$SOFTHSM2_CONF" ${mock[@]+"${mock[@]}"} ${TOOL_WRAP:-} \
    "$SITHS_TOOL" --config "$SITHS_CONF" "$@" 2>"$STATE/tool.err")
  rc=$?
  set -e
}

# json_field KEY: the value of "KEY" in $out (top level or nested, first hit).
json_field() {
  printf '%s' "$out" | /usr/bin/python3 -c '
import json, sys
def find(o, k):
    if isinstance(o, dict):
        if k in o: return o[k]
        o = list(o.values())
    if isinstance(o, list):
        for v in o:
            r = find(v, k)
            if r is not None: return r
    return None
v = find(json.load(sys.stdin), sys.argv[1])
print("" if v is None else v)' "$1" 2>/dev/null
}

# expect_tool DESCRIPTION RC CODE [ARGS...]: the tool exits RC and prints CODE.
expect_tool() {
  local desc=$1 want_rc=$2 want_code=$3 code
  shift 3
  run_tool "$@"
  code=$(json_field code)
  if [ "$rc" -eq "$want_rc" ] && [ "$code" = "$want_code" ]; then
    ok 0 "$desc"
  else
    ok 1 "$desc"
    echo "# expected exit $want_rc $want_code, got exit $rc $code"
    printf '%s\n' "$out" | sed 's/^/#   /'
    sed 's/^/#   stderr: /' "$STATE/tool.err"
  fi
}

finish() {
  echo "1..$tap_n"
  [ "$tap_failed" -eq 0 ]
}

# conf_with NAME SED-SCRIPT: a copy of the environment's siths.conf, edited,
# with a cache directory of its own: what one configuration's processes
# learnt (revocation answers, the directory's answers kept for outages) is
# not another's.
conf_with() {
  sed -e "s|^cache_dir.*|cache_dir = $STATE/cache-$1|" -e "$2" "$SITHS_CONF" >"$STATE/$1.conf"
  chmod 644 "$STATE/$1.conf"
  echo "$STATE/$1.conf"
}

# revocation_conf NAME KEY=VALUE...: siths.conf with [revocation] keys set
# (replaced when present, added when not) and a cache directory of its own.
revocation_conf() {
  local name=$1 kv key
  shift
  local conf
  conf=$(conf_with "$name" "")
  for kv in "$@"; do
    key=${kv%%=*}
    if grep -q "^$key *=" "$conf"; then
      sed -i "s|^$key *=.*|$key = ${kv#*=}|" "$conf"
    else
      sed -i "s|^\[revocation\]|[revocation]\n$key = ${kv#*=}|" "$conf"
    fi
  done
  echo "$conf"
}

# assert_field DESCRIPTION KEY VALUE: the last tool output has KEY = VALUE.
assert_field() {
  local got
  got=$(json_field "$2")
  if [ "$got" = "$3" ]; then
    ok 0 "$1"
  else
    ok 1 "$1"
    echo "# $2: expected '$3', got '$got'"
  fi
}
