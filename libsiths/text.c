/*
 * text.c - strings from outside made fit to show (see text.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

/*
 * The length of the well-formed UTF-8 character at s (at most left bytes),
 * with its code point in *cp; 0 when the bytes are not one. Overlong forms,
 * surrogates and code points past U+10FFFF are not well-formed.
 */
static size_t
utf8_char(const unsigned char *s, size_t left, uint32_t *cp)
{
	size_t n, i;
	uint32_t c;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		c = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		c = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		c = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n > left)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) ||
	    (n == 4 && (c < 0x10000 || c > 0x10ffff)))
		return 0;
	*cp = c;
	return n;
}

/* Are the left bytes at s the start of a character, all that is left? */
static int
cut_at_end(const unsigned char *s, size_t left)
{
	size_t i;

	if (left >= 4 || s[0] < 0xc2 || s[0] > 0xf4)
		return 0;
	for (i = 1; i < left; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	}
	return 1;
}

size_t
siths_text_printable(char *dst, const char *src, size_t max)
{
	const unsigned char *s = (const unsigned char *)(src != NULL ? src : "");
	size_t len = strnlen((const char *)s, max), i = 0, o = 0, n;
	uint32_t cp;

	while (i < len) {
		n = utf8_char(s + i, len - i, &cp);
		/* a character that max cuts in two is dropped, not shown as '?' */
		if (n == 0 && len == max && cut_at_end(s + i, len - i))
			break;
		if (n == 0 || cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) {
			dst[o++] = '?';
			i += n == 0 ? 1 : n;
			continue;
		}
		memcpy(dst + o, s + i, n);
		o += n;
		i += n;
	}
	dst[o] = '\0';
	return o;
}

char *
siths_text_printable_dup(const char *src, size_t max)
{
	char *dst;

	if ((dst = malloc(max + 1)) == NULL)
		return NULL;
	siths_text_printable(dst, src, max);
	return dst;
}
