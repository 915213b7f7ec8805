/* mpc_main.c — the `mpc` command line client (docs/client.md): stage a job (the SDK compiles
 * or reads the program and checks every --input against it), submit it to the cluster or
 * attach to a submitted one, wait for outputs and print them exactly as `mpcc --eval` does.
 * Everything goes through the SDK (mpcclient.h): this file neither decodes circuits nor
 * parses values.  Compiler warnings are printed on stderr; errors are one line
 * `mpc: error: …` and a non-zero exit. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mpcclient.h"

#define MAX_ARGS 256
#define S_NAME_MAX 64   /* longest input or param name + 1 (the SDK's rule, mpcclient.h) */

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
    int         strict;
    int         no_pushdown;
    const char *sep;                 /* --sep: the CSV separator of table inputs */
    unsigned    csv_flags;           /* --missing=zero */
    char        table_defs[MAX_ARGS][S_NAME_MAX + 24];   /* "N=ROWS" from table files */
    char        ds_defs[16][S_NAME_MAX + 24];             /* "N=ROWS" from stored datasets */
    const char *ds_name;             /* upload: --name */
    const char *schema;              /* upload: --schema */
    const char *party;               /* upload: --party (the owner) */
    int         append;              /* upload: --append */
    int         precision;           /* upload: --precision (fractional bits of fix columns) */
    const char *token;               /* contribute: --token HEX or @FILE */
    long long   window_ms, max_count; /* submit: --window-ms, --max-count (collections) */
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
    "  run PROG       stage PROG (.mpc compiled here, or a .circ) with every input, submit, wait, print outputs\n"
    "  submit PROG    submit PROG as a new job (with the inputs given here, if any); prints the job id\n"
    "  input PROG     give inputs to an existing job (--job ID) after checking it runs PROG\n"
    "  contribute PROG  send one contribution to a collection of a job (--job ID, --token)\n"
    "  result PROG    wait for and print outputs of an existing job (--job ID)\n"
    "  status         per daemon: reachable, its peers, jobs, preprocessing stock (--job ID: that job)\n"
    "  jobs           the jobs this client submitted: id, state, age, progress\n"
    "  cancel JOB     cancel a job on every daemon (its submitter, or a client with the cancel right)\n"
    "  upload CSV     secret-share a CSV table once to every daemon as a stored dataset (--name, --schema, --party)\n"
    "  datasets       the stored datasets: name, owner, rows, columns, created, size (every daemon must agree)\n"
    "  delete NAME    delete a stored dataset on every daemon\n"
    "\n"
    "Each program command first stages the job in this process: PROG is compiled (compiler warnings\n"
    "appear on stderr as file:line:col: warning: ...) and every --input is checked against it (the\n"
    "name exists, the length and the values fit the input's type) before anything is sent.\n"
    "`mpc COMMAND --help` describes each command's options.\n";

static const char *const s_opt_help =
    "  --config FILE        client configuration (default: $MPC_CONFIG)\n"
    "  -D NAME=VALUE        override `param NAME` when compiling a .mpc\n"
    "  --strict             refuse a program the compiler warns about (warnings are always shown on stderr)\n"
    "  --no-pushdown        run every part of PROG under MPC; by default a part that depends on one\n"
    "                       party's inputs alone is computed here in the clear by the client giving\n"
    "                       them (circuits/LANGUAGE.md, \"Owner-local pushdown\"); all parties must agree\n"
    "  --sep SEP            the separator of CSV table files: , (default) ; or tab\n"
    "  --missing=zero       an empty cell of a CSV table reads as 0 (default: refused, unless the column\n"
    "                       declares a default)\n";

static const char *const s_values_help =
    "\nVALUES: a list like 1,2,3 (commas and/or blanks) or @file (e.g. a CSV of one value a line),\n"
    "read in the input's type (int, fix decimals, bool 0/1/true/false) exactly as mpcc --eval reads them.\n"
    "A table input takes TABLE=@FILE.csv: a CSV file whose header names the columns (--sep ';' or tab,\n"
    "--missing=zero: empty cells read as 0); its row count sets a `param N` the program leaves without value.\n\n";

static void s_usage(const char *cmd)
{
    if (!cmd) {
        fputs(s_usage_main, stdout);
    } else if (!strcmp(cmd, "run")) {
        printf("usage: mpc run PROG --config FILE [--input NAME=VALUES]... [-D NAME=VALUE]... [--strict]\n"
               "               [--bind PARTY=DAEMON,...] [--output NAME]... [--timeout MS] [--json]\n\n"
               "Compiles PROG (or reads it if it is a .circ) and checks every --input against it: each name\n"
               "must be an input of the program, each value list must fit it, and every input of the program\n"
               "must be given (a missing one is named) — all before anything is submitted.  Then submits the\n"
               "job to every daemon of the configuration, secret-shares and sends the inputs, waits for the\n"
               "outputs and prints `name = value` lines (vectors comma-separated), or one JSON object with --json.\n"
               "If anything fails after the job was submitted, or on Ctrl-C (SIGINT) or SIGTERM before it\n"
               "completes, the job is cancelled on every daemon before mpc exits.\n"
               "%s%s"
               "  --input NAME=VALUES  an input this client gives (repeatable)\n"
               "  --bind P=D,...       bind program party P to daemon D (default: i-th party to i-th daemon)\n"
               "  --output NAME        fetch only these outputs (repeatable; default: every output)\n"
               "  --timeout MS         longest wait for each output (default 600000)\n"
               "  --json               print {\"job\": …, \"outputs\": [{\"name\", \"type\", \"values\"}]} (as mpcc --eval --json)\n",
               s_values_help, s_opt_help);
    } else if (!strcmp(cmd, "submit")) {
        printf("usage: mpc submit PROG --config FILE [--input NAME=VALUES]... [-D NAME=VALUE]... [--strict]\n"
               "                  [--bind PARTY=DAEMON,...] [--json]\n\n"
               "Submits PROG as a new job to every daemon and prints the job id (32 hex digits).  Inputs given\n"
               "here are checked against PROG first and sent with the job; the others come from other clients\n"
               "(mpc input).\n%s%s"
               "  --input NAME=VALUES  an input this client gives (repeatable)\n"
               "  --bind P=D,...       bind program party P to daemon D\n"
               "  --window-ms MS       contribution collections close MS after submission (at most the daemons')\n"
               "  --max-count N        ... or at N contributions (docs/contributions.md)\n"
               "  --json               print {\"job\":…, \"hash\":…}\n", s_values_help, s_opt_help);
    } else if (!strcmp(cmd, "input")) {
        printf("usage: mpc input PROG --job ID --config FILE --input NAME=VALUES... [-D NAME=VALUE]... [--strict]\n\n"
               "Compiles PROG (or reads the .circ), checks each --input against it, checks that every daemon\n"
               "runs job ID with exactly this circuit, then secret-shares and gives each --input.\n%s%s"
               "  --job ID             the job (as printed by mpc submit)\n"
               "  --input NAME=VALUES  an input this client gives (repeatable)\n", s_values_help, s_opt_help);
    } else if (!strcmp(cmd, "contribute")) {
        printf("usage: mpc contribute PROG --job ID --config FILE --token HEX|@FILE --input NAME=VALUES|@FILE...\n"
               "                      [-D NAME=VALUE]...\n\n"
               "Sends one contribution to each contributor input named (`input NAME: T[D] from contributors\n"
               "in LO..HI`, or `... unchecked`) of the job, after checking it runs PROG: D values (commas or\n"
               "blanks; @FILE: read from a file), each in the validity range, shared in the field among the\n"
               "job's daemons with a validity proof (none to an unchecked collection)\n"
               "(docs/contributions.md).  A contributor contributes once to a collection.\n\n"
               "  --job ID             the job (as printed by mpc submit)\n"
               "  --token HEX|@FILE    this contributor's token (96 hex digits, mpcd contributor-token)\n");
    } else if (!strcmp(cmd, "result")) {
        printf("usage: mpc result PROG --job ID --config FILE [--output NAME]... [--timeout MS] [--json]\n\n"
               "Waits for the outputs of job ID (after checking it runs PROG), reconstructs them from every\n"
               "daemon's share and prints them like mpc run.\n\n%s"
               "  --job ID             the job\n"
               "  --output NAME        fetch only these outputs (repeatable; default: every output)\n"
               "  --timeout MS         longest wait for each output (default 600000)\n"
               "  --json               print JSON\n", s_opt_help);
    } else if (!strcmp(cmd, "cancel")) {
        printf("usage: mpc cancel JOB --config FILE\n\n"
               "Cancels job JOB (32 hex digits, as printed by mpc submit) on every daemon of the configuration.\n"
               "Allowed for the client that submitted the job and for a client with the `cancel` right in the\n"
               "daemons' configuration.  Each daemon drops the job if it has not started (wiping the inputs it\n"
               "holds), stops it at its next round if it is running (the other parties abort it too), or wipes\n"
               "its outputs if it has finished.  The job then shows as `cancelled` (mpc status --job JOB), and\n"
               "asking for its outputs answers \"cancelled by client NAME\".  Exit status 0 when every daemon\n"
               "holding the job cancelled it.\n\n"
               "  --config FILE        client configuration (default: $MPC_CONFIG)\n"
               "  --job JOB            the job (instead of the argument)\n");
    } else if (!strcmp(cmd, "status")) {
        printf("usage: mpc status --config FILE [--job ID] [--json]\n\n"
               "Asks every daemon of the configuration, all at once and each with the whole timeout, for\n"
               "its state: reachable or not, its peers (connected, refused its key, unreachable since when),\n"
               "jobs queued, running, done and failed, preprocessing material in stock; with --job, that\n"
               "job's state and progress (layers, and the triples made for it while it waits for them) on\n"
               "each daemon.  Exit status 2 when a daemon is unreachable or answers with an error.\n\n"
               "  --config FILE        client configuration (default: $MPC_CONFIG)\n"
               "  --job ID             a job\n"
               "  --json               print JSON\n");
    } else if (!strcmp(cmd, "upload")) {
        printf("usage: mpc upload FILE.csv --name NAME --schema 'COL: TYPE [= DEFAULT] [in LO..HI], ...' --party P\n"
               "                  --config FILE [--append] [--precision F] [--sep SEP] [--missing=zero]\n\n"
               "Reads FILE.csv (a header naming the columns; streamed, never held whole), checks every cell\n"
               "against the schema (the column list of a table declaration, circuits/LANGUAGE.md), secret-shares\n"
               "it in this process and sends one share to every daemon of the configuration, which keeps it\n"
               "encrypted as dataset NAME of party P (docs/datasets.md).  Replaces NAME unless --append, which\n"
               "adds the rows to it.  Programs read it with `input T: table(...)[N] from P dataset \"NAME\"`.\n\n"
               "  --precision F        fractional bits of fix columns (default 16; the program's `precision`)\n"
               "  --sep SEP, --missing=zero   as for table inputs\n");
    } else if (!strcmp(cmd, "datasets")) {
        printf("usage: mpc datasets --config FILE [--json]\n\n"
               "Lists the stored datasets as every daemon describes them (they must agree): name, owner party,\n"
               "rows, columns, uploads, created, bytes stored on all daemons together.\n");
    } else if (!strcmp(cmd, "delete")) {
        printf("usage: mpc delete NAME --config FILE\n\n"
               "Deletes dataset NAME on every daemon: each overwrites its files and unlinks them.\n");
    } else if (!strcmp(cmd, "jobs")) {
        printf("usage: mpc jobs --config FILE [--json]\n\n"
               "Lists the jobs this client submitted (each daemon shows a client its own jobs only, the\n"
               "newest 64): id, state (the least advanced on any daemon; failed on one is failed), age,\n"
               "submitter and progress (layers done, or the triples made for it while they are made).\n\n"
               "  --config FILE        client configuration (default: $MPC_CONFIG)\n"
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
        {"define", required_argument, NULL, 'D'}, {"strict", no_argument, NULL, 'S'},
        {"no-pushdown", no_argument, NULL, 'P'},  {"sep", required_argument, NULL, 's'},
        {"missing", required_argument, NULL, 'M'},
        {"name", required_argument, NULL, 'N'},   {"schema", required_argument, NULL, 'C'},
        {"party", required_argument, NULL, 'p'},  {"append", no_argument, NULL, 'A'},
        {"precision", required_argument, NULL, 'F'},
        {"token", required_argument, NULL, 'T'},
        {"window-ms", required_argument, NULL, 'W'},
        {"max-count", required_argument, NULL, 'K'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    o->timeout_ms = -1;
    o->precision = 16;
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
        case 'S': o->strict = 1; break;
        case 'P': o->no_pushdown = 1; break;
        case 's': o->sep = optarg; break;
        case 'N': o->ds_name = optarg; break;
        case 'C': o->schema = optarg; break;
        case 'p': o->party = optarg; break;
        case 'A': o->append = 1; break;
        case 'T': o->token = optarg; break;
        case 'W':
        case 'K': {
            char *end = NULL;
            long long v = strtoll(optarg, &end, 10);
            if (!*optarg || *end || v < 1 || v > 86400000) s_die("--%s '%s': expected 1..86400000",
                                                                ch == 'W' ? "window-ms" : "max-count", optarg);
            if (ch == 'W') o->window_ms = v;
            else o->max_count = v;
            break;
        }
        case 'F': {
            char *end = NULL;
            long v = strtol(optarg, &end, 10);
            if (!*optarg || *end || v < 0 || v > 62) s_die("--precision '%s': expected 0..62", optarg);
            o->precision = (int)v;
            break;
        }
        case 'M':
            if (strcmp(optarg, "zero") != 0) s_die("--missing '%s': the only choice is --missing=zero", optarg);
            o->csv_flags |= MPC_CSV_MISSING_ZERO;
            break;
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
        else if (st[i].prep_needed && st[i].prep_made < st[i].prep_needed && st[i].layers_done == 0)
            off += snprintf(line + off, sizeof line - (size_t)off, "  %s: %s, preprocessing %llu/%llu triples",
                            st[i].daemon, st[i].state_name, (unsigned long long)st[i].prep_made,
                            (unsigned long long)st[i].prep_needed);
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

/* mpc run: the job to cancel when anything fails or a signal arrives before it completes. */
static volatile sig_atomic_t s_signal;
static mpc_job *s_own_job;

static void s_on_signal(int sig)
{
    s_signal = sig;
}

/* Without SA_RESTART: a wait blocked in the SDK wakes at once (mpc_client_set_interrupt). */
static void s_catch_signals(mpc_client *c)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    mpc_client_set_interrupt(c, &s_signal);
}

static void s_check(mpc_client *c, int r)
{
    if (!r && !s_signal) return;
    s_progress_clear();
    char why[1024];
    if (s_signal && (r == 0 || r == MPC_ERR_CANCELLED))
        snprintf(why, sizeof why, "interrupted by %s", s_signal == SIGINT ? "SIGINT" : "SIGTERM");
    else
        snprintf(why, sizeof why, "%s", mpc_client_errmsg(c));
    /* A job the daemons report failed has ended everywhere (the failing party aborts it on
     * every party): there is nothing to cancel, and its failure is the truth to keep. */
    if (s_own_job && mpc_job_is_live(s_own_job) && (s_signal || r != MPC_ERR_PEER_ABORT)) {
        if (mpc_job_cancel(c, s_own_job) == 0)
            fprintf(stderr, "mpc: job %s cancelled on every daemon\n", mpc_job_id(s_own_job));
        else
            fprintf(stderr, "mpc: job %s: cancelling failed: %s\n", mpc_job_id(s_own_job), mpc_client_errmsg(c));
    }
    if (s_signal) {
        fprintf(stderr, "mpc: error: %s\n", why);
        exit(128 + s_signal);
    }
    s_die("%s", why);
}

/* Stages a job: the SDK compiles PROG (or reads the .circ) — its warnings go to stderr — and
 * checks each --input against the program (name, length, values of the input's type) before
 * anything is sent. */
/* For each --input TABLE=@FILE whose table's row count is a param left without value (and
 * no -D sets), -D PARAM=<data rows of FILE> (circuits/LANGUAGE.md, "Tables"). */
static void s_table_defines(mpc_client *c, opts *o)
{
    size_t pl = strlen(o->prog);
    if (pl >= 5 && !strcmp(o->prog + pl - 5, ".circ")) return;
    FILE *f = fopen(o->prog, "rb");
    if (!f) return;   /* mpc_job_create_file reports it */
    static char src[1 << 20];
    size_t len = fread(src, 1, sizeof src, f);
    fclose(f);
    size_t n0 = o->n_inputs;
    for (size_t i = 0; i < n0; i++) {
        const char *eq = strchr(o->inputs[i], '=');
        char t[S_NAME_MAX], *def = o->table_defs[i];
        if (eq[1] != '@' || (size_t)(eq - o->inputs[i]) >= sizeof t) continue;
        snprintf(t, sizeof t, "%.*s", (int)(eq - o->inputs[i]), o->inputs[i]);
        s_check(c, mpc_table_row_define(c, src, len, t, eq + 2, o->sep, def, sizeof o->table_defs[i]));
        if (!def[0]) continue;
        size_t nl = (size_t)(strchr(def, '=') - def);
        int given = 0;
        for (size_t k = 0; k < o->n_defs; k++) given |= !strncmp(o->defs[k], def, nl + 1);
        if (!given && o->n_defs < MAX_ARGS) o->defs[o->n_defs++] = def;
    }
}

/* For each table read from a stored dataset whose row count is a param left without value
 * (and no -D sets it), -D PARAM=<the dataset's rows>, asked of the daemons. */
static void s_dataset_defines(mpc_client *c, opts *o)
{
    size_t pl = strlen(o->prog);
    if (pl >= 5 && !strcmp(o->prog + pl - 5, ".circ")) return;
    FILE *f = fopen(o->prog, "rb");
    if (!f) return;   /* mpc_job_create_file reports it */
    static char src[1 << 20];
    size_t len = fread(src, 1, sizeof src, f);
    fclose(f);
    for (size_t i = 0; i < sizeof o->ds_defs / sizeof o->ds_defs[0]; i++) {
        char *def = o->ds_defs[i];
        int r = mpc_dataset_row_define(c, src, len, i, def, sizeof o->ds_defs[i]);
        if (r == MPC_ERR_NOTFOUND && !strstr(mpc_client_errmsg(c), "no dataset")) break;   /* no more tables */
        s_check(c, r);
        if (!def[0]) continue;
        size_t nl = (size_t)(strchr(def, '=') - def);
        int given = 0;
        for (size_t k = 0; k < o->n_defs; k++) given |= !strncmp(o->defs[k], def, nl + 1);
        if (!given && o->n_defs < MAX_ARGS) o->defs[o->n_defs++] = def;
    }
}

/* Whether the job has an input of exactly this name. */
static int s_has_input(const mpc_job *j, const char *name)
{
    for (size_t i = 0; i < mpc_job_n_inputs(j); i++)
        if (!strcmp(mpc_job_input_name(j, i), name)) return 1;
    return 0;
}

static mpc_job *s_stage(mpc_client *c, opts *o)
{
    if (!o->prog) s_die("%s: no program given (see mpc %s --help)", o->cmd, o->cmd);
    mpc_job *j = NULL;
    unsigned fl = (o->strict ? MPC_JOB_STRICT : 0) | (o->no_pushdown ? MPC_JOB_NO_PUSHDOWN : 0);
    s_table_defines(c, o);
    s_dataset_defines(c, o);
    int r = mpc_job_create_file(c, o->prog, o->defs, o->n_defs, fl, &j);
    for (size_t i = 0; i < mpc_client_n_warnings(c); i++) fprintf(stderr, "%s\n", mpc_client_warning(c, i));
    s_check(c, r);
    if (o->bind) s_check(c, mpc_job_set_binding(c, j, o->bind));
    if (o->window_ms || o->max_count)
        s_check(c, mpc_job_set_collection(c, j, (uint64_t)o->window_ms, (uint64_t)o->max_count));
    for (size_t i = 0; i < o->n_inputs; i++) {
        char name[256];
        const char *eq = strchr(o->inputs[i], '=');
        size_t nl = (size_t)(eq - o->inputs[i]);
        if (nl == 0 || nl >= sizeof name) s_die("--input '%.40s': bad input name", o->inputs[i]);
        memcpy(name, o->inputs[i], nl);
        name[nl] = 0;
        if (eq[1] == '@' && !s_has_input(j, name))   /* a table from its CSV file */
            s_check(c, mpc_job_input_csv(c, j, name, eq + 2, o->sep, o->csv_flags));
        else
            s_check(c, mpc_job_input_text(c, j, name, eq + 1));
    }
    return j;
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
        const char *note = mpc_job_output_note(j, names[i]);
        if (o->json) {
            /* withheld elements are null, and the note says why */
            for (char *w = strstr(text, "withheld"); w; w = strstr(w, "withheld")) memcpy(w, "null    ", 8);
            printf("%s{\"name\": ", i ? ", " : "");
            s_json_str(names[i]);
            printf(", \"type\": \"%s\", \"values\": [%s]", type, text);
            if (note[0]) {
                printf(", \"withheld\": ");
                s_json_str(note);
            }
            printf("}");
        } else {
            printf("%s = %s\n", names[i], text);
            if (note[0]) fprintf(stderr, "mpc: %s\n", note);
        }
        fflush(stdout);
        mpc_client_free(text);
    }
    if (o->json) printf("]}\n");
}

/* run: every input given here, checked before anything is submitted; submit: the inputs
 * given here (if any) go with the job, the rest come from other clients. */
static int s_cmd_run(opts *o, int submit_only)
{
    mpc_client *c = s_open(o);
    if (!submit_only) s_catch_signals(c);
    mpc_job *j = s_stage(c, o);
    if (!submit_only) s_own_job = j;
    s_check(c, mpc_job_submit(c, j, submit_only ? 0 : MPC_SUBMIT_ALL_INPUTS));
    if (!submit_only) {
        /* the id to ask about (mpc status --job, mpc jobs) while it runs */
        fprintf(stderr, "mpc: job %s submitted\n", mpc_job_id(j));
        fflush(stderr);
    }
    if (submit_only) {
        if (o->json) printf("{\"job\": \"%s\", \"hash\": \"%s\"}\n", mpc_job_id(j), mpc_job_hash(j));
        else printf("%s\n", mpc_job_id(j));
    } else {
        s_print_outputs(c, j, o);
        s_own_job = NULL;   /* complete: nothing to cancel any more */
    }
    mpc_job_free(&j);
    mpc_client_close(&c);
    return 0;
}

/* The text of NAME=@FILE (the whole file, at most 64 MiB) or NAME=VALUES; malloc'ed, given back
 * with s_text_free.  A contribution's values and a token are secrets: the file is read without
 * stdio's buffer, and a buffer outgrown is wiped before it is freed (realloc would leave the
 * old copy behind in freed memory). */
static char *s_text_arg(const char *v, const char *what)
{
    if (v[0] != '@') {
        char *t = strdup(v);
        if (!t) s_die("out of memory");
        return t;
    }
    int fd = open(v + 1, O_RDONLY | O_CLOEXEC);
    if (fd < 0) s_die("%s: %s: %s", what, v + 1, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *t = malloc(cap + 1);
    if (!t) s_die("out of memory");
    for (;;) {
        ssize_t got = read(fd, t + n, cap - n);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) s_die("%s: %s: %s", what, v + 1, strerror(errno));
        if (got == 0) break;
        n += (size_t)got;
        if (n < cap) continue;
        if (cap >= ((size_t)64 << 20)) s_die("%s: %s is too long", what, v + 1);
        char *nt = malloc(2 * cap + 1);
        if (!nt) s_die("out of memory");
        memcpy(nt, t, n);
        sodium_memzero(t, cap + 1);
        free(t);
        t = nt;
        cap *= 2;
    }
    close(fd);
    t[n] = 0;
    if (strlen(t) != n) s_die("%s: %s holds a NUL byte", what, v + 1);
    return t;
}

static void s_text_free(char *t)
{
    if (!t) return;
    sodium_memzero(t, strlen(t));
    free(t);
}

/* contribute: one contribution to each collection named, after the daemons confirm the job
 * runs this program. */
static int s_cmd_contribute(opts *o)
{
    if (!o->job) s_die("contribute: --job ID is required");
    if (!o->token) s_die("contribute: --token is required");
    if (o->n_inputs == 0) s_die("contribute: no --input given");
    size_t n_in = o->n_inputs;
    o->n_inputs = 0;   /* not staged as job inputs */
    mpc_client *c = s_open(o);
    mpc_job *j = s_stage(c, o);
    s_check(c, mpc_job_attach(c, j, o->job));
    char *tok = s_text_arg(o->token, "--token");
    for (char *e = tok + strlen(tok); e > tok && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' '); e--) e[-1] = 0;
    for (size_t i = 0; i < n_in; i++) {
        char name[256];
        const char *eq = strchr(o->inputs[i], '=');
        size_t nl = (size_t)(eq - o->inputs[i]);
        if (nl == 0 || nl >= sizeof name) s_die("--input '%.40s': bad input name", o->inputs[i]);
        memcpy(name, o->inputs[i], nl);
        name[nl] = 0;
        char *text = s_text_arg(eq + 1, "--input");
        int r = mpc_job_contribute(c, j, name, text, tok);
        s_text_free(text);
        s_check(c, r);
        fprintf(stderr, "mpc: contribution to '%s' accepted by every daemon of job %s\n", name, mpc_job_id(j));
    }
    s_text_free(tok);   /* the token authenticates this contributor */
    mpc_job_free(&j);
    mpc_client_close(&c);
    return 0;
}

/* input / result: join a job someone else submitted, after the daemons confirm it runs this
 * very program; inputs are checked against the program before that. */
static int s_cmd_job(opts *o, int outputs)
{
    if (!o->job) s_die("%s: --job ID is required", o->cmd);
    if (!outputs && o->n_inputs == 0) s_die("input: no --input given");
    if (outputs && o->n_inputs) s_die("result: --input belongs to mpc input (or run, submit)");
    mpc_client *c = s_open(o);
    mpc_job *j = s_stage(c, o);
    s_check(c, mpc_job_attach(c, j, o->job));
    if (outputs) s_print_outputs(c, j, o);
    mpc_job_free(&j);
    mpc_client_close(&c);
    return 0;
}

static const char *s_peer_state(int state)
{
    return state == MPC_PEER_CONNECTED ? "connected" : state == MPC_PEER_KEY_REFUSED ? "refused our key" : "unreachable";
}

/* "made/needed triples made, R/s, ETA Ts" for a job waiting for its material, into buf. */
static void s_prep_text(char *buf, size_t len, uint64_t made, uint64_t needed, uint64_t per_s)
{
    int off = snprintf(buf, len, "preprocessing %llu/%llu triples", (unsigned long long)made,
                       (unsigned long long)needed);
    if (off > 0 && (size_t)off < len && per_s)
        off += snprintf(buf + off, len - (size_t)off, ", %llu/s", (unsigned long long)per_s);
    if (off > 0 && (size_t)off < len && per_s && needed > made)
        snprintf(buf + off, len - (size_t)off, ", ETA %llus", (unsigned long long)((needed - made + per_s - 1) / per_s));
}

static void s_status_json(const mpc_daemon_status *s, size_t i)
{
    printf("%s{\"daemon\": ", i ? ", " : "");
    s_json_str(s->daemon);
    printf(", \"reachable\": %s", s->reachable ? "true" : "false");
    if (s->error) {
        printf(", \"error\": ");
        s_json_str(s->message);
    }
    if (s->reachable && !s->error) {
        printf(", \"jobs\": {\"queued\": %llu, \"running\": %llu, \"done\": %llu, \"failed\": %llu}, "
               "\"stock\": {\"triples\": %llu, \"triples_per_s\": %llu}, \"peers\": [",
               (unsigned long long)s->jobs_queued, (unsigned long long)s->jobs_running,
               (unsigned long long)s->jobs_done, (unsigned long long)s->jobs_failed,
               (unsigned long long)s->triples_stock, (unsigned long long)s->triples_per_s);
        for (size_t p = 0; p < s->n_peers; p++) {
            printf("%s{\"name\": ", p ? ", " : "");
            s_json_str(s->peers[p].name);
            printf(", \"state\": \"%s\", \"for_ms\": %llu}", s_peer_state(s->peers[p].state),
                   (unsigned long long)s->peers[p].for_ms);
        }
        printf("]");
    }
    if (s->has_job) {
        printf(", \"job\": {\"state\": ");
        s_json_str(s->state_name);
        printf(", \"reason\": ");
        s_json_str(s->reason);
        printf(", \"layers_done\": %llu, \"layers_total\": %llu, \"triples_used\": %llu, "
               "\"inputs_given\": %u, \"inputs_total\": %u, \"prep_made\": %llu, \"prep_needed\": %llu, "
               "\"prep_per_s\": %llu}",
               (unsigned long long)s->layers_done, (unsigned long long)s->layers_total,
               (unsigned long long)s->triples_used, s->inputs_given, s->inputs_total,
               (unsigned long long)s->prep_made, (unsigned long long)s->prep_needed,
               (unsigned long long)s->prep_per_s);
    }
    printf("}");
}

static void s_status_text(const mpc_daemon_status *s, const char *job)
{
    if (!s->reachable) {
        printf("%s: unreachable: %s\n", s->daemon, s->message);
        return;
    }
    if (s->error) {
        printf("%s: reachable, error: %s\n", s->daemon, s->message);
        return;
    }
    printf("%s: reachable, jobs %llu queued, %llu running, %llu done, %llu failed; stock %llu triples "
           "(made at %llu/s)\n",
           s->daemon, (unsigned long long)s->jobs_queued, (unsigned long long)s->jobs_running,
           (unsigned long long)s->jobs_done, (unsigned long long)s->jobs_failed,
           (unsigned long long)s->triples_stock, (unsigned long long)s->triples_per_s);
    time_t now = time(NULL);
    for (size_t p = 0; p < s->n_peers; p++) {
        const char *st = s_peer_state(s->peers[p].state);
        time_t since = now - (time_t)(s->peers[p].for_ms / 1000);
        struct tm tmv;
        char when[32] = "?";
        if (gmtime_r(&since, &tmv)) strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tmv);
        printf("  peer %s: %s since %s (%llu s)\n", s->peers[p].name, st, when,
               (unsigned long long)(s->peers[p].for_ms / 1000));
    }
    if (s->has_job) {
        char prep[160] = "";
        if (s->prep_needed && s->prep_made < s->prep_needed && s->layers_done == 0)
            s_prep_text(prep, sizeof prep, s->prep_made, s->prep_needed, s->prep_per_s);
        printf("  job %s: %s, %llu/%llu layers, %llu triples used, inputs %u/%u%s%s%s%s\n", job, s->state_name,
               (unsigned long long)s->layers_done, (unsigned long long)s->layers_total,
               (unsigned long long)s->triples_used, s->inputs_given, s->inputs_total, prep[0] ? ", " : "", prep,
               s->reason[0] ? ": " : "", s->reason);
    }
}

static int s_cmd_cancel(const opts *o)
{
    const char *id = o->job ? o->job : o->prog;
    if (!id) s_die("cancel: no job given (mpc cancel JOB, see mpc cancel --help)");
    if (o->job && o->prog) s_die("cancel: unexpected argument '%s'", o->prog);
    mpc_client *c = s_open(o);
    s_check(c, mpc_client_cancel(c, id));
    printf("job %s cancelled\n", id);
    mpc_client_close(&c);
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
        if (!st[i].reachable || st[i].error) all_ok = 0;
        if (o->json) s_status_json(&st[i], i);
        else s_status_text(&st[i], o->job);
    }
    if (o->json) printf("]\n");
    mpc_client_close(&c);
    return all_ok ? 0 : 2;
}

static int s_cmd_jobs(const opts *o)
{
    if (o->prog) s_die("jobs: unexpected argument '%s'", o->prog);
    mpc_client *c = s_open(o);
    mpc_job_status *js = NULL;
    size_t n = 0;
    s_check(c, mpc_client_jobs(c, &js, &n));
    if (o->json) printf("[");
    else if (n) printf("%-32s  %-18s  %7s  %-16s  %s\n", "JOB", "STATE", "AGE", "SUBMITTER", "PROGRESS");
    for (size_t i = 0; i < n; i++) {
        const mpc_job_status *j = &js[i];
        char prog[160];
        if (j->prep_needed && j->prep_made < j->prep_needed && j->layers_done == 0 && strcmp(j->state_name, "done") != 0)
            s_prep_text(prog, sizeof prog, j->prep_made, j->prep_needed, 0);
        else
            snprintf(prog, sizeof prog, "%llu/%llu layers", (unsigned long long)j->layers_done,
                     (unsigned long long)j->layers_total);
        if (o->json) {
            printf("%s{\"job\": \"%s\", \"state\": ", i ? ", " : "", j->id);
            s_json_str(j->state_name);
            printf(", \"age_s\": %llu, \"submitter\": ", (unsigned long long)j->age_s);
            s_json_str(j->submitter);
            printf(", \"layers_done\": %llu, \"layers_total\": %llu, \"prep_made\": %llu, \"prep_needed\": %llu, "
                   "\"daemons\": %u}",
                   (unsigned long long)j->layers_done, (unsigned long long)j->layers_total,
                   (unsigned long long)j->prep_made, (unsigned long long)j->prep_needed, j->n_daemons);
        } else {
            printf("%-32s  %-18s  %6llus  %-16s  %s\n", j->id, j->state_name, (unsigned long long)j->age_s,
                   j->submitter, prog);
        }
    }
    if (o->json) printf("]\n");
    mpc_client_free(js);
    mpc_client_close(&c);
    return 0;
}

static void s_time(int64_t t, char *buf, size_t n)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || !strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm)) snprintf(buf, n, "?");
}

static int s_cmd_upload(const opts *o)
{
    if (!o->prog) s_die("upload: no CSV file given (see mpc upload --help)");
    if (!o->ds_name || !o->schema || !o->party) s_die("upload: --name, --schema and --party are required");
    mpc_client *c = s_open(o);
    uint64_t rows = 0;
    s_check(c, mpc_dataset_upload_csv(c, o->ds_name, o->prog, o->schema, o->party, (unsigned)o->precision, o->sep,
                                      (o->append ? MPC_DATASET_APPEND : 0) | o->csv_flags, &rows));
    printf("dataset %s: %llu rows stored on every daemon\n", o->ds_name, (unsigned long long)rows);
    mpc_client_close(&c);
    return 0;
}

static int s_cmd_datasets(const opts *o)
{
    mpc_client *c = s_open(o);
    mpc_dataset_info *v = NULL;
    size_t n = 0;
    s_check(c, mpc_dataset_list(c, &v, &n));
    if (o->json) printf("[");
    else if (n) printf("%-24s  %-10s  %10s  %-32s  %-20s  %s\n", "NAME", "OWNER", "ROWS", "COLUMNS", "CREATED", "BYTES");
    for (size_t i = 0; i < n; i++) {
        char cols[1024] = "", created[32];
        size_t off = 0;
        for (uint32_t k = 0; k < v[i].n_cols && off < sizeof cols; k++) {
            int w = o->json ? snprintf(cols + off, sizeof cols - off, "%s{\"name\": \"%s\", \"type\": \"%s\"}",
                                       k ? ", " : "", v[i].col_names[k], v[i].col_types[k])
                            : snprintf(cols + off, sizeof cols - off, "%s%s:%s", k ? "," : "", v[i].col_names[k],
                                       v[i].col_types[k]);
            off = w < 0 ? sizeof cols : off + (size_t)w;
        }
        s_time(v[i].created, created, sizeof created);
        if (o->json)
            printf("%s{\"name\": \"%s\", \"owner\": \"%s\", \"uploader\": \"%s\", \"rows\": %llu, "
                   "\"columns\": [%s], \"uploads\": %u, \"created\": \"%s\", \"bytes\": %llu}",
                   i ? ", " : "", v[i].name, v[i].owner, v[i].uploader, (unsigned long long)v[i].rows, cols,
                   v[i].uploads, created, (unsigned long long)v[i].bytes);
        else
            printf("%-24s  %-10s  %10llu  %-32s  %-20s  %llu\n", v[i].name, v[i].owner, (unsigned long long)v[i].rows,
                   cols, created, (unsigned long long)v[i].bytes);
    }
    if (o->json) printf("]\n");
    mpc_client_free(v);
    mpc_client_close(&c);
    return 0;
}

static int s_cmd_delete(const opts *o)
{
    if (!o->prog) s_die("delete: no dataset named (see mpc delete --help)");
    mpc_client *c = s_open(o);
    s_check(c, mpc_dataset_delete(c, o->prog));
    printf("dataset %s deleted on every daemon\n", o->prog);
    mpc_client_close(&c);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        s_usage(NULL);
        return argc < 2 ? 2 : 0;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "run") && strcmp(cmd, "submit") && strcmp(cmd, "input") && strcmp(cmd, "result") &&
        strcmp(cmd, "status") && strcmp(cmd, "jobs") && strcmp(cmd, "cancel") && strcmp(cmd, "upload") &&
        strcmp(cmd, "datasets") && strcmp(cmd, "delete") && strcmp(cmd, "contribute"))
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
    if (!strcmp(cmd, "contribute")) return s_cmd_contribute(&o);
    if (!strcmp(cmd, "jobs")) return s_cmd_jobs(&o);
    if (!strcmp(cmd, "cancel")) return s_cmd_cancel(&o);
    if (!strcmp(cmd, "upload")) return s_cmd_upload(&o);
    if (!strcmp(cmd, "datasets")) return s_cmd_datasets(&o);
    if (!strcmp(cmd, "delete")) return s_cmd_delete(&o);
    return s_cmd_status(&o);
}
