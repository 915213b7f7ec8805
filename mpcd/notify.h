/* notify.h — the daemon's side of systemd's service notification protocol (sd_notify(3)):
 * READY=1 once every peer is connected, STATUS= lines while it waits and serves, WATCHDOG=1
 * at half the interval systemd asks for (WatchdogSec=, passed as WATCHDOG_USEC), STOPPING=1
 * when a stop begins.  Without NOTIFY_SOCKET in the environment (not started by systemd, or
 * not Type=notify) every call is a no-op.  Any thread may call them.  docs/daemon.md,
 * "Running as a service". */
#ifndef MPCD_NOTIFY_H
#define MPCD_NOTIFY_H

#include <stdint.h>

/* Reads WATCHDOG_USEC (and WATCHDOG_PID) once; returns the watchdog interval in
 * microseconds, 0 when systemd asked for none. */
uint64_t mpcd_notify_init(void);
/* READY=1 with a STATUS= line. */
void mpcd_notify_ready(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A STATUS= line (what `systemctl status` shows). */
void mpcd_notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* WATCHDOG=1 if half the watchdog interval has passed since the last one; call it from the
 * loop that must stay alive (mpcd_server_run's), at least every 200 ms. */
void mpcd_notify_watchdog(void);
/* STOPPING=1 with a STATUS= line. */
void mpcd_notify_stopping(void);

#endif
