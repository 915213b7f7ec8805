/* notify.c — systemd service notification (notify.h), through libsystemd's sd_notify. */
#include "notify.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <systemd/sd-daemon.h>

#include "clock.h"
#include "log.h"

static uint64_t         s_watchdog_usec;    /* set once by mpcd_notify_init */
static _Atomic uint64_t s_last_ping_ms;

uint64_t mpcd_notify_init(void)
{
    uint64_t usec = 0;
    /* > 0: the watchdog is on for this process (WATCHDOG_PID, if set, is ours) */
    if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) s_watchdog_usec = usec;
    atomic_store(&s_last_ping_ms, mpc_now_ms());
    if (s_watchdog_usec) {
        mpcd_info(NULL, "systemd watchdog: %llu ms, pinged every %llu ms",
                  (unsigned long long)(s_watchdog_usec / 1000), (unsigned long long)(s_watchdog_usec / 2000));
        sd_notify(0, "WATCHDOG=1");
    }
    return s_watchdog_usec;
}

/* Sends head (e.g. "READY=1\n") followed by STATUS=<formatted text>. */
static void s_send(const char *head, const char *fmt, va_list ap)
{
    char status[512];
    int n = vsnprintf(status, sizeof status, fmt, ap);
    if (n < 0) return;
    for (char *p = status; *p; p++)
        if (*p == '\n') *p = ' ';   /* one STATUS= line */
    sd_notifyf(0, "%sSTATUS=%s", head, status);
}

void mpcd_notify_ready(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s_send("READY=1\n", fmt, ap);
    va_end(ap);
}

void mpcd_notify_status(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s_send("", fmt, ap);
    va_end(ap);
}

void mpcd_notify_watchdog(void)
{
    if (!s_watchdog_usec) return;
    uint64_t now = mpc_now_ms(), last = atomic_load(&s_last_ping_ms);
    if (now - last < s_watchdog_usec / 2000) return;
    atomic_store(&s_last_ping_ms, now);
    sd_notify(0, "WATCHDOG=1");
}

void mpcd_notify_stopping(void)
{
    sd_notify(0, "STOPPING=1\nSTATUS=stopping");
}
