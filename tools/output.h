/*
 * output.h - what the siths tool prints: one JSON object on stdout, and the
 * exit code that goes with a status (0 yes, 1 no, 2 could not answer).
 */
#ifndef SITHS_TOOL_OUTPUT_H
#define SITHS_TOOL_OUTPUT_H

#include <jansson.h>

#include "siths.h"

enum {
	EXIT_YES = 0,
	EXIT_NO = 1,
	EXIT_TROUBLE = 2,
};

/* 1 for "the answer is no" statuses, 2 for usage, configuration, environment. */
int tool_exit_code(int status);
/* Print {"code": NAME, "message": ...}; returns the exit code. */
int tool_print_error(int status, const char *detail);
/* The same with the members of extra (taken; may be NULL) added. */
int tool_print_error_with(int status, const char *detail, json_t *extra);
/* Print obj (taken) as the answer; the exit code for success. */
int tool_print_json(json_t *obj);
/* Print {"code":"SITHS_OK", key: identity, ...extra}; takes extra. */
int tool_print_identity(const char *key, const siths_identity *id, json_t *extra);

#endif
