/*
 * testfile.h - a small file written for a unit test, with the mode the
 * test needs (the umask is the user's: 002 under git archive's defaults).
 * Include after <cmocka.h>.
 */
#ifndef SITHS_TESTFILE_H
#define SITHS_TESTFILE_H

#include <stdio.h>
#include <sys/stat.h>

static inline void
test_write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f;

	assert_non_null(f = fopen(path, "w"));
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
}

#endif
