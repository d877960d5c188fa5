/*
 * mock-pkcs11.c - a test-only PKCS#11 module, never installed: it wraps a
 * real module (SoftHSM2) and injects the faults no card produces on demand,
 * so that the card layer's handling of them can be tested.
 *
 * C_GetFunctionList hands out a copy of the real module's function list
 * with some calls replaced. The fault comes from the environment, read when
 * the list is first asked for:
 *   MOCK_PKCS11_REAL   the real module (default: SoftHSM2's)
 *   MOCK_PKCS11_FAULT  none (transparent), sign-fail, sign-wrong, hang-sign,
 *                      hang-login, removed-sign, removed-login,
 *                      hang-initialize, hang-token-info, hang-objects,
 *                      hang-open-session, pinpad, pinpad-cancel
 *   MOCK_PKCS11_PAD_PIN  for pinpad: the PIN the person "types on the pad"
 *
 * A PIN-pad reader (CKF_PROTECTED_AUTHENTICATION_PATH) is the one thing here
 * that is not a fault: no software token and no virtual reader has a pad, so
 * the mock adds the flag and answers C_Login without a PIN by logging in to
 * the real token with MOCK_PKCS11_PAD_PIN, or cancels as a person would.
 */
#include <pthread.h>
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <p11-kit/pkcs11.h>

#define MOCK_DEFAULT_REAL "/usr/lib/softhsm/libsofthsm2.so"

enum fault {
	FAULT_NONE = 0,
	FAULT_SIGN_FAIL,     /* C_Sign and C_SignFinal: CKR_DEVICE_ERROR */
	FAULT_SIGN_WRONG,    /* C_Sign: a signature with one bit flipped */
	FAULT_HANG_SIGN,     /* C_Sign never returns */
	FAULT_HANG_LOGIN,    /* C_Login never returns */
	FAULT_REMOVED_SIGN,  /* C_Sign: CKR_DEVICE_REMOVED */
	FAULT_REMOVED_LOGIN, /* C_Login: CKR_DEVICE_REMOVED */
	FAULT_HANG_INITIALIZE, /* C_Initialize never returns */
	FAULT_HANG_TOKEN_INFO, /* C_GetTokenInfo never returns */
	FAULT_HANG_OBJECTS,  /* C_FindObjectsInit never returns */
	FAULT_HANG_OPEN_SESSION, /* C_OpenSession never returns */
	FAULT_PINPAD,        /* a reader with a PIN pad; the PIN from MOCK_PKCS11_PAD_PIN */
	FAULT_PINPAD_CANCEL, /* a PIN pad where the person presses Cancel */
};

static const struct {
	const char *name;
	enum fault fault;
} fault_names[] = {
	{ "sign-fail", FAULT_SIGN_FAIL },
	{ "sign-wrong", FAULT_SIGN_WRONG },
	{ "hang-sign", FAULT_HANG_SIGN },
	{ "hang-login", FAULT_HANG_LOGIN },
	{ "removed-sign", FAULT_REMOVED_SIGN },
	{ "removed-login", FAULT_REMOVED_LOGIN },
	{ "hang-initialize", FAULT_HANG_INITIALIZE },
	{ "hang-token-info", FAULT_HANG_TOKEN_INFO },
	{ "hang-objects", FAULT_HANG_OBJECTS },
	{ "hang-open-session", FAULT_HANG_OPEN_SESSION },
	{ "pinpad", FAULT_PINPAD },
	{ "pinpad-cancel", FAULT_PINPAD_CANCEL },
};

static pthread_once_t mock_once = PTHREAD_ONCE_INIT;
static CK_FUNCTION_LIST_PTR real;   /* the wrapped module's list */
static CK_FUNCTION_LIST mock;       /* what callers get */
static enum fault fault;

/* A hung module: the caller's deadline is what is tested, so never return. */
static void
hang(void)
{
	for (;;)
		pause();
}

static int
pinpad(void)
{
	return fault == FAULT_PINPAD || fault == FAULT_PINPAD_CANCEL;
}

static CK_RV
mock_login(CK_SESSION_HANDLE session, CK_USER_TYPE type, CK_UTF8CHAR_PTR pin, CK_ULONG len)
{
	CK_UTF8CHAR typed[64];
	const char *env;
	size_t n;

	if (fault == FAULT_HANG_LOGIN)
		hang();
	if (fault == FAULT_REMOVED_LOGIN)
		return CKR_DEVICE_REMOVED;
	/* PKCS#11: no PIN on a protected authentication path means the pad asks */
	if (pinpad() && pin == NULL) {
		if (fault == FAULT_PINPAD_CANCEL)
			return CKR_FUNCTION_CANCELED;
		if ((env = getenv("MOCK_PKCS11_PAD_PIN")) == NULL)
			env = "";
		n = strnlen(env, sizeof(typed));
		memcpy(typed, env, n);
		return real->C_Login(session, type, typed, n);
	}
	return real->C_Login(session, type, pin, len);
}

static CK_RV
mock_initialize(CK_VOID_PTR args)
{
	if (fault == FAULT_HANG_INITIALIZE)
		hang();
	return real->C_Initialize(args);
}

static CK_RV
mock_token_info(CK_SLOT_ID slot, CK_TOKEN_INFO_PTR info)
{
	CK_RV rv;

	if (fault == FAULT_HANG_TOKEN_INFO)
		hang();
	rv = real->C_GetTokenInfo(slot, info);
	if (rv == CKR_OK && pinpad())
		info->flags |= CKF_PROTECTED_AUTHENTICATION_PATH;
	return rv;
}

static CK_RV
mock_find_init(CK_SESSION_HANDLE session, CK_ATTRIBUTE_PTR tmpl, CK_ULONG count)
{
	if (fault == FAULT_HANG_OBJECTS)
		hang();
	return real->C_FindObjectsInit(session, tmpl, count);
}

static CK_RV
mock_open_session(CK_SLOT_ID slot, CK_FLAGS flags, CK_VOID_PTR app, CK_NOTIFY notify,
    CK_SESSION_HANDLE_PTR session)
{
	if (fault == FAULT_HANG_OPEN_SESSION)
		hang();
	return real->C_OpenSession(slot, flags, app, notify, session);
}

static CK_RV
mock_sign(CK_SESSION_HANDLE session, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR sig,
    CK_ULONG_PTR siglen)
{
	CK_RV rv;

	switch (fault) {
	case FAULT_SIGN_FAIL:
		return CKR_DEVICE_ERROR;
	case FAULT_HANG_SIGN:
		hang();
		break;
	case FAULT_REMOVED_SIGN:
		return CKR_DEVICE_REMOVED;
	default:
		break;
	}
	rv = real->C_Sign(session, data, len, sig, siglen);
	/* a length query (sig == NULL) stays true; the signature itself does not */
	if (fault == FAULT_SIGN_WRONG && rv == CKR_OK && sig != NULL && *siglen > 0)
		sig[*siglen / 2] ^= 0x01;
	return rv;
}

static CK_RV
mock_sign_final(CK_SESSION_HANDLE session, CK_BYTE_PTR sig, CK_ULONG_PTR siglen)
{
	if (fault == FAULT_SIGN_FAIL)
		return CKR_DEVICE_ERROR;
	return real->C_SignFinal(session, sig, siglen);
}

static void
mock_init(void)
{
	CK_C_GetFunctionList get;
	const char *path = getenv("MOCK_PKCS11_REAL"), *name = getenv("MOCK_PKCS11_FAULT");
	void *dl, *sym;
	size_t i;

	if (name != NULL && *name != '\0' && strcmp(name, "none") != 0) {
		for (i = 0; i < sizeof(fault_names) / sizeof(fault_names[0]); i++) {
			if (strcmp(name, fault_names[i].name) == 0)
				fault = fault_names[i].fault;
		}
		/* a misspelt fault must not pass as a transparent module */
		if (fault == FAULT_NONE)
			return;
	}
	if (path == NULL || *path == '\0')
		path = MOCK_DEFAULT_REAL;
	/* kept loaded for the life of the process, like the mock itself */
	if ((dl = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL ||
	    (sym = dlsym(dl, "C_GetFunctionList")) == NULL)
		return;
	memcpy(&get, &sym, sizeof(get));
	if (get(&real) != CKR_OK || real == NULL) {
		real = NULL;
		return;
	}
	mock = *real;
	mock.C_Login = mock_login;
	mock.C_Initialize = mock_initialize;
	mock.C_GetTokenInfo = mock_token_info;
	mock.C_FindObjectsInit = mock_find_init;
	mock.C_OpenSession = mock_open_session;
	mock.C_Sign = mock_sign;
	mock.C_SignFinal = mock_sign_final;
}

__attribute__((visibility("default"))) CK_RV
C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR list)
{
	if (list == NULL)
		return CKR_ARGUMENTS_BAD;
	pthread_once(&mock_once, mock_init);
	if (real == NULL)
		return CKR_GENERAL_ERROR;
	*list = &mock;
	return CKR_OK;
}
