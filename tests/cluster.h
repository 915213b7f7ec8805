/* cluster.h — test helper: a local cluster of real mpcd daemons for a Check test, started
 * and stopped with scripts/cluster (which writes the keys, the daemons' and the clients'
 * configurations, and the pid and log files).  Call tc_up/tc_down from an unchecked fixture
 * (the parent process), so every test of the case shares the cluster. */
#ifndef MPC_TEST_CLUSTER_H
#define MPC_TEST_CLUSTER_H

#include <stdint.h>

typedef struct {
    char     dir[256];    /* keys/, NAME.ini, NAME.log, NAME.pid, client.ini, client-NAME.ini */
    uint32_t n;           /* parties, named a, b, c, ... */
} tc_cluster;

/* The scripts/cluster arguments that choose where the daemons listen — the one place the
 * harness decides the endpoint kind (today: scripts/cluster's default, ipc:// sockets in the
 * cluster's directory).  dir is the cluster's directory. */
const char *tc_endpoint_args(const char *dir);

/* Starts n daemons in a fresh /tmp directory and waits until they are connected; extra is
 * more scripts/cluster arguments (e.g. "--set limits.max_gates=300") or NULL.  Fails the
 * test if the cluster does not come up. */
void tc_up(tc_cluster *c, uint32_t n, const char *extra);
/* Stops exactly this cluster's daemons and removes its directory (MPC_TEST_KEEP=1 keeps it,
 * with the logs, for a post-mortem). */
void tc_down(tc_cluster *c);
/* 1 if every daemon of the cluster still runs. */
int  tc_alive(const tc_cluster *c);
/* Prints the last `lines` lines of each daemon's log to stderr, and which daemons no longer
 * run: a failed test says why in a record that keeps only its output. */
void tc_dump_logs(const tc_cluster *c, int lines);
/* Fails the test with the message (printf-style) unless every daemon still runs, after
 * printing the tails of their logs. */
#define tc_assert_alive(c, ...)                                                                   \
    do {                                                                                          \
        if (!tc_alive(c)) {                                                                       \
            tc_dump_logs((c), 8);                                                                 \
            ck_abort_msg(__VA_ARGS__);                                                            \
        }                                                                                         \
    } while (0)
/* 1 if daemon `name`'s log contains text. */
int  tc_log_has(const tc_cluster *c, const char *name, const char *text);
/* Runs one ordinary two-party job (x * y + 1) through the SDK with DIR/client.ini and checks
 * its answer: the daemons still serve.  Returns its duration in ms. */
uint64_t tc_sdk_job_ok(const tc_cluster *c);

#endif
