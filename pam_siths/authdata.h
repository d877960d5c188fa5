/*
 * authdata.h - what pam_sm_authenticate leaves in the PAM handle for the
 * account and session phases (pam_set_data): the certificate that logged
 * in, checked again by account; the card and reader, set for the session.
 */
#ifndef PAM_SITHS_AUTHDATA_H
#define PAM_SITHS_AUTHDATA_H

#include <stddef.h>

#include <security/pam_modules.h>

#define PAM_SITHS_AUTHDATA "pam_siths_auth"

struct pam_siths_authdata {
	unsigned char *der;     /* the login certificate, DER */
	size_t der_len;
	char hsa_id[64];
	char org_hsa_id[64];
	char sha256[72];        /* hex */
	char token[128];        /* the card's token label (printable) */
	char reader[128];
	int loa;
	int stale;
};

/* Free with pam_set_data's cleanup. */
void pam_siths_authdata_cleanup(pam_handle_t *pamh, void *data, int error_status);

#endif
