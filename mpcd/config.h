/* config.h — mpcd's configuration: an INI file checked against one table of keys by the
 * shared loader (protocols/inifile.h).  Each row gives the section, key, type, bounds,
 * default and help text; configs/README.md is generated from the same table (`mpcd
 * config-doc`) and a test checks that the committed file matches.  Errors name the file,
 * line and reason. */
#ifndef MPCD_CONFIG_H
#define MPCD_CONFIG_H

#include <stdint.h>
#include <stdio.h>

#include "circuit.h"
#include "keys.h"
#include "program.h"

#define MPCD_MAX_CLIENTS   64
#define MPCD_MAX_ALLOWED   256
#define MPCD_MAX_APPROVALS 64    /* program approvals: `allow = PROGRAM-HASH NAME=.. parties=..` */
#define MPCD_APPROVAL_MAX_PARAMS 16
#define MPCD_MAX_DATASETS  64    /* [dataset NAME] sections */
#define MPCD_DS_MAX_READERS 16   /* program hashes one dataset admits */

/* A release rule (docs/governance.md, "Release rules"): an output element is released only
 * when at least min_rows input rows went into it, and a job's outputs only when at least
 * min_contributors distinct clients gave its inputs.  0 (the default) imposes nothing. */
#define MPCD_RELEASE_MAX 1000000000
typedef struct {
    uint64_t min_rows;
    uint64_t min_contributors;
} mpcd_release;

/* A privacy budget (docs/governance.md, "Privacy budget"): the total ε the jobs it covers may
 * spend per period (MPCD_DP_PERIOD_*: over all time, or per UTC day).  eps 0: no budget
 * configured (unlimited).  Applies to programs (on an `allow` line, or the party default in
 * [policy]) and to datasets ([dataset NAME]). */
#define MPCD_DP_BUDGET_MAX 1000000.0
enum { MPCD_DP_PERIOD_TOTAL = 0, MPCD_DP_PERIOD_DAY = 1 };
typedef struct {
    double  eps;
    int64_t period;
} mpcd_dp_budget;

/* One program approval (docs/daemon.md, "Approving a program"): the program hash, a
 * constraint per param, and the configured party each program party (in the program's
 * declaration order) may be bound to. */
typedef struct {
    uint8_t              hash[32];
    uint32_t             n_params;
    char                 param_names[MPCD_APPROVAL_MAX_PARAMS][MPC_NAME_MAX];
    mpc_param_constraint params[MPCD_APPROVAL_MAX_PARAMS];
    uint32_t             n_parties;
    char                 parties[MPC_MAX_PARTIES][MPC_NAME_MAX];
    mpcd_release         release; /* min_rows= / min_contributors= on the line (0: not given) */
    uint32_t             has_release;   /* bit 0: min_rows= given, bit 1: min_contributors=, bit 2: dp_period= */
    mpcd_dp_budget       dp;      /* dp_budget= / dp_period= on the line (eps 0: none given) */
    uint32_t             line;    /* in the configuration file, for messages */
} mpcd_approval;
#define MPCD_PATH_MAX      512
#define MPCD_ENDPOINT_MAX  256
#define MPCD_Z85_KEY_LEN   MPC_KEY_Z85_LEN   /* keys.h: a CURVE key as Z85 text */

typedef enum { MPCD_PREP_DEALER = 0, MPCD_PREP_OT = 1 } mpcd_prep_mode;
/* `security`: the protocol every job of this daemon runs (docs/security.md). */
typedef enum { MPCD_SEC_SEMI_HONEST = 0, MPCD_SEC_MALICIOUS = 1 } mpcd_security;
typedef enum { MPCD_ROLE_PARTY = 0, MPCD_ROLE_DEALER = 1 } mpcd_role;
typedef enum { MPCD_LOG_ERROR = 0, MPCD_LOG_WARN, MPCD_LOG_INFO, MPCD_LOG_DEBUG } mpcd_log_level;
typedef enum { MPCD_LOG_TEXT = 0, MPCD_LOG_JSON = 1 } mpcd_log_format;

typedef struct {
    char     name[MPC_NAME_MAX];
    char     endpoint[MPCD_ENDPOINT_MAX];
    char     direct_endpoint[MPCD_ENDPOINT_MAX];      /* "" or its direct lane listener */
    char     public_key[MPCD_Z85_KEY_LEN + 1];
    char     next_public_key[MPCD_Z85_KEY_LEN + 1];   /* "" or a second admitted key (rotation) */
    char     audit_public_key[MPCD_Z85_KEY_LEN + 1];  /* "" or its Ed25519 audit key (Z85) */
    uint32_t line;                  /* where its section starts */
} mpcd_party_conf;

typedef struct {
    char     name[MPC_NAME_MAX];
    char     public_key[MPCD_Z85_KEY_LEN + 1];
    char     next_public_key[MPCD_Z85_KEY_LEN + 1];   /* "" or a second admitted key (rotation) */
    uint32_t input_for;             /* bit i: may give input for party i (configured order) */
    uint32_t output_for;            /* bit i: may receive outputs addressed to party i */
    int      may_submit;
    int      may_cancel;            /* may cancel jobs of other clients (its own: always) */
    int      may_contribute;        /* may send contributions (docs/contributions.md) */
    uint32_t line;
    /* Raw lists, resolved against `parties` once the whole file is read. */
    char     input_for_raw[MPCD_ENDPOINT_MAX];
    char     output_for_raw[MPCD_ENDPOINT_MAX];
} mpcd_client_conf;

/* The rights on one dataset (docs/datasets.md, "Rights"): who may write it, which programs
 * may read it. */
typedef struct {
    char     name[MPC_NAME_MAX];
    uint64_t writers;               /* bit i: client i (configured order) may upload, append, replace, delete */
    uint32_t n_readers;
    uint8_t  readers[MPCD_DS_MAX_READERS][32];   /* program hashes (or circuit hashes) that may read it */
    mpcd_dp_budget dp;              /* dp_budget, dp_period in the section (eps 0: none) */
    uint32_t line;
    char     writers_raw[MPCD_ENDPOINT_MAX];
} mpcd_dataset_conf;

typedef struct {
    char     path[MPCD_PATH_MAX];   /* the file read, for messages */

    /* [mpcd] */
    int64_t  role;
    char     name[MPC_NAME_MAX];
    char     parties_raw[MPCD_ENDPOINT_MAX];
    char     peer_endpoint[MPCD_ENDPOINT_MAX];
    char     client_endpoint[MPCD_ENDPOINT_MAX];
    char     public_key_file[MPCD_PATH_MAX];
    char     secret_key_file[MPCD_PATH_MAX];
    int64_t  log_level;
    int64_t  preprocessing;
    int64_t  security;              /* mpcd_security; read once at start */
    char     dealer_endpoint[MPCD_ENDPOINT_MAX];
    char     dealer_public_key[MPCD_Z85_KEY_LEN + 1];
    char     dealer_direct_endpoint[MPCD_ENDPOINT_MAX];   /* the dealer's lane listener ("" none) */
    int64_t  pool_triples;
    int64_t  pool_chunk;
    int64_t  log_repeat_ms;
    int64_t  log_format;            /* mpcd_log_format */
    char     metrics_endpoint[MPCD_ENDPOINT_MAX];   /* "HOST:PORT" of the HTTP metrics, or "" */
    char     state_dir[MPCD_PATH_MAX];        /* "" or the directory of the audit log */
    char     audit_key_file[MPCD_PATH_MAX];   /* this party's Ed25519 audit key (NAME.sign.secret) */
    char     data_key_file[MPCD_PATH_MAX];    /* the datasets' data key; "" = state_dir/data.key */
    char     contributor_token_key_file[MPCD_PATH_MAX];   /* "" = no contribution collections */

    /* [limits] */
    int64_t  max_gates;
    int64_t  max_vector;
    int64_t  max_total_elements;
    int64_t  max_message_bytes;
    int64_t  max_queued_jobs;
    int64_t  max_jobs_per_client;
    int64_t  max_job_bytes;
    int64_t  job_timeout_ms;
    int64_t  max_running_jobs;
    int64_t  peer_timeout_ms;
    int64_t  input_timeout_ms;
    int64_t  heartbeat_ms;
    int64_t  result_ttl_s;
    int64_t  client_handshake_ms;
    int64_t  max_client_connections;
    int64_t  max_result_wait_ms;
    int64_t  max_held_results;
    int64_t  max_held_results_per_client;
    int64_t  max_requests_in_flight;
    int64_t  contrib_window_ms;     /* contribution collections (docs/contributions.md) */
    int64_t  contrib_max_count;
    int64_t  contrib_max_pending;
    int64_t  contrib_batch_ms;
    int64_t  contrib_pending_ms;

    /* [policy] */
    int      allow_any_program;
    int      strict;                /* refuse circuits the compiler gave overflow warnings for */
    int64_t  min_rows;              /* the party's default release rule (mpcd_release) */
    int64_t  min_contributors;
    mpcd_dp_budget dp;              /* the party's default privacy budget per program (eps 0: none) */

    /* Resolved. */
    uint32_t        n_parties;
    uint32_t        self;                   /* index of `name` in the party order (n_parties for the dealer) */
    mpcd_party_conf parties[MPC_MAX_PARTIES];   /* in configured order; [self] has our own endpoint */
    mpcd_client_conf clients[MPCD_MAX_CLIENTS];
    uint32_t        n_clients;
    uint8_t         allowed[MPCD_MAX_ALLOWED][32];
    mpcd_release    allowed_release[MPCD_MAX_ALLOWED];   /* `allow = HASH min_rows=..` (else 0) */
    mpcd_dp_budget  allowed_dp[MPCD_MAX_ALLOWED];        /* `allow = HASH dp_budget=..` (else eps 0) */
    uint32_t        n_allowed;
    mpcd_approval   approvals[MPCD_MAX_APPROVALS];
    uint32_t        n_approvals;
    mpcd_dataset_conf datasets[MPCD_MAX_DATASETS];
    uint32_t        n_datasets;
} mpcd_config;

/* The rights of dataset name, or NULL when no [dataset NAME] section names it (then nobody
 * may write it and no program may read it). */
const mpcd_dataset_conf *mpcd_config_dataset(const mpcd_config *cfg, const char *name);

/* Reads and checks `path`.  On error returns -1 with "path:line: error: reason" (line
 * omitted when the problem is the file as a whole) in err. */
int  mpcd_config_load(const char *path, mpcd_config *cfg, char *err, size_t errlen);
/* `semi-honest`, `malicious`, or `an unknown mode` for any other value (from a peer). */
const char *mpcd_security_name(uint64_t security);
/* Reload (SIGHUP, docs/daemon.md "Reloading the configuration"): turns `next`, a file just
 * read with mpcd_config_load, into the configuration to run with in place of `running`.
 * Keys that need a restart (endpoints, the daemon's own keys and name, the party list,
 * preprocessing, security, the pool, and the limits fixed when the sockets were made) keep their running
 * value; each one that changed is reported through note(ctx, text), e.g. "`endpoint` of
 * party b changed; restart needed".  The rest (policy, clients, the other limits, logging,
 * the other parties' keys) is taken from `next`.  When the party list changed, the clients'
 * input_for/output_for are resolved again against the running list.  0, or -1 with
 * "path:line: error: reason" in err (the reload must then be refused). */
int  mpcd_config_merge(const mpcd_config *running, mpcd_config *next,
                       void (*note)(void *ctx, const char *text), void *ctx, char *err, size_t errlen);
/* Writes the Markdown reference of every key (configs/README.md). */
void mpcd_config_write_doc(FILE *f);

#endif
