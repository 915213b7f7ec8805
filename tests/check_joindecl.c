/* check_joindecl.c — join records in a circuit (circuits/joindecl.h): the rules of
 * mpc_join_validate, one broken rule at a time; format version 6 round trips and the hash
 * over the records; the canonical key; reading a key column; the plaintext join against
 * hand-computed results at 0 %, partial and 100 % overlap, and duplicate keys. */
#include <check.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "format.h"
#include "joindecl.h"
#include "runner.h"

#define RA 3
#define RB 4

/* Parties hosp (0), ins (1), audit (2).  Inputs: labs.glucose (hosp, fix[RA]),
 * claims.cost (ins, int[RB]), j-join.ind, j-join.glucose, j-join.cost (ins, [RB]);
 * output s = sum(j-join.cost) to hosp; one join record j. */
static mpc_circuit *s_circuit(int with_join)
{
    mpc_circuit *c = mpc_circ_new();
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(mpc_circ_add_party(c, "hosp"), 0);
    ck_assert_int_eq(mpc_circ_add_party(c, "ins"), 1);
    ck_assert_int_eq(mpc_circ_add_party(c, "audit"), 2);
    mpc_circ_add_input(c, "labs.glucose", 0, MPC_T_FIX, RA, 1, 1);
    mpc_circ_add_input(c, "claims.cost", 1, MPC_T_INT, RB, 2, 1);
    uint32_t w = MPC_NO_WIRE;
    if (with_join) {
        mpc_circ_add_input(c, "j-join.ind", 1, MPC_T_INT, RB, 3, 1);
        mpc_circ_add_input(c, "j-join.glucose", 1, MPC_T_FIX, RB, 3, 1);
        w = mpc_circ_add_input(c, "j-join.cost", 1, MPC_T_INT, RB, 3, 1);
    } else {
        w = c->inputs[1].wire;
    }
    uint32_t s = mpc_circ_add_gate(c, MPC_G_SUM, MPC_T_INT, 1, w, MPC_NO_WIRE, MPC_NO_WIRE, 0, 0, 4, 1);
    ck_assert_int_eq(mpc_circ_add_output(c, "s", s, 1u, 4, 1), 0);
    if (with_join) {
        mpc_join_decl d;
        memset(&d, 0, sizeof d);
        strcpy(d.name, "j");
        d.party[0] = 0;
        d.party[1] = 1;
        strcpy(d.table[0], "labs");
        strcpy(d.table[1], "claims");
        strcpy(d.key[0], "patient_id");
        strcpy(d.key[1], "patient_id");
        d.rows[0] = RA;
        d.rows[1] = RB;
        d.n_cols[0] = d.n_cols[1] = 1;
        d.col[0][0] = 0;
        d.col[1][0] = 1;
        d.out[0] = 2;
        d.out[1] = 3;
        d.out[2] = 4;
        d.line = 3;
        d.col_no = 9;
        ck_assert_int_eq(mpc_circ_add_join(c, &d), 0);
    }
    char err[256];
    ck_assert_msg(mpc_circ_finish(c, err, sizeof err) == 0, "%s", err);
    return c;
}

static void s_refused(mpc_circuit *c, const char *want)
{
    char err[256] = "";
    ck_assert_int_ne(mpc_circ_validate(c, NULL, err, sizeof err), 0);
    ck_assert_msg(strstr(err, want) != NULL, "want '%s' in: %s", want, err);
}

START_TEST(test_validate)
{
    mpc_circuit *c = s_circuit(1);
    char err[256];
    ck_assert_msg(mpc_join_validate(c, err, sizeof err) == 0, "%s", err);
    ck_assert(mpc_join_input_of("j-join.ind"));
    ck_assert(mpc_join_input_of("j-join.glucose"));
    ck_assert(!mpc_join_input_of("j-join."));
    ck_assert(!mpc_join_input_of("-join.x"));
    ck_assert(!mpc_join_input_of("labs.glucose"));
    ck_assert(!mpc_join_input_of("g-contrib"));
    ck_assert_ptr_eq(mpc_circ_join_of_input(c, 3), &c->joins[0]);
    ck_assert_ptr_null(mpc_circ_join_of_input(c, 0));

    mpc_join_decl good = c->joins[0];
    mpc_join_decl *d = &c->joins[0];
#define BREAK(stmt, want) do { *d = good; stmt; s_refused(c, want); } while (0)
    BREAK(d->party[1] = 0, "both sides are party");
    BREAK(d->party[0] = 7, "is not declared");
    BREAK(strcpy(d->name, "j-x"), "bad name");
    BREAK(strcpy(d->name, ""), "bad name");
    BREAK(strcpy(d->table[0], ".x"), "bad table or key");
    BREAK(strcpy(d->key[1], "a b"), "bad table or key");
    BREAK(d->rows[0] = 0, "side A has 0 rows");
    BREAK(d->rows[1] = (1ull << 22) + 1, "side B has");
    BREAK(d->n_cols[0] = MPC_JOIN_MAX_PAYLOAD + 1, "payload columns");
    BREAK(d->col[0][0] = 99, "is no input");
    BREAK(d->col[0][0] = 1, "is not a column of table 'labs'");
    BREAK(d->rows[0] = 2, "with 2 rows");
    BREAK(d->out[0] = 3, "is input 'j-join.glucose', not 'j-join.ind'");
    BREAK(d->out[2] = 99, "is no input");
    BREAK(d->party[1] = 2, "is not from party 'audit'");
    BREAK(strcpy(d->name, "k"), "not 'k-join.ind'");
    /* An output left out of the record: a join-named input no join gives. */
    BREAK(d->n_cols[1] = 0, "no join gives it");
    *d = good;
    ck_assert_int_eq(mpc_circ_validate(c, NULL, err, sizeof err), 0);
    /* Two records of one name, and an input the output of two joins. */
    ck_assert_int_eq(mpc_circ_add_join(c, &good), 0);
    s_refused(c, "declared twice");
    strcpy(c->joins[1].name, "k");
    s_refused(c, "not 'k-join.ind'");
    c->n_joins = 1;
    /* Too many records. */
    for (int i = 1; i < MPC_JOIN_MAX_DECLS; i++) ck_assert_int_eq(mpc_circ_add_join(c, &good), 0);
    ck_assert_int_eq(mpc_circ_add_join(c, &good), -1);
    c->n_joins = 1;
    mpc_circ_destroy(&c);

    /* A payload of one side's party must be that side's: swap the tables' parties. */
    c = s_circuit(1);
    c->joins[0].party[0] = 1;
    c->joins[0].party[1] = 0;
    s_refused(c, "is not from party 'ins'");
    mpc_circ_destroy(&c);
#undef BREAK
}
END_TEST

START_TEST(test_format_round_trip)
{
    mpc_circuit *c = s_circuit(1);
    uint8_t *buf = NULL;
    size_t len = 0;
    ck_assert_int_eq(mpc_circ_write(c, &buf, &len), 0);
    ck_assert_uint_eq(buf[0], 0x90 | 14);
    ck_assert_uint_eq(buf[9], MPC_CIRC_VERSION_JOIN);
    mpc_circuit *r = NULL;
    char err[256];
    ck_assert_msg(mpc_circ_read(buf, len, NULL, &r, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(r->n_joins, 1);
    ck_assert(memcmp(&r->joins[0], &c->joins[0], sizeof c->joins[0]) == 0);
    uint8_t *buf2 = NULL;
    size_t len2 = 0;
    ck_assert_int_eq(mpc_circ_write(r, &buf2, &len2), 0);
    ck_assert_uint_eq(len, len2);
    ck_assert(memcmp(buf, buf2, len) == 0);
    free(buf2);

    /* Every truncation and every single-byte change is refused or reads back valid. */
    for (size_t cut = 0; cut < len; cut++) {
        mpc_circuit *x = NULL;
        ck_assert_int_ne(mpc_circ_read(buf, cut, NULL, &x, err, sizeof err), 0);
        ck_assert_ptr_null(x);
    }
    for (size_t i = 0; i < len; i++)
        for (int delta = 1; delta < 256; delta += 37) {
            buf[i] = (uint8_t)(buf[i] + delta);
            mpc_circuit *x = NULL;
            if (mpc_circ_read(buf, len, NULL, &x, err, sizeof err) == 0) {
                ck_assert_int_eq(mpc_circ_validate(x, NULL, err, sizeof err), 0);
                mpc_circ_destroy(&x);
            }
            buf[i] = (uint8_t)(buf[i] - delta);
        }
    free(buf);
    mpc_circ_destroy(&r);

    /* A circuit without joins keeps version 4. */
    mpc_circuit *p = s_circuit(0);
    ck_assert_int_eq(mpc_circ_write(p, &buf, &len), 0);
    ck_assert_uint_eq(buf[0], 0x90 | 12);
    ck_assert_uint_eq(buf[9], MPC_CIRC_VERSION);
    free(buf);
    mpc_circ_destroy(&p);
    mpc_circ_destroy(&c);
}
END_TEST

START_TEST(test_hash)
{
    mpc_circuit *c = s_circuit(1);
    uint8_t h0[MPC_HASH_BYTES], h[MPC_HASH_BYTES];
    ck_assert_int_eq(mpc_circ_hash(c, h0), 0);
    mpc_join_decl good = c->joins[0];
    mpc_join_decl *d = &c->joins[0];
#define CHANGES(stmt) do {                                                   \
        *d = good; stmt;                                                      \
        ck_assert_int_eq(mpc_circ_hash(c, h), 0);                             \
        ck_assert_msg(memcmp(h, h0, sizeof h) != 0, "hash unchanged: " #stmt); \
    } while (0)
    CHANGES(strcpy(d->name, "k"));
    CHANGES(d->party[0] = 2);
    CHANGES(strcpy(d->table[1], "claim"));
    CHANGES(strcpy(d->key[0], "pid"));
    CHANGES(strcpy(d->key[1], "member_id"));
    CHANGES(d->rows[0] = 5);
    CHANGES(d->col[1][0] = 0);
    CHANGES(d->out[1] = 4);
    CHANGES(d->n_cols[1] = 0);
#undef CHANGES
    /* The source position is not hashed. */
    *d = good;
    d->line = 77;
    d->col_no = 5;
    ck_assert_int_eq(mpc_circ_hash(c, h), 0);
    ck_assert(memcmp(h, h0, sizeof h) == 0);

    /* Without its record the same gates hash differently: the record is what names the
     * join.  (A circuit without joins keeps its version-3 hash: check_format's
     * test_hash_is_canonical recomputes it from the version-3 bytes.) */
    c->n_joins = 0;
    ck_assert_int_eq(mpc_circ_hash(c, h), 0);
    ck_assert(memcmp(h, h0, sizeof h) != 0);
    c->n_joins = 1;
    mpc_circ_destroy(&c);
}
END_TEST

static int s_canon(const char *s, const char *want)
{
    size_t a = 0, n = 0;
    char err[256] = "";
    int r = mpc_join_key_canon(s, strlen(s), &a, &n, err, sizeof err);
    if (r == 0) {
        ck_assert_msg(want != NULL, "key accepted");
        ck_assert_uint_eq(n, strlen(want));
        ck_assert(memcmp(s + a, want, n) == 0);
    } else {
        ck_assert_msg(want == NULL, "refused: %s", err);
        ck_assert_msg(strstr(err, s) == NULL || !*s, "message quotes the key: %s", err);
    }
    return r;
}

START_TEST(test_key_canon)
{
    s_canon("P123", "P123");
    s_canon("  p123\t", "p123");
    s_canon("a b", "a b");
    s_canon("M\xc3\xbcller", "M\xc3\xbcller");
    s_canon("\xe2\x82\xac" "5", "\xe2\x82\xac" "5");
    s_canon("", NULL);
    s_canon(" \t ", NULL);
    s_canon("SECRETab\ncd", NULL);
    s_canon("SECRETab\x7f", NULL);
    s_canon("SECRET\xc2\x85x", NULL);      /* C1 control NEL */
    s_canon("SECRET\xc0\xafx", NULL);      /* overlong */
    s_canon("SECRET\xed\xa0\x80x", NULL);  /* surrogate */
    s_canon("SECRET\xffx", NULL);
    s_canon("SECRET\xe2\x82", NULL);       /* truncated */
    char big[MPC_JOIN_KEY_MAX + 3];
    memset(big, 'k', sizeof big - 1);
    big[sizeof big - 1] = 0;
    s_canon(big, NULL);
    big[MPC_JOIN_KEY_MAX] = 0;
    s_canon(big, big);
    /* Case is kept: two keys differing in case differ. */
    s_canon("Ab", "Ab");
    /* A NUL inside the bytes is a control character. */
    size_t a, n;
    char err[128];
    ck_assert_int_eq(mpc_join_key_canon("ab\0cd", 5, &a, &n, err, sizeof err), -1);
}
END_TEST

static char s_dir[64];

static const char *s_file(const char *name, const char *text)
{
    static char path[128];
    snprintf(path, sizeof path, "%s/%s", s_dir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static void s_load_fails(const char *text, const char *want)
{
    const char *p = s_file("bad.csv", text);
    mpc_join_keys k;
    char err[512] = "";
    ck_assert_int_ne(mpc_join_keys_load(p, NULL, "pid", &k, err, sizeof err), 0);
    ck_assert_msg(strstr(err, want) != NULL, "want '%s' in: %s", want, err);
    ck_assert_msg(strncmp(err, p, strlen(p)) == 0, "no path: %s", err);
    ck_assert_msg(strstr(err, "SECRET") == NULL, "key quoted: %s", err);
    ck_assert_ptr_null(k.data);
}

START_TEST(test_keys_load)
{
    snprintf(s_dir, sizeof s_dir, "/tmp/check_joindecl.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(s_dir));
    const char *p = s_file("t.csv", "x, pid ,y\n1, P1 ,2\n3,\"p,2\",4\n\n5,\tP3,6\n");
    mpc_join_keys k;
    char err[512] = "";
    ck_assert_msg(mpc_join_keys_load(p, NULL, "pid", &k, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(k.rows, 3);
    ck_assert_uint_eq(k.off[0], 0);
    ck_assert_uint_eq(k.off[3], 2 + 3 + 2);
    ck_assert(memcmp(k.data, "P1p,2P3", 7) == 0);
    mpc_join_keys_free(&k);
    ck_assert_ptr_null(k.data);
    mpc_csv_opts semi = {';', 0};
    p = s_file("s.csv", "pid;v\nA;1\nB;2\n");
    ck_assert_msg(mpc_join_keys_load(p, &semi, "pid", &k, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(k.rows, 2);
    mpc_join_keys_free(&k);

    s_load_fails("x,y\n1,2\n", ":1:1: error: the header has no key column 'pid'");
    s_load_fails("pid,x,pid\n1,2,3\n", ":1:7: error: key column 'pid' appears twice");
    s_load_fails("x,pid\n1,SECRET1\n2,  \n", ":3:3: error: key column 'pid': empty key");
    s_load_fails("x,pid\n1,\"SECRET\x01\"\n", ":2:3: error: key column 'pid': key has a control character");
    s_load_fails("x,pid\n1,SECRET\n2\n", ":3:1: error: 1 fields where the header has 2");
    s_load_fails("x,pid\n", "error: no data rows");
    s_load_fails("", ":1:1: error: the file is empty");
    s_load_fails("x,pid\n1,\"SECRET\n", "error:");
    char big[600];
    snprintf(big, sizeof big, "pid\nSECRET%0300d\n", 1);
    s_load_fails(big, ":2:1: error: key column 'pid': key of 306 bytes");
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* Keys from a string "a b c" (space-separated). */
static void s_keys(mpc_join_keys *k, const char *list)
{
    memset(k, 0, sizeof *k);
    size_t n = strlen(list);
    k->data = malloc(n + 1);
    k->off = calloc(n + 2, sizeof *k->off);
    for (size_t i = 0; i <= n;) {
        size_t e = i;
        while (e < n && list[e] != ' ') e++;
        memcpy(k->data + k->off[k->rows], list + i, e - i);
        k->off[k->rows + 1] = k->off[k->rows] + (e - i);
        k->rows++;
        i = e + 1;
    }
}

static void s_join_case(const char *ka, const char *kb, const uint64_t *want_ind, const uint64_t *want_a)
{
    mpc_circuit *c = s_circuit(1);
    mpc_join_keys a, b;
    s_keys(&a, ka);
    s_keys(&b, kb);
    const uint64_t va[RA] = {100, 200, 300}, vb[RB] = {7, 8, 9, 10};
    const uint64_t *vals_a[1] = {va}, *vals_b[1] = {vb};
    uint64_t o0[RB], o1[RB], o2[RB];
    uint64_t *out[3] = {o0, o1, o2};
    char err[256];
    ck_assert_msg(mpc_join_eval(&c->joins[0], &a, &b, vals_a, vals_b, out, err, sizeof err) == 0, "%s", err);
    for (int i = 0; i < RB; i++) {
        ck_assert_uint_eq(o0[i], want_ind[i]);
        ck_assert_uint_eq(o1[i], want_a[i]);
        ck_assert_uint_eq(o2[i], vb[i]);
    }
    mpc_join_keys_free(&a);
    mpc_join_keys_free(&b);
    mpc_circ_destroy(&c);
}

static void s_join_fails(const char *ka, const char *kb, const char *want)
{
    mpc_circuit *c = s_circuit(1);
    mpc_join_keys a, b;
    s_keys(&a, ka);
    s_keys(&b, kb);
    const uint64_t va[RA] = {1, 2, 3}, vb[RB] = {1, 2, 3, 4};
    const uint64_t *vals_a[1] = {va}, *vals_b[1] = {vb};
    uint64_t o0[RB], o1[RB], o2[RB];
    uint64_t *out[3] = {o0, o1, o2};
    char err[256] = "";
    ck_assert_int_ne(mpc_join_eval(&c->joins[0], &a, &b, vals_a, vals_b, out, err, sizeof err), 0);
    ck_assert_msg(strstr(err, want) != NULL, "want '%s' in: %s", want, err);
    mpc_join_keys_free(&a);
    mpc_join_keys_free(&b);
    mpc_circ_destroy(&c);
}

START_TEST(test_join_eval)
{
    /* 0 %: no key of B is one of A's. */
    s_join_case("a b c", "d e f g", (uint64_t[]){0, 0, 0, 0}, (uint64_t[]){0, 0, 0, 0});
    /* Partial: B's rows 1 and 3 match A's rows 2 and 0. */
    s_join_case("a b c", "x c y a", (uint64_t[]){0, 1, 0, 1}, (uint64_t[]){0, 300, 0, 100});
    /* Case is kept: "A" is not "a". */
    s_join_case("a b c", "A c y B", (uint64_t[]){0, 1, 0, 0}, (uint64_t[]){0, 300, 0, 0});
    /* 100 % of A (B has one more row). */
    s_join_case("a b c", "c b z a", (uint64_t[]){1, 1, 0, 1}, (uint64_t[]){300, 200, 0, 100});
    /* Keys that are prefixes of each other are different keys. */
    s_join_case("ab a abc", "a ab abcd abc", (uint64_t[]){1, 1, 0, 1}, (uint64_t[]){200, 100, 0, 300});
    s_join_fails("a b a", "a b c d", "duplicate keys on side A (table 'labs')");
    s_join_fails("a b c", "x y z x", "duplicate keys on side B (table 'claims')");
    s_join_fails("a b", "x y z w", "side A has 2 keys for 3 rows");
    s_join_fails("a b c", "x y z", "side B has 3 keys for 4 rows");
}
END_TEST

/* 10^6 keys per side with half of them in common: well under a second. */
START_TEST(test_join_eval_speed)
{
    const uint64_t n = 1000000;
    mpc_join_keys a = {n, malloc(n * 12), malloc((n + 1) * 8)}, b = {n, malloc(n * 12), malloc((n + 1) * 8)};
    ck_assert(a.data && a.off && b.data && b.off);
    a.off[0] = b.off[0] = 0;
    for (uint64_t i = 0; i < n; i++) {
        int la = snprintf((char *)a.data + a.off[i], 12, "K%llu", (unsigned long long)(2 * i));
        int lb = snprintf((char *)b.data + b.off[i], 12, "K%llu", (unsigned long long)(n - 1 - i));
        a.off[i + 1] = a.off[i] + (uint64_t)la;
        b.off[i + 1] = b.off[i] + (uint64_t)lb;
    }
    mpc_join_decl d;
    memset(&d, 0, sizeof d);
    strcpy(d.name, "j");
    d.party[1] = 1;
    strcpy(d.table[0], "a");
    strcpy(d.table[1], "b");
    d.rows[0] = d.rows[1] = n;
    d.n_cols[0] = 1;
    uint64_t *va = malloc(n * 8), *o0 = malloc(n * 8), *o1 = malloc(n * 8);
    for (uint64_t i = 0; i < n; i++) va[i] = i;
    const uint64_t *vals_a[1] = {va};
    uint64_t *out[2] = {o0, o1};
    char err[256];
    struct timespec t0, t1;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
    ck_assert_msg(mpc_join_eval(&d, &a, &b, vals_a, NULL, out, err, sizeof err) == 0, "%s", err);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    uint64_t matched = 0;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t key = n - 1 - i;
        ck_assert_uint_eq(o0[i], key % 2 == 0);
        ck_assert_uint_eq(o1[i], key % 2 == 0 ? key / 2 : 0);
        matched += o0[i];
    }
    ck_assert_uint_eq(matched, n / 2);
    /* CPU time, not wall time, and a bound that only a quadratic join (hours at this size) can
     * break: this is a guard, not a performance figure (about 0.5 s of CPU here). */
    ck_assert_msg(s < 30.0, "mpc_join_eval took %.3f s of CPU for 10^6 x 10^6 keys", s);
    free(va);
    free(o0);
    free(o1);
    mpc_join_keys_free(&a);
    mpc_join_keys_free(&b);
}
END_TEST

Suite *mpc_test_suite(void)
{
    Suite *s = suite_create("joindecl");
    TCase *t = tcase_create("joindecl");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, test_validate);
    tcase_add_test(t, test_format_round_trip);
    tcase_add_test(t, test_hash);
    tcase_add_test(t, test_key_canon);
    tcase_add_test(t, test_keys_load);
    tcase_add_test(t, test_join_eval);
    tcase_add_test(t, test_join_eval_speed);
    suite_add_tcase(s, t);
    return s;
}
