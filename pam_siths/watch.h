/*
 * watch.h - the session's card-removal watcher (siths-card-watch), started
 * at open_session and stopped at close_session. watch.c.
 */
#ifndef PAM_SITHS_WATCH_H
#define PAM_SITHS_WATCH_H

#include <security/pam_modules.h>

/*
 * Start the watcher for reader, as user, carrying out action
 * (SITHS_REMOVAL_LOCK or SITHS_REMOVAL_LOGOUT) on the session XDG_SESSION_ID
 * names. PAM_SUCCESS once it follows the reader; PAM_SESSION_ERR, logged,
 * when it cannot be set up (the session then does not open).
 */
int pam_siths_watch_start(pam_handle_t *pamh, int action, const char *reader, const char *user);

/* Stop this handle's watcher, if one runs, and reap it. */
void pam_siths_watch_stop(pam_handle_t *pamh);

#endif
