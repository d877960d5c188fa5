/*
 * i18n.c - gettext in the libsiths text domain, for the thread's locale or
 * for a language named by the caller (pam_siths's lang=), without touching
 * the process's locale: an explicit language is a thread locale of its own
 * (uselocale) for the one lookup.
 */
#include <libintl.h>
#include <locale.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "i18n.h"

#ifndef SITHS_LOCALEDIR
#define SITHS_LOCALEDIR "/usr/share/locale"
#endif

static pthread_once_t bound = PTHREAD_ONCE_INIT;

/*
 * Once per process: where the catalogs are, and UTF-8 whatever LC_CTYPE
 * says (a login program in the C locale would otherwise get '?' for å).
 * SITHS_LOCALEDIR in the environment points an uninstalled build at its
 * own catalogs; a setuid or setgid program ignores it (secure_getenv).
 */
static void
bind_domain(void)
{
	const char *dir = secure_getenv("SITHS_LOCALEDIR");

	bindtextdomain(SITHS_TEXTDOMAIN, dir != NULL && *dir == '/' ? dir : SITHS_LOCALEDIR);
	bind_textdomain_codeset(SITHS_TEXTDOMAIN, "UTF-8");
}

int
siths_i18n_is_swedish(const char *lang)
{
	return lang != NULL && strncmp(lang, "sv", 2) == 0 &&
	    (lang[2] == '\0' || strchr("_-.@", lang[2]) != NULL);
}

/* A thread locale whose LC_MESSAGES is Swedish; (locale_t)0 when none is installed. */
static locale_t
swedish_messages(void)
{
	static const char *const names[] = { "sv_SE.UTF-8", "sv_FI.UTF-8", "sv_SE", "sv_FI" };
	locale_t loc;
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if ((loc = newlocale(LC_MESSAGES_MASK, names[i], (locale_t)0)) != (locale_t)0)
			return loc;
	}
	return (locale_t)0;
}

/* The next printf conversion at or after *p: its spec in spec, 0 at the end. */
static int
next_conversion(const char **p, char *spec, size_t cap)
{
	const char *s = *p, *start;
	size_t n;

	while ((s = strchr(s, '%')) != NULL && s[1] == '%')
		s += 2;
	if (s == NULL)
		return 0;
	start = s++;
	while (*s != '\0' && strchr("diouxXeEfFgGaAcspn", *s) == NULL)
		s++;
	if (*s != '\0')
		s++;
	n = (size_t)(s - start);
	if (n >= cap)
		n = cap - 1;
	memcpy(spec, start, n);
	spec[n] = '\0';
	*p = s;
	return 1;
}

int
siths_i18n_same_conversions(const char *a, const char *b)
{
	char sa[16], sb[16];
	int ha, hb;

	for (;;) {
		ha = next_conversion(&a, sa, sizeof(sa));
		hb = next_conversion(&b, sb, sizeof(sb));
		if (ha != hb || (ha && strcmp(sa, sb) != 0))
			return 0;
		if (!ha)
			return 1;
	}
}

static const char *
lookup(const char *lang, const char *msgid)
{
	locale_t loc, before;
	const char *t;

	pthread_once(&bound, bind_domain);
	if (lang == NULL)
		return dgettext(SITHS_TEXTDOMAIN, msgid);
	if (!siths_i18n_is_swedish(lang) || (loc = swedish_messages()) == (locale_t)0)
		return msgid;
	before = uselocale(loc);
	t = dgettext(SITHS_TEXTDOMAIN, msgid);
	uselocale(before);
	freelocale(loc);
	return t;
}

const char *
siths_i18n_text(const char *lang, const char *msgid)
{
	const char *t;

	if (msgid == NULL || *msgid == '\0')
		return "";
	t = lookup(lang, msgid);
	return t != NULL && siths_i18n_same_conversions(msgid, t) ? t : msgid;
}

int
siths_i18n_available(const char *lang)
{
	const char *header;

	/* English is the msgid; the locale's language is the application's choice */
	if (lang == NULL || !siths_i18n_is_swedish(lang))
		return 1;
	/* gettext answers "" with the catalog's header when it found one */
	header = lookup(lang, "");
	return header != NULL && *header != '\0';
}
