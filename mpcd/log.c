/* log.c — one line per event on stderr, written with a single write(2) so lines from the
 * client thread and the job worker never interleave. */
#include "log.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static char           s_party[MPC_NAME_MAX] = "-";
static mpcd_log_level s_level = MPCD_LOG_INFO;
static const char *const s_level_names[] = {"ERROR", "WARN ", "INFO ", "DEBUG"};

void mpcd_log_init(const char *party, mpcd_log_level level)
{
    snprintf(s_party, sizeof s_party, "%s", party ? party : "-");
    s_level = level;
}

int mpcd_log_enabled(mpcd_log_level level)
{
    return level <= s_level;
}

void mpcd_log(mpcd_log_level level, const char *job, const char *fmt, ...)
{
    if (!mpcd_log_enabled(level)) return;
    char line[1024];
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s party=%s job=%s ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     (long)(tv.tv_usec / 1000), s_level_names[level], s_party,
                     job && job[0] ? job : "-");
    if (n < 0) return;
    size_t off = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + off, sizeof line - off, fmt, ap);
    va_end(ap);
    if (m > 0) off += (size_t)m < sizeof line - off ? (size_t)m : sizeof line - off - 1;
    /* One event, one line: fold any newline a message carries. */
    for (size_t i = 0; i < off; i++)
        if (line[i] == '\n' || line[i] == '\r') line[i] = ' ';
    if (off >= sizeof line - 1) off = sizeof line - 2;
    line[off++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, off);
    (void)w;
}
