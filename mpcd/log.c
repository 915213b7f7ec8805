/* log.c — one line per event on stderr, written with a single write(2) so lines from the
 * client thread, the job worker and the ZAP handlers never interleave.  Identical warnings
 * and errors are rate-limited (log.h).  Text or JSON lines, with the syslog priority prefix
 * when stderr is the journal. */
#include "log.h"
#include "json.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static char           s_party[MPC_NAME_MAX] = "-";
static atomic_int     s_level = MPCD_LOG_INFO;   /* changed by a reload while threads log */
static const char *const s_level_names[] = {"ERROR", "WARN ", "INFO ", "DEBUG"};
static mpcd_log_format s_format = MPCD_LOG_TEXT;
static int             s_journal;       /* stderr is the journal: lines start with <N> */

/* A message of up to 900 bytes, every byte escaped as \u00XX at worst, and the fields. */
#define S_LINE_MAX 6144

/* Rate limiting: one slot per distinct recent message (level, job, text). */
#define S_SLOTS      64
#define S_SAMPLE_MAX 200
typedef struct {
    uint64_t       hash;            /* 0: free */
    uint64_t       window_start;    /* ms, CLOCK_MONOTONIC */
    uint64_t       suppressed;      /* occurrences not logged since window_start */
    mpcd_log_level level;
    char           job[40];
    char           sample[S_SAMPLE_MAX];
} s_slot;

static pthread_mutex_t s_mu = PTHREAD_MUTEX_INITIALIZER;
static s_slot          s_slots[S_SLOTS];
static uint64_t        s_interval_ms = 10000;
static uint64_t        s_total_suppressed;

void mpcd_log_init(const char *party, mpcd_log_level level)
{
    snprintf(s_party, sizeof s_party, "%s", party ? party : "-");
    atomic_store(&s_level, (int)level);
    s_journal = mpcd_log_stderr_is_journal();
}

void mpcd_log_set_format(mpcd_log_format format)
{
    s_format = format;
}

void mpcd_log_set_journal(int on)
{
    s_journal = on != 0;
}

/* systemd sets JOURNAL_STREAM=DEV:INODE of the stream it connected to stdout/stderr; the
 * variable may be inherited by a process whose stderr was redirected since, so the device
 * and inode are compared with those of our stderr. */
int mpcd_log_stderr_is_journal(void)
{
    const char *js = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    char tail;
    struct stat st;
    if (!js || sscanf(js, "%llu:%llu%c", &dev, &ino, &tail) != 2) return 0;
    if (fstat(STDERR_FILENO, &st) != 0) return 0;
    return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void mpcd_log_set_level(mpcd_log_level level)
{
    atomic_store(&s_level, (int)level);
}

void mpcd_log_set_repeat_interval(uint64_t ms)
{
    pthread_mutex_lock(&s_mu);
    s_interval_ms = ms;
    pthread_mutex_unlock(&s_mu);
}

uint64_t mpcd_log_suppressed(void)
{
    pthread_mutex_lock(&s_mu);
    uint64_t n = s_total_suppressed;
    pthread_mutex_unlock(&s_mu);
    return n;
}

static uint64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* FNV-1a over the parts that make two messages identical. */
static uint64_t s_hash(mpcd_log_level level, const char *job, const char *text)
{
    uint64_t h = 1469598103934665603ull ^ (uint64_t)level;
    for (const char *p = job; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ull;
    h = (h ^ 0xff) * 1099511628211ull;
    for (const char *p = text; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ull;
    return h ? h : 1;
}

size_t mpcd_log_render(char *out, size_t cap, mpcd_log_level level, const char *job, const char *text,
                       const struct timeval *tv)
{
    static const char *const json_levels[] = {"error", "warn", "info", "debug"};
    static const char prio[] = {'3', '4', '6', '7'};   /* syslog: err, warning, info, debug */
    if (cap < 64) return 0;
    char ts[96];
    struct tm tm;
    gmtime_r(&tv->tv_sec, &tm);
    snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long)(tv->tv_usec / 1000));
    size_t n = 0;
    cap--;                                  /* the newline always fits */
    if (s_journal) {
        char p[3] = {'<', prio[level], '>'};
        mpcd_json_put(out, cap, &n, p, 3);
    }
    if (s_format == MPCD_LOG_JSON) {
        mpcd_json_put(out, cap, &n, "{\"ts\":\"", 7);
        mpcd_json_put(out, cap, &n, ts, strlen(ts));
        mpcd_json_put(out, cap, &n, "\",\"level\":\"", 11);
        mpcd_json_put(out, cap, &n, json_levels[level], strlen(json_levels[level]));
        mpcd_json_put(out, cap, &n, "\",\"party\":", 10);
        mpcd_json_put_str(out, cap - 40, &n, s_party);
        mpcd_json_put(out, cap, &n, ",\"job\":", 7);
        if (job && job[0]) mpcd_json_put_str(out, cap - 30, &n, job);
        else mpcd_json_put(out, cap, &n, "null", 4);
        mpcd_json_put(out, cap, &n, ",\"msg\":", 7);
        mpcd_json_put_str(out, cap - 2, &n, text);
        mpcd_json_put(out, cap, &n, "}", 1);
    } else {
        char head[160];
        int h = snprintf(head, sizeof head, "%s %s party=%s job=%s ", ts, s_level_names[level], s_party,
                         job && job[0] ? job : "-");
        if (h > 0) mpcd_json_put(out, cap, &n, head, (size_t)h < sizeof head ? (size_t)h : sizeof head - 1);
        size_t start = n;
        mpcd_json_put(out, cap, &n, text, strlen(text));
        /* One event, one line: fold any newline a message carries. */
        for (size_t i = start; i < n; i++)
            if (out[i] == '\n' || out[i] == '\r') out[i] = ' ';
    }
    out[n++] = '\n';
    return n;
}

/* Writes one line: timestamp, level, party, job, text. */
static void s_write(mpcd_log_level level, const char *job, const char *text)
{
    char line[S_LINE_MAX];
    struct timeval tv;
    gettimeofday(&tv, NULL);
    size_t n = mpcd_log_render(line, sizeof line, level, job, text, &tv);
    if (!n) return;
    ssize_t w = write(STDERR_FILENO, line, n);
    (void)w;
}

/* Lock held.  Ends a slot's window: writes its summary when occurrences were held back (the
 * slot then stays, for a new window) or frees it after a quiet window. */
static void s_summarise(s_slot *sl, uint64_t now)
{
    if (sl->suppressed) {
        char text[S_SAMPLE_MAX + 96];
        snprintf(text, sizeof text, "... repeated %llu times in %llu ms: %s", (unsigned long long)sl->suppressed,
                 (unsigned long long)(now - sl->window_start), sl->sample);
        s_write(sl->level, sl->job, text);
    } else {
        sl->hash = 0;
    }
    sl->suppressed = 0;
    sl->window_start = now;
}

/* Lock held.  1 if this message is to be written now, 0 if it is counted in its slot. */
static int s_admit(mpcd_log_level level, const char *job, const char *text)
{
    if (level > MPCD_LOG_WARN || s_interval_ms == 0) return 1;
    uint64_t now = s_now_ms(), h = s_hash(level, job, text);
    s_slot *free_slot = NULL, *oldest = &s_slots[0];
    for (int i = 0; i < S_SLOTS; i++) {
        s_slot *sl = &s_slots[i];
        if (sl->hash == h) {
            if (now - sl->window_start >= s_interval_ms) {
                int quiet = sl->suppressed == 0;
                s_summarise(sl, now);
                sl->hash = h;
                if (quiet) return 1;   /* nothing held back: written as a first occurrence */
            }
            sl->suppressed++;          /* counted in the current window's summary */
            s_total_suppressed++;
            return 0;
        }
        if (!sl->hash && !free_slot) free_slot = sl;
        if (sl->window_start < oldest->window_start) oldest = sl;
    }
    s_slot *sl = free_slot;
    if (!sl) {
        sl = oldest;
        s_summarise(sl, now);
    }
    sl->hash = h;
    sl->level = level;
    sl->window_start = now;
    sl->suppressed = 0;
    size_t jn = strnlen(job, sizeof sl->job - 1);
    memcpy(sl->job, job, jn);
    sl->job[jn] = 0;
    size_t n = strnlen(text, sizeof sl->sample - 1);
    memcpy(sl->sample, text, n);
    sl->sample[n] = 0;
    return 1;
}

void mpcd_log_flush(void)
{
    pthread_mutex_lock(&s_mu);
    uint64_t now = s_now_ms();
    for (int i = 0; i < S_SLOTS; i++) {
        s_slot *sl = &s_slots[i];
        if (sl->hash && now - sl->window_start >= s_interval_ms) s_summarise(sl, now);
    }
    pthread_mutex_unlock(&s_mu);
}

int mpcd_log_enabled(mpcd_log_level level)
{
    return (int)level <= atomic_load(&s_level);
}

void mpcd_log(mpcd_log_level level, const char *job, const char *fmt, ...)
{
    if (!mpcd_log_enabled(level)) return;
    char text[900];
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (m < 0) return;
    if (!job) job = "";
    pthread_mutex_lock(&s_mu);
    if (s_admit(level, job, text)) s_write(level, job, text);
    pthread_mutex_unlock(&s_mu);
}
