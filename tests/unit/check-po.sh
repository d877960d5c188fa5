#!/bin/bash
# check-po.sh - the translations stay in step with the sources: the template
# po/libsiths.pot is what po/update-pot.sh makes of the sources today; every
# source with a marked sentence is in po/POTFILES.in; every msgid has its
# Swedish translation in po/sv.po (none missing, none fuzzy, none left over)
# with the same printf conversions. TAP output.
set -u

src=${SITHS_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
tap() { # tap STATUS DESCRIPTION
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi
}
# msgids of a catalog, one a line (the header's empty msgid left out)
msgids() {
	msgcat --no-wrap --no-location --to-code=UTF-8 "$1" 2>/dev/null |
	    sed -n 's/^msgid "\(..*\)"$/\1/p' | sort
}

sh "$src/po/update-pot.sh" "$src" "$tmp/fresh.pot" 2>"$tmp/xgettext.err"
tap $? "xgettext reads the sources po/POTFILES.in names"
tap "$(diff <(msgids "$tmp/fresh.pot") <(msgids "$src/po/libsiths.pot") >"$tmp/pot.diff"; echo $?)" \
    "po/libsiths.pot is up to date (make update-po)"
[ -s "$tmp/pot.diff" ] && sed 's/^/# /' "$tmp/pot.diff"

# Every source that marks a sentence (_, N_, TR, T, tell) is listed.
listed=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$src/po/POTFILES.in" | sort)
marking=$(cd "$src" && grep -lE '\<(N_|TR|_)\(|\<(T|tell)\(l, ' \
    libsiths/*.c pam_siths/*.c tools/*.c sithsd/*.c 2>/dev/null | grep -v 'libsiths/i18n.c' | sort)
tap "$(comm -13 <(echo "$listed") <(echo "$marking") | tee "$tmp/unlisted" | grep -q .; echo $(( ! $? )))" \
    "every source with a marked sentence is in po/POTFILES.in"
sed 's/^/# unlisted: /' "$tmp/unlisted"

nids=$(msgids "$tmp/fresh.pot" | wc -l)
tap "$([ "$nids" -ge 90 ]; echo $?)" "the sources have their sentences marked ($nids msgids)"
tap "$(diff <(msgids "$tmp/fresh.pot") <(msgids "$src/po/sv.po") >"$tmp/sv.diff"; echo $?)" \
    "po/sv.po has every msgid, and no other"
[ -s "$tmp/sv.diff" ] && sed 's/^/# /' "$tmp/sv.diff"
untranslated=$(msgattrib --untranslated --no-obsolete "$src/po/sv.po" | msgids /dev/stdin | wc -l)
tap "$([ "$untranslated" -eq 0 ]; echo $?)" "every msgid has a Swedish translation ($untranslated without)"
fuzzy=$(msgattrib --only-fuzzy --no-obsolete "$src/po/sv.po" | msgids /dev/stdin | wc -l)
tap "$([ "$fuzzy" -eq 0 ]; echo $?)" "no Swedish translation is fuzzy ($fuzzy are)"
msgfmt --check --output-file=/dev/null "$src/po/sv.po" 2>"$tmp/msgfmt.err"
tap $? "po/sv.po compiles, with the same printf conversions as each msgid"
sed 's/^/# /' "$tmp/msgfmt.err"
echo "1..$n"
