/* log.h — mpcd's log: one line per event on stderr, as text (below) or JSON (`log_format`),
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
#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>

#include "config.h"

/* Also decides whether lines get the journal's priority prefix (mpcd_log_stderr_is_journal). */
void mpcd_log_init(const char *party, mpcd_log_level level);
/* Text (the default) or JSON lines (`log_format`). */
void mpcd_log_set_format(mpcd_log_format format);
/* Lines start with the syslog priority "<N>" (3 error, 4 warn, 6 info, 7 debug), which
 * journald strips and records as the line's priority.  Set by mpcd_log_init; for tests. */
void mpcd_log_set_journal(int on);
/* 1 if JOURNAL_STREAM names the device and inode of our stderr (systemd's convention). */
int  mpcd_log_stderr_is_journal(void);
/* One line as written (newline included) into out; its length, or 0 if cap < 64.  Text:
 *   [<N>]2026-11-27T22:07:43.123Z INFO  party=a job=- message       (newlines folded)
 * JSON:
 *   [<N>]{"ts":"2026-11-27T22:07:43.123Z","level":"info","party":"a","job":null,"msg":"..."}
 * with ", \, control characters escaped and invalid UTF-8 replaced by U+FFFD; a message too
 * long for cap is cut, never in the middle of an escape or a UTF-8 sequence. */
size_t mpcd_log_render(char *out, size_t cap, mpcd_log_level level, const char *job, const char *text,
                       const struct timeval *tv);
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
