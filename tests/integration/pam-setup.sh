# pam-setup.sh - sourced after env_up: a PAM service "siths" for
# pam_wrapper naming the built module, an "empty" card scenario (a SoftHSM2
# store with no token), and run_pam_test to run a program under both
# wrappers inside the environment.

PAM_SERVICES=$STATE/pam.d
mkdir -p "$PAM_SERVICES" "$STATE/tokens/empty/db"
cat >"$PAM_SERVICES/siths" <<EOT
auth required $PAM_MODULE config=$SITHS_CONF
EOT
echo "auth required pam_deny.so" >"$PAM_SERVICES/other"
cat >"$STATE/tokens/empty/softhsm2.conf" <<EOT
directories.tokendir = $STATE/tokens/empty/db
objectstore.backend = file
log.level = ERROR
EOT

# run_pam_test [WRAPPER...] PROGRAM: PROGRAM's TAP output passes through.
# The program runs in a Swedish locale (PAM_TEST_LANG to change it), as on a
# Swedish desktop; pam-lang.test tries the others.
run_pam_test() {
  in_env env LANG="${PAM_TEST_LANG-sv_SE.UTF-8}" LOCPATH="$SITHS_TEST_LOCPATH" \
    LD_PRELOAD="libpam_wrapper.so libnss_wrapper.so" \
    PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$PAM_SERVICES" \
    NSS_WRAPPER_PASSWD="$NSS_WRAPPER_PASSWD" NSS_WRAPPER_GROUP="$NSS_WRAPPER_GROUP" \
    LD_LIBRARY_PATH="$LD_LIBRARY_PATH" CMOCKA_MESSAGE_OUTPUT=TAP \
    "$@"
}
