/*
 * phases.h - pam_siths's account and session phases (phases.c) and its
 * password phase (password.c); auth is pam_siths.c's.
 */
#ifndef PAM_SITHS_PHASES_H
#define PAM_SITHS_PHASES_H

#include <security/pam_modules.h>

int pam_siths_account(pam_handle_t *pamh, int flags, int argc, const char **argv);
/* open: 1 for open_session, 0 for close_session. */
int pam_siths_session(pam_handle_t *pamh, int open, int argc, const char **argv);
/* chauthtok: the card's PIN changed, or unblocked with the PUK. */
int pam_siths_password(pam_handle_t *pamh, int flags, int argc, const char **argv);

#endif
