/* mpc_main.c — the `mpc` command line client (docs/client.md): compile or read a program,
 * submit it to the cluster, give inputs, wait for outputs and print them exactly as
 * `mpcc --eval` does.  Everything goes through the SDK (mpcclient.h); errors are one line
 * `mpc: error: …` and a non-zero exit. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "format.h"
#include "mpcclient.h"
#include "value.h"

#define MAX_ARGS 256

typedef struct {
    const char *cmd;
    const char *prog;
    const char *config;
    const char *job;
    const char *bind;
    const char *inputs[MAX_ARGS];   size_t n_inputs;
    const char *defs[MAX_ARGS];     size_t n_defs;   /* "NAME=VALUE" */
    const char *outputs[MAX_ARGS];  size_t n_outputs;
    int         json;
    int         timeout_ms;
    int         quiet;
} opts;

static void s_die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void s_die(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    for (char *p = buf; *p; p++)
        if (*p == '\n') *p = ' ';
    fprintf(stderr, "mpc: error: %s\n", buf);
    exit(1);
}

static const char *const s_usage_main =
    "usage: mpc COMMAND [options]\n"
    "\n"
    "commands:\n"
    "  run PROG       compile PROG (.mpc, or read a .circ), submit it, give inputs, wait, print outputs\n"
    "  submit PROG    submit PROG as a new job; prints the job id\n"
    "  input PROG     give inputs to an existing job (--job ID) after checking it runs PROG\n"
    "  result PROG    wait for and print outputs of an existing job (--job ID)\n"
    "  status         per daemon: reachable, jobs, preprocessing stock (--job ID: that job)\n"
    "\n"
    "`mpc COMMAND --help` describes each command's options.\n";

static const char *const s_opt_help =
    "  --config FILE        client configuration (default: $MPC_CONFIG)\n"
    "  -D NAME=VALUE        override `param NAME` when compiling a .mpc\n";

static void s_usage(const char *cmd)
{
    if (!cmd) {
        fputs(s_usage_main, stdout);
    } else if (!strcmp(cmd, "run")) {
        printf("usage: mpc run PROG --config FILE [--input NAME=VALUES]... [-D NAME=VALUE]...\n"
               "               [--bind PARTY=DAEMON,...] [--output NAME]... [--timeout MS] [--json]\n\n"
               "Compiles PROG (or reads it if it is a .circ), submits it to every daemon of the configuration,\n"
               "gives each --input (VALUES: a list like 1,2,3 or @file.csv), waits for the outputs and prints\n"
               "`name = value` lines (vectors comma-separated), or one JSON object with --json.\n\n%s"
               "  --input NAME=VALUES  an input this client gives (repeatable)\n"
               "  --bind P=D,...       bind program party P to daemon D (default: i-th party to i-th daemon)\n"
               "  --output NAME        fetch only these outputs (repeatable; default: every output)\n"
               "  --timeout MS         longest wait for each output (default 600000)\n"
               "  --json               print {\"job\": …, \"outputs\": [{\"name\", \"type\", \"values\"}]} (as mpcc --eval --json)\n", s_opt_help);
    } else if (!strcmp(cmd, "submit")) {
        printf("usage: mpc submit PROG --config FILE [-D NAME=VALUE]... [--bind PARTY=DAEMON,...] [--json]\n\n"
               "Submits PROG as a new job to every daemon and prints the job id (32 hex digits).\n\n%s"
               "  --bind P=D,...       bind program party P to daemon D\n"
               "  --json               print {\"job\":…, \"hash\":…}\n", s_opt_help);
    } else if (!strcmp(cmd, "input")) {
        printf("usage: mpc input PROG --job ID --config FILE --input NAME=VALUES... [-D NAME=VALUE]...\n\n"
               "Compiles PROG (or reads the .circ), checks that every daemon runs job ID with exactly this\n"
               "circuit, then secret-shares and gives each --input.\n\n%s"
               "  --job ID             the job (as printed by mpc submit)\n"
               "  --input NAME=VALUES  an input this client gives (repeatable)\n", s_opt_help);
    } else if (!strcmp(cmd, "result")) {
        printf("usage: mpc result PROG --job ID --config FILE [--output NAME]... [--timeout MS] [--json]\n\n"
               "Waits for the outputs of job ID (after checking it runs PROG), reconstructs them from every\n"
               "daemon's share and prints them like mpc run.\n\n%s"
               "  --job ID             the job\n"
               "  --output NAME        fetch only these outputs (repeatable; default: every output)\n"
               "  --timeout MS         longest wait for each output (default 600000)\n"
               "  --json               print JSON\n", s_opt_help);
    } else if (!strcmp(cmd, "status")) {
        printf("usage: mpc status --config FILE [--job ID] [--json]\n\n"
               "Asks every daemon of the configuration for its state: reachable or not, jobs queued,\n"
               "running, done and failed, preprocessing material in stock; with --job, that job's state\n"
               "on each daemon.\n\n"
               "  --config FILE        client configuration (default: $MPC_CONFIG)\n"
               "  --job ID             a job\n"
               "  --json               print JSON\n");
    }
}

static void s_parse(int argc, char **argv, opts *o)
{
    static const struct option longs[] = {
        {"config", required_argument, NULL, 'c'}, {"input", required_argument, NULL, 'i'},
        {"bind", required_argument, NULL, 'b'},   {"output", required_argument, NULL, 'o'},
        {"job", required_argument, NULL, 'j'},    {"timeout", required_argument, NULL, 't'},
        {"json", no_argument, NULL, 'J'},         {"help", no_argument, NULL, 'h'},
        {"define", required_argument, NULL, 'D'}, {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    o->timeout_ms = -1;
    o->cmd = argv[1];
    optind = 2;
    opterr = 0;
    for (;;) {
        /* options and the program path may come in any order */
        while (optind < argc && argv[optind][0] != '-') {
            if (o->prog) s_die("%s: unexpected argument '%s'", o->cmd, argv[optind]);
            o->prog = argv[optind++];
        }
        int ch = getopt_long(argc, argv, "+:D:h", longs, NULL);
        if (ch == -1) break;
        switch (ch) {
        case 'c': o->config = optarg; break;
        case 'b': o->bind = optarg; break;
        case 'j': o->job = optarg; break;
        case 'J': o->json = 1; break;
        case 'h': s_usage(o->cmd); exit(0);
        case 'i':
            if (o->n_inputs >= MAX_ARGS) s_die("too many --input");
            if (!strchr(optarg, '=')) s_die("--input '%s': expected NAME=VALUES", optarg);
            o->inputs[o->n_inputs++] = optarg;
            break;
        case 'o':
            if (o->n_outputs >= MAX_ARGS) s_die("too many --output");
            o->outputs[o->n_outputs++] = optarg;
            break;
        case 'D': {
            if (o->n_defs >= MAX_ARGS) s_die("too many -D");
            const char *eq = strchr(optarg, '=');
            if (!eq || eq == optarg) s_die("-D '%s': expected NAME=VALUE", optarg);
            o->defs[o->n_defs++] = optarg;
            break;
        }
        case 't': {
            char *end = NULL;
            long v = strtol(optarg, &end, 10);
            if (!*optarg || *end || v < 0 || v > 86400000) s_die("--timeout '%s': expected milliseconds", optarg);
            o->timeout_ms = (int)v;
            break;
        }
        case ':':
            s_die("%s: option '%s' needs a value", o->cmd, argv[optind - 1]);
        default:
            s_die("%s: unknown option '%s' (see mpc %s --help)", o->cmd, argv[optind - 1], o->cmd);
        }
    }
    while (optind < argc) {
        if (o->prog) s_die("%s: unexpected argument '%s'", o->cmd, argv[optind]);
        o->prog = argv[optind++];
    }
    if (!o->config) o->config = getenv("MPC_CONFIG");
    if (!o->config || !*o->config) s_die("%s: no client configuration (--config FILE or $MPC_CONFIG)", o->cmd);
}

static uint8_t *s_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) s_die("%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap + 1);
    if (!buf) s_die("out of memory");
    for (;;) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n < cap) break;
        if (cap > ((size_t)1 << 34)) s_die("%s: file too large", path);
        cap *= 2;
        uint8_t *nb = realloc(buf, cap + 1);
        if (!nb) s_die("out of memory");
        buf = nb;
    }
    if (ferror(f)) s_die("%s: read error", path);
    fclose(f);
    buf[n] = 0;
    *len = n;
    return buf;
}

static int s_ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

/* The program as .circ bytes: read as is, or compiled from source. */
static uint8_t *s_circuit(const opts *o, size_t *len)
{
    if (!o->prog) s_die("%s: no program given (see mpc %s --help)", o->cmd, o->cmd);
    size_t n = 0;
    uint8_t *bytes = s_read_file(o->prog, &n);
    if (s_ends_with(o->prog, ".circ")) {
        if (o->n_defs) s_die("-D applies to .mpc sources, not to the compiled %s", o->prog);
        *len = n;
        return bytes;
    }
    const char *defs[MAX_ARGS];
    for (size_t i = 0; i < o->n_defs; i++) defs[i] = o->defs[i];
    char err[1024];
    uint8_t *out = NULL;
    if (mpc_client_compile((const char *)bytes, n, o->prog, defs, o->n_defs, &out, len, err, sizeof err) != 0)
        s_die("%s", err);
    free(bytes);
    uint8_t *copy = malloc(*len);   /* the caller frees with free() whichever way it came */
    if (!copy) s_die("out of memory");
    memcpy(copy, out, *len);
    mpc_client_free(out);
    return copy;
}

/* --- progress on a terminal ----------------------------------------------------------- */

static int s_progress_shown;

static void s_progress(void *ctx, const mpc_job *job, const mpc_daemon_status *st, size_t n)
{
    (void)ctx;
    char line[512];
    int off = snprintf(line, sizeof line, "job %.8s…", mpc_job_id(job));
    for (size_t i = 0; i < n && off > 0 && (size_t)off < sizeof line; i++) {
        if (!st[i].reachable)
            off += snprintf(line + off, sizeof line - (size_t)off, "  %s: unreachable", st[i].daemon);
        else if (!st[i].has_job)
            off += snprintf(line + off, sizeof line - (size_t)off, "  %s: ?", st[i].daemon);
        else
            off += snprintf(line + off, sizeof line - (size_t)off, "  %s: %s %llu/%llu layers, %llu triples",
                            st[i].daemon, st[i].state_name, (unsigned long long)st[i].layers_done,
                            (unsigned long long)st[i].layers_total, (unsigned long long)st[i].triples_used);
    }
    fprintf(stderr, "\r\033[K%s", line);
    fflush(stderr);
    s_progress_shown = 1;
}

static void s_progress_clear(void)
{
    if (s_progress_shown) fprintf(stderr, "\r\033[K");
    s_progress_shown = 0;
}

/* --- commands -------------------------------------------------------------------------- */

static mpc_client *s_open(const opts *o)
{
    mpc_client *c = NULL;
    char err[1024];
    if (mpc_client_open(&c, o->config, err, sizeof err) != 0) s_die("%s", err);
    if (isatty(2)) mpc_client_set_progress(c, s_progress, NULL, 500);
    return c;
}

static void s_check(mpc_client *c, int r)
{
    if (r) {
        s_progress_clear();
        s_die("%s", mpc_client_errmsg(c));
    }
}

static void s_give_inputs(mpc_client *c, mpc_job *j, const opts *o)
{
    for (size_t i = 0; i < o->n_inputs; i++) {
        char name[64];
        const char *eq = strchr(o->inputs[i], '=');
        size_t nl = (size_t)(eq - o->inputs[i]);
        if (nl == 0 || nl >= sizeof name) s_die("--input '%.40s': bad input name", o->inputs[i]);
        memcpy(name, o->inputs[i], nl);
        name[nl] = 0;
        s_check(c, mpc_job_input_text(c, j, name, eq + 1));
    }
}

static void s_json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') printf("\\%c", ch);
        else if (ch < 0x20) printf("\\u%04x", ch);
        else putchar(ch);
    }
    putchar('"');
}

static void s_print_outputs(mpc_client *c, mpc_job *j, const opts *o)
{
    const char *names[MAX_ARGS];
    size_t n = 0;
    if (o->n_outputs) {
        for (size_t i = 0; i < o->n_outputs; i++) names[n++] = o->outputs[i];
    } else {
        for (size_t i = 0; i < mpc_job_n_outputs(j) && n < MAX_ARGS; i++) names[n++] = mpc_job_output_name(j, i);
    }
    /* the shapes of mpcc --eval: `name = v, v` lines, or {"outputs": [{"name", "type", "values"}]} */
    if (o->json) printf("{\"job\": \"%s\", \"outputs\": [", mpc_job_id(j));
    for (size_t i = 0; i < n; i++) {
        char *text = NULL;
        int r = mpc_job_output_text(c, j, names[i], o->timeout_ms, &text);
        s_progress_clear();
        s_check(c, r);
        const char *type = "int";
        for (size_t k = 0; k < mpc_job_n_outputs(j); k++)
            if (!strcmp(mpc_job_output_name(j, k), names[i])) type = mpc_job_output_type(j, k);
        if (o->json) {
            printf("%s{\"name\": ", i ? ", " : "");
            s_json_str(names[i]);
            printf(", \"type\": \"%s\", \"values\": [%s]}", type, text);
        } else {
            printf("%s = %s\n", names[i], text);
        }
        fflush(stdout);
        mpc_client_free(text);
    }
    if (o->json) printf("]}\n");
}

/* Checks every --input against the circuit (name, type, length, encodable values) before the
 * job exists: a job submitted and then left without its inputs would hold every daemon's
 * queue until the input timeout. */
static void s_check_inputs(const uint8_t *circ, size_t len, const opts *o)
{
    mpc_circuit *cc = NULL;
    char err[512];
    if (mpc_circ_read(circ, len, NULL, &cc, err, sizeof err) != 0) s_die("%s", err);
    for (size_t i = 0; i < o->n_inputs; i++) {
        const char *eq = strchr(o->inputs[i], '=');
        size_t nl = (size_t)(eq - o->inputs[i]);
        uint32_t k;
        for (k = 0; k < cc->n_inputs; k++)
            if (strlen(cc->inputs[k].name) == nl && !strncmp(cc->inputs[k].name, o->inputs[i], nl)) break;
        if (k == cc->n_inputs) s_die("--input: the program has no input '%.*s'", (int)nl, o->inputs[i]);
        uint64_t *vals = NULL, n = 0;
        if (mpc_values_load((mpc_type)cc->inputs[k].type, cc->frac_bits, eq + 1, &vals, &n, err, sizeof err) != 0)
            s_die("--input %.*s: %s", (int)nl, o->inputs[i], err);
        if (vals) {
            sodium_memzero(vals, (size_t)n * sizeof *vals);
            free(vals);
        }
        if (n != cc->inputs[k].len)
            s_die("--input %.*s: %llu values, the program needs %llu", (int)nl, o->inputs[i], (unsigned long long)n,
                  (unsigned long long)cc->inputs[k].len);
    }
    mpc_circ_destroy(&cc);
}

static int s_cmd_run(const opts *o, int submit_only)
{
    size_t len = 0;
    uint8_t *circ = s_circuit(o, &len);
    if (!submit_only) s_check_inputs(circ, len, o);
    mpc_client *c = s_open(o);
    mpc_job *j = NULL;
    s_check(c, mpc_job_submit(c, circ, len, o->bind, &j));
    if (submit_only) {
        if (o->json) printf("{\"job\": \"%s\", \"hash\": \"%s\"}\n", mpc_job_id(j), mpc_job_hash(j));
        else printf("%s\n", mpc_job_id(j));
    } else {
        s_give_inputs(c, j, o);
        s_print_outputs(c, j, o);
    }
    mpc_job_free(&j);
    mpc_client_close(&c);
    free(circ);
    return 0;
}

static int s_cmd_job(const opts *o, int outputs)
{
    if (!o->job) s_die("%s: --job ID is required", o->cmd);
    if (!outputs && o->n_inputs == 0) s_die("input: no --input given");
    size_t len = 0;
    uint8_t *circ = s_circuit(o, &len);
    mpc_client *c = s_open(o);
    mpc_job *j = NULL;
    s_check(c, mpc_job_attach(c, o->job, circ, len, &j));
    if (outputs) s_print_outputs(c, j, o);
    else s_give_inputs(c, j, o);
    mpc_job_free(&j);
    mpc_client_close(&c);
    free(circ);
    return 0;
}

static int s_cmd_status(const opts *o)
{
    if (o->prog) s_die("status: unexpected argument '%s'", o->prog);
    mpc_client *c = s_open(o);
    mpc_daemon_status st[16];
    s_check(c, mpc_client_status(c, o->job, st, 16));
    size_t n = mpc_client_n_daemons(c);
    int all_ok = 1;
    if (o->json) printf("[");
    for (size_t i = 0; i < n; i++) {
        const mpc_daemon_status *s = &st[i];
        if (!s->reachable || s->error) all_ok = 0;
        if (o->json) {
            printf("%s{\"daemon\": ", i ? ", " : "");
            s_json_str(s->daemon);
            printf(", \"reachable\": %s", s->reachable ? "true" : "false");
            if (s->error) {
                printf(", \"error\": ");
                s_json_str(s->message);
            }
            if (s->reachable && !s->error)
                printf(", \"jobs\": {\"queued\": %llu, \"running\": %llu, \"done\": %llu, \"failed\": %llu}, "
                       "\"stock\": {\"triples\": %llu, \"triples_per_s\": %llu}",
                       (unsigned long long)s->jobs_queued, (unsigned long long)s->jobs_running,
                       (unsigned long long)s->jobs_done, (unsigned long long)s->jobs_failed,
                       (unsigned long long)s->triples_stock, (unsigned long long)s->triples_per_s);
            if (s->has_job) {
                printf(", \"job\": {\"state\": ");
                s_json_str(s->state_name);
                printf(", \"reason\": ");
                s_json_str(s->reason);
                printf(", \"layers_done\": %llu, \"layers_total\": %llu, \"triples_used\": %llu, "
                       "\"inputs_given\": %u, \"inputs_total\": %u}",
                       (unsigned long long)s->layers_done, (unsigned long long)s->layers_total,
                       (unsigned long long)s->triples_used, s->inputs_given, s->inputs_total);
            }
            printf("}");
        } else if (!s->reachable) {
            printf("%s: unreachable: %s\n", s->daemon, s->message);
        } else if (s->error) {
            printf("%s: reachable, error: %s\n", s->daemon, s->message);
        } else {
            printf("%s: reachable, jobs %llu queued, %llu running, %llu done, %llu failed; stock %llu triples "
                   "(made at %llu/s)\n",
                   s->daemon, (unsigned long long)s->jobs_queued, (unsigned long long)s->jobs_running,
                   (unsigned long long)s->jobs_done, (unsigned long long)s->jobs_failed,
                   (unsigned long long)s->triples_stock, (unsigned long long)s->triples_per_s);
            if (s->has_job) {
                printf("  job %s: %s, %llu/%llu layers, %llu triples used, inputs %u/%u%s%s\n", o->job, s->state_name,
                       (unsigned long long)s->layers_done, (unsigned long long)s->layers_total,
                       (unsigned long long)s->triples_used, s->inputs_given, s->inputs_total,
                       s->reason[0] ? ": " : "", s->reason);
            }
        }
    }
    if (o->json) printf("]\n");
    mpc_client_close(&c);
    return all_ok ? 0 : 2;
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        s_usage(NULL);
        return argc < 2 ? 2 : 0;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "run") && strcmp(cmd, "submit") && strcmp(cmd, "input") && strcmp(cmd, "result") &&
        strcmp(cmd, "status"))
        s_die("unknown command '%s' (see mpc --help)", cmd);
    for (int i = 2; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            s_usage(cmd);
            return 0;
        }
    opts o;
    s_parse(argc, argv, &o);
    if (!strcmp(cmd, "run")) return s_cmd_run(&o, 0);
    if (!strcmp(cmd, "submit")) return s_cmd_run(&o, 1);
    if (!strcmp(cmd, "input")) return s_cmd_job(&o, 0);
    if (!strcmp(cmd, "result")) return s_cmd_job(&o, 1);
    return s_cmd_status(&o);
}
