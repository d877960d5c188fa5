/*
 * siths-vcard.c - a virtual SITHS card for the tests. It connects to vpcd
 * (pcscd's virtual reader driver) as the card in one reader and answers the
 * PIV commands OpenSC's PIV driver sends, holding one person's
 * authentication key and certificate (slot 9A) and optionally a signature
 * pair (slot 9C), behind a PIN whose retry counter locks and which CHANGE
 * REFERENCE DATA changes; the PUK is refused (PIV takes it only in RESET
 * RETRY COUNTER, which OpenSC's PKCS#11 module does not send by default).
 * A key is RSA-2048 (PIV algorithm 07: OpenSC pads, the card does the raw
 * operation) or EC P-256 (algorithm 11: the card signs the hash it is given
 * and answers with a DER ECDSA signature), as the key file says. PIV has no data object that
 * names a key's algorithm: OpenSC takes it from the slot's certificate.
 *
 * SIGUSR1 removes the card (closes the connection), SIGUSR2 inserts it
 * again, SIGTERM/SIGINT end the program; the APDU counts go to stderr on
 * exit, and with --verbose each APDU's header and status (never its data:
 * VERIFY carries the PIN).
 *
 * Wire protocol (vpcd): every message both ways is a 2-byte big-endian
 * length and that many bytes; a 1-byte message from vpcd is a control
 * (0 power off, 1 power on, 2 reset, 4 get ATR), anything longer a C-APDU.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* ppoll */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#define PROG "siths-vcard"
#define DEFAULT_PORT 35963
#define MSG_MAX 65535  /* the 2-byte length prefix */
#define OBJ_MAX 16384  /* any data object or response we build */
#define CHAIN_MAX 1024 /* GENERAL AUTHENTICATE input over command chaining */
#define LABEL_MAX 64
#define PIN_LEN 8 /* PIV: PIN padded with FF to 8 bytes */
#define RSA2048_BYTES 256
#define RECONNECT_NS 100000000L /* 0.1 s between attempts to reach vpcd */

#define CTRL_POWER_OFF 0x00
#define CTRL_POWER_ON 0x01
#define CTRL_RESET 0x02
#define CTRL_GET_ATR 0x04

#define SW_OK 0x9000
#define SW_WRONG_LENGTH 0x6700
#define SW_CHAINING_UNSUPPORTED 0x6884
#define SW_SECURITY_STATUS 0x6982
#define SW_PIN_BLOCKED 0x6983
#define SW_CONDITIONS 0x6985
#define SW_WRONG_DATA 0x6A80
#define SW_NOT_FOUND 0x6A82
#define SW_WRONG_P1P2 0x6A86
#define SW_REF_NOT_FOUND 0x6A88
#define SW_INS_UNSUPPORTED 0x6D00
#define SW_CLA_UNSUPPORTED 0x6E00
#define SW_TRIES_LEFT(x) (0x63C0 | ((x)&0x0F))

#define INS_VERIFY 0x20
#define INS_CHANGE_REFERENCE 0x24
#define INS_GENERAL_AUTH 0x87
#define INS_SELECT 0xA4
#define INS_GET_RESPONSE 0xC0
#define INS_GET_DATA 0xCB

#define PIV_ALG_RSA2048 0x07
#define PIV_ALG_ECC_P256 0x11
#define P256_BYTES 32
#define PIV_KEY_AUTH 0x9A
#define PIV_KEY_SIGN 0x9C
#define PIV_PIN_REF 0x80

/* Historical bytes: compact-TLV F9 + the PIV AID, so OpenSC picks the plain PIV type. */
static const uint8_t atr[] = {
    0x3B, 0x8B, 0x80, 0x01, 0x80, 0xF9, 0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0xC8};
/* PIV AID with version (NIST SP 800-73-4 part 1) */
static const uint8_t piv_aid[] = {0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00};
/* shortest right-truncated AID we accept as the PIV one: the RID + PIX prefix */
#define PIV_AID_MIN 5

struct buf {
	uint8_t *p;
	size_t len;
	size_t cap;
};

struct key {
	EVP_PKEY *pkey;
	uint8_t alg;      /* PIV_ALG_* of pkey */
	uint8_t *certobj; /* GET DATA answer: 53 {70 DER, 71 00, FE} */
	size_t certobj_len;
};

struct apdu {
	uint8_t cla, ins, p1, p2;
	const uint8_t *data;
	size_t lc;
	size_t ne; /* expected response length; 0 when Le is absent */
	int extended;
};

struct counts {
	unsigned long apdus, controls, insertions;
	unsigned long select, get_data, get_response, verify, general_auth, other, errors;
};

struct card {
	struct key auth, sign;
	uint8_t label[LABEL_MAX];
	size_t label_len;
	uint8_t pin[PIN_LEN];
	int max_tries, tries;
	/* per power cycle */
	int verified;     /* PIN verified: 9A usable */
	int sign_allowed; /* a VERIFY since the last 9C operation */
	uint8_t pending[OBJ_MAX];
	size_t pending_len, pending_off;
	uint8_t chain[CHAIN_MAX];
	size_t chain_len;
	int chaining;
	uint8_t chain_hdr[3]; /* INS P1 P2 the chain belongs to */
	/* prebuilt data objects */
	uint8_t discovery[32], chuid[64], select_resp[128];
	size_t discovery_len, chuid_len, select_resp_len;
	int verbose;
	struct counts n;
};

static volatile sig_atomic_t got_remove, got_insert, got_term;

static void
logmsg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, PROG ": ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void
on_signal(int sig)
{
	if (sig == SIGUSR1)
		got_remove = 1;
	else if (sig == SIGUSR2)
		got_insert = 1;
	else
		got_term = 1;
}

/* ---- building TLV objects, bounded ---- */

static int
put(struct buf *b, const void *p, size_t n)
{
	if (n > b->cap - b->len)
		return -1;
	memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

static int
put_byte(struct buf *b, uint8_t v)
{
	return put(b, &v, 1);
}

static int
put_len(struct buf *b, size_t n)
{
	if (n < 0x80)
		return put_byte(b, (uint8_t)n);
	if (n <= 0xFF)
		return put_byte(b, 0x81) || put_byte(b, (uint8_t)n);
	if (n <= 0xFFFF)
		return put_byte(b, 0x82) || put_byte(b, (uint8_t)(n >> 8)) ||
		    put_byte(b, (uint8_t)n);
	return -1;
}

/* a TLV whose tag is 1-3 bytes given big-endian in `tag` (tlen of them) */
static int
put_tlv(struct buf *b, const uint8_t *tag, size_t tlen, const void *v, size_t vlen)
{
	return put(b, tag, tlen) || put_len(b, vlen) || put(b, v, vlen);
}

/* BER length at p[0..avail): sets *len and *hdr (bytes used); -1 if malformed */
static int
get_len(const uint8_t *p, size_t avail, size_t *len, size_t *hdr)
{
	if (avail < 1)
		return -1;
	if (p[0] < 0x80) {
		*len = p[0];
		*hdr = 1;
	} else if (p[0] == 0x81 && avail >= 2) {
		*len = p[1];
		*hdr = 2;
	} else if (p[0] == 0x82 && avail >= 3) {
		*len = (size_t)p[1] << 8 | p[2];
		*hdr = 3;
	} else {
		return -1;
	}
	return *len <= avail - *hdr ? 0 : -1;
}

/* ---- the card's data, built once ---- */

static int
build_certobj(struct key *k, X509 *cert)
{
	static const uint8_t t53 = 0x53, t70 = 0x70, t71 = 0x71, tfe = 0xFE;
	static const uint8_t certinfo = 0x00; /* not compressed */
	uint8_t *der = NULL, inner[OBJ_MAX], outer[OBJ_MAX];
	struct buf in = {inner, 0, sizeof(inner)}, out = {outer, 0, sizeof(outer)};
	int dlen, r = -1;

	if ((dlen = i2d_X509(cert, &der)) <= 0)
		goto out;
	if (put_tlv(&in, &t70, 1, der, (size_t)dlen) || put_tlv(&in, &t71, 1, &certinfo, 1) ||
	    put_tlv(&in, &tfe, 1, NULL, 0) || put_tlv(&out, &t53, 1, inner, in.len))
		goto out;
	if ((k->certobj = malloc(out.len)) == NULL)
		goto out;
	memcpy(k->certobj, outer, out.len);
	k->certobj_len = out.len;
	/* success */
	r = 0;
out:
	OPENSSL_free(der);
	return r;
}

/* The PIV algorithm of a key this card can hold; 0 for any other. */
static uint8_t
piv_alg(EVP_PKEY *pkey)
{
	char group[32];

	switch (EVP_PKEY_get_base_id(pkey)) {
	case EVP_PKEY_RSA: return EVP_PKEY_get_bits(pkey) == 2048 ? PIV_ALG_RSA2048 : 0;
	case EVP_PKEY_EC:
		if (EVP_PKEY_get_group_name(pkey, group, sizeof(group), NULL) != 1)
			return 0;
		return strcmp(group, "prime256v1") == 0 ? PIV_ALG_ECC_P256 : 0;
	default: return 0;
	}
}

static int
load_pair(struct key *k, const char *certfile, const char *keyfile, X509 **certp)
{
	FILE *f = NULL;
	X509 *cert = NULL;
	EVP_PKEY *pkey = NULL;
	int r = -1;

	if ((f = fopen(certfile, "r")) == NULL ||
	    (cert = PEM_read_X509(f, NULL, NULL, NULL)) == NULL) {
		logmsg("cannot read certificate %s", certfile);
		goto out;
	}
	fclose(f);
	if ((f = fopen(keyfile, "r")) == NULL ||
	    (pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL)) == NULL) {
		logmsg("cannot read key %s", keyfile);
		goto out;
	}
	if (EVP_PKEY_eq(X509_get0_pubkey(cert), pkey) != 1) {
		logmsg("%s does not belong to %s", keyfile, certfile);
		goto out;
	}
	if ((k->alg = piv_alg(pkey)) == 0) {
		logmsg("%s: only RSA-2048 and EC P-256 keys are supported", keyfile);
		goto out;
	}
	if (build_certobj(k, cert) != 0) {
		logmsg("%s: certificate too large", certfile);
		goto out;
	}
	k->pkey = pkey;
	pkey = NULL; /* transferred */
	if (certp != NULL) {
		*certp = cert;
		cert = NULL; /* transferred */
	}
	/* success */
	r = 0;
out:
	if (f != NULL)
		fclose(f);
	X509_free(cert);
	EVP_PKEY_free(pkey);
	return r;
}

static void
label_from_cert(struct card *c, X509 *cert)
{
	X509_NAME *name = X509_get_subject_name(cert);
	int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
	ASN1_STRING *s;
	unsigned char *utf8 = NULL;
	int n;

	if (i < 0)
		return;
	s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
	if ((n = ASN1_STRING_to_UTF8(&utf8, s)) <= 0)
		return;
	c->label_len = (size_t)n < LABEL_MAX ? (size_t)n : LABEL_MAX;
	memcpy(c->label, utf8, c->label_len);
	OPENSSL_free(utf8);
}

static int
build_objects(struct card *c, X509 *cert)
{
	static const uint8_t t4f = 0x4F, t79 = 0x79, t50 = 0x50, t61 = 0x61, t7e = 0x7E,
	                     t5f2f[] = {0x5F, 0x2F}, t53 = 0x53, t30 = 0x30, t34 = 0x34, t35 = 0x35,
	                     t3e = 0x3E, tfe = 0xFE;
	static const uint8_t pin_policy[] = {0x40, 0x00}; /* PIV PIN only */
	static const uint8_t expiry[] = "20991231";
	/*
	 * A FASC-N with agency code 9999 (D4 E7 39 DA 73 ...): OpenSC then takes
	 * the token serial from the GUID, which differs per card.
	 */
	static const uint8_t fascn[25] = {0xD4, 0xE7, 0x39, 0xDA, 0x73, 0x9C, 0xE7, 0x39, 0xA0,
	    0x84, 0x6D, 0x83, 0x68, 0x5A, 0x10, 0x82, 0x10, 0x8C, 0xE7, 0x39, 0x84, 0x10, 0x85,
	    0x21, 0x3E};
	uint8_t tmp[128], guid[SHA256_DIGEST_LENGTH], *der = NULL;
	struct buf b, t;
	int dlen;

	/* application property template for SELECT (no tag AC: no secure messaging) */
	t = (struct buf){tmp, 0, sizeof(tmp)};
	b = (struct buf){c->select_resp, 0, sizeof(c->select_resp)};
	{
		uint8_t aid79[16];
		struct buf a = {aid79, 0, sizeof(aid79)};

		if (put_tlv(&a, &t4f, 1, piv_aid, PIV_AID_MIN) ||
		    put_tlv(&t, &t4f, 1, piv_aid + 5, 6) || put_tlv(&t, &t79, 1, aid79, a.len) ||
		    put_tlv(&t, &t50, 1, c->label, c->label_len) ||
		    put_tlv(&b, &t61, 1, tmp, t.len))
			return -1;
	}
	c->select_resp_len = b.len;

	/* Discovery object, not wrapped in 53 */
	t = (struct buf){tmp, 0, sizeof(tmp)};
	b = (struct buf){c->discovery, 0, sizeof(c->discovery)};
	if (put_tlv(&t, &t4f, 1, piv_aid, sizeof(piv_aid)) ||
	    put_tlv(&t, t5f2f, 2, pin_policy, sizeof(pin_policy)) ||
	    put_tlv(&b, &t7e, 1, tmp, t.len))
		return -1;
	c->discovery_len = b.len;

	/* CHUID: the GUID (and so the PKCS#11 serial) follows the certificate */
	if ((dlen = i2d_X509(cert, &der)) <= 0)
		return -1;
	SHA256(der, (size_t)dlen, guid);
	OPENSSL_free(der);
	t = (struct buf){tmp, 0, sizeof(tmp)};
	b = (struct buf){c->chuid, 0, sizeof(c->chuid)};
	if (put_tlv(&t, &t30, 1, fascn, sizeof(fascn)) || put_tlv(&t, &t34, 1, guid, 16) ||
	    put_tlv(&t, &t35, 1, expiry, 8) || put_tlv(&t, &t3e, 1, NULL, 0) ||
	    put_tlv(&t, &tfe, 1, NULL, 0) || put_tlv(&b, &t53, 1, tmp, t.len))
		return -1;
	c->chuid_len = b.len;
	return 0;
}

/* ---- APDUs ---- */

/* ISO 7816-4 cases 1-4, short and extended; -1 if the lengths do not add up */
static int
parse_apdu(const uint8_t *b, size_t n, struct apdu *a)
{
	size_t lc, le;

	memset(a, 0, sizeof(*a));
	if (n < 4)
		return -1;
	a->cla = b[0];
	a->ins = b[1];
	a->p1 = b[2];
	a->p2 = b[3];
	if (n == 4)
		return 0;
	if (n == 5) {
		a->ne = b[4] ? b[4] : 256;
		return 0;
	}
	if (b[4] != 0) {
		lc = b[4];
		if (n == 5 + lc) {
			a->ne = 0;
		} else if (n == 6 + lc) {
			a->ne = b[5 + lc] ? b[5 + lc] : 256;
		} else {
			return -1;
		}
		a->data = b + 5;
		a->lc = lc;
		return 0;
	}
	a->extended = 1;
	if (n < 7)
		return -1;
	le = (size_t)b[5] << 8 | b[6];
	if (n == 7) {
		a->ne = le ? le : 65536;
		return 0;
	}
	lc = le;
	if (lc == 0)
		return -1;
	if (n == 7 + lc) {
		a->ne = 0;
	} else if (n == 9 + lc) {
		le = (size_t)b[7 + lc] << 8 | b[8 + lc];
		a->ne = le ? le : 65536;
	} else {
		return -1;
	}
	a->data = b + 7;
	a->lc = lc;
	return 0;
}

static void
reset_session(struct card *c)
{
	c->verified = 0;
	c->sign_allowed = 0;
	c->pending_len = c->pending_off = 0;
	OPENSSL_cleanse(c->chain, sizeof(c->chain));
	c->chain_len = 0;
	c->chaining = 0;
}

/*
 * The next chunk of the pending response into out: at most Ne bytes (256
 * when Le is absent), then 61 xx while more is left.
 */
static size_t
next_chunk(struct card *c, const struct apdu *a, uint8_t *out, size_t cap, uint16_t *sw)
{
	size_t left = c->pending_len - c->pending_off;
	size_t ne = a->ne ? a->ne : 256;
	size_t n = left < ne ? left : ne;

	if (n > cap)
		n = cap;
	memcpy(out, c->pending + c->pending_off, n);
	c->pending_off += n;
	left -= n;
	if (left == 0) {
		c->pending_len = c->pending_off = 0;
		*sw = SW_OK;
	} else {
		*sw = (uint16_t)(0x6100 | (left >= 256 ? 0 : left));
	}
	return n;
}

static size_t
respond(struct card *c, const struct apdu *a, const uint8_t *data, size_t len, uint8_t *out,
    size_t cap, uint16_t *sw)
{
	if (len > sizeof(c->pending)) {
		*sw = SW_CONDITIONS;
		return 0;
	}
	memcpy(c->pending, data, len);
	c->pending_len = len;
	c->pending_off = 0;
	return next_chunk(c, a, out, cap, sw);
}

static uint16_t
do_select(struct card *c, const struct apdu *a)
{
	c->n.select++;
	if (a->p1 != 0x04)
		return SW_NOT_FOUND;
	/* right-truncated selection of the PIV AID; anything else is not here */
	if (a->lc < PIV_AID_MIN || a->lc > sizeof(piv_aid) || memcmp(a->data, piv_aid, a->lc) != 0)
		return SW_NOT_FOUND;
	return SW_OK;
}

static const uint8_t *
find_object(struct card *c, const uint8_t *tag, size_t tlen, size_t *len)
{
	static const uint8_t t7e[] = {0x7E}, chuid[] = {0x5F, 0xC1, 0x02},
	                     cert9a[] = {0x5F, 0xC1, 0x05}, cert9c[] = {0x5F, 0xC1, 0x0A};

	if (tlen == 1 && memcmp(tag, t7e, 1) == 0) {
		*len = c->discovery_len;
		return c->discovery;
	}
	if (tlen != 3)
		return NULL;
	if (memcmp(tag, chuid, 3) == 0) {
		*len = c->chuid_len;
		return c->chuid;
	}
	if (memcmp(tag, cert9a, 3) == 0) {
		*len = c->auth.certobj_len;
		return c->auth.certobj;
	}
	if (memcmp(tag, cert9c, 3) == 0 && c->sign.pkey != NULL) {
		*len = c->sign.certobj_len;
		return c->sign.certobj;
	}
	/* Key History 5FC10C among them: no retired keys to probe */
	return NULL;
}

static size_t
do_get_data(struct card *c, const struct apdu *a, uint8_t *out, size_t cap, uint16_t *sw)
{
	const uint8_t *obj;
	size_t len;

	c->n.get_data++;
	*sw = SW_WRONG_P1P2;
	if (a->p1 != 0x3F || a->p2 != 0xFF)
		return 0;
	/* exactly 5C L tag, tag 1..3 bytes */
	*sw = SW_WRONG_DATA;
	if (a->lc < 3 || a->data[0] != 0x5C || a->data[1] < 1 || a->data[1] > 3 ||
	    (size_t)a->data[1] + 2 != a->lc)
		return 0;
	*sw = SW_NOT_FOUND;
	if ((obj = find_object(c, a->data + 2, a->data[1], &len)) == NULL)
		return 0;
	return respond(c, a, obj, len, out, cap, sw);
}

static uint16_t
do_verify(struct card *c, const struct apdu *a)
{
	uint8_t given[PIN_LEN];
	int ok;

	c->n.verify++;
	if (a->p2 != PIV_PIN_REF)
		return SW_REF_NOT_FOUND;
	if (a->p1 == 0xFF) { /* log out */
		if (a->lc != 0)
			return SW_WRONG_LENGTH;
		c->verified = c->sign_allowed = 0;
		return SW_OK;
	}
	if (a->p1 != 0x00)
		return SW_WRONG_P1P2;
	if (a->lc == 0) { /* status query */
		if (c->tries == 0)
			return SW_PIN_BLOCKED;
		return c->verified ? SW_OK : SW_TRIES_LEFT(c->tries);
	}
	if (a->lc != PIN_LEN)
		return SW_WRONG_LENGTH;
	if (c->tries == 0)
		return SW_PIN_BLOCKED;
	memcpy(given, a->data, PIN_LEN);
	ok = CRYPTO_memcmp(given, c->pin, PIN_LEN) == 0;
	OPENSSL_cleanse(given, sizeof(given));
	if (!ok) {
		c->tries--;
		c->verified = c->sign_allowed = 0;
		return SW_TRIES_LEFT(c->tries);
	}
	c->tries = c->max_tries;
	c->verified = c->sign_allowed = 1;
	return SW_OK;
}

/* A PIV PIN as the card stores it: 6 to 8 digits, padded with FF to 8 bytes. */
static int
pin_well_formed(const uint8_t *p)
{
	int n = 0;

	while (n < PIN_LEN && p[n] >= '0' && p[n] <= '9')
		n++;
	for (int i = n; i < PIN_LEN; i++) {
		if (p[i] != 0xFF)
			return 0;
	}
	return n >= 6;
}

/*
 * CHANGE REFERENCE DATA (SP 800-73-4 3.2.2): the current PIN then the new
 * one, 8 bytes each; a wrong current PIN costs a try as in VERIFY.
 */
static uint16_t
do_change_reference(struct card *c, const struct apdu *a)
{
	int ok;

	c->n.verify++;
	if (a->p1 != 0x00)
		return SW_WRONG_P1P2;
	if (a->p2 != PIV_PIN_REF)
		return SW_REF_NOT_FOUND;
	if (a->lc != 2 * PIN_LEN)
		return SW_WRONG_LENGTH;
	if (c->tries == 0)
		return SW_PIN_BLOCKED;
	ok = CRYPTO_memcmp(a->data, c->pin, PIN_LEN) == 0;
	if (!ok) {
		c->tries--;
		c->verified = c->sign_allowed = 0;
		return SW_TRIES_LEFT(c->tries);
	}
	if (!pin_well_formed(a->data + PIN_LEN))
		return SW_WRONG_DATA;
	memcpy(c->pin, a->data + PIN_LEN, PIN_LEN);
	c->tries = c->max_tries;
	c->verified = c->sign_allowed = 1;
	return SW_OK;
}

/* the raw RSA private-key operation (OpenSC did the padding) */
static int
rsa_raw(EVP_PKEY *pkey, const uint8_t *in, size_t inlen, uint8_t *out, size_t *outlen)
{
	EVP_PKEY_CTX *ctx = NULL;
	int r = -1;

	if ((ctx = EVP_PKEY_CTX_new(pkey, NULL)) == NULL || EVP_PKEY_decrypt_init(ctx) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING) <= 0 ||
	    EVP_PKEY_decrypt(ctx, out, outlen, in, inlen) <= 0)
		goto out;
	/* success */
	r = 0;
out:
	EVP_PKEY_CTX_free(ctx);
	return r;
}

/* ECDSA over a hash given whole (OpenSC hashed): DER, as a PIV card answers */
static int
ec_sign(EVP_PKEY *pkey, const uint8_t *hash, size_t hlen, uint8_t *out, size_t *outlen)
{
	EVP_PKEY_CTX *ctx = NULL;
	int r = -1;

	if ((ctx = EVP_PKEY_CTX_new(pkey, NULL)) == NULL || EVP_PKEY_sign_init(ctx) <= 0 ||
	    EVP_PKEY_sign(ctx, out, outlen, hash, hlen) <= 0)
		goto out;
	/* success */
	r = 0;
out:
	EVP_PKEY_CTX_free(ctx);
	return r;
}

/* The key's operation on a challenge of the right size: RSA raw, or ECDSA. */
static uint16_t
key_operate(const struct key *k, const uint8_t *chal, size_t clen, uint8_t *out, size_t *outlen)
{
	if (k->alg == PIV_ALG_ECC_P256) {
		if (clen != P256_BYTES)
			return SW_WRONG_DATA;
		return ec_sign(k->pkey, chal, clen, out, outlen) == 0 ? SW_OK : SW_CONDITIONS;
	}
	if (clen != RSA2048_BYTES)
		return SW_WRONG_DATA;
	if (rsa_raw(k->pkey, chal, clen, out, outlen) != 0 || *outlen != RSA2048_BYTES)
		return SW_WRONG_DATA; /* input not below the modulus */
	return SW_OK;
}

/* 7C L {82 00, 81 L challenge} in any order: the challenge, or NULL */
static const uint8_t *
parse_dynauth(const uint8_t *p, size_t n, size_t *clen)
{
	const uint8_t *chal = NULL;
	size_t len, hdr, off;
	int want_response = 0;

	if (n < 2 || p[0] != 0x7C || get_len(p + 1, n - 1, &len, &hdr) != 0 || 1 + hdr + len != n)
		return NULL;
	p += 1 + hdr;
	n = len;
	for (off = 0; off < n;) {
		uint8_t tag = p[off];
		size_t l, h;

		if (get_len(p + off + 1, n - off - 1, &l, &h) != 0)
			return NULL;
		if (tag == 0x82 && l == 0)
			want_response = 1;
		else if (tag == 0x81 && chal == NULL)
			chal = p + off + 1 + h, *clen = l;
		else
			return NULL;
		off += 1 + h + l;
	}
	return want_response ? chal : NULL;
}

static size_t
do_general_auth(struct card *c, const struct apdu *a, uint8_t *out, size_t cap, uint16_t *sw)
{
	static const uint8_t t7c = 0x7C, t82 = 0x82;
	uint8_t sig[RSA2048_BYTES], inner[RSA2048_BYTES + 8], resp[RSA2048_BYTES + 16];
	struct buf in = {inner, 0, sizeof(inner)}, rb = {resp, 0, sizeof(resp)};
	const uint8_t *chal;
	size_t clen = 0, siglen = sizeof(sig), n = 0;
	struct key *k;

	c->n.general_auth++;
	if (c->chain_len > sizeof(c->chain) - a->lc) {
		*sw = SW_WRONG_LENGTH;
		goto out;
	}
	if (a->lc > 0)
		memcpy(c->chain + c->chain_len, a->data, a->lc);
	c->chain_len += a->lc;
	if (a->cla & 0x10) { /* more to come */
		c->chaining = 1;
		c->chain_hdr[0] = a->ins;
		c->chain_hdr[1] = a->p1;
		c->chain_hdr[2] = a->p2;
		*sw = SW_OK;
		return 0;
	}
	if (a->p2 == PIV_KEY_AUTH) {
		k = &c->auth;
	} else if (a->p2 == PIV_KEY_SIGN && c->sign.pkey != NULL) {
		k = &c->sign;
	} else {
		*sw = SW_REF_NOT_FOUND;
		goto out;
	}
	/* the algorithm named must be the key's */
	if (a->p1 != k->alg) {
		*sw = SW_WRONG_P1P2;
		goto out;
	}
	if (!c->verified || (k == &c->sign && !c->sign_allowed)) {
		*sw = SW_SECURITY_STATUS;
		goto out;
	}
	if ((chal = parse_dynauth(c->chain, c->chain_len, &clen)) == NULL) {
		*sw = SW_WRONG_DATA;
		goto out;
	}
	if ((*sw = key_operate(k, chal, clen, sig, &siglen)) != SW_OK)
		goto out;
	if (k == &c->sign)
		c->sign_allowed = 0; /* 9C: a fresh VERIFY each time */
	if (put_tlv(&in, &t82, 1, sig, siglen) || put_tlv(&rb, &t7c, 1, inner, in.len)) {
		*sw = SW_CONDITIONS;
		goto out;
	}
	n = respond(c, a, resp, rb.len, out, cap, sw);
out:
	OPENSSL_cleanse(c->chain, sizeof(c->chain));
	c->chain_len = 0;
	c->chaining = 0;
	OPENSSL_cleanse(sig, sizeof(sig));
	return n;
}

static const char *
ins_name(uint8_t ins)
{
	switch (ins) {
	case INS_SELECT: return "SELECT";
	case INS_GET_DATA: return "GET DATA";
	case INS_GET_RESPONSE: return "GET RESPONSE";
	case INS_VERIFY: return "VERIFY";
	case INS_CHANGE_REFERENCE: return "CHANGE REFERENCE DATA";
	case INS_GENERAL_AUTH: return "GENERAL AUTHENTICATE";
	default: return "?";
	}
}

/* one C-APDU in, the R-APDU (data + SW) into out; returns its length */
static size_t
handle_apdu(struct card *c, const uint8_t *cmd, size_t cmdlen, uint8_t *out, size_t cap)
{
	struct apdu a;
	uint16_t sw = SW_OK;
	size_t n = 0;

	c->n.apdus++;
	cap -= 2; /* room for SW1 SW2 */
	if (parse_apdu(cmd, cmdlen, &a) != 0) {
		sw = SW_WRONG_LENGTH;
		c->n.other++;
		goto out;
	}
	/* a chain ends with its last part; anything else in between drops it */
	if (c->chaining &&
	    (a.ins != c->chain_hdr[0] || a.p1 != c->chain_hdr[1] || a.p2 != c->chain_hdr[2])) {
		OPENSSL_cleanse(c->chain, sizeof(c->chain));
		c->chain_len = 0;
		c->chaining = 0;
	}
	if (a.ins != INS_GET_RESPONSE)
		c->pending_len = c->pending_off = 0;
	if ((a.cla & ~0x10) != 0x00) {
		sw = SW_CLA_UNSUPPORTED;
		c->n.other++;
		goto out;
	}
	if ((a.cla & 0x10) && a.ins != INS_GENERAL_AUTH) {
		sw = SW_CHAINING_UNSUPPORTED;
		c->n.other++;
		goto out;
	}
	switch (a.ins) {
	case INS_SELECT:
		sw = do_select(c, &a);
		if (sw == SW_OK)
			n = respond(c, &a, c->select_resp, c->select_resp_len, out, cap, &sw);
		break;
	case INS_GET_DATA: n = do_get_data(c, &a, out, cap, &sw); break;
	case INS_GET_RESPONSE:
		c->n.get_response++;
		if (c->pending_len == 0)
			sw = SW_CONDITIONS;
		else if (a.p1 != 0 || a.p2 != 0 || a.lc != 0)
			sw = SW_WRONG_P1P2;
		else
			n = next_chunk(c, &a, out, cap, &sw);
		break;
	case INS_VERIFY: sw = do_verify(c, &a); break;
	case INS_CHANGE_REFERENCE: sw = do_change_reference(c, &a); break;
	case INS_GENERAL_AUTH: n = do_general_auth(c, &a, out, cap, &sw); break;
	default:
		c->n.other++;
		sw = SW_INS_UNSUPPORTED;
		break;
	}
out:
	if (sw != SW_OK && (sw & 0xFF00) != 0x6100)
		c->n.errors++;
	if (c->verbose)
		logmsg("apdu %02X %02X %02X %02X %-20s lc=%zu ne=%zu%s -> %zu bytes %04X", a.cla,
		    a.ins, a.p1, a.p2, ins_name(a.ins), a.lc, a.ne, a.extended ? " ext" : "", n,
		    sw);
	out[n] = (uint8_t)(sw >> 8);
	out[n + 1] = (uint8_t)sw;
	return n + 2;
}

/* ---- vpcd connection ---- */

static int
connect_vpcd(int port)
{
	struct sockaddr_in sin;
	int fd, one = 1;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
		close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* exactly n bytes; 0 on success, -1 on EOF or error */
static int
recv_exact(int fd, uint8_t *p, size_t n)
{
	int one = 1;
	ssize_t r;

	while (n > 0) {
		/*
		 * vpcd sends the length and the payload in two send()s: with
		 * delayed ACK here each APDU would cost ~40 ms. The option
		 * does not stick, so set it before every recv.
		 */
		setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
		r = recv(fd, p, n, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static int
send_msg(int fd, const uint8_t *p, size_t n)
{
	uint8_t msg[2 + MSG_MAX];
	size_t off = 0;
	ssize_t r;

	if (n > MSG_MAX)
		return -1;
	msg[0] = (uint8_t)(n >> 8);
	msg[1] = (uint8_t)n;
	memcpy(msg + 2, p, n);
	n += 2;
	while (off < n) {
		r = send(fd, msg + off, n - off, MSG_NOSIGNAL);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		off += (size_t)r;
	}
	return 0;
}

/* one message from vpcd, answered; -1 when the connection is gone */
static int
serve_one(struct card *c, int fd)
{
	static uint8_t in[MSG_MAX], out[MSG_MAX];
	uint8_t hdr[2];
	size_t len, n;
	int r;

	if (recv_exact(fd, hdr, 2) != 0)
		return -1;
	len = (size_t)hdr[0] << 8 | hdr[1];
	if (len == 0 || recv_exact(fd, in, len) != 0)
		return -1;
	if (len == 1) {
		c->n.controls++;
		switch (in[0]) {
		case CTRL_POWER_OFF:
		case CTRL_POWER_ON:
		case CTRL_RESET: reset_session(c); return 0;
		case CTRL_GET_ATR: return send_msg(fd, atr, sizeof(atr));
		default: return 0;
		}
	}
	n = handle_apdu(c, in, len, out, sizeof(out));
	r = send_msg(fd, out, n);
	OPENSSL_cleanse(in, len); /* a VERIFY's PIN */
	return r;
}

static void
print_counts(const struct card *c)
{
	const struct counts *n = &c->n;

	fprintf(stderr,
	    PROG ": apdus=%lu select=%lu get-data=%lu get-response=%lu verify=%lu "
	         "general-authenticate=%lu other=%lu errors=%lu controls=%lu insertions=%lu "
	         "pin-tries-left=%d\n",
	    n->apdus, n->select, n->get_data, n->get_response, n->verify, n->general_auth, n->other,
	    n->errors, n->controls, n->insertions, c->tries);
}

/*
 * The card's life: inserted = connected to vpcd (reconnecting while vpcd is
 * not there, e.g. pcscd restarting); SIGUSR1 takes it out, SIGUSR2 puts it
 * back. Signals are blocked except inside ppoll, so none is lost between a
 * check and the wait.
 */
static void
run(struct card *c, int port, const sigset_t *waitmask)
{
	struct timespec retry = {0, RECONNECT_NS};
	struct pollfd pfd;
	int fd = -1, inserted = 1;

	while (!got_term) {
		if (got_remove) {
			got_remove = 0;
			if (inserted && c->verbose)
				logmsg("card removed");
			inserted = 0;
			if (fd >= 0)
				close(fd);
			fd = -1;
			reset_session(c);
		}
		if (got_insert) {
			got_insert = 0;
			if (!inserted && c->verbose)
				logmsg("card inserted");
			inserted = 1;
		}
		if (!inserted) {
			ppoll(NULL, 0, NULL, waitmask);
			continue;
		}
		if (fd < 0) {
			if ((fd = connect_vpcd(port)) < 0) {
				ppoll(NULL, 0, &retry, waitmask);
				continue;
			}
			c->n.insertions++;
			reset_session(c);
		}
		pfd = (struct pollfd){.fd = fd, .events = POLLIN};
		if (ppoll(&pfd, 1, NULL, waitmask) <= 0)
			continue;
		if (serve_one(c, fd) != 0) {
			/* vpcd went away (pcscd stopped): try again as if reinserted */
			close(fd);
			fd = -1;
			reset_session(c);
			ppoll(NULL, 0, &retry, waitmask);
		}
	}
	if (fd >= 0)
		close(fd);
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "Usage: " PROG " --cert CERT.pem --key KEY.pem [--sign-cert PEM --sign-key PEM]\n"
	    "       [--port N] [--pin PIN] [--tries N] [--label TEXT | --label-from-cert]\n"
	    "       [--verbose]\n"
	    "A virtual PIV card for vpcd (127.0.0.1:PORT, default %d): RSA-2048 or EC P-256\n"
	    "keys in slots 9A and 9C. SIGUSR1 removes it, SIGUSR2 inserts it, SIGTERM ends.\n",
	    DEFAULT_PORT);
}

static int
parse_int(const char *s, int lo, int hi, int *v)
{
	char *end;
	long l;

	errno = 0;
	l = strtol(s, &end, 10);
	if (errno != 0 || *s == '\0' || *end != '\0' || l < lo || l > hi)
		return -1;
	*v = (int)l;
	return 0;
}

int
main(int argc, char **argv)
{
	enum { O_CERT = 256, O_KEY, O_SCERT, O_SKEY, O_PIN, O_TRIES, O_LABEL, O_LFC, O_PORT };
	static const struct option opts[] = {
	    {"cert", required_argument, NULL, O_CERT},
	    {"key", required_argument, NULL, O_KEY},
	    {"sign-cert", required_argument, NULL, O_SCERT},
	    {"sign-key", required_argument, NULL, O_SKEY},
	    {"pin", required_argument, NULL, O_PIN},
	    {"tries", required_argument, NULL, O_TRIES},
	    {"label", required_argument, NULL, O_LABEL},
	    {"label-from-cert", no_argument, NULL, O_LFC},
	    {"port", required_argument, NULL, O_PORT},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	static struct card card;
	struct card *c = &card;
	const char *certf = NULL, *keyf = NULL, *scertf = NULL, *skeyf = NULL;
	const char *pin = "123456", *label = "SITHS e-id";
	int opt, port = DEFAULT_PORT, lfc = 0, r = 1;
	X509 *cert = NULL;
	struct sigaction sa;
	sigset_t block, waitmask;
	size_t pinlen;

	c->max_tries = 3;
	while ((opt = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (opt) {
		case O_CERT: certf = optarg; break;
		case O_KEY: keyf = optarg; break;
		case O_SCERT: scertf = optarg; break;
		case O_SKEY: skeyf = optarg; break;
		case O_PIN: pin = optarg; break;
		case O_LABEL: label = optarg; break;
		case O_LFC: lfc = 1; break;
		case 'v': c->verbose = 1; break;
		case 'h': usage(stdout); return 0;
		case O_TRIES:
			if (parse_int(optarg, 1, 15, &c->max_tries) != 0) {
				logmsg("--tries: 1 to 15");
				return 2;
			}
			break;
		case O_PORT:
			if (parse_int(optarg, 1, 65535, &port) != 0) {
				logmsg("--port: 1 to 65535");
				return 2;
			}
			break;
		default: usage(stderr); return 2;
		}
	}
	pinlen = strlen(pin);
	if (optind != argc || certf == NULL || keyf == NULL ||
	    (scertf == NULL) != (skeyf == NULL) || pinlen < 1 || pinlen > PIN_LEN) {
		usage(stderr);
		return 2;
	}
	memset(c->pin, 0xFF, PIN_LEN);
	memcpy(c->pin, pin, pinlen);
	c->tries = c->max_tries;
	c->label_len = strlen(label) < LABEL_MAX ? strlen(label) : LABEL_MAX;
	memcpy(c->label, label, c->label_len);

	if (load_pair(&c->auth, certf, keyf, &cert) != 0)
		goto out;
	if (scertf != NULL && load_pair(&c->sign, scertf, skeyf, NULL) != 0)
		goto out;
	if (lfc)
		label_from_cert(c, cert);
	if (build_objects(c, cert) != 0) {
		logmsg("internal: data objects do not fit");
		goto out;
	}

	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGUSR2);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGUSR1);
	sigdelset(&waitmask, SIGUSR2);
	sigdelset(&waitmask, SIGTERM);
	sigdelset(&waitmask, SIGINT);
	sigdelset(&waitmask, SIGHUP);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: ppoll returns */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	if (c->verbose)
		logmsg("card on 127.0.0.1:%d, pid %ld", port, (long)getpid());
	run(c, port, &waitmask);
	print_counts(c);
	/* success */
	r = 0;
out:
	OPENSSL_cleanse(c->pin, sizeof(c->pin));
	X509_free(cert);
	EVP_PKEY_free(c->auth.pkey);
	EVP_PKEY_free(c->sign.pkey);
	free(c->auth.certobj);
	free(c->sign.certobj);
	return r;
}
