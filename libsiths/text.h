/*
 * text.h - strings from outside (cards, readers, certificates not yet
 * validated) made fit to show: in prompts, logs and JSON.
 */
#ifndef SITHS_TEXT_H
#define SITHS_TEXT_H

#include <stddef.h>

/*
 * Copy at most max bytes of src (NULL: "") into dst, which has room for
 * max + 1. Well-formed UTF-8 is kept, never cut inside a character; a
 * control character (C0, DEL, C1) or a byte that is not well-formed UTF-8
 * becomes '?'. A terminal cannot be steered and a JSON encoder cannot fail
 * on the result. Returns the length written.
 */
size_t siths_text_printable(char *dst, const char *src, size_t max);

/* The same into a new string; NULL when out of memory. */
char *siths_text_printable_dup(const char *src, size_t max);

#endif
