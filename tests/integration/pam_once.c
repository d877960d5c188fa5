/*
 * pam_once.c - one PAM authentication through the real PAM library
 * (pam_wrapper) and libpamtest, for shell tests that change the world
 * between logins (sithsd, the directory, the responder): prints one line,
 *
 *   result=PAM_SUCCESS user=anna hsa_id=SE... stale=1 told=...
 *
 * with what the person was told joined by " | ". Service "siths"; the card
 * is SOFTHSM2_CONF's; PAM_ONCE_USER the user asked for (default none),
 * PAM_ONCE_PIN the PIN (default 123456), PAM_ONCE_PIN2 and PAM_ONCE_PIN3
 * the answers to a second and third hidden question (another module's
 * password before the PIN; a PIN change's new PIN twice). PAM_ONCE_OPS
 * picks the phases, in one handle: "auth" (the default), "auth,account",
 * "account" (account without auth), "auth,account,session" (also opens and
 * closes a session; prints token= and reader= from the session's
 * environment), "chauthtok" (a PIN change: the current PIN or the PUK,
 * then the new PIN twice); each phase after the first is reported as
 * account= or session=. With PAM_ONCE_HOLD=FILE the session stays open
 * until FILE exists (at most 60 s; the test meanwhile pulls the card), then
 * closes, and children= says whether a child process of this one is left
 * (none, running, or unreaped: a zombie). Exits 0 whatever the result: judging it is the test's.
 */
#include <errno.h>
#include <locale.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpamtest.h>
#include <security/pam_appl.h>

#define MAX_MSGS 16

static const char *
result_name(int r)
{
	switch (r) {
	case PAM_SUCCESS: return "PAM_SUCCESS";
	case PAM_AUTH_ERR: return "PAM_AUTH_ERR";
	case PAM_AUTHINFO_UNAVAIL: return "PAM_AUTHINFO_UNAVAIL";
	case PAM_USER_UNKNOWN: return "PAM_USER_UNKNOWN";
	case PAM_MAXTRIES: return "PAM_MAXTRIES";
	case PAM_PERM_DENIED: return "PAM_PERM_DENIED";
	case PAM_SERVICE_ERR: return "PAM_SERVICE_ERR";
	case PAM_ACCT_EXPIRED: return "PAM_ACCT_EXPIRED";
	case PAM_CONV_ERR: return "PAM_CONV_ERR";
	case PAM_AUTHTOK_ERR: return "PAM_AUTHTOK_ERR";
	case PAM_SESSION_ERR: return "PAM_SESSION_ERR";
	case -1: return "not-run";
	default: return "PAM_OTHER";
	}
}

/* Wait until path exists, at most 60 s. */
static void
hold_until(const char *path)
{
	struct timespec pause = { 0, 50 * 1000000L };
	int i;

	for (i = 0; i < 1200 && access(path, F_OK) != 0; i++)
		nanosleep(&pause, NULL);
}

/* Whether the comma-separated list ops names op. */
static int
has_op(const char *ops, const char *op)
{
	size_t len = strlen(op);
	const char *p;

	for (p = ops; (p = strstr(p, op)) != NULL; p += len) {
		if ((p == ops || p[-1] == ',') && (p[len] == '\0' || p[len] == ','))
			return 1;
	}
	return 0;
}

int
main(void)
{
	const char *pin = getenv("PAM_ONCE_PIN") != NULL ? getenv("PAM_ONCE_PIN") : "123456";
	const char *user = getenv("PAM_ONCE_USER");
	const char *ops = getenv("PAM_ONCE_OPS") != NULL ? getenv("PAM_ONCE_OPS") : "auth";
	const char *hold = getenv("PAM_ONCE_HOLD");
	struct pam_testcase tests[6];
	int n = 0, k, auth = has_op(ops, "auth"), account = has_op(ops, "account"),
	    session = has_op(ops, "session"), chauthtok = has_op(ops, "chauthtok");
	static char errbuf[MAX_MSGS][PAM_MAX_MSG_SIZE], infobuf[MAX_MSGS][PAM_MAX_MSG_SIZE];
	char *err[MAX_MSGS], *info[MAX_MSGS];
	const char *pins[4] = { pin, getenv("PAM_ONCE_PIN2"), getenv("PAM_ONCE_PIN3"), NULL };
	const char *answers[1] = { NULL };
	struct pamtest_conv_data data;
	const void *item = NULL;
	const char *v;
	pam_handle_t *ph = NULL;
	pid_t kid;
	int i, status;

	/* as login programs do: the module speaks the locale's language */
	setlocale(LC_ALL, "");

	memset(tests, 0, sizeof(tests));
	if (auth)
		tests[n++] = (struct pam_testcase)pam_test(PAMTEST_AUTHENTICATE, PAM_SUCCESS);
	if (chauthtok)
		tests[n++] = (struct pam_testcase)pam_test(PAMTEST_CHAUTHTOK, PAM_SUCCESS);
	if (account)
		tests[n++] = (struct pam_testcase)pam_test(PAMTEST_ACCOUNT, PAM_SUCCESS);
	if (session) {
		tests[n++] = (struct pam_testcase)pam_test(PAMTEST_OPEN_SESSION, PAM_SUCCESS);
		tests[n++] = (struct pam_testcase)pam_test(PAMTEST_GETENVLIST, PAM_SUCCESS);
		/* held: closed below, after the hold */
		if (hold == NULL)
			tests[n++] = (struct pam_testcase)pam_test(PAMTEST_CLOSE_SESSION,
			    PAM_SUCCESS);
	}
	tests[n++] = (struct pam_testcase)pam_test(PAMTEST_KEEPHANDLE, PAM_SUCCESS);
	/* a case libpamtest did not run (it stops at the first unexpected result) says so */
	for (k = 0; k < n; k++) {
		if (tests[k].pam_operation != PAMTEST_GETENVLIST &&
		    tests[k].pam_operation != PAMTEST_KEEPHANDLE)
			tests[k].op_rv = -1;
	}
	memset(&data, 0, sizeof(data));
	for (i = 0; i < MAX_MSGS; i++) {
		err[i] = errbuf[i];
		info[i] = infobuf[i];
	}
	data.in_echo_off = pins;
	data.in_echo_on = answers;
	data.out_err = err;
	data.out_info = info;
	(void)_pamtest("siths", user != NULL && *user != '\0' ? user : NULL, &data, tests,
	    (size_t)n, NULL);
	printf("result=%s", result_name(tests[0].op_rv));
	for (k = 1; k < n - 1; k++) {
		if (tests[k].pam_operation == PAMTEST_ACCOUNT)
			printf(" account=%s", result_name(tests[k].op_rv));
		if (tests[k].pam_operation == PAMTEST_OPEN_SESSION)
			printf(" session=%s", result_name(tests[k].op_rv));
		if (tests[k].pam_operation == PAMTEST_CLOSE_SESSION)
			printf(" close=%s", result_name(tests[k].op_rv));
		if (tests[k].pam_operation == PAMTEST_GETENVLIST && tests[k].case_out.envlist != NULL) {
			char **e;

			for (e = tests[k].case_out.envlist; *e != NULL; e++) {
				if (strncmp(*e, "PKCS11_LOGIN_TOKEN_NAME=", 24) == 0)
					printf(" token=%s", *e + 24);
				if (strncmp(*e, "SITHS_READER=", 13) == 0)
					printf(" reader=%s", *e + 13);
			}
			pamtest_free_env(tests[k].case_out.envlist);
		}
	}
	ph = tests[n - 1].case_out.ph;
	if (hold != NULL && session && ph != NULL) {
		hold_until(hold);
		printf(" close=%s", result_name(pam_close_session(ph, 0)));
		/* what the session started is stopped and reaped by its close */
		kid = waitpid(-1, &status, WNOHANG);
		printf(" children=%s", kid < 0 && errno == ECHILD ? "none" : kid == 0 ? "running" :
		    "unreaped");
	}
	if (auth && tests[0].op_rv == PAM_SUCCESS && ph != NULL) {
		if (pam_get_item(ph, PAM_USER, &item) == PAM_SUCCESS && item != NULL)
			printf(" user=%s", (const char *)item);
		printf(" hsa_id=%s", (v = pam_getenv(ph, "SITHS_HSA_ID")) != NULL ? v : "-");
		printf(" stale=%s", (v = pam_getenv(ph, "SITHS_STALE")) != NULL ? v : "0");
	}
	printf(" told=");
	for (i = 0; i < MAX_MSGS; i++) {
		if (errbuf[i][0] != '\0')
			printf("%s | ", errbuf[i]);
		if (infobuf[i][0] != '\0')
			printf("%s | ", infobuf[i]);
	}
	printf("\n");
	if (ph != NULL)
		pam_end(ph, PAM_SUCCESS);
	return 0;
}
