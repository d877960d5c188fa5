#!/bin/sh
# po/update-pot.sh SRCDIR OUT (relative to SRCDIR, or absolute): the libsiths text domain's template, from the
# files po/POTFILES.in names. Used by `make update-po` and by the test that
# every sentence has its Swedish translation (tests/unit/check-po.sh), so both
# read the sources with the same keywords:
#   _(msgid)          the tool and the library
#   N_(msgid)         a sentence named in a table (status sentences)
#   TR(opts, msgid)   pam_siths, in the module's lang= or the locale
#   T(l, msgid)       pam_siths's login steps (TR for the login's options)
#   login_tell(l, style, msgid)  pam_siths: a whole sentence said to the person
set -eu
srcdir=$1
out=$2
cd "$srcdir"
exec xgettext --from-code=UTF-8 --language=C --add-location=file --sort-by-file \
	--keyword=_ --keyword=N_ --keyword=TR:2 --keyword=T:2 --keyword=login_tell:3 \
	--add-comments=TRANSLATORS: --package-name=libsiths --msgid-bugs-address="the libsiths issue tracker" \
	--files-from=po/POTFILES.in --output="$out"
