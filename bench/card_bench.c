/*
 * card_bench.c - from a card present in its reader to a verified identity:
 * siths_card_wait, siths_card_login, siths_card_authenticate (proof of
 * possession, certificate validation, HSA lookup), N times on one context;
 * prints the median and the spread in milliseconds.
 *
 * Usage: card_bench CONFIG PIN ITERATIONS
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "siths.h"

#include "clock.h"

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	siths_identity *id = NULL;
	siths_card *card = NULL;
	siths_ctx *ctx = NULL;
	double *t, t0;
	int i, n, r;

	if (argc != 4 || (n = atoi(argv[3])) < 1) {
		fprintf(stderr, "usage: card_bench CONFIG PIN ITERATIONS\n");
		return 2;
	}
	if ((r = siths_ctx_new(&ctx, argv[1])) != 0 || (t = calloc((size_t)n, sizeof(*t))) == NULL) {
		fprintf(stderr, "card_bench: %s\n", siths_strerror(r));
		return 2;
	}
	for (i = 0; i < n; i++) {
		/* every round asks the directory and the card afresh */
		siths_ctx_flush_caches(ctx);
		t0 = bench_now_s() * 1e3;
		if ((r = siths_card_wait(ctx, NULL, 0, &card)) != 0 ||
		    (r = siths_card_login(card, argv[2], NULL)) != 0 ||
		    (r = siths_card_authenticate(card, &id)) != 0) {
			fprintf(stderr, "card_bench: %s: %s\n", siths_status_name(r),
			    siths_ctx_errmsg(ctx));
			return 1;
		}
		t[i] = bench_now_s() * 1e3 - t0;
		siths_identity_free(&id);
		siths_card_free(&card);
	}
	qsort(t, (size_t)n, sizeof(*t), cmp);
	printf("logins %d\nmedian_ms %.1f\nmin_ms %.1f\nmax_ms %.1f\n", n, t[n / 2], t[0],
	    t[n - 1]);
	free(t);
	siths_ctx_free(&ctx);
	return 0;
}
