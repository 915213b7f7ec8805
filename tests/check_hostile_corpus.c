/* check_hostile_corpus.c — replays every file of the fuzz corpora (tests/fuzz/corpus/<target>/:
 * seeds from the real examples and messages, plus every crash the fuzzers ever found) through
 * the same target functions libFuzzer runs (tests/fuzz/fuzz_*.c, included here), so `make test`
 * checks each decoder against them every time without clang.  A broken invariant aborts, which
 * Check reports as an error naming the test.  The valid seeds must also still be accepted: a
 * decoder that started refusing real messages would make the corpus useless. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner.h"
#include "fuzz/fuzz_circ.c"
#include "fuzz/fuzz_compile.c"
#include "fuzz/fuzz_config.c"
#include "fuzz/fuzz_csv.c"
#include "fuzz/fuzz_cwire_rep.c"
#include "fuzz/fuzz_ctwire_req.c"
#include "fuzz/fuzz_cwire_req.c"
#include "fuzz/fuzz_wire.c"
#include "mpc_err.h"

#define S_CORPUS "tests/fuzz/corpus"

typedef int (*target_fn)(const uint8_t *, size_t);
/* Returns 1 if the seed file `name` (not a crash regression) must be accepted as valid. */
typedef int (*valid_fn)(const uint8_t *, size_t);

static uint8_t *s_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    ck_assert_int_ge(n, 0);
    ck_assert_int_eq(fseek(f, 0, SEEK_SET), 0);
    uint8_t *b = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_eq(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

/* Runs every file of the target's corpus; returns how many there were and how many of the
 * non-crash seeds `valid` accepted. */
static size_t s_replay(const char *target, target_fn fn, valid_fn valid, size_t *n_valid, size_t *n_seeds)
{
    char dir[256];
    snprintf(dir, sizeof dir, "%s/%s", S_CORPUS, target);
    DIR *d = opendir(dir);
    ck_assert_msg(d != NULL, "no corpus directory %s (run from the repository root)", dir);
    size_t n = 0;
    *n_valid = *n_seeds = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        size_t len;
        uint8_t *b = s_slurp(path, &len);
        fn(b, len);
        if (strncmp(e->d_name, "crash-", 6) != 0 && strncmp(e->d_name, "bad_", 4) != 0) {
            (*n_seeds)++;
            if (valid && valid(b, len)) (*n_valid)++;
        }
        free(b);
        n++;
    }
    closedir(d);
    return n;
}

static int s_valid_circ(const uint8_t *b, size_t n)
{
    mpc_circuit *c = NULL;
    char err[256];
    int ok = mpc_circ_read(b, n, NULL, &c, err, sizeof err) == 0;
    mpc_circ_destroy(&c);
    return ok;
}

static int s_valid_wire(const uint8_t *b, size_t n)
{
    mpc_msg_hdr h;
    return mpc_wire_hdr_decode(&h, b, n) == 0;
}

static int s_valid_req(const uint8_t *b, size_t n)
{
    const uint8_t *h;
    size_t hl, np, pl;
    mpc_fuzz_cwire_split(b, n, &h, &hl, &np, &pl);
    mpc_cwire_req r;
    char err[256];
    return mpc_cwire_req_decode(h, hl, np, pl, &r, err, sizeof err) == 0;
}

/* A contribution seed (bad_* files are refusals: not counted as seeds) decodes. */
static int s_valid_ct(const uint8_t *b, size_t n)
{
    const uint8_t *h;
    size_t hl, np, pl;
    mpc_fuzz_cwire_split(b, n, &h, &hl, &np, &pl);
    mpc_ct_req r;
    char err[256];
    return mpc_ct_req_decode(h, hl, np, pl, &r, err, sizeof err) == 0;
}

static int s_valid_rep(const uint8_t *b, size_t n)
{
    const uint8_t *h;
    size_t hl, np, pl;
    mpc_fuzz_cwire_split(b, n, &h, &hl, &np, &pl);
    mpc_cwire_rep r;
    char err[256];
    return mpc_cwire_rep_decode(h, hl, np, pl, &r, err, sizeof err) == 0;
}

/* A seed table (not named bad_*) reads with the fuzz target's columns. */
static int s_valid_csv(const uint8_t *b, size_t n)
{
    char path[] = "/tmp/mpccsvseedXXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, b, n), (ssize_t)n);
    close(fd);
    mpc_table_col cols[3] = {{.name = "a", .type = MPC_T_INT},
                             {.name = "b", .type = MPC_T_FIX, .has_default = 1},
                             {.name = "c", .type = MPC_T_BOOL}};
    char err[512];
    uint64_t rows;
    mpc_csv_opts o = {0, 0};
    if (memchr(b, ';', n) && !memchr(b, ',', n)) o.sep = ';';
    int ok = mpc_table_read(path, &o, 16, cols, 3, &rows, err, sizeof err) == 0;
    if (!ok) fprintf(stderr, "csv seed refused: %s\n", err);
    for (int i = 0; i < 3; i++) free(cols[i].vals);
    unlink(path);
    return ok;
}

/* The shipped configuration files are valid. */
static int s_valid_config(const uint8_t *b, size_t n)
{
    char path[] = "/tmp/mpccorpuscfgXXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, b, n), (ssize_t)n);
    close(fd);
    static mpcd_config cfg;
    char err[512];
    int ok = mpcd_config_load(path, &cfg, err, sizeof err) == 0;
    if (!ok) fprintf(stderr, "config seed refused: %s\n", err);
    unlink(path);
    return ok;
}

static int s_valid_compile(const uint8_t *b, size_t n)
{
    mpc_circuit *c = NULL;
    mpc_diag d;
    int ok = mpc_compile((const char *)b, n, "seed.mpc", NULL, 0, &c, &d) == 0;
    mpc_circ_destroy(&c);
    mpc_diag_free(&d);
    return ok;
}

#define REPLAY_TEST(name, target, fn, valid, min_files)                                          \
    START_TEST(name)                                                                             \
    {                                                                                            \
        size_t n_valid, n_seeds;                                                                 \
        size_t n = s_replay(target, fn, valid, &n_valid, &n_seeds);                              \
        ck_assert_msg(n >= (min_files), "%s: only %zu corpus files", target, n);                 \
        ck_assert_msg(n_valid == n_seeds, "%s: %zu of %zu seeds refused", target,                \
                      n_seeds - n_valid, n_seeds);                                               \
    }                                                                                            \
    END_TEST

REPLAY_TEST(test_corpus_wire, "wire", mpc_fuzz_wire, s_valid_wire, 8)
REPLAY_TEST(test_corpus_cwire_req, "cwire_req", mpc_fuzz_cwire_req, s_valid_req, 6)
REPLAY_TEST(test_corpus_cwire_rep, "cwire_rep", mpc_fuzz_cwire_rep, s_valid_rep, 6)
REPLAY_TEST(test_corpus_ctwire_req, "ctwire_req", mpc_fuzz_ctwire_req, s_valid_ct, 4)
REPLAY_TEST(test_corpus_circ, "circ", mpc_fuzz_circ, s_valid_circ, 4)
REPLAY_TEST(test_corpus_config, "config", mpc_fuzz_config, s_valid_config, 2)
REPLAY_TEST(test_corpus_csv, "csv", mpc_fuzz_csv, s_valid_csv, 5)

/* The compile corpus holds the bad-program corpus too (tests_bad_*), which must be refused
 * and the examples, which must compile. */
START_TEST(test_corpus_compile)
{
    DIR *d = opendir(S_CORPUS "/compile");
    ck_assert_ptr_nonnull(d);
    size_t n = 0, examples = 0, bad = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", S_CORPUS "/compile", e->d_name);
        size_t len;
        uint8_t *b = s_slurp(path, &len);
        mpc_fuzz_compile(b, len);
        if (!strncmp(e->d_name, "examples_", 9)) {
            ck_assert_msg(s_valid_compile(b, len), "%s does not compile", e->d_name);
            examples++;
        } else if (!strncmp(e->d_name, "tests_bad_", 10)) {
            ck_assert_msg(!s_valid_compile(b, len), "%s compiles", e->d_name);
            bad++;
        }
        free(b);
        n++;
    }
    closedir(d);
    ck_assert_uint_ge(examples, 4);
    ck_assert_uint_ge(bad, 20);
}
END_TEST

/* Regression: a request the decoder refuses keeps its request id when the header got that
 * far, so the daemon's ERROR reply reaches the client waiting on that id (it was 0). */
START_TEST(test_refused_request_keeps_rid)
{
    /* [version 2, STATUS, rid 0x1234, nil]: refused for its version. */
    static const uint8_t v2[] = {0x94, 0x02, 0x04, 0xcd, 0x12, 0x34, 0xc0};
    /* [1, INPUT, rid 7, ...] with too few fields. */
    static const uint8_t short_input[] = {0x93, 0x01, 0x02, 0x07};
    mpc_cwire_req r;
    char err[256];
    ck_assert_int_eq(mpc_cwire_req_decode(v2, sizeof v2, 0, 0, &r, err, sizeof err), MPC_ERR_PROTOCOL);
    ck_assert_uint_eq(r.rid, 0x1234);
    ck_assert_uint_eq(r.type, 0);
    ck_assert_ptr_null(strstr(err, "request id"));
    ck_assert_int_eq(mpc_cwire_req_decode(short_input, sizeof short_input, 0, 0, &r, err, sizeof err),
                     MPC_ERR_PROTOCOL);
    ck_assert_uint_eq(r.rid, 7);
    ck_assert_uint_eq(r.type, 0);
    /* Unreadable: no id. */
    ck_assert_int_eq(mpc_cwire_req_decode((const uint8_t *)"\xc1", 1, 0, 0, &r, err, sizeof err), MPC_ERR_PROTOCOL);
    ck_assert_uint_eq(r.rid, 0);
}
END_TEST

Suite *mpc_test_suite(void)
{
    Suite *s = suite_create("hostile_corpus");
    TCase *tc = tcase_create("replay");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_corpus_wire);
    tcase_add_test(tc, test_corpus_cwire_req);
    tcase_add_test(tc, test_corpus_cwire_rep);
    tcase_add_test(tc, test_corpus_ctwire_req);
    tcase_add_test(tc, test_corpus_circ);
    tcase_add_test(tc, test_corpus_config);
    tcase_add_test(tc, test_corpus_csv);
    tcase_add_test(tc, test_corpus_compile);
    tcase_add_test(tc, test_refused_request_keeps_rid);
    suite_add_tcase(s, tc);
    return s;
}

