/*
 * readers.c - the public snapshot of PC/SC readers (siths_readers_*).
 */
#include <stdlib.h>

#include "ctx.h"
#include "error.h"
#include "pcsc.h"

struct siths_readers {
	struct siths_reader_info *v;
	size_t n;
};

int
siths_readers_list(siths_ctx *ctx, siths_readers **out)
{
	siths_readers *r;
	int rc;

	if (out != NULL)
		*out = NULL;
	if (ctx == NULL || out == NULL)
		return SITHS_ERR_INVALID_ARGUMENT;
	siths_clear_error(ctx);
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return SITHS_ERR_NOMEM;
	if ((rc = siths_pcsc_list(ctx, &r->v, &r->n)) != 0) {
		free(r);
		return rc;
	}
	*out = r;
	return 0;
}

size_t
siths_readers_count(const siths_readers *r)
{
	return r != NULL ? r->n : 0;
}

const char *
siths_readers_name(const siths_readers *r, size_t i)
{
	return r != NULL && i < r->n ? r->v[i].name : NULL;
}

int
siths_readers_card_present(const siths_readers *r, size_t i)
{
	return r != NULL && i < r->n && r->v[i].present;
}

void
siths_readers_free(siths_readers **r)
{
	if (r == NULL || *r == NULL)
		return;
	siths_pcsc_list_free((*r)->v, (*r)->n);
	free(*r);
	*r = NULL;
}
