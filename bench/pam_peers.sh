# shellcheck shell=bash
# bench/pam_peers.sh - sourced by bench/run-pam: the peers pam_siths is
# measured against, set up inside a sithsenv state on Anna's SoftHSM2 token
# or her virtual card (pcscd + OpenSC) and the environment's test PKI. Each
# peer_* function writes what its module needs under WORK and prints the
# module's PAM service line; an optional PKCS#11 module argument picks the
# token (default SoftHSM2's).
# Needs: SITHS_TEST_PKI (env.sh), NSS_WRAPPER_PASSWD (env.sh).

# The Debian packages a run needs, and one check per package that it is there.
# The virtual card's half: pcscd, vpcd, OpenSC's PKCS#11 module.
PAM_BENCH_PACKAGES=(time pamtester libpam-wrapper libnss-wrapper libpam-p11 libpam-pkcs11
  pcscd vsmartcard-vpcd opensc opensc-pkcs11)
SOFTHSM_MODULE=/usr/lib/softhsm/libsofthsm2.so
# shellcheck disable=SC2034 # bench/run-pam's
OPENSC_MODULE=/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so

# pam_bench_packages: apt-get install the packages that are missing.
pam_bench_packages() {
  local p missing=()
  for p in "${PAM_BENCH_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' ||
      missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  echo "installing ${missing[*]}" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2
}

# installed_file PACKAGE NAME: the absolute path of NAME in PACKAGE's files.
installed_file() {
  local f
  f=$(dpkg -L "$1" | grep -m1 "/$2\$") || { echo "$1 has no $2" >&2; return 1; }
  echo "$f"
}

# peer_p11 WORK [MODULE]: pam_p11 (OpenSC's, over libp11) on MODULE. It
# reads the user's ~/.eid/authorized_certificates, home from the user
# database: a private copy of the nss_wrapper passwd file, anna's home under
# WORK, holding Anna's certificate. Use the copy: NSS_WRAPPER_PASSWD=WORK/passwd.
peer_p11() {
  local work=$1 module=${2:-$SOFTHSM_MODULE} home=$1/home/anna
  mkdir -p "$home/.eid"
  cp "$SITHS_TEST_PKI/anna.pem" "$home/.eid/authorized_certificates"
  awk -F: -v OFS=: -v home="$home" '$1 == "anna" { $6 = home } { print }' \
    "$NSS_WRAPPER_PASSWD" >"$work/passwd"
  grep -q "^anna:[^:]*:[^:]*:[^:]*:[^:]*:$home:" "$work/passwd" ||
    { echo "pam_p11: no anna in $NSS_WRAPPER_PASSWD" >&2; return 1; }
  echo "auth required $(installed_file libpam-p11 pam_p11.so) $module"
}

# p11_token_ok: whether pam_p11 (Debian 12's 0.3.1) can log in with Anna's
# SoftHSM2 token as this environment built it. It dies of SIGSEGV in
# libp11's PKCS11_get_public_key (called from its key_verify) unless Anna's
# login key is the first public key the token lists: it picks the key
# before the PIN login and uses it after the login, which makes libp11
# reload the token's objects (upstream reworked this in 0.5.0: "Search for
# authkey after login", "Don't look for the public key in key_verify()").
# SoftHSM2 lists objects in the order of their random file names, so about
# half the tokens built are fine. The virtual card (OpenSC, 9A before 9C)
# always is.
p11_token_ok() {
  local conf=$SITHS_TEST_TOKENS/anna/softhsm2.conf id want
  id=$(SOFTHSM2_CONF=$conf pkcs11-tool --module "$SOFTHSM_MODULE" -O --type pubkey 2>/dev/null |
    sed -n 's/^ *ID: *//p' | head -1)
  [ -n "$id" ] || return 1
  want=$(openssl x509 -in "$SITHS_TEST_PKI/anna.pem" -pubkey -noout |
    openssl pkey -pubin -outform DER | sha256sum)
  [ "$(SOFTHSM2_CONF=$conf pkcs11-tool --module "$SOFTHSM_MODULE" --read-object --type pubkey \
    --id "$id" 2>/dev/null | sha256sum)" = "$want" ]
}

# pkcs11_conf WORK DEBUG MODULE: a pam_pkcs11.conf's text, on MODULE.
pkcs11_conf() {
  local work=$1 debug=$2 module=$3 name=softhsm description=SoftHSM2
  [ "$module" = "$SOFTHSM_MODULE" ] || { name=opensc description="OpenSC"; }
  cat <<EOF
pam_pkcs11 {
  nullok = false;
  debug = $debug;
  use_first_pass = false;
  try_first_pass = false;
  use_authtok = false;
  card_only = true;
  wait_for_card = false;
  use_pkcs11_module = $name;
  pkcs11_module $name {
    module = $module;
    description = "$description";
    slot_num = 0;
    support_threads = false;
    ca_dir = $work/pkcs11-ca;
    crl_dir = $work/pkcs11-crl;
    cert_policy = ca,signature,crl_offline;
  }
  use_mappers = cn;
  mapper_search_path = $(dirname "$(installed_file libpam-pkcs11 ldap_mapper.so)");
  mapper cn {
    debug = $debug;
    module = internal;
    ignorecase = false;
    mapfile = file://$work/pkcs11-cn.map;
  }
}
EOF
}

# peer_pkcs11 WORK [MODULE TAG]: pam_pkcs11 on MODULE with its own chain and
# offline CRL check: the FAKE root and issuing CA certificates, and the CRLs
# the PKI has for them (the issuing CA's; the root has none), PEM in
# openssl-rehash'ed directories; the cn mapper maps Anna's CN to anna. Its
# configuration is WORK/pam_pkcs11[-TAG].conf, with a debug copy
# (...-debug.conf) for pkcs11_log.
peer_pkcs11() {
  local work=$1 module=${2:-$SOFTHSM_MODULE} conf=$1/pam_pkcs11${3:+-$3}
  local ca=$1/pkcs11-ca crl=$1/pkcs11-crl pki=$SITHS_TEST_PKI name f cn
  mkdir -p "$ca" "$crl"
  for name in fake-root fake-issuing; do
    cp "$pki/ca/$name/cert.pem" "$ca/$name.pem"
    f=$pki/ca/$name/crl.pem   # the CA's last CRL, PEM (pki/crl/ has it as DER)
    [ ! -f "$f" ] || openssl crl -in "$f" -out "$crl/$name.crl.pem"
  done
  cmp -s "$ca/fake-root.pem" "$pki/root.pem" || { echo "pam_pkcs11: ca/fake-root is not root.pem" >&2; return 1; }
  [ -n "$(ls "$crl")" ] || { echo "pam_pkcs11: no CRL in $pki/ca/*/crl.pem" >&2; return 1; }
  openssl rehash "$ca" "$crl"
  cn=$(openssl x509 -in "$pki/anna.pem" -noout -subject -nameopt utf8,sep_multiline |
    sed -n 's/^ *CN=//p')
  [ -n "$cn" ] || { echo "pam_pkcs11: no CN in anna.pem" >&2; return 1; }
  printf '%s -> anna\n' "$cn" >"$work/pkcs11-cn.map"
  pkcs11_conf "$work" false "$module" >"$conf.conf"
  pkcs11_conf "$work" true "$module" >"$conf-debug.conf"
  echo "auth required $(installed_file libpam-pkcs11 pam_pkcs11.so) config_file=$conf.conf"
}

# pkcs11_log PAMD PIN-FILE SERVICE: pam_pkcs11's debug log of one login
# through SERVICE (a peer_pkcs11 line) with the debug copy of its
# configuration, with pam_wrapper's settings from the caller's environment.
# The module logs to syslog unless stdout is a terminal, so the login runs
# under script(1); the PIN goes in once the prompt is up. For a failure.
pkcs11_log() {
  local pamd=$1 pin=$2 service=$3
  sed 's|config_file=\([^ ]*\)\.conf|config_file=\1-debug.conf|' "$pamd/$service" \
    >"$pamd/pkcs11-debug"
  (sleep 1; cat "$pin") |
    script -qec "env LD_PRELOAD='libpam_wrapper.so libnss_wrapper.so' pamtester -v pkcs11-debug anna authenticate" \
      /dev/null 2>&1 | sed 's/\x1b\[[0-9;]*m//g; s/\r$//' || true
  rm -f "$pamd/pkcs11-debug"
}
