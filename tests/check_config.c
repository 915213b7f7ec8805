/* check_config.c — mpcd configuration: the table, error messages with file and line, and
 * configs/README.md matching the table. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runner.h"
#include "config.h"

static const char *KEY_A = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";
static const char *KEY_B = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";

static char s_path[64];

static const char *s_write(const char *text)
{
    strcpy(s_path, "/tmp/mpcd-config-XXXXXX");
    int fd = mkstemp(s_path);
    ck_assert_int_ge(fd, 0);
    FILE *f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    return s_path;
}

static void s_base(char *buf, size_t n, const char *extra)
{
    snprintf(buf, n,
             "[mpcd]\n"
             "name = a\n"
             "parties = a, b\n"
             "peer_endpoint = tcp://127.0.0.1:7001\n"
             "client_endpoint = tcp://127.0.0.1:7101\n"
             "public_key_file = a.pub\n"
             "secret_key_file = a.key\n"
             "dealer_endpoint = tcp://127.0.0.1:7200\n"
             "dealer_public_key = %s\n"
             "[policy]\n"
             "allow_any_program = true\n"
             "[party b]\n"
             "endpoint = tcp://127.0.0.1:7002\n"
             "public_key = %s\n"
             "[client alice]\n"
             "public_key = %s\n"
             "input_for = a\n"
             "output_for = *\n"
             "submit = yes\n"
             "%s",
             KEY_A, KEY_B, KEY_A, extra);
}

START_TEST(test_good_config)
{
    char text[4096], err[512];
    mpcd_config *cfg = malloc(sizeof *cfg);
    s_base(text, sizeof text, "");
    ck_assert_msg(mpcd_config_load(s_write(text), cfg, err, sizeof err) == 0, "%s", err);
    unlink(s_path);
    ck_assert_uint_eq(cfg->n_parties, 2);
    ck_assert_uint_eq(cfg->self, 0);
    ck_assert_str_eq(cfg->parties[1].endpoint, "tcp://127.0.0.1:7002");
    ck_assert_str_eq(cfg->parties[0].endpoint, "tcp://127.0.0.1:7001");
    ck_assert_uint_eq(cfg->n_clients, 1);
    ck_assert_uint_eq(cfg->clients[0].input_for, 1);
    ck_assert_uint_eq(cfg->clients[0].output_for, 3);
    ck_assert_int_eq(cfg->clients[0].may_submit, 1);
    ck_assert_int_eq(cfg->job_timeout_ms, 600000);  /* default */
    ck_assert_int_eq(cfg->preprocessing, MPCD_PREP_OT);   /* the default: no trusted party */
    ck_assert_int_eq(cfg->strict, 0);               /* default: warnings do not refuse a circuit */
    s_base(text, sizeof text, "[policy]\nstrict = true\n");
    ck_assert_msg(mpcd_config_load(s_write(text), cfg, err, sizeof err) == 0, "%s", err);
    unlink(s_path);
    ck_assert_int_eq(cfg->strict, 1);
    free(cfg);
}
END_TEST

/* Each bad configuration is refused naming the file, the line and the reason. */
static const struct {
    const char *extra;
    const char *expect;
} s_bad[] = {
    {"[limits]\njob_timeout_ms = 5\n", ":21: error: job_timeout_ms: 5 is out of range"},
    {"[limits]\njob_timeout_ms = soon\n", ":21: error: job_timeout_ms: 'soon' is not an integer"},
    {"[limits]\nbogus = 1\n", ":21: error: unknown key 'bogus' in [limits]"},
    {"[nonsense]\nx = 1\n", ":20: error: unknown section [nonsense]"},
    {"[client bob]\npublic_key = short\n", ":21: error: public_key: not a CURVE public key"},
    {"[client bob]\ninput_for = z\n", ":20: error: [client bob] lacks the required key 'public_key'"},
    {"[party c]\nendpoint = tcp://x:1\npublic_key = Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID\n",
     ":20: error: [party c] is not in parties"},
    {"[policy]\nallow = 1234\n", ":21: error: allow: '1234' is not a 64-digit hex circuit hash"},
    {"[mpcd]\nlog_level = loud\n", ":21: error: log_level: 'loud' is not one of the allowed values"},
    {"garbage line\n", ":20: error: malformed line"},
    /* found by fuzz_config: an empty required key used to pass as set */
    {"[client bob]\npublic_key =\n", ":21: error: public_key: empty"},
};

START_TEST(test_bad_config)
{
    char text[4096], err[512];
    mpcd_config *cfg = malloc(sizeof *cfg);
    s_base(text, sizeof text, s_bad[_i].extra);
    const char *p = s_write(text);
    ck_assert_int_eq(mpcd_config_load(p, cfg, err, sizeof err), -1);
    unlink(p);
    ck_assert_msg(strstr(err, s_bad[_i].expect) != NULL, "got '%s', want '%s'", err, s_bad[_i].expect);
    ck_assert_msg(strncmp(err, p, strlen(p)) == 0, "message does not start with the path: %s", err);
    free(cfg);
}
END_TEST

START_TEST(test_missing_pieces)
{
    char err[512];
    mpcd_config *cfg = malloc(sizeof *cfg);
    const char *p = s_write("[mpcd]\nname = a\nparties = a, b\npeer_endpoint = x\nclient_endpoint = y\n"
                            "public_key_file = k\nsecret_key_file = s\n[policy]\nallow_any_program = 1\n"
                            "[mpcd]\n");
    ck_assert_int_eq(mpcd_config_load(p, cfg, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "dealer") || strstr(err, "party 'b'"), "%s", err);
    unlink(p);
    ck_assert_int_eq(mpcd_config_load("/nonexistent/mpcd.ini", cfg, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/mpcd.ini: error: cannot open"));
    free(cfg);
}
END_TEST

/* configs/README.md is generated from the table: it must match exactly. */
START_TEST(test_doc_matches_table)
{
    char *gen = NULL;
    size_t gen_len = 0;
    FILE *f = open_memstream(&gen, &gen_len);
    mpcd_config_write_doc(f);
    fclose(f);
    FILE *g = fopen("configs/README.md", "r");
    ck_assert_msg(g != NULL, "configs/README.md is missing (run: bin/mpcd config-doc > configs/README.md)");
    char *have = calloc(1, gen_len + 2);
    size_t n = fread(have, 1, gen_len + 1, g);
    fclose(g);
    ck_assert_msg(n == gen_len && memcmp(have, gen, gen_len) == 0,
                  "configs/README.md differs from the key table; regenerate it with `bin/mpcd config-doc`");
    free(have);
    free(gen);
}
END_TEST

Suite *mpc_test_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_good_config);
    tcase_add_loop_test(tc, test_bad_config, 0, (int)(sizeof s_bad / sizeof s_bad[0]));
    tcase_add_test(tc, test_missing_pieces);
    tcase_add_test(tc, test_doc_matches_table);
    suite_add_tcase(s, tc);
    return s;
}

