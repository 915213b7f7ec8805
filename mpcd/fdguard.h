/* fdguard.h — the daemon does not die when it runs out of descriptors at accept (docs/daemon.md,
 * "Out of descriptors").
 *
 * libzmq 4.3 aborts the process when accept() on an ipc:// listener fails with EMFILE
 * (src/ipc_listener.cpp asserts on every errno but a few), and over TCP it retries a failing
 * accept at once, in a loop, while the backlog stays full.  The daemon's connection bound
 * (clientsock.c) keeps descriptors free, but it counts connections from socket-monitor events a
 * moment after libzmq's I/O thread accepted them, and the peer port has no bound.  So this file
 * defines accept() and accept4() for the mpcd executable: libzmq's calls (and ours) resolve to
 * them before libc's.  Each calls libc's; when it fails with EMFILE, one descriptor kept in
 * reserve is closed, the waiting connection is accepted and closed at once (the client sees a
 * hang-up), the reserve is opened again, and the call fails with ECONNABORTED, which every
 * caller takes as "that connection went away" (the classic reserve-descriptor technique). */
#ifndef MPCD_FDGUARD_H
#define MPCD_FDGUARD_H

#include <stdint.h>

/* Opens the reserve descriptor (/dev/null, close-on-exec).  Call once at start, before any
 * listener exists; 0, or -1 with errno (the guard then only turns EMFILE into ECONNABORTED,
 * leaving the connection waiting).  Safe to call again: a second call does nothing. */
int mpcd_fdguard_init(void);
/* Connections closed as soon as they were accepted, for want of a descriptor, since start. */
uint64_t mpcd_fdguard_dropped(void);

#endif
