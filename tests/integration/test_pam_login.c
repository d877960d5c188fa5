/*
 * test_pam_login.c - pam_siths through the real PAM library (pam_wrapper)
 * and libpamtest: exact PAM results, PAM_USER, and what the person is told.
 * Run by pam.test inside the test environment; one SoftHSM2 token per case,
 * chosen with SOFTHSM2_CONF. PAM_TEST_GROUP picks other groups for other
 * configurations: pinpad (pam-pinpad.test), attr, attr-root and attr-two
 * (pam-attr.test).
 */
#include <locale.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libpamtest.h>
#include <security/pam_appl.h>

#define SERVICE "siths"
#define PIN "123456"
#define MAX_MSGS 16

static void
use_card(const char *scenario)
{
	const char *state = getenv("SITHS_TEST_STATE");
	char path[1024];

	assert_non_null(state);
	snprintf(path, sizeof(path), "%s/tokens/%s/softhsm2.conf", state, scenario);
	assert_int_equal(setenv("SOFTHSM2_CONF", path, 1), 0);
}

struct convo {
	char hsa_id[64];         /* SITHS_HSA_ID after a login (expect_user) */
	const char *pins[2];
	const char *answers[2];  /* echo-on prompts: the identity chosen */
	char *err[MAX_MSGS];
	char *info[MAX_MSGS];
	char errbuf[MAX_MSGS][PAM_MAX_MSG_SIZE];
	char infobuf[MAX_MSGS][PAM_MAX_MSG_SIZE];
	struct pamtest_conv_data data;
};

static void
convo_init(struct convo *c, const char *pin)
{
	int i;

	memset(c, 0, sizeof(*c));
	c->pins[0] = pin;
	for (i = 0; i < MAX_MSGS; i++) {
		c->err[i] = c->errbuf[i];
		c->info[i] = c->infobuf[i];
	}
	c->data.in_echo_off = c->pins;
	c->data.in_echo_on = c->answers;
	c->data.out_err = c->err;
	c->data.out_info = c->info;
}

static int
told(const struct convo *c, const char *text)
{
	int i;

	for (i = 0; i < MAX_MSGS; i++) {
		if (strstr(c->errbuf[i], text) != NULL || strstr(c->infobuf[i], text) != NULL)
			return 1;
	}
	return 0;
}

/* The HSA-id in the listed identity that starts with prefix ("2) "). */
static int
listed_hsa_id(const struct convo *c, const char *prefix, char *out, size_t size)
{
	const char *open, *close;
	int i;

	for (i = 0; i < MAX_MSGS; i++) {
		if (strncmp(c->infobuf[i], prefix, strlen(prefix)) != 0)
			continue;
		open = strrchr(c->infobuf[i], '(');
		close = strrchr(c->infobuf[i], ')');
		if (open == NULL || close == NULL || close < open)
			return 0;
		snprintf(out, size, "%.*s", (int)(close - open - 1), open + 1);
		return 1;
	}
	return 0;
}

/*
 * Authenticate as user (NULL: let the card decide) and expect result;
 * choice answers a question for an identity (NULL: none expected).
 */
static void
expect_auth_choosing(const char *scenario, const char *user, const char *choice,
    const char *pin, int result, struct convo *c)
{
	struct pam_testcase tests[] = {
		pam_test(PAMTEST_AUTHENTICATE, result),
	};
	enum pamtest_err perr;

	use_card(scenario);
	convo_init(c, pin);
	if (choice != NULL) {
		/* the question comes before the PIN's */
		c->answers[0] = choice;
	}
	perr = run_pamtest(SERVICE, user, &c->data, tests, NULL);
	if (perr != PAMTEST_ERR_OK)
		fail_msg("%s: expected %s, got %s (%s)", scenario, pam_strerror(NULL, result),
		    pam_strerror(NULL, tests[0].op_rv), pamtest_strerror(perr));
}

static void
expect_auth(const char *scenario, const char *user, const char *pin, int result,
    struct convo *c)
{
	expect_auth_choosing(scenario, user, NULL, pin, result, c);
}

/* The PAM_USER a successful login on scenario leaves behind. */
static void
expect_user(const char *scenario, const char *choice, const char *pin, const char *want,
    struct convo *c)
{
	struct pam_testcase tests[] = {
		pam_test(PAMTEST_AUTHENTICATE, PAM_SUCCESS),
		pam_test(PAMTEST_KEEPHANDLE, PAM_SUCCESS),
	};
	const void *user = NULL;
	pam_handle_t *ph;

	use_card(scenario);
	convo_init(c, pin);
	c->answers[0] = choice;
	assert_int_equal(run_pamtest(SERVICE, NULL, &c->data, tests, NULL), PAMTEST_ERR_OK);
	ph = tests[1].case_out.ph;
	assert_int_equal(pam_get_item(ph, PAM_USER, &user), PAM_SUCCESS);
	assert_string_equal(user, want);
	/* which identity logged in, for the session */
	assert_non_null(pam_getenv(ph, "SITHS_HSA_ID"));
	snprintf(c->hsa_id, sizeof(c->hsa_id), "%s", pam_getenv(ph, "SITHS_HSA_ID"));
	pam_end(ph, PAM_SUCCESS);
}

static void
test_valid_card_sets_user(void **state)
{
	struct pam_testcase tests[] = {
		pam_test(PAMTEST_AUTHENTICATE, PAM_SUCCESS),
		pam_test(PAMTEST_KEEPHANDLE, PAM_SUCCESS),
	};
	const void *user = NULL;
	struct convo c;
	pam_handle_t *ph;

	use_card("anna");
	convo_init(&c, PIN);
	assert_int_equal(run_pamtest(SERVICE, NULL, &c.data, tests, NULL), PAMTEST_ERR_OK);
	ph = tests[1].case_out.ph;
	assert_int_equal(pam_get_item(ph, PAM_USER, &user), PAM_SUCCESS);
	assert_string_equal(user, "anna");
	pam_end(ph, PAM_SUCCESS);
}

static void
test_valid_card_given_user(void **state)
{
	struct convo c;

	expect_auth("anna", "anna", PIN, PAM_SUCCESS, &c);
}

static void
test_card_of_another_user(void **state)
{
	struct convo c;

	expect_auth("anna", "bertil", PIN, PAM_AUTH_ERR, &c);
	assert_true(told(&c, "annan användare"));
}

static void
test_wrong_pin(void **state)
{
	struct convo c;

	expect_auth("anna", NULL, "654321", PAM_AUTH_ERR, &c);
	assert_true(told(&c, "Fel PIN-kod"));
}

static void
test_pin_form(void **state)
{
	struct convo c;

	expect_auth("anna", NULL, "12", PAM_AUTH_ERR, &c);
	assert_true(told(&c, "6 till 8 siffror"));
}

static void
test_other_root(void **state)
{
	struct convo c;

	expect_auth("eva-other", NULL, PIN, PAM_AUTH_ERR, &c);
	assert_true(told(&c, "betrodd") || told(&c, "trusted"));
}

static void
test_evil_root(void **state)
{
	struct convo c;

	expect_auth("evil", NULL, PIN, PAM_AUTH_ERR, &c);
}

static void
test_signature_only(void **state)
{
	struct convo c;

	expect_auth("signonly", NULL, PIN, PAM_AUTH_ERR, &c);
	assert_true(told(&c, "underskrift"));
}

static void
test_not_in_directory(void **state)
{
	struct convo c;

	expect_auth("cecilia", NULL, PIN, PAM_AUTH_ERR, &c);
}

static void
test_employment_ended(void **state)
{
	struct convo c;

	expect_auth("bertil", NULL, PIN, PAM_AUTH_ERR, &c);
}

static void
test_expired(void **state)
{
	struct convo c;

	expect_auth("david", NULL, PIN, PAM_AUTH_ERR, &c);
}

static void
test_no_card(void **state)
{
	struct convo c;

	expect_auth("empty", NULL, PIN, PAM_AUTHINFO_UNAVAIL, &c);
	assert_true(told(&c, "Inget SITHS-kort"));
}

/* Fredrik's card: two login identities, one for each organisation. */
static void
test_two_identities_asks(void **state)
{
	struct convo c;

	char listed[64];

	/* the identity logged in is the one listed under the number answered */
	expect_user("fredrik", "2", PIN, "fredrik", &c);
	assert_true(told(&c, "flera identiteter"));
	assert_true(listed_hsa_id(&c, "2) ", listed, sizeof(listed)));
	assert_string_equal(c.hsa_id, listed);
	expect_user("fredrik", "1", PIN, "fredrik", &c);
	assert_true(listed_hsa_id(&c, "1) ", listed, sizeof(listed)));
	assert_string_equal(c.hsa_id, listed);
	assert_true(told(&c, "1) Fredrik Flerkommun"));
	assert_true(told(&c, "2) Fredrik Flerkommun"));
	assert_true(told(&c, getenv("SITHS_TEST_HSA_FREDRIK_NORRBY")));
	assert_true(told(&c, getenv("SITHS_TEST_HSA_FREDRIK_SODERAS")));
}

static void
test_two_identities_bad_choice(void **state)
{
	struct convo c;

	expect_auth_choosing("fredrik", NULL, "3", PIN, PAM_AUTH_ERR, &c);
	assert_true(told(&c, "Ogiltigt val"));
	expect_auth_choosing("fredrik", NULL, "1x", PIN, PAM_AUTH_ERR, &c);
	expect_auth_choosing("fredrik", NULL, "0", PIN, PAM_AUTH_ERR, &c);
}

static void
test_one_identity_no_question(void **state)
{
	struct convo c;

	/* no answer is given: a question would fail the conversation */
	expect_auth("anna", "anna", PIN, PAM_SUCCESS, &c);
	assert_false(told(&c, "flera identiteter"));
}

/*
 * Run with the mock PKCS#11 module as a PIN-pad reader
 * (PAM_TEST_GROUP=pinpad, MOCK_PKCS11_FAULT=pinpad, MOCK_PKCS11_PAD_PIN).
 * No PIN is given to the conversation: a PIN prompt would fail it.
 */
static void
test_pinpad_login(void **state)
{
	struct convo c;

	expect_user("anna", NULL, NULL, "anna", &c);
	assert_string_equal(c.hsa_id, getenv("SITHS_TEST_HSA_ANNA"));
	assert_true(told(&c, "knappsats"));
}

static int
run_pinpad_group(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pinpad_login),
	};

	return cmocka_run_group_tests_name("pinpad", tests, NULL, NULL);
}

/*
 * Fredrik's card lists his two identities in no fixed order (SoftHSM2's
 * object order), so the one to choose is found by its organisation in the
 * list shown. Messages are kept in c->info for told().
 */
struct pick {
	struct convo *c;
	const char *org;
	char answer[8];
	int n;
};

static int
pick_conv(int num_msg, const struct pam_message **msg, struct pam_response **resp,
    void *data)
{
	struct pick *p = data;
	struct pam_response *r;
	const char *text;
	int i;

	if ((r = calloc((size_t)num_msg, sizeof(*r))) == NULL)
		return PAM_BUF_ERR;
	for (i = 0; i < num_msg; i++) {
		text = msg[i]->msg;
		switch (msg[i]->msg_style) {
		case PAM_TEXT_INFO:
		case PAM_ERROR_MSG:
			if (p->n < MAX_MSGS)
				snprintf(p->c->infobuf[p->n++], PAM_MAX_MSG_SIZE, "%s", text);
			/* "N) Given Surname, Organisation (HSA-id)" */
			if (text[0] >= '1' && text[0] <= '9' && strstr(text, p->org) != NULL)
				snprintf(p->answer, sizeof(p->answer), "%d", atoi(text));
			break;
		case PAM_PROMPT_ECHO_ON:
			r[i].resp = strdup(p->answer);
			break;
		case PAM_PROMPT_ECHO_OFF:
			r[i].resp = strdup(PIN);
			break;
		}
	}
	*resp = r;
	return PAM_SUCCESS;
}

/* Log in with Fredrik's identity at org; expect result, and PAM_USER want if set. */
static void
expect_fredrik_at(const char *org, int result, const char *want, struct convo *c)
{
	struct pam_testcase tests[] = {
		pam_test(PAMTEST_AUTHENTICATE, result),
		pam_test(PAMTEST_KEEPHANDLE, PAM_SUCCESS),
	};
	struct pick p = { c, org, "", 0 };
	const void *user = NULL;
	enum pamtest_err perr;

	use_card("fredrik");
	convo_init(c, PIN);
	perr = _pamtest_conv(SERVICE, NULL, pick_conv, &p, tests, want != NULL ? 2 : 1, NULL);
	if (perr != PAMTEST_ERR_OK)
		fail_msg("fredrik at %s: expected %s, got %s (%s)", org,
		    pam_strerror(NULL, result), pam_strerror(NULL, tests[0].op_rv),
		    pamtest_strerror(perr));
	if (p.answer[0] == '\0')
		fail_msg("no identity at %s was listed", org);
	if (want == NULL)
		return;
	assert_int_equal(pam_get_item(tests[1].case_out.ph, PAM_USER, &user), PAM_SUCCESS);
	assert_string_equal(user, want);
	pam_end(tests[1].case_out.ph, PAM_SUCCESS);
}

/*
 * [pam] user_map = attr:uid (pam-attr.test): the login name is the uid of
 * the person's HSA entry (tests/env/hsa-data.ldif.in); users.map, which
 * names anna, elsa and fredrik, must play no part.
 */
static void
test_attr_sets_user(void **state)
{
	const char *uid = getenv("SITHS_TEST_UID_ANNA");
	struct convo c;

	assert_non_null(uid);
	assert_string_not_equal(uid, "anna");
	expect_user("anna", NULL, PIN, uid, &c);
}

static void
test_attr_given_user(void **state)
{
	struct convo c;

	expect_auth("anna", getenv("SITHS_TEST_UID_ANNA"), PIN, PAM_SUCCESS, &c);
	/* the name users.map has for her is now someone else's */
	expect_auth("anna", "anna", PIN, PAM_AUTH_ERR, &c);
	assert_true(told(&c, "annan användare"));
}

static void
test_attr_absent(void **state)
{
	struct convo c;

	expect_auth("elsa", NULL, PIN, PAM_USER_UNKNOWN, &c);
	assert_true(told(&c, "ingen lokal användare är kopplad"));
}

/* fredrik@norrby is in the user database: only the name check refuses it. */
static void
test_attr_not_login_name(void **state)
{
	struct convo c;

	expect_fredrik_at("Norrby kommun", PAM_USER_UNKNOWN, NULL, &c);
	assert_true(told(&c, "ingen lokal användare är kopplad"));
}

static void
test_attr_root_denied(void **state)
{
	struct convo c;

	expect_fredrik_at("Söderås kommun", PAM_PERM_DENIED, NULL, &c);
	assert_true(told(&c, "som root"));
}

static int
run_attr_group(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_attr_sets_user),
		cmocka_unit_test(test_attr_given_user),
		cmocka_unit_test(test_attr_absent),
		cmocka_unit_test(test_attr_not_login_name),
		cmocka_unit_test(test_attr_root_denied),
	};

	return cmocka_run_group_tests_name("attr", tests, NULL, NULL);
}

/* The same, with allow_root = yes: root was refused for that alone. */
static void
test_attr_root_allowed(void **state)
{
	struct convo c;

	expect_fredrik_at("Söderås kommun", PAM_SUCCESS, "root", &c);
}

static int
run_attr_root_group(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_attr_root_allowed),
	};

	return cmocka_run_group_tests_name("attr-root", tests, NULL, NULL);
}

/* Anna's entry given a second uid, also a local user: neither is taken. */
static void
test_attr_two_values(void **state)
{
	struct convo c;

	expect_auth("anna", NULL, PIN, PAM_USER_UNKNOWN, &c);
	assert_true(told(&c, "ingen lokal användare är kopplad"));
	expect_auth("anna", getenv("SITHS_TEST_UID_ANNA"), PIN, PAM_USER_UNKNOWN, &c);
	expect_auth("anna", "anna", PIN, PAM_USER_UNKNOWN, &c);
}

static int
run_attr_two_group(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_attr_two_values),
	};

	return cmocka_run_group_tests_name("attr-two", tests, NULL, NULL);
}

int
main(void)
{
	const char *group = getenv("PAM_TEST_GROUP");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_card_sets_user),
		cmocka_unit_test(test_valid_card_given_user),
		cmocka_unit_test(test_card_of_another_user),
		cmocka_unit_test(test_wrong_pin),
		cmocka_unit_test(test_pin_form),
		cmocka_unit_test(test_other_root),
		cmocka_unit_test(test_evil_root),
		cmocka_unit_test(test_signature_only),
		cmocka_unit_test(test_not_in_directory),
		cmocka_unit_test(test_employment_ended),
		cmocka_unit_test(test_expired),
		cmocka_unit_test(test_no_card),
		cmocka_unit_test(test_two_identities_asks),
		cmocka_unit_test(test_two_identities_bad_choice),
		cmocka_unit_test(test_one_identity_no_question),
	};

	/* as login programs do: the module speaks the locale's language */
	setlocale(LC_ALL, "");

	if (group != NULL && strcmp(group, "pinpad") == 0)
		return run_pinpad_group();
	if (group != NULL && strcmp(group, "attr") == 0)
		return run_attr_group();
	if (group != NULL && strcmp(group, "attr-root") == 0)
		return run_attr_root_group();
	if (group != NULL && strcmp(group, "attr-two") == 0)
		return run_attr_two_group();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
