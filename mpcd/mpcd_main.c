/* mpcd_main.c — the `mpcd` command: run a party daemon or the dealer, make keys, print the
 * configuration reference. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "contrib_daemon.h"
#include "aeshash.h"
#include "audit_cmd.h"
#include "budget_cmd.h"
#include "config.h"
#include "fdguard.h"
#include "harden.h"
#include "keys.h"
#include "log.h"
#include "mpc_err.h"
#include "notify.h"
#include "server.h"

#define MPCD_VERSION "0.1.0"

/* Lock-free, hence usable from the handler (C11 7.14.1.1), which may run on any thread. */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "the stop flag must be lock-free");
static atomic_int s_stop;
static atomic_int s_reload;   /* SIGHUP: the main loop reloads the configuration */

static void s_on_signal(int sig)
{
    if (sig == SIGHUP) atomic_store(&s_reload, 1);
    else atomic_store(&s_stop, 1);
}

/* Once a stop is asked for, the daemon is gone within MPCD_STOP_MS whatever it was doing: the
 * clean stop (worker joined, sockets closed, keys and jobs wiped) normally takes a few hundred
 * milliseconds, but a job step may wait on a peer for longer.  Then this thread ends the
 * process (memory, secrets included, goes back to the kernel with it). */
#define MPCD_STOP_MS 1500

static void *s_stop_watchdog(void *arg)
{
    (void)arg;
    struct timespec ts = {MPCD_STOP_MS / 1000, (MPCD_STOP_MS % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
    mpcd_error(NULL, "the clean stop took longer than %d ms; exiting now", MPCD_STOP_MS);
    _exit(1);
    return NULL;
}

/* Raises the soft limit on open files to the hard limit: each client or peer connection,
 * half-open ones included, holds a descriptor until libzmq closes it. */
static void s_raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
    if (rl.rlim_cur < rl.rlim_max) {
        rlim_t was = rl.rlim_cur;
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) == 0) was = rl.rlim_cur;
        mpcd_info(NULL, "open files limit: %llu", (unsigned long long)was);
    } else {
        mpcd_info(NULL, "open files limit: %llu (the hard limit)", (unsigned long long)rl.rlim_cur);
    }
}

static void s_usage(FILE *f)
{
    fprintf(f,
            "usage: mpcd --config FILE            run a party daemon (foreground, logs to stderr)\n"
            "       mpcd dealer --config FILE     run the semi-trusted preprocessing dealer\n"
            "       mpcd keygen NAME --dir DIR    write a CURVE key pair (DIR/NAME.pub, DIR/NAME.secret, 0600)\n"
            "                                 and an audit signing pair (DIR/NAME.sign.pub, .sign.secret)\n"
            "       mpcd audit verify|show ...    check or print a party's audit log (mpcd audit --help)\n"
            "       mpcd budget --config FILE     the party's privacy budgets: spent and left (mpcd budget --help)\n"
            "       mpcd config-doc               print the configuration reference (configs/README.md)\n"
            "       mpcd contributor-token newkey FILE | make KEYFILE [N]\n"
            "                                     a contributor token key; N tokens (docs/contributions.md)\n"
            "       mpcd --version | --help\n"
            "\n"
            "options:\n"
            "  --config FILE      the INI configuration (every key: configs/README.md)\n"
            "  --log-level LEVEL  error, warn, info or debug (overrides log_level)\n"
            "\n"
            "SIGHUP reloads the configuration file: policy, clients, keys of the other parties, most\n"
            "limits and logging change without a restart; a file with an error is refused (the running\n"
            "configuration stays) and the error logged (docs/daemon.md).\n"
            "SIGTERM or SIGINT stops the daemon within 2 s in every state. Exit status: 0 on a clean\n"
            "stop, 1 on a bad configuration, a start-up failure or a stop that had to be cut short,\n"
            "2 on a usage error.\n");
}

static int s_keygen(int argc, char **argv)
{
    const char *name = NULL, *dir = NULL;
    int curve = 1, sign = 1;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--dir") && i + 1 < argc) dir = argv[++i];
        else if (!strcmp(argv[i], "--curve-only")) sign = 0;
        else if (!strcmp(argv[i], "--audit-only")) curve = 0;
        else if (!strcmp(argv[i], "--help")) {
            printf("usage: mpcd keygen NAME --dir DIR [--curve-only | --audit-only]\n"
                   "Writes DIR/NAME.pub (the CURVE public key to give to the other parties) and DIR/NAME.secret,\n"
                   "and the party's audit signing pair DIR/NAME.sign.pub (give it to the other parties too)\n"
                   "and DIR/NAME.sign.secret (docs/governance.md, \"Audit log\"). Secret files get mode 0600;\n"
                   "never share them. Existing files are never overwritten.\n"
                   "  --curve-only  the CURVE pair only (a client, which signs no audit records, or a party\n"
                   "                rotating its CURVE key alone)\n"
                   "  --audit-only  the audit pair only (a party whose CURVE pair exists already)\n");
            return 0;
        } else if (!name && argv[i][0] != '-') name = argv[i];
        else {
            fprintf(stderr, "mpcd: error: keygen: unexpected argument '%s'\n", argv[i]);
            return 2;
        }
    }
    if (!name || !dir || (!curve && !sign)) {
        fprintf(stderr, "mpcd: error: usage: mpcd keygen NAME --dir DIR [--curve-only | --audit-only]\n");
        return 2;
    }
    char pub[1024], sec[1024], err[512];
    if (curve) {
        if (mpc_keys_generate_files(dir, name, pub, sec, sizeof pub, err, sizeof err) != 0) {
            fprintf(stderr, "mpcd: error: %s\n", err);
            return 1;
        }
        printf("public key: %s\nsecret key: %s\n", pub, sec);
    }
    if (sign) {
        if (mpc_keys_generate_files_kind(dir, name, MPC_KEY_SIGN, pub, sec, sizeof pub, err, sizeof err) != 0) {
            fprintf(stderr, "mpcd: error: %s\n", err);
            return 1;
        }
        printf("audit public key: %s\naudit secret key: %s\n", pub, sec);
    }
    return 0;
}

static int s_parse_level(const char *s, mpcd_log_level *out)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    for (int i = 0; i < 4; i++)
        if (!strcmp(s, names[i])) {
            *out = (mpcd_log_level)i;
            return 0;
        }
    return -1;
}

int main(int argc, char **argv)
{
    /* Before anything that may hold a key (keygen, the daemon's start): no core dump, no
     * ptrace by the same user, nothing of it readable in /proc by others (harden.h). */
    char herr[256];
    if (mpcd_harden_process(herr, sizeof herr) != 0) {
        fprintf(stderr, "mpcd: %s\n", herr);
        return 1;
    }
    if (sodium_init() < 0) {
        fprintf(stderr, "mpcd: error: libsodium failed to initialise\n");
        return 1;
    }
    int first = 1, dealer = 0;
    if (argc >= 2 && !strcmp(argv[1], "keygen")) return s_keygen(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "audit")) return mpcd_audit_main(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "budget")) return mpcd_budget_main(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "contributor-token")) return mpcd_contrib_token_main(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "config-doc")) {
        mpcd_config_write_doc(stdout);
        return 0;
    }
    if (argc >= 2 && !strcmp(argv[1], "dealer")) {
        dealer = 1;
        first = 2;
    }
    const char *config = NULL, *level = NULL;
    for (int i = first; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            s_usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--version")) {
            printf("mpcd %s (semi-honest additive sharing over Z_2^64; preprocessing: ot or dealer; "
                   "OT hash: %s)\n", MPCD_VERSION, mpc_sym_name(mpc_sym_best()));
            return 0;
        } else if (!strcmp(argv[i], "--config") && i + 1 < argc) {
            config = argv[++i];
        } else if (!strcmp(argv[i], "--log-level") && i + 1 < argc) {
            level = argv[++i];
        } else {
            fprintf(stderr, "mpcd: error: unexpected argument '%s' (see mpcd --help)\n", argv[i]);
            return 2;
        }
    }
    if (!config) {
        fprintf(stderr, "mpcd: error: --config FILE is required (see mpcd --help)\n");
        return 2;
    }
    mpcd_config *cfg = calloc(1, sizeof *cfg);
    char err[1024];
    if (!cfg) return 1;
    if (mpcd_config_load(config, cfg, err, sizeof err) != 0) {
        fprintf(stderr, "mpcd: %s\n", err);
        free(cfg);
        return 1;
    }
    if (dealer != (cfg->role == MPCD_ROLE_DEALER)) {
        fprintf(stderr, "mpcd: error: %s: role = %s, so run it with `mpcd%s --config %s`\n", config,
                dealer ? "party" : "dealer", dealer ? "" : " dealer", config);
        free(cfg);
        return 1;
    }
    mpcd_log_level lvl = (mpcd_log_level)cfg->log_level;
    if (level && s_parse_level(level, &lvl) != 0) {
        fprintf(stderr, "mpcd: error: --log-level: '%s' is not error, warn, info or debug\n", level);
        free(cfg);
        return 2;
    }
    mpcd_log_init(cfg->name, lvl);
    mpcd_log_set_format((mpcd_log_format)cfg->log_format);
    mpcd_log_set_repeat_interval((uint64_t)cfg->log_repeat_ms);
    s_raise_nofile();
    if (mpcd_fdguard_init() != 0)
        mpcd_warn(NULL, "cannot open a reserve descriptor (/dev/null): %s; a connection that comes when no "
                  "descriptor is left then waits instead of being closed", strerror(errno));
    mpcd_memlock_check(cfg);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    mpcd_notify_init();
    /* Before the worker starts: its READY=1 / STATUS=waiting for peers come after this. */
    mpcd_notify_status("starting: loading keys, binding endpoints");
    mpcd_server *srv = NULL;
    if (mpcd_server_new(&srv, cfg, err, sizeof err) != 0) {
        mpcd_error(NULL, "cannot start: %s", err);
        mpcd_notify_status("cannot start: %s", err);
        free(cfg);
        return 1;
    }
    if (level) mpcd_server_keep_log_level(srv);
    mpcd_server_run(srv, &s_stop, &s_reload);
    mpcd_notify_stopping();
    pthread_t watchdog;
    if (pthread_create(&watchdog, NULL, s_stop_watchdog, NULL) == 0) pthread_detach(watchdog);
    mpcd_server_destroy(&srv);
    mpcd_info(NULL, "stopped");
    free(cfg);
    return 0;
}
