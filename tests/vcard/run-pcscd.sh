#!/bin/bash
# run-pcscd.sh: a private pcscd with vpcd's two virtual readers for one test
# environment, for the virtual card (siths-vcard) to connect to.
#
# Owns STATE/pcscd (the socket dir: pcscd.comm, pcscd.pid), STATE/pcscd.conf.d
# (the reader file), STATE/pcscd.pid and STATE/logs/pcscd.log.
#
# pcscd 1.9.9 ignores PCSCLITE_CSOCK_NAME and always serves
# /run/pcscd/pcscd.comm, so it runs in a private mount namespace with a tmpfs
# on /run and STATE/pcscd bound onto /run/pcscd: the socket appears as
# STATE/pcscd/pcscd.comm and no other environment's pcscd is in the way.
# Clients (libpcsclite, OpenSC, libsiths) find it through
#   PCSCLITE_CSOCK_NAME=STATE/pcscd/pcscd.comm
#
# Run it inside the environment's network namespace (vpcd binds 0.0.0.0):
#   sithsenv exec STATE -- tests/vcard/run-pcscd.sh STATE
# Needs root (mount namespace), pcscd and vsmartcard-vpcd.

set -euo pipefail

readonly PROG=run-pcscd.sh
readonly VPCD_DRIVER=/usr/lib/pcsc/drivers/serial/libifdvpcd.so
readonly DEFAULT_PORT=35963
readonly START_TIMEOUT_S=10
readonly STOP_TIMEOUT_S=5

usage() {
  cat <<EOF
Usage: $PROG [--port N] STATE     start pcscd; print its pid (also in STATE/pcscd.pid)
       $PROG --stop STATE         stop it (SIGTERM, then wait); a no-op if not running

Readers "Virtual PCD 00 00" on 127.0.0.1:N and "Virtual PCD 00 01" on N+1
(default N = $DEFAULT_PORT); a card connects there (tests/vcard/siths-vcard).
Clients: PCSCLITE_CSOCK_NAME=STATE/pcscd/pcscd.comm
EOF
}

die() {
  printf '%s: %s\n' "$PROG" "$*" >&2
  exit 1
}

pid_alive() { # a zombie is as good as dead
  local state
  [[ -r /proc/$1/stat ]] || return 1
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ $state != Z ]]
}

running_pid() { # prints the recorded pid if that pcscd is still alive
  local pid
  [[ -r $STATE/pcscd.pid ]] || return 1
  read -r pid <"$STATE/pcscd.pid" || return 1
  [[ $pid =~ ^[0-9]+$ ]] && pid_alive "$pid" &&
    [[ $(cat "/proc/$pid/comm" 2>/dev/null) == pcscd ]] || return 1
  echo "$pid"
}

stop() {
  local pid deadline
  pid=$(running_pid) || { rm -f "$STATE/pcscd.pid"; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + STOP_TIMEOUT_S))
  while pid_alive "$pid"; do
    if ((SECONDS >= deadline)); then
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.05
  done
  rm -f "$STATE/pcscd.pid" "$STATE/pcscd/pcscd.comm" "$STATE/pcscd/pcscd.pid"
}

start() {
  local port=$1 pid deadline sock=$STATE/pcscd/pcscd.comm
  command -v pcscd >/dev/null || die "pcscd not found (package pcscd)"
  [[ -e $VPCD_DRIVER ]] || die "$VPCD_DRIVER not found (package vsmartcard-vpcd)"
  [[ $EUID -eq 0 ]] || die "needs root (a private mount namespace)"
  if pid=$(running_pid); then
    die "pcscd for $STATE is already running (pid $pid)"
  fi
  mkdir -p "$STATE/pcscd" "$STATE/pcscd.conf.d" "$STATE/logs"
  rm -f "$sock" "$STATE/pcscd/pcscd.pid"
  cat >"$STATE/pcscd.conf.d/vpcd" <<EOF
# Written by $PROG: vpcd listens on 127.0.0.1:$port and :$((port + 1)).
FRIENDLYNAME "Virtual PCD"
DEVICENAME   /dev/null:$port
LIBPATH      $VPCD_DRIVER
CHANNELID    $port
EOF
  # The shell and unshare exec, so $! is pcscd's pid. No inherited fds
  # above 2 (make's jobserver, a harness's pipes): nobody waits on pcscd.
  (
    for fd in /proc/self/fd/*; do
      fd=${fd##*/}
      if ((fd > 2)) && [[ -e /proc/self/fd/$fd ]]; then
        eval "exec $fd>&-"
      fi
    done
    # shellcheck disable=SC2016 # $1 and $2 are the inner shell's
    exec setsid unshare --mount --propagation private -- /bin/sh -c '
      mount -t tmpfs -o mode=755 tmpfs /run &&
      mkdir /run/pcscd &&
      mount --bind "$1" /run/pcscd &&
      exec pcscd --foreground --config "$2"' \
      sh "$STATE/pcscd" "$STATE/pcscd.conf.d"
  ) </dev/null >>"$STATE/logs/pcscd.log" 2>&1 &
  pid=$!
  echo "$pid" >"$STATE/pcscd.pid"
  deadline=$((SECONDS + START_TIMEOUT_S))
  until [[ -S $sock ]]; do
    if ! pid_alive "$pid"; then
      tail -n 15 "$STATE/logs/pcscd.log" >&2
      die "pcscd exited during start (log: $STATE/logs/pcscd.log)"
    fi
    ((SECONDS < deadline)) || die "no socket $sock after ${START_TIMEOUT_S}s"
    sleep 0.02
  done
  chmod 666 "$sock" # non-root clients (pam_wrapper tests as a user)
  echo "$pid"
}

main() {
  local port=$DEFAULT_PORT action=start
  while (($#)); do
    case $1 in
    --port)
      (($# >= 2)) && [[ $2 =~ ^[0-9]+$ ]] && (($2 > 0 && $2 < 65535)) ||
        die "--port needs a number below 65535"
      port=$2
      shift 2
      ;;
    --stop) action=stop; shift ;;
    -h | --help) usage; exit 0 ;;
    -*) usage >&2; exit 2 ;;
    *) break ;;
    esac
  done
  (($# == 1)) || { usage >&2; exit 2; }
  mkdir -p "$1"
  STATE=$(cd "$1" && pwd -P)
  readonly STATE
  case $action in
  start) start "$port" ;;
  stop) stop ;;
  esac
}

main "$@"
