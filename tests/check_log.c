/* check_log.c — mpcd's log lines (mpcd/log.h): the JSON format escapes every message into
 * valid JSON, the text format folds newlines, and under journald every line starts with its
 * syslog priority.  tests/daemon_service.test.sh checks the same on a running daemon. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "runner.h"

/* 2026-11-27T22:07:43.123Z */
static const struct timeval s_tv = {1795817263, 123456};

static const char *s_render(mpcd_log_level level, const char *job, const char *text)
{
    static char line[8192];
    size_t n = mpcd_log_render(line, sizeof line, level, job, text, &s_tv);
    ck_assert_uint_gt(n, 0);
    ck_assert_uint_lt(n, sizeof line);
    ck_assert_int_eq(line[n - 1], '\n');
    line[n] = 0;
    return line;
}

START_TEST(test_json_escapes_every_hard_character)
{
    mpcd_log_init("a", MPCD_LOG_DEBUG);
    mpcd_log_set_journal(0);
    mpcd_log_set_format(MPCD_LOG_JSON);
    /* quotes, backslash, newline, CR, tab, BEL, ESC, DEL, UTF-8 (é, 日, 😀), a lone continuation
     * byte, a truncated sequence, an overlong '/' and an encoded surrogate */
    const char *msg = "say \"hi\" \\ n\nr\rt\tb\x07" "e\x1b" "d\x7f é 日 😀 \x80 \xe6\x97 \xc0\xaf \xed\xa0\x80!";
    const char *want = "{\"ts\":\"2026-11-27T22:07:43.123Z\",\"level\":\"warn\",\"party\":\"a\",\"job\":\"3f2a\","
                       "\"msg\":\"say \\\"hi\\\" \\\\ n\\nr\\rt\\tb\\u0007e\\u001bd\\u007f é 日 😀 \\ufffd "
                       "\\ufffd\\ufffd \\ufffd\\ufffd \\ufffd\\ufffd\\ufffd!\"}\n";
    ck_assert_str_eq(s_render(MPCD_LOG_WARN, "3f2a", msg), want);
    /* no job: null */
    ck_assert_str_eq(s_render(MPCD_LOG_INFO, NULL, "x"),
                     "{\"ts\":\"2026-11-27T22:07:43.123Z\",\"level\":\"info\",\"party\":\"a\",\"job\":null,"
                     "\"msg\":\"x\"}\n");
    ck_assert_str_eq(s_render(MPCD_LOG_ERROR, "", "x"),
                     "{\"ts\":\"2026-11-27T22:07:43.123Z\",\"level\":\"error\",\"party\":\"a\",\"job\":null,"
                     "\"msg\":\"x\"}\n");
    mpcd_log_set_format(MPCD_LOG_TEXT);
}
END_TEST

/* A message longer than the buffer is cut between escapes and UTF-8 sequences: the line stays
 * one complete JSON object. */
START_TEST(test_json_cut_keeps_the_object_whole)
{
    mpcd_log_init("a", MPCD_LOG_DEBUG);
    mpcd_log_set_journal(0);
    mpcd_log_set_format(MPCD_LOG_JSON);
    const char *unit[] = {"\"", "\\", "\x01", "日", "x"};
    for (size_t cap = 100; cap < 140; cap++) {
        for (size_t u = 0; u < sizeof unit / sizeof *unit; u++) {
            char msg[600] = "";
            for (int i = 0; i < 100; i++) strcat(msg, unit[u]);
            char line[256];
            size_t n = mpcd_log_render(line, cap, MPCD_LOG_INFO, NULL, msg, &s_tv);
            ck_assert_uint_gt(n, 0);
            ck_assert_uint_le(n, cap);
            line[n] = 0;
            ck_assert_msg(n >= 3 && !strcmp(line + n - 3, "\"}\n"), "cap %zu unit %zu: %s", cap, u, line);
            /* the message body: whole units only */
            const char *body = strstr(line, "\"msg\":\"") + 7;
            size_t blen = (size_t)(line + n - 3 - body);
            const char *esc = u == 0 ? "\\\"" : u == 1 ? "\\\\" : u == 2 ? "\\u0001" : unit[u];
            ck_assert_uint_eq(blen % strlen(esc), 0);
            for (size_t i = 0; i < blen; i += strlen(esc)) ck_assert(!memcmp(body + i, esc, strlen(esc)));
        }
    }
    mpcd_log_set_format(MPCD_LOG_TEXT);
}
END_TEST

START_TEST(test_text_folds_newlines)
{
    mpcd_log_init("b", MPCD_LOG_DEBUG);
    mpcd_log_set_journal(0);
    mpcd_log_set_format(MPCD_LOG_TEXT);
    ck_assert_str_eq(s_render(MPCD_LOG_INFO, NULL, "one\ntwo\rthree"),
                     "2026-11-27T22:07:43.123Z INFO  party=b job=- one two three\n");
    ck_assert_str_eq(s_render(MPCD_LOG_ERROR, "77", "x"), "2026-11-27T22:07:43.123Z ERROR party=b job=77 x\n");
}
END_TEST

START_TEST(test_journal_priority_prefix)
{
    mpcd_log_init("c", MPCD_LOG_DEBUG);
    mpcd_log_set_journal(1);
    mpcd_log_set_format(MPCD_LOG_TEXT);
    ck_assert_str_eq(s_render(MPCD_LOG_ERROR, NULL, "e"), "<3>2026-11-27T22:07:43.123Z ERROR party=c job=- e\n");
    ck_assert_str_eq(s_render(MPCD_LOG_WARN, NULL, "w"), "<4>2026-11-27T22:07:43.123Z WARN  party=c job=- w\n");
    ck_assert_str_eq(s_render(MPCD_LOG_INFO, NULL, "i"), "<6>2026-11-27T22:07:43.123Z INFO  party=c job=- i\n");
    ck_assert_str_eq(s_render(MPCD_LOG_DEBUG, NULL, "d"), "<7>2026-11-27T22:07:43.123Z DEBUG party=c job=- d\n");
    mpcd_log_set_format(MPCD_LOG_JSON);
    ck_assert_str_eq(s_render(MPCD_LOG_WARN, NULL, "w"),
                     "<4>{\"ts\":\"2026-11-27T22:07:43.123Z\",\"level\":\"warn\",\"party\":\"c\",\"job\":null,"
                     "\"msg\":\"w\"}\n");
    mpcd_log_set_format(MPCD_LOG_TEXT);
    mpcd_log_set_journal(0);
    ck_assert_str_eq(s_render(MPCD_LOG_INFO, NULL, "i"), "2026-11-27T22:07:43.123Z INFO  party=c job=- i\n");
}
END_TEST

/* JOURNAL_STREAM counts only when it names our stderr (device:inode), as systemd sets it. */
START_TEST(test_journal_stream_must_name_stderr)
{
    struct stat st;
    ck_assert_int_eq(fstat(STDERR_FILENO, &st), 0);
    char v[64];
    unsetenv("JOURNAL_STREAM");
    ck_assert_int_eq(mpcd_log_stderr_is_journal(), 0);
    snprintf(v, sizeof v, "%llu:%llu", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
    setenv("JOURNAL_STREAM", v, 1);
    ck_assert_int_eq(mpcd_log_stderr_is_journal(), 1);
    mpcd_log_init("d", MPCD_LOG_INFO);
    ck_assert_str_eq(s_render(MPCD_LOG_INFO, NULL, "i"), "<6>2026-11-27T22:07:43.123Z INFO  party=d job=- i\n");
    snprintf(v, sizeof v, "%llu:%llu", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino + 1);
    setenv("JOURNAL_STREAM", v, 1);
    ck_assert_int_eq(mpcd_log_stderr_is_journal(), 0);
    setenv("JOURNAL_STREAM", "garbage", 1);
    ck_assert_int_eq(mpcd_log_stderr_is_journal(), 0);
    snprintf(v, sizeof v, "%llu:%llux", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
    setenv("JOURNAL_STREAM", v, 1);
    ck_assert_int_eq(mpcd_log_stderr_is_journal(), 0);
    unsetenv("JOURNAL_STREAM");
    mpcd_log_init("d", MPCD_LOG_INFO);
    ck_assert_str_eq(s_render(MPCD_LOG_INFO, NULL, "i"), "2026-11-27T22:07:43.123Z INFO  party=d job=- i\n");
}
END_TEST

Suite *mpc_test_suite(void)
{
    Suite *s = suite_create("log");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_json_escapes_every_hard_character);
    tcase_add_test(tc, test_json_cut_keeps_the_object_whole);
    tcase_add_test(tc, test_text_folds_newlines);
    tcase_add_test(tc, test_journal_priority_prefix);
    tcase_add_test(tc, test_journal_stream_must_name_stderr);
    suite_add_tcase(s, tc);
    return s;
}
