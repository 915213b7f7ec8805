/* config.c — mpcd's INI configuration: one table of keys, read and checked by the shared
 * loader (protocols/inifile.c).  The table is also what `mpcd config-doc` prints as
 * configs/README.md, so the reference and the parser cannot drift apart. */
#include "config.h"

#include <sodium.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "inifile.h"
#include "transport_zmq.h"

typedef enum { S_MPCD, S_LIMITS, S_POLICY, S_PARTY, S_CLIENT, S_DATASET, S__COUNT } section_kind;

static const mpc_ini_section s_sections[S__COUNT] = {
    [S_MPCD] = {"mpcd", 0, 1},  [S_LIMITS] = {"limits", 0, 0}, [S_POLICY] = {"policy", 0, 0},
    [S_PARTY] = {"party", 1, 0}, [S_CLIENT] = {"client", 1, 0}, [S_DATASET] = {"dataset", 1, 0},
};
static const char *const s_prep_names[] = {"dealer", "ot", NULL};
static const char *const s_sec_names[] = {"semi-honest", "malicious", NULL};
static const char *const s_log_names[] = {"error", "warn", "info", "debug", NULL};
static const char *const s_log_formats[] = {"text", "json", NULL};
static const char *const s_role_names[] = {"party", "dealer", NULL};

static int s_add_hashes(mpc_ini *ini, void *base, const char *value);
static int s_metrics_endpoint(mpc_ini *ini, void *base, const char *value);
static int s_ds_readers(mpc_ini *ini, void *base, const char *value);
static int s_policy_dp_budget(mpc_ini *ini, void *base, const char *value);
static int s_ds_dp_budget(mpc_ini *ini, void *base, const char *value);
static int s_parse_eps(const char *v, double *out);
static const char *const s_dp_periods[] = {"total", "day", NULL};

#define FIELD(type, f) offsetof(type, f), sizeof(((type *)0)->f)
#define M(f) FIELD(mpcd_config, f)
/* section, key, type, field, min, max, default, required, names, parse, repeat, type_doc, help */
#define C_TEXT(sec, k, ty, f, req, dflt, help) {sec, #k, ty, M(f), 0, 0, dflt, req, NULL, NULL, 0, NULL, help}
#define C_INT(sec, k, lo, hi, dflt, help) {sec, #k, MPC_INI_INT, M(k), lo, hi, dflt, 0, NULL, NULL, 0, NULL, help}
#define C_ENUM(sec, k, names, dflt, help) {sec, #k, MPC_INI_ENUM, M(k), 0, 0, dflt, 0, names, NULL, 0, NULL, help}

static const mpc_ini_key s_rows[] = {
    C_ENUM(S_MPCD, role, s_role_names, "party",
           "`party` (a computing party) or `dealer` (the semi-trusted preprocessing dealer run by `mpcd dealer`; "
           "its `name` is not in `parties`, and it needs no client endpoint, preprocessing or policy keys)."),
    C_TEXT(S_MPCD, name, MPC_INI_NAME, name, 1, NULL,
           "This daemon's party name; must appear in `parties` (unless `role = dealer`)."),
    C_TEXT(S_MPCD, parties, MPC_INI_STR, parties_raw, 1, NULL,
           "The party order, comma-separated (2 to 16 names). A program's i-th party binds to the i-th name "
           "unless a job says otherwise. Every party but this one needs a `[party NAME]` section."),
    C_TEXT(S_MPCD, peer_endpoint, MPC_INI_ENDPOINT, peer_endpoint, 1, NULL,
           "ZeroMQ endpoint this daemon binds for its peers, e.g. `tcp://0.0.0.0:7001`."),
    C_TEXT(S_MPCD, client_endpoint, MPC_INI_ENDPOINT, client_endpoint, 0, "",
           "ZeroMQ endpoint this daemon binds for clients, e.g. `tcp://0.0.0.0:7101`; required for a party."),
    C_TEXT(S_MPCD, public_key_file, MPC_INI_PATH, public_key_file, 1, NULL,
           "File holding this daemon's CURVE public key (Z85, as written by `mpcd keygen`). Relative paths "
           "(here and below) are relative to the configuration file's directory."),
    C_TEXT(S_MPCD, secret_key_file, MPC_INI_PATH, secret_key_file, 1, NULL,
           "File holding this daemon's CURVE secret key; must not be readable by group or others."),
    C_ENUM(S_MPCD, log_level, s_log_names, "info",
           "Least severe level logged to stderr: `error`, `warn`, `info` or `debug`. No level ever logs a secret."),
    C_INT(S_MPCD, log_repeat_ms, 0, 3600000, "10000",
          "A warning or error identical to one logged less than this many milliseconds ago is counted, not "
          "written; the count follows as one line \"... repeated N times\". 0 writes every line."),
    C_ENUM(S_MPCD, log_format, s_log_formats, "text",
           "`text`: one line per event, `TIME LEVEL party=NAME job=ID message`. `json`: one JSON object per "
           "line, `{\"ts\":...,\"level\":...,\"party\":...,\"job\":...,\"msg\":...}` (job is null for daemon-wide events). "
           "Either way, when stderr is the journal (systemd's JOURNAL_STREAM names it) each line starts with its "
           "syslog priority, `<3>` to `<7>` (docs/daemon.md, \"Running as a service\")."),
    {S_MPCD, "metrics_endpoint", MPC_INI_CUSTOM, 0, 0, 0, 0, "", 0, NULL, s_metrics_endpoint, 0, "HOST:PORT",
           "`HOST:PORT` (a numeric address: `127.0.0.1:9464`, `[::1]:9464`) where the daemon serves its metrics "
           "(`GET /metrics`, Prometheus text format) and health (`GET /healthz`) over plain HTTP; empty (the "
           "default) serves nothing. Port 0 picks a free port, which the log names. Use a local or otherwise "
           "private address: the numbers are not secret, but nothing authenticates the scraper "
           "(docs/daemon.md, \"Metrics and health\")."},
    C_TEXT(S_MPCD, data_key_file, MPC_INI_PATH, data_key_file, 0, "",
           "File holding the data key (64 hex digits, mode 0600) under which the datasets' shares are encrypted "
           "at rest in `state_dir/datasets`; empty means `state_dir/data.key`. Made with a fresh key when the "
           "daemon starts and it does not exist. Keep a copy apart from `state_dir`: without it the stored "
           "datasets cannot be read (docs/datasets.md, \"Keys\")."),
    C_TEXT(S_MPCD, contributor_token_key_file, MPC_INI_PATH, contributor_token_key_file, 0, "",
           "File holding the contributor token key (64 hex digits, mode 0600), the same on every daemon: "
           "contributors prove they were enrolled with tokens made from it (`mpcd contributor-token`), and "
           "each may contribute once to a collection. Empty (the default): this daemon serves no "
           "contribution collections, and refuses programs with contributor inputs (docs/contributions.md)."),
    C_TEXT(S_MPCD, state_dir, MPC_INI_PATH, state_dir, 0, "",
           "Directory of the daemon's lasting state: the audit log `audit.log` and its signed head "
           "`audit.log.head` (docs/governance.md, \"Audit log\"), and the privacy budget ledger `dp_budget.ledger` "
           "(\"Privacy budget\"). It must exist and be writable by the daemon "
           "only; with the systemd unit it is `/var/lib/mpcd/NAME`. Empty (the default): no audit log is kept, "
           "and a job under a `dp_budget` is refused."),
    C_TEXT(S_MPCD, audit_key_file, MPC_INI_PATH, audit_key_file, 0, "",
           "File holding this party's Ed25519 audit key (`NAME.sign.secret`, written by `mpcd keygen` beside the "
           "CURVE pair; mode 0600), which signs its audit records; required with `state_dir`. Give the other "
           "parties its public half (`NAME.sign.pub`) for their `audit_public_key`."),
    C_ENUM(S_MPCD, preprocessing, s_prep_names, "ot",
           "Where Beaver triples and truncation material come from: `ot` (the parties make it themselves with "
           "oblivious transfer; no trusted party; docs/preprocessing.md) or `dealer` (a semi-trusted dealer process: "
           "whoever runs it and colludes with one party learns every input). With `ot` the parties also make "
           "comparison material (edaBits, daBits, binary triples) themselves."),
    C_ENUM(S_MPCD, security, s_sec_names, "semi-honest",
           "The protocol every job of this daemon runs: `semi-honest` (parties that follow the protocol learn "
           "nothing beyond the outputs) or `malicious` (SPDZ2k: authenticated shares, material made by the parties "
           "with OT, a MAC check before any output is released, so up to n - 1 parties deviating in what they send "
           "make the job fail with \"MAC check failed\" instead of changing a result; needs `preprocessing = ot`, "
           "keeps no triple pool, runs fixed point, comparisons, SELECT and DP noise from authenticated random bits, applies release "
           "rules, and refuses at submission what it does not support yet: joins, "
           "contributor inputs and stored datasets). Every party "
           "of a job must run the same value: a job whose parties differ fails on every party, naming the party. "
           "Read once at start (docs/security.md, \"Malicious security in the daemon\")."),
    C_TEXT(S_MPCD, dealer_endpoint, MPC_INI_ENDPOINT, dealer_endpoint, 0, "",
           "The dealer's ZeroMQ endpoint; required with `preprocessing = dealer`."),
    C_TEXT(S_MPCD, dealer_public_key, MPC_INI_KEY, dealer_public_key, 0, "",
           "The dealer's CURVE public key (40 Z85 characters); required with `preprocessing = dealer`."),
    C_TEXT(S_MPCD, dealer_direct_endpoint, MPC_INI_ENDPOINT, dealer_direct_endpoint, 0, "",
           "Where the dealer listens for direct lanes, `tcp://A.B.C.D:PORT` or `ipc://PATH` (as `direct_endpoint` "
           "in `[party]`); optional. In the dealer's own configuration the dealer binds it as written; a party "
           "with `preprocessing = dealer` and a `direct_endpoint` of its own then receives its material on a lane "
           "(AES-256-GCM) instead of through ZeroMQ and CURVE (docs/daemon.md, \"Direct lanes\")."),
    C_INT(S_MPCD, pool_triples, 0, 1 << 28, "1000000",
          "With `preprocessing = ot`: Beaver triples kept in stock, made in the background between jobs by all "
          "parties together and used by jobs that involve every party (24 bytes each in memory). 0 turns the pool "
          "off. Set the same value on every party."),
    C_INT(S_MPCD, pool_chunk, 1024, 1 << 22, "32768",
          "Triples made per background step; a job that arrives waits at most one step. Same on every party."),
    C_INT(S_LIMITS, max_gates, 1, MPC_CIRC_MAX_GATES, "1000000",
          "Largest circuit accepted, in gates."),
    C_INT(S_LIMITS, max_vector, 1, (int64_t)MPC_CIRC_MAX_VECTOR, "100000000",
          "Longest vector (wire) accepted, in elements."),
    C_INT(S_LIMITS, max_total_elements, 1, (int64_t)MPC_CIRC_MAX_TOTAL, "1000000000",
          "Sum of all wire lengths of a circuit (bounds the memory a job may take: 8 bytes each)."),
    C_INT(S_LIMITS, max_message_bytes, 1024, (int64_t)1 << 40, "1073741824",
          "Largest single frame accepted from a peer or client (ZMQ_MAXMSGSIZE)."),
    C_INT(S_LIMITS, max_queued_jobs, 1, 100000, "1000",
          "Jobs that may wait in the queue; further submissions are refused."),
    C_INT(S_LIMITS, max_jobs_per_client, 1, 100000, "100",
          "Unfinished jobs (queued, waiting for inputs or running) one client may have here; its further "
          "submissions are refused, so one client cannot fill `max_queued_jobs` for everyone."),
    C_INT(S_LIMITS, max_job_bytes, 1024, (int64_t)1 << 40, "67108864",
          "Memory one job may hold, checked at submission: the sum of the lengths of all the circuit's wires "
          "(inputs, every gate's result and the outputs) times 8 bytes. The default (64 MiB) admits "
          "examples/joint_stats.mpc at N = 10^6 (3.0 million elements, 23 MiB) and refuses, e.g., an `int[1]` "
          "input doubled 22 times with `concat` (12.6 million elements, 96 MiB)."),
    C_INT(S_LIMITS, job_timeout_ms, 100, 86400000, "600000",
          "Longest a job may run once started, in milliseconds."),
    C_INT(S_LIMITS, max_running_jobs, 1, 64, "4",
          "Jobs (and pool chunks) this daemon runs at once over its peer mesh, each on a job thread of its "
          "own; a RUN that finds every slot busy waits for one, in the sequencer's order (docs/daemon.md, "
          "\"Processes and threads\"). Changing it needs a restart."),
    C_INT(S_LIMITS, peer_timeout_ms, 100, 3600000, "10000",
          "Longest wait for any single message from a peer, in milliseconds."),
    C_INT(S_LIMITS, input_timeout_ms, 100, 86400000, "300000",
          "Longest a job may wait, counted from its submission here, for its inputs and its turn: a job not "
          "ready on every party of it by then fails (naming the missing input, or the party not ready) and is "
          "wiped, also on a daemon whose submission the sequencer never saw. A job ready on every party is "
          "never expired while it waits for its turn (docs/daemon.md, \"Job ordering\")."),
    C_INT(S_LIMITS, heartbeat_ms, 50, 60000, "1000",
          "ZeroMQ heartbeat interval on peer connections; a peer silent for 3 intervals is dead."),
    C_INT(S_LIMITS, result_ttl_s, 1, 31536000, "3600",
          "Seconds an output share waits for its recipient before it is wiped."),
    C_INT(S_LIMITS, client_handshake_ms, 100, 600000, "5000",
          "Longest a connection to the client endpoint may take to finish its CURVE handshake, in "
          "milliseconds (ZMQ_HANDSHAKE_IVL); an unfinished one is closed then. Bounds how long a half-open "
          "connection holds a file descriptor (docs/daemon.md, \"Client endpoint\")."),
    C_INT(S_LIMITS, max_client_connections, 1, 1000000, "1000",
          "Connections to the client endpoint open at a time, finished handshakes or not. At the bound the "
          "daemon closes its listening socket (no new connection is accepted; the open ones stay) and opens it "
          "again when a quarter of the room is free. Lowered at run time to fit the open files limit, with 64 "
          "descriptors to spare."),
    C_INT(S_LIMITS, max_result_wait_ms, 0, 3600000, "60000",
          "Longest a RESULT request is held waiting for its output, in milliseconds; a client asking "
          "for a longer wait is answered \"not ready\" after this and asks again."),
    C_INT(S_LIMITS, max_held_results, 1, 100000, "1024",
          "RESULT requests held waiting for their outputs, all clients together; beyond this they are "
          "answered \"not ready\" at once."),
    C_INT(S_LIMITS, max_held_results_per_client, 1, 100000, "32",
          "RESULT requests of one client held at a time; beyond this its oldest is answered \"not ready\"."),
    C_INT(S_LIMITS, contrib_window_ms, 100, 86400000, "60000",
          "How long a contribution collection stays open, in milliseconds from the job's submission here "
          "(unless it reaches its count first); then the daemons agree on what they hold and run the job. "
          "A submitter may ask for less (`mpc submit --window-ms`), never more. Keep it below "
          "`input_timeout_ms`. The first party of the job decides when it closes."),
    C_INT(S_LIMITS, contrib_max_count, 1, 16777216, "1000000",
          "Contributions one collection includes at most; it closes when it has them. A submitter may ask "
          "for fewer (`mpc submit --max-count`), never more."),
    C_INT(S_LIMITS, contrib_max_pending, 1, 1048576, "1024",
          "Contributions one collection holds while the daemons have not yet agreed on them (each 8 bytes "
          "per element); beyond this a contribution is refused with \"retry\" (`MPC_ERR_LIMIT`). Bounds a "
          "collection's memory with the running sums (docs/contributions.md, \"Memory bound\")."),
    C_INT(S_LIMITS, contrib_batch_ms, 10, 60000, "200",
          "How often the first party of a collecting job proposes a batch of what it holds to the others, "
          "in milliseconds (sooner when 256 are pending)."),
    C_INT(S_LIMITS, contrib_pending_ms, 100, 3600000, "10000",
          "A contribution not held by every daemon of the job this long (its contributor stopped midway) "
          "is dropped, in milliseconds; its contributor may not contribute again to that collection."),
    C_INT(S_LIMITS, max_requests_in_flight, 1, 100000, "64",
          "Requests of one client (by its configured name, over all its connections) in flight here: held "
          "(a RESULT waiting for its output) or being served. A request beyond this is answered at once with "
          "an error naming this limit, until one of the client's held requests is answered. With "
          "`max_held_results_per_client` below this, a client's held RESULTs make room for new ones instead "
          "(its oldest is answered \"not ready\"), so this bound is reached only when it is the lower one."),

    {S_POLICY, "allow_any_program", MPC_INI_BOOL, M(allow_any_program), 0, 0, "false", 0, NULL, NULL, 0, NULL,
     "Run any program a permitted client submits (development only). When false, only circuits whose hash "
     "is listed in `allow` run."},
    {S_POLICY, "strict", MPC_INI_BOOL, M(strict), 0, 0, "false", 0, NULL, NULL, 0, NULL,
     "Refuse a circuit whose compiler recorded overflow warnings (a fix product or comparison of "
     "inputs without a declared range `in LO..HI`, or ranges that allow an overflow; see "
     "circuits/LANGUAGE.md), and a format-1 circuit, which does not record them. The count "
     "comes from the submitter's compiler: a safety net against mistakes, not a security check."},
    C_INT(S_POLICY, min_rows, 0, MPCD_RELEASE_MAX, "0",
          "Release rule: an output element is released only when at least this many input rows went into "
          "it (a sum or mean over N rows: N; a `count` or a `histogram` bin: the count itself, compared "
          "inside MPC; an element-wise output: 1); a failing element is withheld and its client told why. "
          "An `allow` line may ask more for its program (`min_rows=10`). Per job the strictest rule of all "
          "its parties applies on every party (docs/governance.md, \"Release rules\"). 0: no rule."),
    C_INT(S_POLICY, min_contributors, 0, MPCD_RELEASE_MAX, "0",
          "Release rule: a job's outputs are all withheld unless at least this many distinct clients gave "
          "its inputs (counted over all its parties by client key; a contribution collection counts its valid "
          "contributions, docs/governance.md). An `allow` line may ask more "
          "(`min_contributors=2`); the strictest of all parties applies. 0: no rule."),
    {S_POLICY, "dp_budget", MPC_INI_CUSTOM, 0, 0, 0, 0, "", 0, NULL, s_policy_dp_budget, 0, "number > 0",
     "Privacy budget: the total ε that the jobs of one approved program may spend on this party per "
     "`dp_period`, for every program approval without its own `dp_budget=` (and every listed circuit hash). "
     "A job spends the sum of ε over its DP outputs (`dp_sum`, `dp_mean`, `dp_count`, `dp_histogram`; basic "
     "sequential composition); a job that would exceed what is left is refused at admission, and a job "
     "under a budget with an output that is not DP is refused, naming the output. Not set (the default): "
     "no budget, programs spend without limit. The spend is kept in `state_dir/dp_budget.ledger` (needs "
     "`state_dir`; docs/governance.md, \"Privacy budget\")."},
    {S_POLICY, "dp_period", MPC_INI_ENUM, M(dp.period), 0, 0, "total", 0, s_dp_periods, NULL, 0, NULL,
     "The period of the default `dp_budget`: `total` (over the ledger's whole life) or `day` (spent ε "
     "returns at midnight UTC)."},
    {S_POLICY, "allow", MPC_INI_CUSTOM, 0, 0, 0, 0, "", 0, NULL, s_add_hashes, 1, "list of hashes, or an approval",
     "What the operator approves; the key may be repeated. Either circuit hashes (64 hex digits, as printed by "
     "`mpcc --stats`), comma-separated: exactly those circuits, under any binding of their parties to the "
     "daemons. Or one program approval, `allow = PROGRAM-HASH N=1..10000000 K=3 parties=a,b,c`, as printed by "
     "`mpcc --approve`: the program whatever its param values within the constraints (NAME=LO..HI of "
     "integers, or NAME=VALUE; a circuit stating a param the line does not constrain is refused), with "
     "program party i bound to the i-th party of `parties=` (one line per admitted binding). Either form "
     "may end with release rules for what it admits, `min_rows=10 min_contributors=2`, and with a privacy "
     "budget, `dp_budget=3 dp_period=day` (see `dp_budget`; one circuit hash per line then); the stricter of these and the party's own `min_rows`, `min_contributors` applies. The daemon "
     "recompiles the program a circuit carries to check it (docs/daemon.md, \"Approving a program\"). "
     "Recommended over circuit hashes."},

    {S_DATASET, "writers", MPC_INI_STR, FIELD(mpcd_dataset_conf, writers_raw), 0, 0, "", 0, NULL, NULL, 0, NULL,
     "In `[dataset NAME]`: the clients (comma-separated) that may upload the dataset NAME, append to it, "
     "replace it and delete it (`mpc upload`, `mpc delete`); each also needs `input_for` the dataset's owner "
     "party. Without a `[dataset NAME]` section nobody may write NAME (docs/datasets.md, \"Rights\")."},
    {S_DATASET, "readers", MPC_INI_CUSTOM, 0, 0, 0, 0, "", 0, NULL, s_ds_readers, 1, "list of hashes",
     "In `[dataset NAME]`: the programs that may read the dataset, by program hash (as `mpcc --approve` "
     "prints it) or circuit hash, comma-separated; the key may be repeated. A job whose program reads NAME "
     "(`from PARTY dataset \"NAME\"`) is refused unless its program is listed here, and it must also be "
     "admitted by `allow`."},
    {S_DATASET, "dp_budget", MPC_INI_CUSTOM, 0, 0, 0, 0, "", 0, NULL, s_ds_dp_budget, 0, "number > 0",
     "In `[dataset NAME]`: the total ε the jobs reading the dataset may spend per `dp_period`, whatever "
     "their program (each job is charged its full spend here, besides its program's budget). Not set: no "
     "budget on the dataset (docs/governance.md, \"Privacy budget\")."},
    {S_DATASET, "dp_period", MPC_INI_ENUM, FIELD(mpcd_dataset_conf, dp.period), 0, 0, "total", 0, s_dp_periods,
     NULL, 0, NULL, "In `[dataset NAME]`: the period of its `dp_budget`, `total` or `day` (midnight UTC)."},

    {S_PARTY, "endpoint", MPC_INI_ENDPOINT, FIELD(mpcd_party_conf, endpoint), 0, 0, NULL, 1, NULL, NULL, 0, NULL,
     "In `[party NAME]`: the peer endpoint that party's daemon binds, e.g. `tcp://10.0.0.2:7001`."},
    {S_PARTY, "direct_endpoint", MPC_INI_ENDPOINT, FIELD(mpcd_party_conf, direct_endpoint), 0, 0, "", 0, NULL, NULL,
     0, NULL,
     "In `[party NAME]`: where that party's daemon listens for direct lanes, `tcp://A.B.C.D:PORT` (an IPv4 "
     "address and a port other than its peer port) or `ipc://PATH`; optional but recommended. Two parties that "
     "both have one send all their messages on a lane of their own, encrypted with AES-256-GCM by the daemons' "
     "own threads, instead of through ZeroMQ and CURVE (lower round latency, and about a fifth less CPU per OT "
     "triple); everything between parties without lanes takes ZeroMQ (the dealer's lane: "
     "`dealer_direct_endpoint`). Give every party the same `[party]` sections. This daemon binds its own `direct_endpoint` as written (docs/transport.md, "
     "\"Direct lanes\"; docs/deploy.md for the second port)."},
    {S_PARTY, "public_key", MPC_INI_KEY, FIELD(mpcd_party_conf, public_key), 0, 0, NULL, 1, NULL, NULL, 0, NULL,
     "In `[party NAME]`: that daemon's CURVE public key (40 Z85 characters). Only listed keys may connect as peers."},
    {S_PARTY, "next_public_key", MPC_INI_KEY, FIELD(mpcd_party_conf, next_public_key), 0, 0, "", 0, NULL, NULL, 0, NULL,
     "In `[party NAME]`: a second key of that daemon, admitted as well during a key rotation; this daemon also "
     "connects to it with either key, whichever it holds. Applied by a reload (SIGHUP). See docs/daemon.md, "
     "\"Rotating a key\"."},

    {S_PARTY, "audit_public_key", MPC_INI_KEY, FIELD(mpcd_party_conf, audit_public_key), 0, 0, "", 0, NULL, NULL, 0,
     NULL,
     "In `[party NAME]`: that party's Ed25519 audit public key (the 40 Z85 characters of its `NAME.sign.pub`), "
     "with which `mpcd audit verify` checks its co-signatures of the jobs in this party's audit log."},

    {S_CLIENT, "public_key", MPC_INI_KEY, FIELD(mpcd_client_conf, public_key), 0, 0, NULL, 1, NULL, NULL, 0, NULL,
     "In `[client NAME]`: the client's CURVE public key. Only listed clients may connect."},
    {S_CLIENT, "next_public_key", MPC_INI_KEY, FIELD(mpcd_client_conf, next_public_key), 0, 0, "", 0, NULL, NULL, 0,
     NULL, "In `[client NAME]`: a second key the client may connect with, with the same rights, during a key "
     "rotation (docs/daemon.md, \"Rotating a key\")."},
    {S_CLIENT, "input_for", MPC_INI_STR, FIELD(mpcd_client_conf, input_for_raw), 0, 0, "", 0, NULL, NULL, 0, NULL,
     "In `[client NAME]`: parties (comma-separated, or `*`) on whose behalf the client may give inputs."},
    {S_CLIENT, "output_for", MPC_INI_STR, FIELD(mpcd_client_conf, output_for_raw), 0, 0, "", 0, NULL, NULL, 0, NULL,
     "In `[client NAME]`: parties (comma-separated, or `*`) whose outputs the client may receive."},
    {S_CLIENT, "submit", MPC_INI_BOOL, FIELD(mpcd_client_conf, may_submit), 0, 0, "false", 0, NULL, NULL, 0, NULL,
     "In `[client NAME]`: whether the client may submit programs."},
    {S_CLIENT, "contribute", MPC_INI_BOOL, FIELD(mpcd_client_conf, may_contribute), 0, 0, "false", 0, NULL, NULL, 0,
     NULL, "In `[client NAME]`: whether the client may send contributions to collections (`mpc contribute`): "
     "the one key all contributors share; each contribution carries its contributor's token "
     "(docs/contributions.md, \"Keys, rights and deduplication\")."},
    {S_CLIENT, "cancel", MPC_INI_BOOL, FIELD(mpcd_client_conf, may_cancel), 0, 0, "false", 0, NULL, NULL, 0, NULL,
     "In `[client NAME]`: whether the client may cancel jobs other clients submitted (`mpc cancel`; "
     "a submitter may always cancel its own jobs). See docs/daemon.md, \"Cancelling a job\"."},
};
#define N_ROWS (sizeof s_rows / sizeof s_rows[0])

typedef struct {
    mpcd_config    *cfg;
    mpcd_party_conf party_tmp[MPC_MAX_PARTIES];   /* [party NAME] sections in file order */
    uint32_t        n_party_tmp;
} load_ctx;

static void *s_open(mpc_ini *ini, int section, const char *name, uint32_t line, void *user)
{
    load_ctx *lc = user;
    mpcd_config *cfg = lc->cfg;
    switch ((section_kind)section) {
    case S_MPCD:
    case S_LIMITS:
    case S_POLICY:
        return cfg;
    case S_PARTY: {
        if (lc->n_party_tmp >= MPC_MAX_PARTIES)
            return mpc_ini_error(ini, line, "more than %d [party] sections", MPC_MAX_PARTIES), NULL;
        mpcd_party_conf *p = &lc->party_tmp[lc->n_party_tmp++];
        memset(p, 0, sizeof *p);
        snprintf(p->name, sizeof p->name, "%s", name);
        p->line = line;
        return p;
    }
    case S_CLIENT: {
        if (cfg->n_clients >= MPCD_MAX_CLIENTS)
            return mpc_ini_error(ini, line, "more than %d [client] sections", MPCD_MAX_CLIENTS), NULL;
        mpcd_client_conf *c = &cfg->clients[cfg->n_clients++];
        memset(c, 0, sizeof *c);
        snprintf(c->name, sizeof c->name, "%s", name);
        c->line = line;
        return c;
    }
    case S_DATASET: {
        if (cfg->n_datasets >= MPCD_MAX_DATASETS)
            return mpc_ini_error(ini, line, "more than %d [dataset] sections", MPCD_MAX_DATASETS), NULL;
        mpcd_dataset_conf *d = &cfg->datasets[cfg->n_datasets++];
        memset(d, 0, sizeof *d);
        snprintf(d->name, sizeof d->name, "%s", name);
        d->line = line;
        return d;
    }
    case S__COUNT:
        break;
    }
    return NULL;
}

static const mpc_ini_schema s_schema = {s_sections, S__COUNT, s_rows, N_ROWS, s_open, NULL};

static int s_hexval(char ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

/* Splits a comma/blank separated list; calls fn for each item.  0, or -1 after an error. */
typedef int (*item_fn)(mpc_ini *ini, mpcd_config *cfg, const char *item, void *ctx);
static int s_each_item(mpc_ini *ini, mpcd_config *cfg, const char *list, item_fn fn, void *ctx)
{
    char buf[4096];
    if (strlen(list) >= sizeof buf) return mpc_ini_error(ini, mpc_ini_line(ini), "list too long"), -1;
    strcpy(buf, list);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save))
        if (fn(ini, cfg, tok, ctx) != 0) return -1;
    return 0;
}

static int s_add_hash(mpc_ini *ini, mpcd_config *cfg, const char *item, void *ctx)
{
    (void)ctx;
    uint32_t line = mpc_ini_line(ini);
    if (strlen(item) != 64)
        return mpc_ini_error(ini, line, "allow: '%.70s' is not a 64-digit hex circuit hash", item), -1;
    if (cfg->n_allowed >= MPCD_MAX_ALLOWED) return mpc_ini_error(ini, line, "allow: more than %d hashes", MPCD_MAX_ALLOWED), -1;
    for (int i = 0; i < 32; i++) {
        int hi = s_hexval(item[2 * i]), lo = s_hexval(item[2 * i + 1]);
        if (hi < 0 || lo < 0) return mpc_ini_error(ini, line, "allow: '%.70s' is not a 64-digit hex circuit hash", item), -1;
        cfg->allowed[cfg->n_allowed][i] = (uint8_t)(hi << 4 | lo);
    }
    cfg->n_allowed++;
    return 0;
}

/* One item of a program approval after the hash: parties=a,b,c or NAME=CONSTRAINT. */
static int s_approval_item(mpc_ini *ini, mpcd_approval *a, const char *item)
{
    uint32_t line = a->line;
    char why[160];
    const char *eq = strchr(item, '=');
    if (!eq || eq == item || (size_t)(eq - item) >= MPC_NAME_MAX || !mpc_name_ok(item, (size_t)(eq - item)))
        return mpc_ini_error(ini, line, "allow: '%.70s' is not NAME=LO..HI, NAME=VALUE or parties=a,b,...", item), -1;
    size_t nl = (size_t)(eq - item);
    if ((nl == 8 && !strncmp(item, "min_rows", 8)) || (nl == 16 && !strncmp(item, "min_contributors", 16))) {
        uint64_t *dst = nl == 8 ? &a->release.min_rows : &a->release.min_contributors;
        char *end = NULL;
        unsigned long long v = eq[1] >= '0' && eq[1] <= '9' ? strtoull(eq + 1, &end, 10) : 0;
        if (!end || *end || v > MPCD_RELEASE_MAX)
            return mpc_ini_error(ini, line, "allow: '%.70s': expected an integer 0..%d", item, MPCD_RELEASE_MAX), -1;
        if (a->has_release & (nl == 8 ? 1u : 2u))
            return mpc_ini_error(ini, line, "allow: %.*s= is given twice", (int)nl, item), -1;
        *dst = v;
        a->has_release |= nl == 8 ? 1 : 2;
        return 0;
    }
    if (nl == 9 && !strncmp(item, "dp_budget", 9)) {
        if (a->dp.eps > 0) return mpc_ini_error(ini, line, "allow: dp_budget= is given twice"), -1;
        if (s_parse_eps(eq + 1, &a->dp.eps) != 0)
            return mpc_ini_error(ini, line, "allow: '%.70s': expected a number in (0, %g]", item,
                                 MPCD_DP_BUDGET_MAX), -1;
        return 0;
    }
    if (nl == 9 && !strncmp(item, "dp_period", 9)) {
        if (a->has_release & 4u) return mpc_ini_error(ini, line, "allow: dp_period= is given twice"), -1;
        if (!strcmp(eq + 1, "day")) a->dp.period = MPCD_DP_PERIOD_DAY;
        else if (!strcmp(eq + 1, "total")) a->dp.period = MPCD_DP_PERIOD_TOTAL;
        else return mpc_ini_error(ini, line, "allow: '%.70s': expected dp_period=day or dp_period=total", item), -1;
        a->has_release |= 4u;
        return 0;
    }
    if (nl == 7 && !strncmp(item, "parties", 7)) {
        if (a->n_parties) return mpc_ini_error(ini, line, "allow: parties= is given twice"), -1;
        const char *p = eq + 1;
        for (;;) {
            size_t l = strcspn(p, ",");
            if (a->n_parties >= MPC_MAX_PARTIES || l == 0 || l >= MPC_NAME_MAX || !mpc_name_ok(p, l))
                return mpc_ini_error(ini, line, "allow: '%.70s' is not parties=NAME,NAME,... (at most %d)", item,
                                     MPC_MAX_PARTIES), -1;
            memcpy(a->parties[a->n_parties], p, l);
            a->parties[a->n_parties][l] = 0;
            for (uint32_t j = 0; j < a->n_parties; j++)
                if (!strcmp(a->parties[j], a->parties[a->n_parties]))
                    return mpc_ini_error(ini, line, "allow: parties= names '%s' twice", a->parties[j]), -1;
            a->n_parties++;
            if (!p[l]) return 0;
            p += l + 1;
        }
    }
    if (a->n_params >= MPCD_APPROVAL_MAX_PARAMS)
        return mpc_ini_error(ini, line, "allow: more than %d params", MPCD_APPROVAL_MAX_PARAMS), -1;
    char *name = a->param_names[a->n_params];
    memcpy(name, item, (size_t)(eq - item));
    name[eq - item] = 0;
    for (uint32_t j = 0; j < a->n_params; j++)
        if (!strcmp(a->param_names[j], name))
            return mpc_ini_error(ini, line, "allow: param '%s' is constrained twice", name), -1;
    if (mpc_param_constraint_parse(eq + 1, &a->params[a->n_params], why, sizeof why) != 0)
        return mpc_ini_error(ini, line, "allow: param '%s': %s", name, why), -1;
    a->n_params++;
    return 0;
}

/* allow = PROGRAM-HASH NAME=.. ... parties=a,b,c (items separated by blanks). */
static int s_add_approval(mpc_ini *ini, mpcd_config *cfg, const char *value)
{
    uint32_t line = mpc_ini_line(ini);
    char buf[4096];
    if (strlen(value) >= sizeof buf) return mpc_ini_error(ini, line, "allow: line too long"), -1;
    if (cfg->n_approvals >= MPCD_MAX_APPROVALS)
        return mpc_ini_error(ini, line, "allow: more than %d program approvals", MPCD_MAX_APPROVALS), -1;
    strcpy(buf, value);
    mpcd_approval *a = &cfg->approvals[cfg->n_approvals];
    memset(a, 0, sizeof *a);
    a->line = line;
    char *save = NULL;
    char *tok = strtok_r(buf, " \t", &save);
    if (!tok || strlen(tok) != 64 || sodium_hex2bin(a->hash, sizeof a->hash, tok, 64, NULL, NULL, NULL) != 0)
        return mpc_ini_error(ini, line, "allow: a program approval starts with the 64-digit hex program hash "
                             "(`mpcc --approve`), not '%.70s'", tok ? tok : ""), -1;
    while ((tok = strtok_r(NULL, " \t", &save)) != NULL)
        if (s_approval_item(ini, a, tok) != 0) return -1;
    if ((a->has_release & 4u) && !(a->dp.eps > 0))
        return mpc_ini_error(ini, line, "allow: dp_period= without dp_budget="), -1;
    if (!a->n_parties && !a->n_params && (a->has_release || a->dp.eps > 0)) {
        /* `allow = CIRCUIT-HASH min_rows=..`: one circuit hash with its release rule. */
        if (cfg->n_allowed >= MPCD_MAX_ALLOWED)
            return mpc_ini_error(ini, line, "allow: more than %d hashes", MPCD_MAX_ALLOWED), -1;
        memcpy(cfg->allowed[cfg->n_allowed], a->hash, 32);
        cfg->allowed_dp[cfg->n_allowed] = a->dp;
        cfg->allowed_release[cfg->n_allowed++] = a->release;
        memset(a, 0, sizeof *a);
        return 0;
    }
    if (!a->n_parties)
        return mpc_ini_error(ini, line, "allow: a program approval needs parties=a,b,... (the configured party "
                             "each program party may be bound to)"), -1;
    cfg->n_approvals++;
    return 0;
}

/* ε of a privacy budget: a finite number in (0, MPCD_DP_BUDGET_MAX]. */
static int s_parse_eps(const char *v, double *out)
{
    char *end = NULL;
    double d = strtod(v, &end);
    if (end == v || *end || !(d > 0) || d > MPCD_DP_BUDGET_MAX) return -1;
    *out = d;
    return 0;
}

static int s_policy_dp_budget(mpc_ini *ini, void *base, const char *value)
{
    mpcd_config *cfg = base;
    if (s_parse_eps(value, &cfg->dp.eps) != 0)
        return mpc_ini_error(ini, mpc_ini_line(ini), "dp_budget: '%.40s' is not a number in (0, %g]", value,
                             MPCD_DP_BUDGET_MAX), -1;
    return 0;
}

static int s_ds_dp_budget(mpc_ini *ini, void *base, const char *value)
{
    mpcd_dataset_conf *d = base;
    if (s_parse_eps(value, &d->dp.eps) != 0)
        return mpc_ini_error(ini, mpc_ini_line(ini), "dp_budget: '%.40s' is not a number in (0, %g]", value,
                             MPCD_DP_BUDGET_MAX), -1;
    return 0;
}

static int s_add_hashes(mpc_ini *ini, void *base, const char *value)
{
    if (strchr(value, '=')) return s_add_approval(ini, base, value);
    return s_each_item(ini, base, value, s_add_hash, NULL);
}

static int s_ds_readers(mpc_ini *ini, void *base, const char *value)
{
    mpcd_dataset_conf *d = base;
    uint32_t line = mpc_ini_line(ini);
    char buf[4096];
    if (strlen(value) >= sizeof buf) return mpc_ini_error(ini, line, "readers: list too long"), -1;
    strcpy(buf, value);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
        if (d->n_readers >= MPCD_DS_MAX_READERS)
            return mpc_ini_error(ini, line, "readers: more than %d hashes", MPCD_DS_MAX_READERS), -1;
        int ok = strlen(tok) == 64;
        for (int i = 0; ok && i < 32; i++) {
            int hi = s_hexval(tok[2 * i]), lo = s_hexval(tok[2 * i + 1]);
            if (hi < 0 || lo < 0) ok = 0;
            else d->readers[d->n_readers][i] = (uint8_t)(hi << 4 | lo);
        }
        if (!ok) return mpc_ini_error(ini, line, "readers: '%.70s' is not a 64-digit hex program hash", tok), -1;
        d->n_readers++;
    }
    return 0;
}

const mpcd_dataset_conf *mpcd_config_dataset(const mpcd_config *cfg, const char *name)
{
    for (uint32_t i = 0; i < cfg->n_datasets; i++)
        if (!strcmp(cfg->datasets[i].name, name)) return &cfg->datasets[i];
    return NULL;
}

static int s_metrics_endpoint(mpc_ini *ini, void *base, const char *value)
{
    mpcd_config *cfg = base;
    struct sockaddr_storage sa;
    socklen_t salen;
    char why[256];
    if (value[0] && mpcd_http_parse_address(value, &sa, &salen, why, sizeof why) != 0)
        return mpc_ini_error(ini, mpc_ini_line(ini), "metrics_endpoint: %s", why), -1;
    snprintf(cfg->metrics_endpoint, sizeof cfg->metrics_endpoint, "%s", value);
    return 0;
}

static int s_party_index(const mpcd_config *cfg, const char *name)
{
    for (uint32_t i = 0; i < cfg->n_parties; i++)
        if (!strcmp(cfg->parties[i].name, name)) return (int)i;
    return -1;
}

static int s_add_party(mpc_ini *ini, mpcd_config *cfg, const char *item, void *ctx)
{
    (void)ctx;
    if (!mpc_name_ok_str(item)) return mpc_ini_error(ini, 0, "parties: '%.40s' is not a valid name", item), -1;
    if (s_party_index(cfg, item) >= 0) return mpc_ini_error(ini, 0, "parties: '%s' is listed twice", item), -1;
    if (cfg->n_parties >= MPC_MAX_PARTIES) return mpc_ini_error(ini, 0, "parties: more than %d parties", MPC_MAX_PARTIES), -1;
    strcpy(cfg->parties[cfg->n_parties++].name, item);
    return 0;
}

typedef struct { uint32_t *mask; const mpcd_client_conf *client; const char *key; } mask_ctx;

static int s_add_mask(mpc_ini *ini, mpcd_config *cfg, const char *item, void *vctx)
{
    mask_ctx *ctx = vctx;
    if (!strcmp(item, "*")) {
        *ctx->mask = (cfg->n_parties >= 32) ? UINT32_MAX : ((1u << cfg->n_parties) - 1);
        return 0;
    }
    int i = s_party_index(cfg, item);
    if (i < 0)
        return mpc_ini_error(ini, ctx->client->line, "[client %s] %s names '%.40s', which is not in parties",
                             ctx->client->name, ctx->key, item), -1;
    *ctx->mask |= 1u << i;
    return 0;
}

/* No two keys of the [party] sections (but this daemon's own) are the same, nor two of the
 * [client] sections: a key names one identity of its endpoint.  0, or -1 after an error. */
typedef struct { const char *key, *sect, *name, *field; uint32_t line; } key_use;

static int s_keys_distinct(mpc_ini *ini, const mpcd_config *cfg)
{
    key_use *u = calloc(2 * (MPC_MAX_PARTIES + MPCD_MAX_CLIENTS), sizeof *u);
    if (!u) return mpc_ini_error(ini, 0, "out of memory"), -1;
    uint32_t n = 0;
    for (uint32_t i = 0; i < cfg->n_parties; i++) {
        const mpcd_party_conf *p = &cfg->parties[i];
        if (i == cfg->self) continue;
        u[n++] = (key_use){p->public_key, "party", p->name, "public_key", p->line};
        if (p->next_public_key[0]) u[n++] = (key_use){p->next_public_key, "party", p->name, "next_public_key", p->line};
    }
    for (uint32_t i = 0; i < cfg->n_clients; i++) {
        const mpcd_client_conf *c = &cfg->clients[i];
        u[n++] = (key_use){c->public_key, "client", c->name, "public_key", c->line};
        if (c->next_public_key[0]) u[n++] = (key_use){c->next_public_key, "client", c->name, "next_public_key", c->line};
    }
    int rc = 0;
    for (uint32_t i = 0; i < n && !rc; i++)
        for (uint32_t j = 0; j < i && !rc; j++)
            if (!strcmp(u[i].key, u[j].key) && !strcmp(u[i].sect, u[j].sect)) {
                mpc_ini_error(ini, u[i].line, "[%s %s] %s is the key of [%s %s] %s already", u[i].sect, u[i].name,
                              u[i].field, u[j].sect, u[j].name, u[j].field);
                rc = -1;
            }
    free(u);
    return rc;
}

/* What depends on the whole file: the party order, this daemon's place in it, the [party]
 * sections, the clients' permissions and the role-dependent requirements. */
static void s_resolve(mpc_ini *ini, load_ctx *lc)
{
    mpcd_config *cfg = lc->cfg;
    int dealer = cfg->role == MPCD_ROLE_DEALER;
    if (!dealer && !cfg->client_endpoint[0])
        return mpc_ini_error(ini, 0, "[mpcd] lacks the required key 'client_endpoint'");
    if (s_each_item(ini, cfg, cfg->parties_raw, s_add_party, NULL) != 0) return;
    if (cfg->n_parties < 2)
        return mpc_ini_error(ini, 0, "parties: need at least 2 parties, got %u", (unsigned)cfg->n_parties);
    int self = s_party_index(cfg, cfg->name);
    if (dealer) {
        if (self >= 0) return mpc_ini_error(ini, 0, "the dealer's name '%s' must not be one of the parties", cfg->name);
        self = (int)cfg->n_parties;
    } else if (self < 0) {
        return mpc_ini_error(ini, 0, "name '%s' is not in parties", cfg->name);
    }
    cfg->self = (uint32_t)self;
    for (uint32_t i = 0; i < lc->n_party_tmp; i++) {
        int idx = s_party_index(cfg, lc->party_tmp[i].name);
        if (idx < 0)
            return mpc_ini_error(ini, lc->party_tmp[i].line, "[party %s] is not in parties", lc->party_tmp[i].name);
        cfg->parties[idx] = lc->party_tmp[i];
    }
    for (uint32_t i = 0; i < cfg->n_parties; i++) {
        if (i == cfg->self) {
            if (!cfg->parties[i].endpoint[0]) strcpy(cfg->parties[i].endpoint, cfg->peer_endpoint);
            continue;
        }
        if (!cfg->parties[i].endpoint[0])
            return mpc_ini_error(ini, 0, "party '%s' has no [party %s] section", cfg->parties[i].name, cfg->parties[i].name);
    }
    for (uint32_t i = 0; i < cfg->n_parties; i++) {
        const mpcd_party_conf *p = &cfg->parties[i];
        if (p->direct_endpoint[0] && mpc_transport_zmq_direct_endpoint_ok(p->direct_endpoint) != 0)
            return mpc_ini_error(ini, p->line, "[party %s] direct_endpoint: '%.64s' is not tcp://A.B.C.D:PORT (IPv4, "
                                 "port 1-65535) or ipc://PATH (at most 107 bytes)", p->name, p->direct_endpoint);
        int twice = p->direct_endpoint[0] && !strcmp(p->direct_endpoint, p->endpoint);
        for (uint32_t k = 0; k < i && p->direct_endpoint[0]; k++)
            twice |= !strcmp(p->direct_endpoint, cfg->parties[k].direct_endpoint);
        if (twice)
                return mpc_ini_error(ini, p->line, "[party %s] direct_endpoint: '%.64s' is used twice", p->name,
                                     p->direct_endpoint);
    }
    if (cfg->dealer_direct_endpoint[0]) {
        const char *e = cfg->dealer_direct_endpoint;
        int twice = !strcmp(e, cfg->peer_endpoint) || !strcmp(e, cfg->dealer_endpoint);
        for (uint32_t k = 0; k < cfg->n_parties; k++)
            twice |= !strcmp(e, cfg->parties[k].direct_endpoint) || !strcmp(e, cfg->parties[k].endpoint);
        if (mpc_transport_zmq_direct_endpoint_ok(e) != 0)
            return mpc_ini_error(ini, 0, "dealer_direct_endpoint: '%.64s' is not tcp://A.B.C.D:PORT (IPv4, port "
                                 "1-65535) or ipc://PATH (at most 107 bytes)", e);
        if (twice) return mpc_ini_error(ini, 0, "dealer_direct_endpoint: '%.64s' is used twice", e);
    }
    for (uint32_t i = 0; i < cfg->n_clients; i++) {
        mpcd_client_conf *c = &cfg->clients[i];
        mask_ctx in = {&c->input_for, c, "input_for"}, out = {&c->output_for, c, "output_for"};
        if (s_each_item(ini, cfg, c->input_for_raw, s_add_mask, &in) != 0) return;
        if (s_each_item(ini, cfg, c->output_for_raw, s_add_mask, &out) != 0) return;
    }
    for (uint32_t i = 0; i < cfg->n_datasets; i++) {
        mpcd_dataset_conf *d = &cfg->datasets[i];
        char buf[MPCD_ENDPOINT_MAX], *save = NULL;
        snprintf(buf, sizeof buf, "%s", d->writers_raw);
        for (char *tok = strtok_r(buf, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
            uint32_t k = 0;
            while (k < cfg->n_clients && strcmp(cfg->clients[k].name, tok) != 0) k++;
            if (k == cfg->n_clients)
                return mpc_ini_error(ini, d->line, "[dataset %s] writers: '%s' is not a [client] section", d->name, tok);
            d->writers |= 1ull << k;
        }
    }
    if (s_keys_distinct(ini, cfg) != 0) return;
    for (uint32_t i = 0; i < cfg->n_approvals; i++)
        for (uint32_t k = 0; k < cfg->approvals[i].n_parties; k++)
            if (s_party_index(cfg, cfg->approvals[i].parties[k]) < 0)
                return mpc_ini_error(ini, cfg->approvals[i].line, "allow: parties= names '%s', which is not in "
                                     "parties", cfg->approvals[i].parties[k]);
    if (dealer) return;
    if (cfg->preprocessing == MPCD_PREP_DEALER && (!cfg->dealer_endpoint[0] || !cfg->dealer_public_key[0]))
        return mpc_ini_error(ini, 0, "preprocessing = dealer needs dealer_endpoint and dealer_public_key");
    if (cfg->security == MPCD_SEC_MALICIOUS && cfg->preprocessing != MPCD_PREP_OT)
        return mpc_ini_error(ini, 0, "security = malicious makes its material among the parties by OT: it needs "
                                     "preprocessing = ot (a dealer would be a trusted party)");
    if (!cfg->allow_any_program && cfg->n_allowed == 0 && cfg->n_approvals == 0)
        return mpc_ini_error(ini, 0, "[policy] allows no program: set allow = HASH,... or allow_any_program = true");
    if (cfg->state_dir[0] && !cfg->audit_key_file[0])
        return mpc_ini_error(ini, 0, "state_dir keeps an audit log, which needs audit_key_file (the NAME.sign.secret "
                                     "that `mpcd keygen` writes)");
}

const char *mpcd_security_name(uint64_t security)
{
    return security <= MPCD_SEC_MALICIOUS ? s_sec_names[security] : "an unknown mode";
}

int mpcd_config_load(const char *path, mpcd_config *cfg, char *err, size_t errlen)
{
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->path, sizeof cfg->path, "%s", path);
    load_ctx *lc = calloc(1, sizeof *lc);
    mpc_ini *ini = calloc(1, sizeof *ini);
    if (!lc || !ini) {
        free(lc);
        free(ini);
        snprintf(err, errlen, "%s: error: out of memory", path);
        return -1;
    }
    lc->cfg = cfg;
    mpc_ini_schema schema = s_schema;
    schema.user = lc;
    if (mpc_ini_load(ini, path, &schema, err, errlen) == 0) s_resolve(ini, lc);
    int rc = mpc_ini_done(ini) ? -1 : 0;
    free(ini);
    free(lc);
    return rc;
}

void mpcd_config_write_doc(FILE *f)
{
    fprintf(f, "# mpcd configuration reference\n\n"
               "Generated by `mpcd config-doc` from the table in `mpcd/config.c`; a test checks that this\n"
               "file matches it. A configuration is an INI file: `[section]` headers, `key = value` lines,\n"
               "`#` or `;` comments. Unknown sections and keys, duplicate keys and sections, sections\n"
               "without keys and out-of-range values are refused at start with the file, the line and the\n"
               "reason (the loader, `protocols/inifile.c`, is the client configuration's too). Names (of\n"
               "parties and clients) are 1-63 of letters, digits, `_`, `-` and `.`, starting with a\n"
               "letter, digit or `_`. See `configs/party-a.ini` for an example. Under systemd,\n"
               "`configs/mpcd@.service` runs one daemon per file `/etc/mpcd/NAME.ini` (docs/daemon.md,\n"
               "\"Running as a service\": the unit, notifications, core dumps, locked memory, log formats).\n");
    mpc_ini_write_doc(f, &s_schema);
}

/* ---- reload ------------------------------------------------------------------------------ */

/* Keys read once, when the daemon starts (its sockets, keys, pool and role): a reload keeps
 * their running value. */
typedef struct { const char *name; size_t off, size; } fixed_key;
#define FIXED(f) {#f, offsetof(mpcd_config, f), sizeof(((mpcd_config *)0)->f)}
static const fixed_key s_fixed[] = {
    FIXED(role), FIXED(name), FIXED(peer_endpoint), FIXED(client_endpoint), FIXED(public_key_file),
    FIXED(secret_key_file), FIXED(log_format), FIXED(metrics_endpoint), FIXED(state_dir), FIXED(audit_key_file), FIXED(data_key_file), FIXED(contributor_token_key_file), FIXED(preprocessing), FIXED(security), FIXED(dealer_endpoint),
    FIXED(dealer_public_key), FIXED(dealer_direct_endpoint), FIXED(pool_triples), FIXED(pool_chunk), FIXED(max_message_bytes),
    FIXED(peer_timeout_ms), FIXED(max_running_jobs), FIXED(heartbeat_ms), FIXED(client_handshake_ms), FIXED(max_held_results),
};

static void s_note(void (*note)(void *, const char *), void *ctx, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void s_note(void (*note)(void *, const char *), void *ctx, const char *fmt, ...)
{
    if (!note) return;
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    note(ctx, text);
}

static int s_same_parties(const mpcd_config *a, const mpcd_config *b)
{
    if (a->n_parties != b->n_parties) return 0;
    for (uint32_t i = 0; i < a->n_parties; i++)
        if (strcmp(a->parties[i].name, b->parties[i].name)) return 0;
    return 1;
}

/* A client's party list resolved against cfg's parties: 0, or -1 naming the unknown party. */
static int s_remask(const mpcd_config *cfg, const mpcd_client_conf *c, const char *raw, const char *key,
                    uint32_t *mask, char *err, size_t errlen)
{
    char buf[MPCD_ENDPOINT_MAX];
    snprintf(buf, sizeof buf, "%s", raw);
    *mask = 0;
    char *save = NULL;
    for (char *tok = strtok_r(buf, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
        if (!strcmp(tok, "*")) {
            *mask = cfg->n_parties >= 32 ? UINT32_MAX : (1u << cfg->n_parties) - 1;
            continue;
        }
        int i = s_party_index(cfg, tok);
        if (i < 0) {
            snprintf(err, errlen, "%s:%u: error: [client %s] %s names '%.40s', which is not in the running "
                     "party list (a changed party list needs a restart)", cfg->path, (unsigned)c->line, c->name,
                     key, tok);
            return -1;
        }
        *mask |= 1u << i;
    }
    return 0;
}

int mpcd_config_merge(const mpcd_config *running, mpcd_config *next,
                      void (*note)(void *ctx, const char *text), void *ctx, char *err, size_t errlen)
{
    for (size_t i = 0; i < sizeof s_fixed / sizeof s_fixed[0]; i++) {
        const fixed_key *k = &s_fixed[i];
        if (!memcmp((const char *)running + k->off, (const char *)next + k->off, k->size)) continue;
        s_note(note, ctx, "`%s` changed; restart needed", k->name);
        memcpy((char *)next + k->off, (const char *)running + k->off, k->size);
    }
    if (!s_same_parties(running, next)) {
        s_note(note, ctx, "`parties` changed; restart needed (the [party] sections stay as they run)");
        memcpy(next->parties_raw, running->parties_raw, sizeof next->parties_raw);
        memcpy(next->parties, running->parties, sizeof next->parties);
        next->n_parties = running->n_parties;
        next->self = running->self;
        for (uint32_t i = 0; i < next->n_clients; i++) {
            mpcd_client_conf *c = &next->clients[i];
            if (s_remask(next, c, c->input_for_raw, "input_for", &c->input_for, err, errlen) != 0 ||
                s_remask(next, c, c->output_for_raw, "output_for", &c->output_for, err, errlen) != 0)
                return -1;
        }
        return 0;
    }
    next->self = running->self;
    for (uint32_t i = 0; i < next->n_parties; i++) {
        mpcd_party_conf *p = &next->parties[i];
        const mpcd_party_conf *r = &running->parties[i];
        if (strcmp(p->endpoint, r->endpoint) && i != running->self) {
            s_note(note, ctx, "`endpoint` of party %s changed; restart needed", p->name);
            memcpy(p->endpoint, r->endpoint, sizeof p->endpoint);
        }
        if (strcmp(p->direct_endpoint, r->direct_endpoint)) {
            s_note(note, ctx, "`direct_endpoint` of party %s changed; restart needed", p->name);
            memcpy(p->direct_endpoint, r->direct_endpoint, sizeof p->direct_endpoint);
        }
        if (i == running->self) *p = *r;   /* our own keys come from the key files */
    }
    return 0;
}
