/*
 * i18n.h - sentences in the person's language through gettext, in the
 * libsiths text domain (po/libsiths.pot, po/sv.po).
 *
 * Compiled into each program that speaks to people (the library, the PAM
 * module, the tool), hidden in each: no public API is needed to translate.
 */
#ifndef SITHS_I18N_H
#define SITHS_I18N_H

#define SITHS_TEXTDOMAIN "libsiths"

/* Marks a sentence for xgettext where it is only named (tables). */
#define N_(msgid) (msgid)

/*
 * msgid in the language lang names: NULL for the calling thread's locale
 * (LC_MESSAGES, as setlocale() or uselocale() left it); "sv", "sv_SE",
 * "sv-FI", "sv_SE.UTF-8" for Swedish; "en", "C" or anything else for
 * English (msgid itself). Always UTF-8, never NULL. A translation whose
 * printf conversions differ from msgid's is not used, so a broken catalog
 * cannot turn a sentence into a format attack.
 */
const char *siths_i18n_text(const char *lang, const char *msgid)
    __attribute__((format_arg(2)));

/* Whether lang's catalog can be reached here (its locale and its .mo);
 * 1 for English, which needs neither, and for NULL (the locale's choice). */
int siths_i18n_available(const char *lang);

/* Whether a and b have the same printf conversions in the same order. */
int siths_i18n_same_conversions(const char *a, const char *b);

/* Whether lang names Swedish ("sv", "sv_SE.UTF-8", "sv-FI"). */
int siths_i18n_is_swedish(const char *lang);

#endif
