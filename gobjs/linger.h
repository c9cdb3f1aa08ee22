/*
 * linger.h - what a server needs to count its lingering closes (linger.c).
 *
 * A connection a server accepted keeps its descriptor through the lingering
 * close that follows the end of its GSock (up to LINGER_MSEC), so the server
 * counts it against max_connections until the descriptor is really closed.
 * The GSock closes its descriptor knowing nothing of the server's account:
 * the server marks each descriptor it accepts (gsock__linger_expect), and a
 * lingering close of that same socket (checked by its inode, not only its
 * number, which the kernel reuses) is charged to the account.  Nothing here
 * is exported.
 */
#ifndef GINSFSM_LINGER_H
#define GINSFSM_LINGER_H

#include <stdint.h>

/* Shared by a server and its lingering closes, so that either may go first.
 * n_lingering: the closes of this account still lingering now.  on_done:
 * called (from the loop, outside any dispatch) when one of them ends; the
 * server clears it when it is destroyed. */
typedef struct gsock_linger_acct {
    unsigned refs;
    int64_t n_lingering;
    void (*on_done)(void *user);
    void *user;
} gsock_linger_acct_t;

/* Returns: a new account with one reference (the caller's), or NULL. */
gsock_linger_acct_t *gsock__linger_acct_new(void (*on_done)(void *user), void *user);

/* Clear on_done and drop the caller's reference. */
void gsock__linger_acct_close(gsock_linger_acct_t *acct);

/* fd was accepted for acct: if this socket is closed by a lingering close,
 * charge it to acct.  A descriptor closed otherwise leaves a stale mark,
 * recognised as such (another socket) and dropped when its number comes
 * back. */
void gsock__linger_expect(int fd, gsock_linger_acct_t *acct);

#endif /* GINSFSM_LINGER_H */
