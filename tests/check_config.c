/* check_config.c — mpcd configuration: the table, error messages with file and line, and
 * configs/README.md matching the table. */
#include <check.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runner.h"
#include "circuit.h"
#include "client_conf.h"
#include "config.h"
#include "cwire.h"
#include "keys.h"
#include "mpc_err.h"

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

/* A good configuration with `mpcd_extra` at the end of [mpcd] (from line 10), `policy_extra`
 * at the end of [policy] and `extra` at the end of the file (from line 20 when the other two
 * are empty). */
static void s_base3(char *buf, size_t n, const char *mpcd_extra, const char *policy_extra, const char *extra)
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
             "%s"
             "[policy]\n"
             "allow_any_program = true\n"
             "%s"
             "[party b]\n"
             "endpoint = tcp://127.0.0.1:7002\n"
             "public_key = %s\n"
             "[client alice]\n"
             "public_key = %s\n"
             "input_for = a\n"
             "output_for = *\n"
             "submit = yes\n"
             "%s",
             KEY_A, mpcd_extra, policy_extra, KEY_B, KEY_A, extra);
}

static void s_base(char *buf, size_t n, const char *extra)
{
    s_base3(buf, n, "", "", extra);
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
    s_base3(text, sizeof text, "", "strict = true\n", "");
    ck_assert_msg(mpcd_config_load(s_write(text), cfg, err, sizeof err) == 0, "%s", err);
    unlink(s_path);
    ck_assert_int_eq(cfg->strict, 1);
    ck_assert_str_eq(cfg->metrics_endpoint, "");   /* default: no metrics endpoint */
    s_base3(text, sizeof text, "metrics_endpoint = 127.0.0.1:9464\n", "", "");
    ck_assert_msg(mpcd_config_load(s_write(text), cfg, err, sizeof err) == 0, "%s", err);
    unlink(s_path);
    ck_assert_str_eq(cfg->metrics_endpoint, "127.0.0.1:9464");
    s_base3(text, sizeof text, "metrics_endpoint = [::1]:0\n", "", "");
    ck_assert_msg(mpcd_config_load(s_write(text), cfg, err, sizeof err) == 0, "%s", err);
    unlink(s_path);
    ck_assert_str_eq(cfg->metrics_endpoint, "[::1]:0");
    free(cfg);
}
END_TEST

/* [dataset NAME]: writers resolved to clients, readers parsed as hashes; unknown writers and
 * bad hashes refused; a dataset without a section has no rights. */
START_TEST(test_dataset_rights)
{
    char text[4096], err[512];
    mpcd_config *cfg = malloc(sizeof *cfg);
    s_base(text, sizeof text,
           "[dataset hosp_a.labs]\nwriters = alice\n"
           "readers = 07e07c7f1571d2b2f9838303d82a68dd82992fca267ae5b4274afb356081c321\n"
           "readers = 00000000000000000000000000000000000000000000000000000000000000ff\n");
    ck_assert_msg(mpcd_config_load(s_write(text), cfg, err, sizeof err) == 0, "%s", err);
    unlink(s_path);
    const mpcd_dataset_conf *d = mpcd_config_dataset(cfg, "hosp_a.labs");
    ck_assert_ptr_nonnull(d);
    ck_assert_uint_eq(d->writers, 1);
    ck_assert_uint_eq(d->n_readers, 2);
    ck_assert_uint_eq(d->readers[0][0], 0x07);
    ck_assert_uint_eq(d->readers[1][31], 0xff);
    ck_assert_ptr_null(mpcd_config_dataset(cfg, "other"));
    ck_assert_str_eq(cfg->data_key_file, "");
    s_base(text, sizeof text, "[dataset x]\nwriters = mallory\n");
    ck_assert_int_eq(mpcd_config_load(s_write(text), cfg, err, sizeof err), -1);
    unlink(s_path);
    ck_assert_msg(strstr(err, "[dataset x] writers: 'mallory' is not a [client] section") != NULL, "%s", err);
    s_base(text, sizeof text, "[dataset x]\nreaders = 12ab\n");
    ck_assert_int_eq(mpcd_config_load(s_write(text), cfg, err, sizeof err), -1);
    unlink(s_path);
    ck_assert_msg(strstr(err, ":21: error: readers: '12ab' is not a 64-digit hex program hash") != NULL, "%s", err);
    free(cfg);
}
END_TEST

/* Each bad configuration is refused naming the file, the line and the reason. */
static const struct {
    const char *mpcd_extra, *policy_extra, *extra;
    const char *expect;
} s_bad[] = {
    {"", "", "[limits]\njob_timeout_ms = 5\n", ":21: error: job_timeout_ms: 5 is out of range"},
    {"", "", "[limits]\njob_timeout_ms = soon\n", ":21: error: job_timeout_ms: 'soon' is not an integer"},
    {"", "", "[limits]\nbogus = 1\n", ":21: error: unknown key 'bogus' in [limits]"},
    {"", "", "[nonsense]\nx = 1\n", ":20: error: unknown section [nonsense]"},
    {"", "", "[client bob]\npublic_key = short\n", ":21: error: public_key: not a CURVE public key"},
    {"", "", "[client bob]\ninput_for = z\n", ":20: error: [client bob] lacks the required key 'public_key'"},
    {"", "", "[party c]\nendpoint = tcp://x:1\npublic_key = Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID\n",
     ":20: error: [party c] is not in parties"},
    {"", "allow = 1234\n", "", ":12: error: allow: '1234' is not a 64-digit hex circuit hash"},
    /* program approvals (docs/daemon.md, "Approving a program") */
    {"", "allow = 1234 N=1..5 parties=a,b\n", "", ":12: error: allow: a program approval starts with the 64-digit hex program hash"},
    {"", "allow = e68541f8921b3efd2351d79e61febb9d8f0aa327fb906041e0b30fbdbe9e3a59 N=1..5\n", "", ":12: error: allow: a program approval needs parties=a,b,..."},
    {"", "allow = e68541f8921b3efd2351d79e61febb9d8f0aa327fb906041e0b30fbdbe9e3a59 N=5..1 parties=a,b\n", "", ":12: error: allow: param 'N': range '5..1' is empty (LO > HI)"},
    {"", "allow = e68541f8921b3efd2351d79e61febb9d8f0aa327fb906041e0b30fbdbe9e3a59 N=lots parties=a,b\n", "", ":12: error: allow: param 'N': 'lots' is not LO..HI, an integer"},
    {"", "allow = e68541f8921b3efd2351d79e61febb9d8f0aa327fb906041e0b30fbdbe9e3a59 N=1 N=2 parties=a,b\n", "", ":12: error: allow: param 'N' is constrained twice"},
    {"", "allow = e68541f8921b3efd2351d79e61febb9d8f0aa327fb906041e0b30fbdbe9e3a59 N=1 parties=a,a\n", "", ":12: error: allow: parties= names 'a' twice"},
    {"", "allow = e68541f8921b3efd2351d79e61febb9d8f0aa327fb906041e0b30fbdbe9e3a59 N=1 parties=a,b parties=b,a\n", "", ":12: error: allow: parties= is given twice"},
    {"", "allow = e68541f8921b3efd2351d79e61febb9d8f0aa327fb906041e0b30fbdbe9e3a59 N=1..2 parties=a,z\n", "", ":12: error: allow: parties= names 'z', which is not in parties"},
    {"", "allow = e68541f8921b3efd2351d79e61febb9d8f0aa327fb906041e0b30fbdbe9e3a59 -x=2 parties=a,b\n", "", ":12: error: allow: '-x=2' is not NAME=LO..HI"},
    {"log_level = loud\n", "", "", ":10: error: log_level: 'loud' is not one of the allowed values"},
    {"", "", "garbage line\n", ":20: error: malformed line"},
    /* found by fuzz_config: an empty required key used to pass as set */
    {"", "", "[client bob]\npublic_key =\n", ":21: error: public_key: empty"},
    /* the shared loader's rules, the same for the client's configuration */
    {"", "", "[policy]\nallow_any_program = false\n", ":20: error: [policy] appears twice (first on line 10)"},
    {"", "", "[client alice]\npublic_key = x\n", ":20: error: [client alice] appears twice (first on line 15)"},
    {"", "", "[limits]\n[party b]\n", ":20: error: section has no keys"},
    {"", "", "[client]\npublic_key = x\n", ":20: error: [client] needs a name"},
    {"", "", "[limits x]\nmax_gates = 5\n", ":20: error: [limits] takes no name"},
    {"peer_endpoint = tcp://127.0.0.1:7009\n", "", "", ":10: error: 'peer_endpoint' is set twice in [mpcd] (first on line 4)"},
    {"", "", "[party c]\nendpoint = 127.0.0.1:7002\n", ":21: error: endpoint: '127.0.0.1:7002' is not a ZeroMQ endpoint"},
    /* the metrics endpoint: a numeric HOST:PORT */
    {"metrics_endpoint = localhost:9464\n", "", "", ":10: error: metrics_endpoint: 'localhost:9464': 'localhost' is not a numeric"},
    {"metrics_endpoint = 127.0.0.1\n", "", "", ":10: error: metrics_endpoint: '127.0.0.1' is not HOST:PORT"},
    {"metrics_endpoint = 127.0.0.1:70000\n", "", "", ":10: error: metrics_endpoint: '127.0.0.1:70000': port 70000 is over 65535"},
    {"metrics_endpoint = 127.0.0.1:-1\n", "", "", ":10: error: metrics_endpoint: '127.0.0.1:-1' is not HOST:PORT"},
    {"metrics_endpoint = ::1:9464\n", "", "", ":10: error: metrics_endpoint: '::1:9464': '::1' is not a numeric"},
    {"metrics_endpoint = tcp://127.0.0.1:9464\n", "", "", ":10: error: metrics_endpoint: 'tcp://127.0.0.1:9464': 'tcp://127.0.0.1' is not"},
    /* a key names one identity: not two clients, not a client's current and next key */
    {"", "", "[client bob]\npublic_key = Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID\n",
     ":20: error: [client bob] public_key is the key of [client alice] public_key already"},
    {"", "", "[client bob]\npublic_key = (dWN72437@]euWQ30W5LO+ENDYf=M+0{epNy2gDC\n"
     "next_public_key = (dWN72437@]euWQ30W5LO+ENDYf=M+0{epNy2gDC\n",
     ":20: error: [client bob] next_public_key is the key of [client bob] public_key already"},
    {"", "", "[client bob]\npublic_key = (dWN72437@]euWQ30W5LO+ENDYf=M+0{epNy2gDC\nnext_public_key = x\n",
     ":22: error: next_public_key: not a CURVE public key"},
};

START_TEST(test_bad_config)
{
    char text[4096], err[512];
    mpcd_config *cfg = malloc(sizeof *cfg);
    s_base3(text, sizeof text, s_bad[_i].mpcd_extra, s_bad[_i].policy_extra, s_bad[_i].extra);
    const char *p = s_write(text);
    ck_assert_int_eq(mpcd_config_load(p, cfg, err, sizeof err), -1);
    unlink(p);
    ck_assert_msg(strstr(err, s_bad[_i].expect) != NULL, "got '%s', want '%s'", err, s_bad[_i].expect);
    ck_assert_msg(strncmp(err, p, strlen(p)) == 0, "message does not start with the path: %s", err);
    free(cfg);
}
END_TEST

/* Program approvals: several lines (one per binding), next to circuit hashes. */
START_TEST(test_program_approvals)
{
    char text[4096], err[512];
    mpcd_config *cfg = malloc(sizeof *cfg);
    s_base3(text, sizeof text, "", "allow = e68541f8921b3efd2351d79e61febb9d8f0aa327fb906041e0b30fbdbe9e3a59 N=1..10000000 K=3 X=2.50 F=true parties=a,b\n"
            "allow = e68541f8921b3efd2351d79e61febb9d8f0aa327fb906041e0b30fbdbe9e3a59 N=1..10000000 K=3 X=2.5 F=true parties=b,a\n"
            "allow = 0000000000000000000000000000000000000000000000000000000000000001\n", "");
    ck_assert_msg(mpcd_config_load(s_write(text), cfg, err, sizeof err) == 0, "%s", err);
    unlink(s_path);
    ck_assert_uint_eq(cfg->n_allowed, 1);
    ck_assert_uint_eq(cfg->n_approvals, 2);
    const mpcd_approval *a = &cfg->approvals[1];
    ck_assert_uint_eq(a->line, 13);
    ck_assert_uint_eq(a->hash[0], 0xe6);
    ck_assert_uint_eq(a->n_params, 4);
    ck_assert_str_eq(a->param_names[0], "N");
    ck_assert(a->params[0].range && a->params[0].lo == 1 && a->params[0].hi == 10000000);
    ck_assert(a->params[1].range && a->params[1].lo == 3 && a->params[1].hi == 3);
    ck_assert_str_eq(cfg->approvals[0].params[2].value, "2.5");
    ck_assert_str_eq(a->params[3].value, "true");
    ck_assert_uint_eq(a->n_parties, 2);
    ck_assert_str_eq(a->parties[0], "b");
    ck_assert_str_eq(a->parties[1], "a");
    free(cfg);
}
END_TEST

/* Release rules: the party's default and rules on allow lines (docs/governance.md). */
START_TEST(test_release_rules)
{
    char text[4096], err[512];
    mpcd_config *cfg = malloc(sizeof *cfg);
    s_base3(text, sizeof text, "", "min_rows = 5\nmin_contributors = 2\n"
            "allow = e68541f8921b3efd2351d79e61febb9d8f0aa327fb906041e0b30fbdbe9e3a59 N=1..10 parties=a,b min_rows=10\n"
            "allow = 0000000000000000000000000000000000000000000000000000000000000001 min_contributors=3 min_rows=0\n"
            "allow = 0000000000000000000000000000000000000000000000000000000000000002\n", "");
    ck_assert_msg(mpcd_config_load(s_write(text), cfg, err, sizeof err) == 0, "%s", err);
    unlink(s_path);
    ck_assert_int_eq(cfg->min_rows, 5);
    ck_assert_int_eq(cfg->min_contributors, 2);
    ck_assert_uint_eq(cfg->n_approvals, 1);
    ck_assert_uint_eq(cfg->approvals[0].release.min_rows, 10);
    ck_assert_uint_eq(cfg->approvals[0].release.min_contributors, 0);
    ck_assert_uint_eq(cfg->n_allowed, 2);
    ck_assert_uint_eq(cfg->allowed[0][31], 1);
    ck_assert_uint_eq(cfg->allowed_release[0].min_contributors, 3);
    ck_assert_uint_eq(cfg->allowed_release[0].min_rows, 0);
    ck_assert_uint_eq(cfg->allowed[1][31], 2);
    ck_assert_uint_eq(cfg->allowed_release[1].min_contributors, 0);
    static const char *const bad[][2] = {
        {"allow = 0000000000000000000000000000000000000000000000000000000000000001 min_rows=ten\n",
         ":12: error: allow: 'min_rows=ten': expected an integer 0..1000000000"},
        {"allow = 0000000000000000000000000000000000000000000000000000000000000001 min_rows=-1\n",
         ":12: error: allow: 'min_rows=-1': expected an integer"},
        {"allow = 0000000000000000000000000000000000000000000000000000000000000001 min_rows=2 min_rows=3\n",
         ":12: error: allow: min_rows= is given twice"},
        {"min_rows = 1000000001\nallow_any_program = true\n", ":12: error: min_rows: 1000000001 is out of range"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        s_base3(text, sizeof text, "", bad[i][0], "");
        ck_assert_int_eq(mpcd_config_load(s_write(text), cfg, err, sizeof err), -1);
        unlink(s_path);
        ck_assert_msg(strstr(err, bad[i][1]), "%s", err);
    }
    free(cfg);
}
END_TEST

/* Privacy budgets (docs/governance.md, "Privacy budget"): the party default, on allow lines
 * (approval and circuit hash) and per dataset; none configured means eps 0 (unlimited). */
START_TEST(test_dp_budgets)
{
    char text[4096], err[512];
    mpcd_config *cfg = malloc(sizeof *cfg);
    s_base3(text, sizeof text, "", "dp_budget = 10\ndp_period = day\n"
            "allow = e68541f8921b3efd2351d79e61febb9d8f0aa327fb906041e0b30fbdbe9e3a59 N=1..10 parties=a,b dp_budget=3\n"
            "allow = 0000000000000000000000000000000000000000000000000000000000000001 dp_budget=0.5 dp_period=day\n"
            "allow = 0000000000000000000000000000000000000000000000000000000000000002\n",
            "[dataset ages]\ndp_budget = 2.5\ndp_period = day\n[dataset other]\nreaders = 00000000000000000000000000000000000000000000000000000000000000ff\n");
    ck_assert_msg(mpcd_config_load(s_write(text), cfg, err, sizeof err) == 0, "%s", err);
    unlink(s_path);
    ck_assert(cfg->dp.eps == 10 && cfg->dp.period == MPCD_DP_PERIOD_DAY);
    ck_assert(cfg->approvals[0].dp.eps == 3 && cfg->approvals[0].dp.period == MPCD_DP_PERIOD_TOTAL);
    ck_assert_uint_eq(cfg->n_allowed, 2);
    ck_assert(cfg->allowed_dp[0].eps == 0.5 && cfg->allowed_dp[0].period == MPCD_DP_PERIOD_DAY);
    ck_assert(cfg->allowed_dp[1].eps == 0);
    const mpcd_dataset_conf *d = mpcd_config_dataset(cfg, "ages");
    ck_assert(d && d->dp.eps == 2.5 && d->dp.period == MPCD_DP_PERIOD_DAY);
    d = mpcd_config_dataset(cfg, "other");
    ck_assert(d && d->dp.eps == 0 && d->dp.period == MPCD_DP_PERIOD_TOTAL);
    static const char *const bad[][3] = {
        {"allow = 0000000000000000000000000000000000000000000000000000000000000001 dp_budget=0\n", "",
         ":12: error: allow: 'dp_budget=0': expected a number in (0, 1e+06]"},
        {"allow = 0000000000000000000000000000000000000000000000000000000000000001 dp_budget=1 dp_budget=2\n", "",
         ":12: error: allow: dp_budget= is given twice"},
        {"allow = 0000000000000000000000000000000000000000000000000000000000000001 dp_period=week\n", "",
         ":12: error: allow: 'dp_period=week': expected dp_period=day or dp_period=total"},
        {"allow = 0000000000000000000000000000000000000000000000000000000000000001 dp_period=day\n", "",
         ":12: error: allow: dp_period= without dp_budget="},
        {"dp_budget = nan\n", "", ":12: error: dp_budget: 'nan' is not a number"},
        {"", "[dataset x]\ndp_budget = -1\n", "error: dp_budget: '-1' is not a number"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        s_base3(text, sizeof text, "", bad[i][0], bad[i][1]);
        ck_assert_int_eq(mpcd_config_load(s_write(text), cfg, err, sizeof err), -1);
        unlink(s_path);
        ck_assert_msg(strstr(err, bad[i][2]), "%s", err);
    }
    free(cfg);
}
END_TEST

START_TEST(test_missing_pieces)
{
    char err[512];
    mpcd_config *cfg = malloc(sizeof *cfg);
    const char *p = s_write("[mpcd]\nname = a\nparties = a, b\npeer_endpoint = ipc:///tmp/x\nclient_endpoint = tcp://y:1\n"
                            "public_key_file = k\nsecret_key_file = s\n[policy]\nallow_any_program = 1\n");
    ck_assert_int_eq(mpcd_config_load(p, cfg, err, sizeof err), -1);
    ck_assert_msg(strstr(err, ": error: party 'b' has no [party b] section"), "%s", err);
    unlink(p);
    p = s_write("[limits]\nmax_gates = 10\n");
    ck_assert_int_eq(mpcd_config_load(p, cfg, err, sizeof err), -1);
    ck_assert_msg(strstr(err, ": error: no [mpcd] section"), "%s", err);
    unlink(p);
    p = s_write("[mpcd]\nname = a\n");
    ck_assert_int_eq(mpcd_config_load(p, cfg, err, sizeof err), -1);
    ck_assert_msg(strstr(err, ":1: error: [mpcd] lacks the required key 'parties'"), "%s", err);
    unlink(p);
    ck_assert_int_eq(mpcd_config_load("/nonexistent/mpcd.ini", cfg, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/mpcd.ini: error: cannot open"));
    free(cfg);
}
END_TEST

/* direct_endpoint: tcp://IPv4:PORT or ipc://PATH, checked at load with the [party] section's
 * line; not the party's peer endpoint, not another party's lane. */
START_TEST(test_direct_endpoint)
{
    char text[4096], extra[512], err[512];
    mpcd_config *cfg = malloc(sizeof *cfg);
    snprintf(extra, sizeof extra, "[party a]\nendpoint = tcp://127.0.0.1:7001\npublic_key = %s\n"
             "direct_endpoint = tcp://127.0.0.1:7401\n", KEY_A);
    s_base(text, sizeof text, extra);
    const char *p = s_write(text);
    ck_assert_msg(mpcd_config_load(p, cfg, err, sizeof err) == 0, "%s", err);
    ck_assert_str_eq(cfg->parties[cfg->self].direct_endpoint, "tcp://127.0.0.1:7401");
    ck_assert_str_eq(cfg->parties[1].direct_endpoint, "");
    unlink(p);
    const char *bad[] = {"tcp://localhost:7401", "tcp://127.0.0.1:0", "tcp://127.0.0.1:*", "tcp://127.0.0.1:70000",
                         "udp://127.0.0.1:7401", "ipc://", "tcp://[::1]:7401",
                         "ipc:///tmp/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(extra, sizeof extra, "[party a]\nendpoint = tcp://127.0.0.1:7001\npublic_key = %s\n"
                 "direct_endpoint = %s\n", KEY_A, bad[i]);
        s_base(text, sizeof text, extra);
        p = s_write(text);
        ck_assert_int_eq(mpcd_config_load(p, cfg, err, sizeof err), -1);
        ck_assert_msg(strstr(err, ":20: error: [party a] direct_endpoint: ") &&
                      strstr(err, "is not tcp://A.B.C.D:PORT"), "%s: %s", bad[i], err);
        unlink(p);
    }
    snprintf(extra, sizeof extra, "[party a]\nendpoint = tcp://127.0.0.1:7001\npublic_key = %s\n"
             "direct_endpoint = tcp://127.0.0.1:7001\n", KEY_A);
    s_base(text, sizeof text, extra);
    p = s_write(text);
    ck_assert_int_eq(mpcd_config_load(p, cfg, err, sizeof err), -1);
    ck_assert_msg(strstr(err, ":20: error: [party a] direct_endpoint: 'tcp://127.0.0.1:7001' is used twice"), "%s", err);
    unlink(p);
    free(cfg);
}
END_TEST

/* dealer_direct_endpoint: the same forms as direct_endpoint, not one of the other endpoints. */
START_TEST(test_dealer_direct_endpoint)
{
    char text[4096], err[512];
    mpcd_config *cfg = malloc(sizeof *cfg);
    s_base3(text, sizeof text, "dealer_direct_endpoint = tcp://127.0.0.1:7201\n", "", "");
    const char *p = s_write(text);
    ck_assert_msg(mpcd_config_load(p, cfg, err, sizeof err) == 0, "%s", err);
    ck_assert_str_eq(cfg->dealer_direct_endpoint, "tcp://127.0.0.1:7201");
    unlink(p);
    s_base3(text, sizeof text, "dealer_direct_endpoint = tcp://dealer:7201\n", "", "");
    p = s_write(text);
    ck_assert_int_eq(mpcd_config_load(p, cfg, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "error: dealer_direct_endpoint: 'tcp://dealer:7201' is not tcp://A.B.C.D:PORT"), "%s",
                  err);
    unlink(p);
    s_base3(text, sizeof text, "dealer_direct_endpoint = tcp://127.0.0.1:7200\n", "", "");   /* = dealer_endpoint */
    p = s_write(text);
    ck_assert_int_eq(mpcd_config_load(p, cfg, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "error: dealer_direct_endpoint: 'tcp://127.0.0.1:7200' is used twice"), "%s", err);
    unlink(p);
    free(cfg);
}
END_TEST

/* security: semi-honest by default, malicious accepted with OT preprocessing and refused with
 * a dealer (a trusted party), any other value refused; a reload keeps the running value. */
START_TEST(test_security_key)
{
    char text[4096], err[512];
    mpcd_config *cfg = malloc(sizeof *cfg), *next = malloc(sizeof *next);
    s_base(text, sizeof text, "");
    ck_assert_msg(mpcd_config_load(s_write(text), cfg, err, sizeof err) == 0, "%s", err);
    unlink(s_path);
    ck_assert_int_eq(cfg->security, MPCD_SEC_SEMI_HONEST);
    ck_assert_str_eq(mpcd_security_name((uint64_t)cfg->security), "semi-honest");
    s_base3(text, sizeof text, "security = malicious\n", "", "");
    ck_assert_msg(mpcd_config_load(s_write(text), next, err, sizeof err) == 0, "%s", err);
    unlink(s_path);
    ck_assert_int_eq(next->security, MPCD_SEC_MALICIOUS);
    ck_assert_str_eq(mpcd_security_name(7), "an unknown mode");
    /* a reload keeps the running security (read once at start) */
    ck_assert_msg(mpcd_config_merge(cfg, next, NULL, NULL, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(next->security, MPCD_SEC_SEMI_HONEST);
    s_base3(text, sizeof text, "security = malicious\npreprocessing = dealer\n", "", "");
    ck_assert_int_eq(mpcd_config_load(s_write(text), cfg, err, sizeof err), -1);
    unlink(s_path);
    ck_assert_msg(strstr(err, "error: security = malicious makes its material among the parties by OT: it needs "
                              "preprocessing = ot"), "%s", err);
    s_base3(text, sizeof text, "security = byzantine\n", "", "");
    ck_assert_int_eq(mpcd_config_load(s_write(text), cfg, err, sizeof err), -1);
    unlink(s_path);
    ck_assert_msg(strstr(err, ":10: error:"), "%s", err);
    free(cfg);
    free(next);
}
END_TEST

/* Copies configs/NAME into dir, so that its relative key paths point into dir/keys; out
 * receives the copy's path. */
static void s_copy_example(const char *dir, const char *name, char *out, size_t n)
{
    char src[256], buf[8192];
    snprintf(src, sizeof src, "configs/%s", name);
    snprintf(out, n, "%s/%s", dir, name);
    FILE *in = fopen(src, "r");
    ck_assert_msg(in != NULL, "cannot open %s (tests run from the repository root)", src);
    size_t len = fread(buf, 1, sizeof buf, in);
    ck_assert_msg(feof(in) && len > 0, "%s: unreadable or longer than %zu bytes", src, sizeof buf);
    fclose(in);
    FILE *o = fopen(out, "w");
    ck_assert_ptr_nonnull(o);
    ck_assert_uint_eq(fwrite(buf, 1, len, o), len);
    ck_assert_int_eq(fclose(o), 0);
}

/* Both paths name one existing file. */
static void s_same_file(const char *a, const char *b)
{
    char *ra = realpath(a, NULL), *rb = realpath(b, NULL);
    ck_assert_msg(ra != NULL && rb != NULL && strcmp(ra, rb) == 0, "'%s' is not '%s'", a, b);
    free(ra);
    free(rb);
}

/* The shipped examples load, use the default OT preprocessing, name the key files `mpcd keygen`
 * writes (generated here, they load), hold distinct placeholder keys, and agree with each
 * other: configs/client.ini's daemons are party-a.ini's parties in order, b and c with the keys
 * party-a.ini lists for them, and its client is party-a.ini's [client NAME]. */
START_TEST(test_example_configs)
{
    char dir[] = "/tmp/check_examples.XXXXXX", party[256], client[256], keys[256], err[512];
    char pub_path[512], sec_path[512];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    s_copy_example(dir, "party-a.ini", party, sizeof party);
    s_copy_example(dir, "client.ini", client, sizeof client);
    snprintf(keys, sizeof keys, "%s/keys", dir);
    ck_assert_int_eq(mkdir(keys, 0700), 0);

    mpcd_config *cfg = malloc(sizeof *cfg);
    ck_assert_msg(mpcd_config_load(party, cfg, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(cfg->preprocessing, MPCD_PREP_OT);
    ck_assert_uint_eq(cfg->n_parties, 3);
    ck_assert_int_eq(mpc_keys_generate_files(keys, cfg->name, pub_path, sec_path, sizeof pub_path, err, sizeof err), 0);
    s_same_file(pub_path, cfg->public_key_file);
    s_same_file(sec_path, cfg->secret_key_file);
    mpc_keypair *kp = NULL;
    ck_assert_msg(mpc_keys_load_secret(&kp, cfg->secret_key_file, err, sizeof err) == 0, "%s", err);
    mpc_keypair_destroy(&kp);

    mpc_client_conf *cc = malloc(sizeof *cc);
    ck_assert_msg(mpc_client_conf_load(client, cc, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(mpc_keys_generate_files(keys, cc->name, pub_path, sec_path, sizeof pub_path, err, sizeof err), 0);
    s_same_file(pub_path, cc->public_key_file);
    s_same_file(sec_path, cc->secret_key_file);
    uint8_t pub[MPC_KEY_BYTES], *sec = sodium_malloc(MPC_KEY_BYTES);
    ck_assert_ptr_nonnull(sec);
    ck_assert_msg(mpc_client_conf_load_keys(cc, pub, sec, err, sizeof err) == 0, "%s", err);
    sodium_free(sec);

    /* every key either file holds: the daemons (b and c once, as both files must agree on
     * them), the clients party-a.ini admits, the dealer's if set */
    uint8_t all[MPC_MAX_PARTIES + MPCD_MAX_CLIENTS + 1][MPC_KEY_BYTES];
    size_t n = 0;
    ck_assert_uint_eq(cc->n_daemons, cfg->n_parties);
    for (uint32_t i = 0; i < cfg->n_parties; i++) {
        ck_assert_str_eq(cc->daemons[i].name, cfg->parties[i].name);
        if (i != cfg->self) {
            ck_assert_int_eq(mpc_key_from_z85(all[n], cfg->parties[i].public_key), 0);
            ck_assert_msg(memcmp(all[n], cc->daemons[i].public_key, MPC_KEY_BYTES) == 0,
                          "client.ini and party-a.ini disagree on the key of %s", cfg->parties[i].name);
        } else {
            memcpy(all[n], cc->daemons[i].public_key, MPC_KEY_BYTES);
        }
        n++;
    }
    int admitted = 0;
    for (uint32_t i = 0; i < cfg->n_clients; i++) {
        ck_assert_int_eq(mpc_key_from_z85(all[n++], cfg->clients[i].public_key), 0);
        admitted |= strcmp(cfg->clients[i].name, cc->name) == 0;
    }
    ck_assert_msg(admitted, "party-a.ini has no [client %s]", cc->name);
    if (cfg->dealer_public_key[0]) ck_assert_int_eq(mpc_key_from_z85(all[n++], cfg->dealer_public_key), 0);
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            ck_assert_msg(memcmp(all[i], all[j], MPC_KEY_BYTES) != 0, "placeholder keys %zu and %zu are the same", i, j);
    free(cc);
    free(cfg);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

static void s_collect(void *ctx, const char *text)
{
    char *notes = ctx;
    strncat(notes, text, 4095 - strlen(notes));
    strncat(notes, "\n", 4095 - strlen(notes));
}

/* A reload: what needs a restart keeps its running value and is named; the rest is taken. */
START_TEST(test_merge)
{
    char text[4096], err[512], notes[4096] = "";
    mpcd_config *run = malloc(sizeof *run), *next = malloc(sizeof *next);
    s_base(text, sizeof text, "");
    ck_assert_msg(mpcd_config_load(s_write(text), run, err, sizeof err) == 0, "%s", err);
    unlink(s_path);
    s_base3(text, sizeof text, "peer_endpoint = tcp://127.0.0.1:7009\nlog_level = debug\n",
            "", "[limits]\nmax_gates = 77\npeer_timeout_ms = 1234\n"
            "[client bob]\npublic_key = (dWN72437@]euWQ30W5LO+ENDYf=M+0{epNy2gDC\ninput_for = b\n");
    /* the base sets peer_endpoint already: drop its line so the new value is the only one */
    char *dup = strstr(text, "peer_endpoint = tcp://127.0.0.1:7001\n");
    memmove(dup, dup + strlen("peer_endpoint = tcp://127.0.0.1:7001\n"),
            strlen(dup + strlen("peer_endpoint = tcp://127.0.0.1:7001\n")) + 1);
    char *ep = strstr(text, "endpoint = tcp://127.0.0.1:7002");
    ep[strlen("endpoint = tcp://127.0.0.1:700")] = '3';
    char *pk = strstr(text, "[client alice]");
    char party_next[128];
    snprintf(party_next, sizeof party_next, "next_public_key = %s\n", KEY_A);
    memmove(pk + strlen(party_next), pk, strlen(pk) + 1);
    memcpy(pk, party_next, strlen(party_next));
    ck_assert_msg(mpcd_config_load(s_write(text), next, err, sizeof err) == 0, "%s\n%s", err, text);
    unlink(s_path);
    ck_assert_int_eq(mpcd_config_merge(run, next, s_collect, notes, err, sizeof err), 0);
    ck_assert_msg(strstr(notes, "`peer_endpoint` changed; restart needed\n"), "%s", notes);
    ck_assert_msg(strstr(notes, "`peer_timeout_ms` changed; restart needed\n"), "%s", notes);
    ck_assert_msg(strstr(notes, "`endpoint` of party b changed; restart needed\n"), "%s", notes);
    ck_assert_msg(!strstr(notes, "max_gates") && !strstr(notes, "log_level") && !strstr(notes, "client"), "%s", notes);
    ck_assert_str_eq(next->peer_endpoint, "tcp://127.0.0.1:7001");
    ck_assert_str_eq(next->parties[0].endpoint, "tcp://127.0.0.1:7001");
    ck_assert_str_eq(next->parties[1].endpoint, "tcp://127.0.0.1:7002");
    ck_assert_int_eq(next->peer_timeout_ms, run->peer_timeout_ms);
    ck_assert_int_eq(next->max_gates, 77);
    ck_assert_int_eq(next->log_level, MPCD_LOG_DEBUG);
    ck_assert_str_eq(next->parties[1].next_public_key, KEY_A);
    ck_assert_uint_eq(next->n_clients, 2);
    ck_assert_uint_eq(next->clients[1].input_for, 2);

    /* a changed party list: kept, named; the clients resolved against the running list */
    notes[0] = 0;
    s_base3(text, sizeof text, "", "", "[party c]\nendpoint = tcp://127.0.0.1:7004\n"
            "public_key = (dWN72437@]euWQ30W5LO+ENDYf=M+0{epNy2gDC\n");
    char *pl = strstr(text, "parties = a, b");
    memmove(pl + 3, pl, strlen(pl) + 1);
    memcpy(pl, "parties = a, c, b", strlen("parties = a, c, b"));
    pl[strlen("parties = a, c, b")] = '\n';
    ck_assert_msg(mpcd_config_load(s_write(text), next, err, sizeof err) == 0, "%s\n%s", err, text);
    unlink(s_path);
    ck_assert_uint_eq(next->n_parties, 3);
    ck_assert_uint_eq(next->clients[0].output_for, 7);
    ck_assert_int_eq(mpcd_config_merge(run, next, s_collect, notes, err, sizeof err), 0);
    ck_assert_msg(strstr(notes, "`parties` changed; restart needed"), "%s", notes);
    ck_assert_uint_eq(next->n_parties, 2);
    ck_assert_str_eq(next->parties[1].name, "b");
    ck_assert_uint_eq(next->clients[0].input_for, 1);
    ck_assert_uint_eq(next->clients[0].output_for, 3);
    /* ... and a client naming a party the running list lacks refuses the reload */
    s_base3(text, sizeof text, "", "", "[party c]\nendpoint = tcp://127.0.0.1:7004\n"
            "public_key = (dWN72437@]euWQ30W5LO+ENDYf=M+0{epNy2gDC\n[client bob]\npublic_key = "
            "(dWN72437@]euWQ30W5LO+ENDYf=M+0{epNy2gDC\ninput_for = c\n");
    pl = strstr(text, "parties = a, b");
    memmove(pl + 3, pl, strlen(pl) + 1);
    memcpy(pl, "parties = a, c, b", strlen("parties = a, c, b"));
    pl[strlen("parties = a, c, b")] = '\n';
    const char *p = s_write(text);
    ck_assert_msg(mpcd_config_load(p, next, err, sizeof err) == 0, "%s\n%s", err, text);
    unlink(p);
    ck_assert_int_eq(mpcd_config_merge(run, next, NULL, NULL, err, sizeof err), -1);
    ck_assert_msg(strstr(err, ": error: [client bob] input_for names 'c', which is not in the running party list"),
                  "%s", err);
    ck_assert_msg(strncmp(err, p, strlen(p)) == 0, "%s", err);
    free(run);
    free(next);
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

/* One rule for names (circuits/circuit.h mpc_name_ok), applied alike by the daemon's
 * configuration, the client wire, circuits and key files. */
START_TEST(test_one_name_rule)
{
    static const char *const good[] = {"a", "hospital-b", "x.1", "_p", "B2", "a..b"};
    static const char *const bad[] = {"", ".a", "-a", "a b", "a/b", "a=b", "caf\xc3\xa9", ".."};
    char long_ok[64], too_long[65];
    memset(long_ok, 'n', 63);
    long_ok[63] = 0;
    memset(too_long, 'n', 64);
    too_long[64] = 0;
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) ck_assert_msg(mpc_name_ok_str(good[i]), "%s", good[i]);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) ck_assert_msg(!mpc_name_ok_str(bad[i]), "%s", bad[i]);
    ck_assert(mpc_name_ok_str(long_ok));
    ck_assert(!mpc_name_ok_str(too_long));
    ck_assert(!mpc_name_ok("a\0b", 3));       /* a length-prefixed string with a NUL inside */
    ck_assert(mpc_name_ok("ab", 2));
    ck_assert(!mpc_name_ok_str(NULL));

    /* the daemon's configuration: a dotted client name is fine, a leading '-' is not */
    char text[4096], err[512];
    mpcd_config *cfg = malloc(sizeof *cfg);
    s_base(text, sizeof text, "[client carol.lab]\npublic_key = rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\n");
    ck_assert_msg(mpcd_config_load(s_write(text), cfg, err, sizeof err) == 0, "%s", err);
    unlink(s_path);
    ck_assert_str_eq(cfg->clients[1].name, "carol.lab");
    s_base(text, sizeof text, "[client -x]\npublic_key = rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\n");
    ck_assert_int_eq(mpcd_config_load(s_write(text), cfg, err, sizeof err), -1);
    unlink(s_path);
    ck_assert_msg(strstr(err, ":20: error: '-x' is not a valid client name") != NULL, "%s", err);
    free(cfg);

    /* the client wire refuses what the rule refuses */
    mpc_cwire_req q = {.type = MPC_CW_INPUT, .mode = MPC_CW_EXPLICIT, .count = 1};
    uint8_t *buf = NULL;
    size_t len = 0;
    strcpy(q.name, "-x");
    ck_assert_int_eq(mpc_cwire_req_encode(&q, &buf, &len), MPC_ERR_INVALID);
    strcpy(q.name, "x.1");
    ck_assert_int_eq(mpc_cwire_req_encode(&q, &buf, &len), 0);
    free(buf);

    /* key files: the same rule (no hidden files, nothing taken for an option) */
    char dir[] = "/tmp/check_names.XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    ck_assert_int_eq(mpc_keys_generate_files(dir, ".hidden", NULL, NULL, 0, err, sizeof err), MPC_ERR_INVALID);
    ck_assert_int_eq(mpc_keys_generate_files(dir, "-rf", NULL, NULL, 0, err, sizeof err), MPC_ERR_INVALID);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* A line longer than inih's buffer is still one line: later errors name the right line. */
START_TEST(test_long_line_counted_once)
{
    char text[8192], extra[3000], err[512];
    int n = snprintf(extra, sizeof extra, "# ");
    memset(extra + n, 'x', 2500);
    snprintf(extra + n + 2500, sizeof extra - (size_t)n - 2500, "\n[limits]\nbogus = 1\n");
    s_base(text, sizeof text, extra);
    mpcd_config *cfg = malloc(sizeof *cfg);
    ck_assert_int_eq(mpcd_config_load(s_write(text), cfg, err, sizeof err), -1);
    unlink(s_path);
    ck_assert_msg(strstr(err, ":22: error: unknown key 'bogus' in [limits]") != NULL, "%s", err);
    free(cfg);
}
END_TEST

Suite *mpc_test_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_good_config);
    tcase_add_test(tc, test_dataset_rights);
    tcase_add_test(tc, test_dp_budgets);
    tcase_add_loop_test(tc, test_bad_config, 0, (int)(sizeof s_bad / sizeof s_bad[0]));
    tcase_add_test(tc, test_program_approvals);
    tcase_add_test(tc, test_release_rules);
    tcase_add_test(tc, test_missing_pieces);
    tcase_add_test(tc, test_security_key);
    tcase_add_test(tc, test_direct_endpoint);
    tcase_add_test(tc, test_dealer_direct_endpoint);
    tcase_add_test(tc, test_doc_matches_table);
    tcase_add_test(tc, test_example_configs);
    tcase_add_test(tc, test_one_name_rule);
    tcase_add_test(tc, test_merge);
    tcase_add_test(tc, test_long_line_counted_once);
    suite_add_tcase(s, tc);
    return s;
}

