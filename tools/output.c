/*
 * output.c - the JSON the siths tool prints, and its exit codes.
 */
#include <stdio.h>
#include <stdlib.h>

#include "output.h"

int
tool_exit_code(int status)
{
	if (status == SITHS_OK)
		return EXIT_YES;
	/* faults of the setting, not answers about the person or certificate */
	return siths_status_unavailable(status) ? EXIT_TROUBLE : EXIT_NO;
}

static int
print_json(json_t *obj)
{
	char *text = json_dumps(obj, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	json_decref(obj);
	if (text == NULL)
		return -1;
	printf("%s\n", text);
	free(text);
	return fflush(stdout) == 0 ? 0 : -1;
}

int
tool_print_json(json_t *obj)
{
	if (obj == NULL)
		return tool_print_error(SITHS_ERR_NOMEM, NULL);
	return print_json(obj) == 0 ? EXIT_YES : EXIT_TROUBLE;
}

int
tool_print_error(int status, const char *detail)
{
	return tool_print_error_with(status, detail, NULL);
}

int
tool_print_error_with(int status, const char *detail, json_t *extra)
{
	json_t *obj = json_object();
	char message[1024];

	/* the sentence in the locale's language; "code" is what scripts read */
	if (detail != NULL && *detail != '\0')
		snprintf(message, sizeof(message), "%s: %s", siths_strerror_lang(status, NULL),
		    detail);
	else
		snprintf(message, sizeof(message), "%s", siths_strerror_lang(status, NULL));
	json_object_set_new(obj, "code", json_string(siths_status_name(status)));
	json_object_set_new(obj, "message", json_string(message));
	if (extra != NULL)
		json_object_update(obj, extra);
	json_decref(extra);
	if (print_json(obj) != 0)
		return EXIT_TROUBLE;
	return tool_exit_code(status);
}

int
tool_print_identity(const char *key, const siths_identity *id, json_t *extra)
{
	json_t *obj = json_object(), *ident;
	char *text = siths_identity_to_json(id);

	if (obj == NULL || text == NULL || (ident = json_loads(text, 0, NULL)) == NULL) {
		free(text);
		json_decref(obj);
		json_decref(extra);
		return tool_print_error(SITHS_ERR_NOMEM, NULL);
	}
	free(text);
	json_object_set_new(obj, "code", json_string(siths_status_name(SITHS_OK)));
	if (extra != NULL)
		json_object_update(obj, extra);
	json_decref(extra);
	json_object_set_new(obj, key, ident);
	return print_json(obj) == 0 ? EXIT_YES : EXIT_TROUBLE;
}
