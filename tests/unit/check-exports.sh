#!/bin/bash
# check-exports.sh - what the built objects let other programs link: the PAM
# module exactly the pam_sm_* functions of the phases it provides (nothing
# of libsiths' text or gettext helpers compiled into it), the library
# exactly the SITHS_API functions of siths.h. TAP output.
set -u

src=${SITHS_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${SITHS_BUILDDIR:-$PWD}
n=0
tap() { # STATUS DESCRIPTION
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi
}
exported() { nm -D --defined-only "$1" | awk '$2 ~ /^[TtWDBR]$/ {print $3}' | sed 's/@.*//' | sort -u; }

module=$build/pam_siths/.libs/pam_siths.so
lib=$(ls "$build"/libsiths/.libs/libsiths.so.* 2>/dev/null | head -1)

want_pam=$(printf '%s\n' pam_sm_authenticate pam_sm_setcred pam_sm_acct_mgmt \
    pam_sm_open_session pam_sm_close_session pam_sm_chauthtok | sort)
got_pam=$(exported "$module")
# the phases the module provides are those pam_siths.c defines
defined=$(grep -oE '^pam_sm_[a-z_]+' "$src"/pam_siths/*.c | sed 's/.*://' | sort -u)
tap "$([ "$got_pam" = "$defined" ]; echo $?)" "pam_siths.so exports exactly the pam_sm_* functions it defines"
diff <(echo "$got_pam") <(echo "$defined") | sed 's/^/# /'
tap "$(comm -23 <(echo "$got_pam") <(echo "$want_pam") | grep -q .; echo $(( ! $? )))" \
    "  and only PAM's entry points ($(echo "$got_pam" | wc -l) of them)"

want_lib=$(grep -oE 'SITHS_API[^;(]*\<siths_[a-z0-9_]+\(' "$src/libsiths/siths.h" |
    grep -oE 'siths_[a-z0-9_]+\($' | tr -d '(' | sort -u)
got_lib=$(exported "$lib" | grep -v '^SITHS_[0-9]')
tap "$([ -n "$got_lib" ] && [ "$got_lib" = "$want_lib" ]; echo $?)" \
    "libsiths.so exports exactly the SITHS_API functions of siths.h ($(echo "$want_lib" | wc -l))"
diff <(echo "$got_lib") <(echo "$want_lib") | sed 's/^/# /'
tap "$(nm -D "$lib" | grep -q ' A SITHS_1.0$'; echo $?)" "  in the version node SITHS_1.0"
echo "1..$n"
