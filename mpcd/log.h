/* log.h — mpcd's log: one line per event on stderr,
 *   2026-11-27T22:07:43.123Z INFO  party=a job=3f2a… message
 * Never pass a secret (share, key, seed, input value) to these functions: the messages are
 * written as given.  The level and party name are process-wide (set once at start). */
#ifndef MPCD_LOG_H
#define MPCD_LOG_H

#include <stdarg.h>

#include "config.h"

void mpcd_log_init(const char *party, mpcd_log_level level);
int  mpcd_log_enabled(mpcd_log_level level);
/* job may be NULL or "" for daemon-wide events. */
void mpcd_log(mpcd_log_level level, const char *job, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define mpcd_error(job, ...) mpcd_log(MPCD_LOG_ERROR, job, __VA_ARGS__)
#define mpcd_warn(job, ...)  mpcd_log(MPCD_LOG_WARN, job, __VA_ARGS__)
#define mpcd_info(job, ...)  mpcd_log(MPCD_LOG_INFO, job, __VA_ARGS__)
#define mpcd_debug(job, ...) mpcd_log(MPCD_LOG_DEBUG, job, __VA_ARGS__)

#endif
