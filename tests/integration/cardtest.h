/*
 * cardtest.h - what the card tests in C share: a context from the
 * configuration an environment variable names, and elapsed time.
 */
#ifndef SITHS_CARDTEST_H
#define SITHS_CARDTEST_H

#include <time.h>

#include "siths.h"

/* A loaded context from the siths.conf that env_var names; fails the test
 * when the variable is unset or the file does not load. */
siths_ctx *cardtest_ctx(const char *env_var);

/* Seconds on the monotonic clock since start. */
double cardtest_seconds_since(const struct timespec *start);

#endif
