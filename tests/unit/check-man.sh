#!/bin/bash
# check-man.sh - the man pages in man/ stay in step with the code: every
# siths.conf key of libsiths/config.c's key_table is described in its
# section of siths.conf.5 (with its range and default, for numbers); every
# long option and command of tools/siths.c is in siths.1; every module
# argument of pam_siths/options.c, every PAM result and every English
# sentence of pam_siths (po/libsiths.pot) is in pam_siths.8; every SITHS_API
# function of libsiths/siths.h is described in libsiths.3, and every status
# code listed there with its number and its class from libsiths/error.c.
# Every page renders without warnings. TAP output.
set -u

src=${SITHS_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
config_c=$src/libsiths/config.c
siths_c=$src/tools/siths.c
options_c=$src/pam_siths/options.c
pam_c=$src/pam_siths/pam_siths.c
conf_man=$src/man/siths.conf.5
tool_man=$src/man/siths.1
pam_man=$src/man/pam_siths.8
header=$src/libsiths/siths.h
error_c=$src/libsiths/error.c
api_man=$src/man/libsiths.3

results=()
pass() { results+=("ok - $1"); }
fail() { results+=("not ok - $1"); }
check() {   # check DESCRIPTION COMMAND...: ok when the command succeeds
	local what=$1
	shift
	if "$@"; then pass "$what"; else fail "$what"; fi
}

# A page as plain text on one line: roff escapes for characters undone,
# font changes and macros dropped, white space squeezed.
flat() {
	sed -e 's/^\.[A-Za-z]* *//' -e 's/\\-/-/g' -e 's/\\(lq/"/g' -e 's/\\(rq/"/g' \
	    -e "s/\\\\(aq/'/g" -e 's/\\(dq/"/g' -e 's/\\e/\\/g' -e 's/\\&//g' -e 's/\\%//g' \
	    -e 's/\\c$//' -e 's/" "//g' -e 's/"//g' "$1" | tr '\n\t' '  ' | tr -s ' '
}

# The lines of page between ".SH TITLE" and the next ".SH".
section_of() {
	awk -v t=".SH $2" '$0 == t { on = 1; next } /^\.SH/ { on = 0 } on' "$1"
}

# The tag lines (the line after each .TP) of a section, and lines that
# start with a word and a tab (tables).
tags_of() {
	section_of "$1" "$2" | awk 'tag { print; tag = 0 } /^\.TP/ { tag = 1 } /^[a-z_]+\t/'
}

has_word() {   # has_word WORD: stdin holds WORD delimited by non-word characters
	grep -Eq "(^|[^A-Za-z0-9_])$1([^A-Za-z0-9_]|\$)"
}

for f in "$config_c" "$siths_c" "$options_c" "$pam_c" "$conf_man" "$tool_man" "$pam_man" \
    "$header" "$error_c" "$api_man"; do
	if [ ! -r "$f" ]; then
		echo "1..1"
		echo "not ok 1 - $f is readable"
		exit 1
	fi
done

# --- siths.conf.5 against config.c --------------------------------------------

# set_defaults(): member -> number
declare -A default_of=()
while read -r member value; do
	default_of[$member]=$value
done < <(awk '/^set_defaults\(/ { on = 1 } on && /^}/ { on = 0 } on' "$config_c" |
    sed -nE 's/^[[:space:]]*cfg->([a-z_0-9]+) = ([0-9]+);.*/\1 \2/p')

nkeys=0
while IFS='|' read -r section key parser member min max; do
	nkeys=$((nkeys + 1))
	tags=$(tags_of "$conf_man" "[$section]")
	if ! printf '%s\n' "$tags" | has_word "$key"; then
		fail "siths.conf.5 describes [$section] $key"
		continue
	fi
	pass "siths.conf.5 describes [$section] $key"
	[ "$parser" = parse_int ] || continue
	# the tag line names the range, and the default where set_defaults() has one
	line=$(printf '%s\n' "$tags" | grep -E "(^|[^A-Za-z0-9_])$key([^A-Za-z0-9_]|\$)")
	[[ $min =~ ^[0-9\ *]+$ && $max =~ ^[0-9\ *]+$ ]] || { fail "[$section] $key: range $min..$max"; continue; }
	min=$((min)) max=$((max))
	check "siths.conf.5 gives [$section] $key the range $min to $max" \
	    grep -q "$min to $max" <<<"$line"
	if [ -n "${default_of[$member]:-}" ]; then
		check "siths.conf.5 gives [$section] $key the default ${default_of[$member]}" \
		    grep -q "default ${default_of[$member]}[;)]" <<<"$line"
	fi
done < <(
	sed -nE 's/^[[:space:]]*\{ "([a-z.]+)", "([a-z_0-9]+)", (parse_[a-z_]+), (F\(([a-z_0-9]+)\)|0), ([^,]+), ([^}]+) \},.*/\1|\2|\3|\5|\6|\7/p' "$config_c"
	grep -oE '\<A\("[a-z_0-9]+"' "$config_c" | sed -E 's/A\("([a-z_0-9]+)"/hsa.attributes|\1|parse_attr_name|||/'
)
check "config.c's key table was read ($nkeys keys)" [ "$nkeys" -ge 40 ]

# --- siths.1 against tools/siths.c ----------------------------------------------

tool_text=$(flat "$tool_man")
nopts=0
while read -r opt; do
	nopts=$((nopts + 1))
	check "siths.1 names --$opt" grep -qF -- "--$opt" <<<"$tool_text"
	# in roff every - of an option is \-: a regular expression matching that
	re=$(sed 's/-/\\\\-/g' <<<"--$opt")
	check "siths.1 describes --$opt under OPTIONS" \
	    grep -Eq "^\.(B|BI|BR) $re( |\$)" <(section_of "$tool_man" OPTIONS)
done < <(awk '/longopts\[\] = \{/ { on = 1 } on && /^[[:space:]]*\};/ { on = 0 } on' "$siths_c" |
    sed -nE 's/^[[:space:]]*\{ "([a-z-]+)",.*/\1/p')
check "siths.c's long options were read ($nopts)" [ "$nopts" -ge 5 ]

ncmds=0
while read -r cmd; do
	ncmds=$((ncmds + 1))
	check "siths.1 describes the command $cmd under COMMANDS" \
	    grep -Eq "^\.(B|BI) $cmd( |\$)" <(section_of "$tool_man" COMMANDS)
done < <(grep -oE 'strcmp\(a(->|\.)command, "[a-z-]+"\)' "$siths_c" |
    sed -E 's/.*"([a-z-]+)".*/\1/' | grep -vx version | sort -u)
check "siths.c's commands were read ($ncmds)" [ "$ncmds" -ge 3 ]

# --- pam_siths.8 against pam_siths/ ------------------------------------------------

pam_text=$(flat "$pam_man")
nargs=0
while read -r arg; do
	nargs=$((nargs + 1))
	check "pam_siths.8 describes the argument $arg under OPTIONS" \
	    grep -Eq "^\.(B|BI|BR) $arg" <(section_of "$pam_man" OPTIONS)
done < <(awk '/option_table\[\] = \{/ { on = 1 } on && /^\};/ { on = 0 } on' "$options_c" |
    sed -nE 's/^[[:space:]]*\{ "([a-z_]+=?)",.*/\1/p')
check "options.c's option table was read ($nargs)" [ "$nargs" -ge 3 ]

wait_max=$(sed -nE 's/^#define MAX_WAIT_SECONDS ([0-9]+).*/\1/p' "$options_c")
check "pam_siths.8 gives wait_card= the range 0 to ${wait_max:-?}" \
    grep -qF "0 to ${wait_max:-?}" <<<"$pam_text"

# PAM results the module returns (not conversation styles, items or flags)
while read -r result; do
	check "pam_siths.8 names $result" grep -qw -- "$result" <<<"$pam_text"
done < <(grep -oE '\<PAM_[A-Z_]+' "$pam_c" | sort -u |
    grep -vxE 'PAM_(SM_AUTH|SITHS_[A-Z_]+|ERROR_MSG|TEXT_INFO|PROMPT_ECHO_ON|PROMPT_ECHO_OFF)')

# What the person sees: the English text of every sentence pam_siths says
# (its msgids, as po/sv.po holds them); a conversion (%s, %d) stands for any text.
nmsgs=0
while IFS= read -r text; do
	nmsgs=$((nmsgs + 1))
	text=$(sed -E 's/[[:space:]]+$//' <<<"$text")
	pattern=$(sed -E -e 's/[][\\.*^$+?(){}|/]/\\&/g' -e 's/%[-0-9.lhz]*[a-z]/.*/g' <<<"$text")
	check "pam_siths.8 shows the message '$text'" grep -qE -- "$pattern" <<<"$pam_text"
done < <(msggrep --location='pam_siths/*' "$src/po/sv.po" |
    msgexec -i - sh -c '[ -z "$MSGEXEC_MSGID" ] || printf "%s\\n" "$MSGEXEC_MSGID"' 2>/dev/null)
check "pam_siths.c's messages were read ($nmsgs)" [ "$nmsgs" -ge 10 ]

# --- libsiths.3 against libsiths/siths.h and error.c -------------------------------

# Every function: named outside SYNOPSIS, which lists them all anyway.
api_text=$(flat <(awk '/^\.SH SYNOPSIS/ { skip = 1; next } /^\.SH/ { skip = 0 } !skip' "$api_man"))
nfuncs=0
while read -r fn; do
	nfuncs=$((nfuncs + 1))
	check "libsiths.3 describes $fn()" has_word "$fn" <<<"$api_text"
done < <(sed -nE 's/^SITHS_API [^(]*[^A-Za-z0-9_]([a-z_0-9]+)\(.*/\1/p' "$header")
check "siths.h's functions were read ($nfuncs)" [ "$nfuncs" -ge 80 ]

# Every status code: a tag line under STATUS CODES with its number, marked
# "unavailable" exactly when error.c's table puts it in that class (A).
status_tags=$(tags_of "$api_man" "STATUS CODES")
ncodes=0
while read -r code number; do
	ncodes=$((ncodes + 1))
	line=$(grep -E "^\.BR? $code( |\$)" <<<"$status_tags")
	want=$(sed -nE "s/^[[:space:]]*A\($code,.*/unavailable/p; s/^[[:space:]]*S\($code,.*/answer/p" "$error_c")
	have=answer
	grep -q "unavailable" <<<"$line" && have=unavailable
	check "libsiths.3 lists $code ($number, $want)" \
	    test -n "$line" -a -n "$want" -a "$have" = "$want"
	check "libsiths.3 gives $code the number $number" \
	    grep -qF "(${number/-/\\-}" <<<"$line"
done < <(sed -nE 's/^[[:space:]]*(SITHS_(OK|ERR_[A-Z_]+)) = (-?[0-9]+),.*/\1 \3/p' "$header")
check "siths.h's status codes were read ($ncodes)" [ "$ncodes" -ge 50 ]

# --- sithsd.8 against sithsd/main.c -----------------------------------------------

sithsd_c=$src/sithsd/main.c
sithsd_man=$src/man/sithsd.8
nsopts=0
while read -r opt; do
	nsopts=$((nsopts + 1))
	re=$(sed 's/-/\\\\-/g' <<<"--$opt")
	check "sithsd.8 describes --$opt under OPTIONS" \
	    grep -Eq "^\.(B|BI|BR) $re( |\$)" <(section_of "$sithsd_man" OPTIONS)
done < <(awk '/opts\[\] = \{/ { on = 1 } on && /^[[:space:]]*\};/ { on = 0 } on' "$sithsd_c" |
    sed -nE 's/^[[:space:]]*\{ "([a-z-]+)",.*/\1/p' | grep -vx 'help\|version')
check "sithsd's long options were read ($nsopts)" [ "$nsopts" -ge 3 ]
for op in verify login resolve map status flush; do
	check "sithsd.8 names the operation $op under ACCESS" \
	    grep -qw -- "$op" <(section_of "$sithsd_man" ACCESS)
done

# --- the pages render without warnings, where groff is installed -----------------

for page in "$tool_man" "$conf_man" "$pam_man" "$api_man" "$sithsd_man"; do
	name=${page##*/}
	if command -v groff >/dev/null 2>&1; then
		check "$name renders without warnings" \
		    test -z "$(LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z "$page" 2>&1)"
	else
		results+=("ok - $name renders without warnings # SKIP groff is not installed")
	fi
done

echo "1..${#results[@]}"
n=0
for r in "${results[@]}"; do
	n=$((n + 1))
	case $r in
	"not ok - "*) echo "not ok $n - ${r#not ok - }" ;;
	*) echo "ok $n - ${r#ok - }" ;;
	esac
done
