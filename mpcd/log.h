/* log.h — mpcd's log: one line per event on stderr,
 *   2026-11-27T22:07:43.123Z INFO  party=a job=3f2a… message
 * Never pass a secret (share, key, seed, input value) to these functions: the messages are
 * written as given.  The level and party name are process-wide (set at start; a reload may change the level).
 *
 * Rate limiting: the first occurrence of a warning or error is written; identical ones (same
 * level, job and text) that follow are counted, and at the end of each repeat interval with
 * a count the count is written as one line "... repeated N times in T ms: TEXT" (by the next
 * identical message or by mpcd_log_flush, which the daemon calls a few times a second).  A
 * steady flood of one message thus gives one line per interval; after a quiet interval the
 * message is written again as a first occurrence.  64 distinct messages are tracked; a 65th
 * ends the oldest one's window early.  INFO and DEBUG lines are never held back. */
#ifndef MPCD_LOG_H
#define MPCD_LOG_H

#include <stdarg.h>
#include <stdint.h>

#include "config.h"

void mpcd_log_init(const char *party, mpcd_log_level level);
int  mpcd_log_enabled(mpcd_log_level level);
/* Changes the level (a reload; any thread). */
void mpcd_log_set_level(mpcd_log_level level);
/* The repeat interval in ms (default 10000); 0 writes every line. */
void mpcd_log_set_repeat_interval(uint64_t ms);
/* Writes the summaries of repeated messages whose interval is over (any thread). */
void mpcd_log_flush(void);
/* Lines held back so far (for tests and status). */
uint64_t mpcd_log_suppressed(void);
/* job may be NULL or "" for daemon-wide events. */
void mpcd_log(mpcd_log_level level, const char *job, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define mpcd_error(job, ...) mpcd_log(MPCD_LOG_ERROR, job, __VA_ARGS__)
#define mpcd_warn(job, ...)  mpcd_log(MPCD_LOG_WARN, job, __VA_ARGS__)
#define mpcd_info(job, ...)  mpcd_log(MPCD_LOG_INFO, job, __VA_ARGS__)
#define mpcd_debug(job, ...) mpcd_log(MPCD_LOG_DEBUG, job, __VA_ARGS__)

#endif
