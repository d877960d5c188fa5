/*
 * mock-pkcs11.c - a test-only PKCS#11 module, never installed: it wraps a
 * real module (SoftHSM2) and injects the faults no card produces on demand,
 * so that the card layer's handling of them can be tested.
 *
 * C_GetFunctionList hands out a copy of the real module's function list
 * with some calls replaced. The faults come from the environment, read when
 * the list is first asked for:
 *   MOCK_PKCS11_REAL   the real module (default: SoftHSM2's)
 *   MOCK_PKCS11_FAULT  none (transparent), or a comma-separated list of
 *                      sign-fail, sign-wrong, hang-sign, hang-login,
 *                      removed-sign, removed-login, pss-rejected,
 *                      only-rsa-pkcs, only-sha256-rsa-pkcs, only-ecdsa-sha256,
 *                      no-sign-mechs, hang-initialize, hang-token-info,
 *                      hang-objects, hang-open-session, pinpad, pinpad-cancel,
 *                      pinpad-slow
 *   MOCK_PKCS11_PAD_PIN  for pinpad: the PIN the person "types on the pad"
 *   MOCK_PKCS11_PAD_DELAY_MS  for pinpad-slow: how long the person takes at
 *                      the first PIN-pad login in the process (later ones
 *                      are quick)
 * The only-* faults make a token that offers that one signing mechanism
 * (and refuses the others at C_SignInit); no-sign-mechs, one that offers
 * none; pss-rejected, one that lists RSA-PSS but turns it down when asked.
 * SoftHSM2 2.6 has no CKM_ECDSA_SHA256: the mock makes it of its own
 * hashing and the real module's CKM_ECDSA.
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

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <p11-kit/pkcs11.h>

#define MOCK_DEFAULT_REAL "/usr/lib/softhsm/libsofthsm2.so"

enum fault {
	FAULT_SIGN_FAIL = 1 << 0,     /* C_Sign and C_SignFinal: CKR_DEVICE_ERROR */
	FAULT_SIGN_WRONG = 1 << 1,    /* C_Sign: a signature with one bit flipped */
	FAULT_HANG_SIGN = 1 << 2,     /* C_Sign never returns */
	FAULT_HANG_LOGIN = 1 << 3,    /* C_Login never returns */
	FAULT_REMOVED_SIGN = 1 << 4,  /* C_Sign: CKR_DEVICE_REMOVED */
	FAULT_REMOVED_LOGIN = 1 << 5, /* C_Login: CKR_DEVICE_REMOVED */
	FAULT_PSS_REJECTED = 1 << 6,  /* C_SignInit: RSA-PSS is CKR_MECHANISM_INVALID */
	FAULT_ONLY_MECH = 1 << 7,     /* one signing mechanism (only_mech) or none */
	FAULT_HANG_INITIALIZE = 1 << 8,   /* C_Initialize never returns */
	FAULT_HANG_TOKEN_INFO = 1 << 9,   /* C_GetTokenInfo never returns */
	FAULT_HANG_OBJECTS = 1 << 10,     /* C_FindObjectsInit never returns */
	FAULT_HANG_OPEN_SESSION = 1 << 11, /* C_OpenSession never returns */
	FAULT_PINPAD = 1 << 12,           /* a PIN pad; the PIN from MOCK_PKCS11_PAD_PIN */
	FAULT_PINPAD_CANCEL = 1 << 13,    /* a PIN pad where the person presses Cancel */
	FAULT_PINPAD_SLOW = 1 << 14,      /* a PIN pad where the person takes their time */
};

static const struct {
	const char *name;
	unsigned int fault;
	CK_MECHANISM_TYPE only;  /* with FAULT_ONLY_MECH; CKM_SHA256: no signing */
} fault_names[] = {
	{ "sign-fail", FAULT_SIGN_FAIL, 0 },
	{ "sign-wrong", FAULT_SIGN_WRONG, 0 },
	{ "hang-sign", FAULT_HANG_SIGN, 0 },
	{ "hang-login", FAULT_HANG_LOGIN, 0 },
	{ "removed-sign", FAULT_REMOVED_SIGN, 0 },
	{ "removed-login", FAULT_REMOVED_LOGIN, 0 },
	{ "pss-rejected", FAULT_PSS_REJECTED, 0 },
	{ "only-rsa-pkcs", FAULT_ONLY_MECH, CKM_RSA_PKCS },
	{ "only-sha256-rsa-pkcs", FAULT_ONLY_MECH, CKM_SHA256_RSA_PKCS },
	{ "only-ecdsa-sha256", FAULT_ONLY_MECH, CKM_ECDSA_SHA256 },
	{ "no-sign-mechs", FAULT_ONLY_MECH, CKM_SHA256 },
	{ "hang-initialize", FAULT_HANG_INITIALIZE, 0 },
	{ "hang-token-info", FAULT_HANG_TOKEN_INFO, 0 },
	{ "hang-objects", FAULT_HANG_OBJECTS, 0 },
	{ "hang-open-session", FAULT_HANG_OPEN_SESSION, 0 },
	{ "pinpad", FAULT_PINPAD, 0 },
	{ "pinpad-cancel", FAULT_PINPAD_CANCEL, 0 },
	{ "pinpad-slow", FAULT_PINPAD_SLOW, 0 },
};

static pthread_once_t mock_once = PTHREAD_ONCE_INIT;
static CK_FUNCTION_LIST_PTR real;   /* the wrapped module's list */
static CK_FUNCTION_LIST mock;       /* what callers get */
static unsigned int fault;          /* FAULT_* bits */
static int pad_was_slow;            /* pinpad-slow: the first pad login was */
static CK_MECHANISM_TYPE only_mech;
/* the session whose C_Sign hashes for CKM_ECDSA_SHA256 (one at a time) */
static CK_SESSION_HANDLE hashing_session = CK_INVALID_HANDLE;

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
	return (fault & (FAULT_PINPAD | FAULT_PINPAD_CANCEL | FAULT_PINPAD_SLOW)) != 0;
}

static CK_RV
mock_login(CK_SESSION_HANDLE session, CK_USER_TYPE type, CK_UTF8CHAR_PTR pin, CK_ULONG len)
{
	CK_UTF8CHAR typed[64];
	const char *env;
	size_t n;

	if (fault & FAULT_HANG_LOGIN)
		hang();
	if (fault & FAULT_REMOVED_LOGIN)
		return CKR_DEVICE_REMOVED;
	/* PKCS#11: no PIN on a protected authentication path means the pad asks */
	if (pinpad() && pin == NULL) {
		if (fault & FAULT_PINPAD_CANCEL)
			return CKR_FUNCTION_CANCELED;
		if ((fault & FAULT_PINPAD_SLOW) && !__atomic_exchange_n(&pad_was_slow, 1,
		    __ATOMIC_ACQ_REL) && (env = getenv("MOCK_PKCS11_PAD_DELAY_MS")) != NULL)
			usleep((useconds_t)strtoul(env, NULL, 10) * 1000);
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
	if (fault & FAULT_HANG_INITIALIZE)
		hang();
	return real->C_Initialize(args);
}

static CK_RV
mock_token_info(CK_SLOT_ID slot, CK_TOKEN_INFO_PTR info)
{
	CK_RV rv;

	if (fault & FAULT_HANG_TOKEN_INFO)
		hang();
	rv = real->C_GetTokenInfo(slot, info);
	if (rv == CKR_OK && pinpad())
		info->flags |= CKF_PROTECTED_AUTHENTICATION_PATH;
	return rv;
}

static CK_RV
mock_find_init(CK_SESSION_HANDLE session, CK_ATTRIBUTE_PTR tmpl, CK_ULONG count)
{
	if (fault & FAULT_HANG_OBJECTS)
		hang();
	return real->C_FindObjectsInit(session, tmpl, count);
}

static CK_RV
mock_open_session(CK_SLOT_ID slot, CK_FLAGS flags, CK_VOID_PTR app, CK_NOTIFY notify,
    CK_SESSION_HANDLE_PTR session)
{
	if (fault & FAULT_HANG_OPEN_SESSION)
		hang();
	return real->C_OpenSession(slot, flags, app, notify, session);
}

static CK_RV
mock_sign(CK_SESSION_HANDLE session, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR sig,
    CK_ULONG_PTR siglen)
{
	CK_RV rv;

	if (fault & FAULT_SIGN_FAIL)
		return CKR_DEVICE_ERROR;
	if (fault & FAULT_HANG_SIGN)
		hang();
	if (fault & FAULT_REMOVED_SIGN)
		return CKR_DEVICE_REMOVED;
	if (session == hashing_session && sig != NULL) {
		unsigned char md[SHA256_DIGEST_LENGTH];

		hashing_session = CK_INVALID_HANDLE;
		if (EVP_Digest(data, len, md, NULL, EVP_sha256(), NULL) != 1)
			return CKR_FUNCTION_FAILED;
		rv = real->C_Sign(session, md, sizeof(md), sig, siglen);
	} else {
		rv = real->C_Sign(session, data, len, sig, siglen);
	}
	/* a length query (sig == NULL) stays true; the signature itself does not */
	if ((fault & FAULT_SIGN_WRONG) && rv == CKR_OK && sig != NULL && *siglen > 0)
		sig[*siglen / 2] ^= 0x01;
	return rv;
}

static CK_RV
mock_sign_final(CK_SESSION_HANDLE session, CK_BYTE_PTR sig, CK_ULONG_PTR siglen)
{
	if (fault & FAULT_SIGN_FAIL)
		return CKR_DEVICE_ERROR;
	return real->C_SignFinal(session, sig, siglen);
}

/* Does an only-* fault hide this mechanism? All but its one, digests too. */
static int
mech_hidden(CK_MECHANISM_TYPE type)
{
	return (fault & FAULT_ONLY_MECH) && type != only_mech;
}

static CK_RV
mock_sign_init(CK_SESSION_HANDLE session, CK_MECHANISM_PTR mech, CK_OBJECT_HANDLE key)
{
	if (mech != NULL && mech_hidden(mech->mechanism))
		return CKR_MECHANISM_INVALID;
	if (mech != NULL && (fault & FAULT_PSS_REJECTED) &&
	    (mech->mechanism == CKM_RSA_PKCS_PSS || mech->mechanism == CKM_SHA256_RSA_PKCS_PSS))
		return CKR_MECHANISM_INVALID;
	if (mech != NULL && mech->mechanism == CKM_ECDSA_SHA256 && only_mech == CKM_ECDSA_SHA256) {
		CK_MECHANISM ecdsa = { CKM_ECDSA, NULL, 0 };
		CK_RV rv = real->C_SignInit(session, &ecdsa, key);

		if (rv == CKR_OK)
			hashing_session = session;
		return rv;
	}
	return real->C_SignInit(session, mech, key);
}

/* The real list, or only the one mechanism the fault leaves. */
static CK_RV
mock_mechanism_list(CK_SLOT_ID slot, CK_MECHANISM_TYPE_PTR list, CK_ULONG_PTR count)
{
	if (!(fault & FAULT_ONLY_MECH))
		return real->C_GetMechanismList(slot, list, count);
	if (count == NULL)
		return CKR_ARGUMENTS_BAD;
	if (list != NULL) {
		if (*count < 1) {
			*count = 1;
			return CKR_BUFFER_TOO_SMALL;
		}
		list[0] = only_mech;
	}
	*count = 1;
	return CKR_OK;
}

static CK_RV
mock_mechanism_info(CK_SLOT_ID slot, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO_PTR info)
{
	if (mech_hidden(type))
		return CKR_MECHANISM_INVALID;
	if (type == CKM_ECDSA_SHA256 && only_mech == CKM_ECDSA_SHA256)
		type = CKM_ECDSA;
	return real->C_GetMechanismInfo(slot, type, info);
}

/* name: comma-separated fault names; -1 if one is unknown. */
static int
faults_parse(const char *name)
{
	const char *p = name, *end;
	size_t i, n, len;

	while (*p != '\0') {
		end = strchr(p, ',');
		len = end != NULL ? (size_t)(end - p) : strlen(p);
		n = sizeof(fault_names) / sizeof(fault_names[0]);
		for (i = 0; i < n; i++) {
			if (strlen(fault_names[i].name) == len &&
			    strncmp(p, fault_names[i].name, len) == 0)
				break;
		}
		if (i == n)
			return -1;
		fault |= fault_names[i].fault;
		if (fault_names[i].only != 0)
			only_mech = fault_names[i].only;
		p += len;
		if (*p == ',')
			p++;
	}
	return 0;
}

static void
mock_init(void)
{
	CK_C_GetFunctionList get;
	const char *path = getenv("MOCK_PKCS11_REAL"), *name = getenv("MOCK_PKCS11_FAULT");
	void *dl, *sym;

	/* a misspelt fault must not pass as a transparent module */
	if (name != NULL && *name != '\0' && strcmp(name, "none") != 0 &&
	    (faults_parse(name) != 0 || fault == 0))
		return;
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
	mock.C_SignInit = mock_sign_init;
	mock.C_Sign = mock_sign;
	mock.C_SignFinal = mock_sign_final;
	mock.C_GetMechanismList = mock_mechanism_list;
	mock.C_GetMechanismInfo = mock_mechanism_info;
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
