/* config.c — loading and checking mpcd's INI configuration against one table of keys.
 * The table is also what `mpcd config-doc` prints as configs/README.md, so the reference
 * and the parser cannot drift apart. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

typedef enum { K_STR, K_INT, K_BOOL, K_ENUM, K_KEY, K_HASHES } key_type;
typedef enum { S_MPCD, S_LIMITS, S_POLICY, S_PARTY, S_CLIENT, S__COUNT } section_kind;

static const char *const s_section_names[S__COUNT] = {"mpcd", "limits", "policy", "party", "client"};
static const char *const s_prep_names[] = {"dealer", "ot", NULL};
static const char *const s_log_names[] = {"error", "warn", "info", "debug", NULL};
static const char *const s_role_names[] = {"party", "dealer", NULL};

typedef struct {
    section_kind        section;
    const char         *key;
    key_type            type;
    size_t              off;      /* in mpcd_config, mpcd_party_conf or mpcd_client_conf */
    size_t              size;     /* string capacity */
    int64_t             min, max;
    const char         *dflt;     /* NULL: required (where `required`), else no default */
    int                 required;
    const char *const  *names;    /* K_ENUM */
    const char         *help;
} conf_row;

#define C_STR(sec, k, field, req, dflt, help) \
    {sec, #k, K_STR, offsetof(mpcd_config, field), sizeof(((mpcd_config *)0)->field), 0, 0, dflt, req, NULL, help}
#define C_INT(sec, k, lo, hi, dflt, help) \
    {sec, #k, K_INT, offsetof(mpcd_config, k), 0, lo, hi, dflt, 0, NULL, help}

static const conf_row s_rows[] = {
    {S_MPCD, "role", K_ENUM, offsetof(mpcd_config, role), 0, 0, 1, "party", 0, s_role_names,
     "`party` (a computing party) or `dealer` (the semi-trusted preprocessing dealer run by `mpcd dealer`; "
     "its `name` is not in `parties`, and it needs no client endpoint, preprocessing or policy keys)."},
    C_STR(S_MPCD, name, name, 1, NULL,
          "This daemon's party name; must appear in `parties` (unless `role = dealer`)."),
    C_STR(S_MPCD, parties, parties_raw, 1, NULL,
          "The party order, comma-separated (2 to 16 names). A program's i-th party binds to the i-th name "
          "unless a job says otherwise. Every party but this one needs a `[party NAME]` section."),
    C_STR(S_MPCD, peer_endpoint, peer_endpoint, 1, NULL,
          "ZeroMQ endpoint this daemon binds for its peers, e.g. `tcp://0.0.0.0:7001`."),
    C_STR(S_MPCD, client_endpoint, client_endpoint, 0, "",
          "ZeroMQ endpoint this daemon binds for clients, e.g. `tcp://0.0.0.0:7101`; required for a party."),
    C_STR(S_MPCD, public_key_file, public_key_file, 1, NULL,
          "File holding this daemon's CURVE public key (Z85, as written by `mpcd keygen`). Relative paths "
          "(here and below) are relative to the configuration file's directory."),
    C_STR(S_MPCD, secret_key_file, secret_key_file, 1, NULL,
          "File holding this daemon's CURVE secret key; must not be readable by group or others."),
    C_STR(S_MPCD, state_dir, state_dir, 0, ".",
          "Directory for persistent state (preprocessing consumption counters)."),
    {S_MPCD, "log_level", K_ENUM, offsetof(mpcd_config, log_level), 0, 0, 3, "info", 0, s_log_names,
     "Least severe level logged to stderr: `error`, `warn`, `info` or `debug`. No level ever logs a secret."},
    {S_MPCD, "preprocessing", K_ENUM, offsetof(mpcd_config, preprocessing), 0, 0, 1, "ot", 0, s_prep_names,
     "Where Beaver triples and truncation material come from: `ot` (the parties make it themselves with "
     "oblivious transfer; no trusted party; docs/preprocessing.md) or `dealer` (a semi-trusted dealer process: "
     "whoever runs it and colludes with one party learns every input). With `ot` the parties also make "
     "comparison material (edaBits, daBits, binary triples) themselves."},
    C_STR(S_MPCD, dealer_endpoint, dealer_endpoint, 0, "",
          "The dealer's ZeroMQ endpoint; required with `preprocessing = dealer`."),
    {S_MPCD, "dealer_public_key", K_KEY, offsetof(mpcd_config, dealer_public_key),
     sizeof(((mpcd_config *)0)->dealer_public_key), 0, 0, "", 0, NULL,
     "The dealer's CURVE public key (40 Z85 characters); required with `preprocessing = dealer`."},

    {S_MPCD, "pool_triples", K_INT, offsetof(mpcd_config, pool_triples), 0, 0, 1 << 28, "1000000", 0, NULL,
     "With `preprocessing = ot`: Beaver triples kept in stock, made in the background between jobs by all "
     "parties together and used by jobs that involve every party (24 bytes each in memory). 0 turns the pool "
     "off. Set the same value on every party."},
    {S_MPCD, "pool_chunk", K_INT, offsetof(mpcd_config, pool_chunk), 0, 1024, 1 << 22, "32768", 0, NULL,
     "Triples made per background step; a job that arrives waits at most one step. Same on every party."},
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
    C_INT(S_LIMITS, job_timeout_ms, 100, 86400000, "600000",
          "Longest a job may run once started, in milliseconds."),
    C_INT(S_LIMITS, peer_timeout_ms, 100, 3600000, "10000",
          "Longest wait for any single message from a peer, in milliseconds."),
    C_INT(S_LIMITS, input_timeout_ms, 100, 86400000, "300000",
          "Longest a job waits for its inputs after submission, in milliseconds."),
    C_INT(S_LIMITS, heartbeat_ms, 50, 60000, "1000",
          "ZeroMQ heartbeat interval on peer connections; a peer silent for 3 intervals is dead."),
    C_INT(S_LIMITS, result_ttl_s, 1, 31536000, "3600",
          "Seconds an output share waits for its recipient before it is wiped."),

    {S_POLICY, "allow_any_program", K_BOOL, offsetof(mpcd_config, allow_any_program), 0, 0, 1, "false", 0, NULL,
     "Run any program a permitted client submits (development only). When false, only circuits whose hash "
     "is listed in `allow` run."},
    {S_POLICY, "strict", K_BOOL, offsetof(mpcd_config, strict), 0, 0, 1, "false", 0, NULL,
     "Refuse a circuit whose compiler recorded overflow warnings (a fix product or comparison of "
     "inputs without a declared range `in LO..HI`, or ranges that allow an overflow; see "
     "circuits/LANGUAGE.md), and a format-1 circuit, which does not record them. The count "
     "comes from the submitter's compiler: a safety net against mistakes, not a security check."},
    {S_POLICY, "allow", K_HASHES, 0, 0, 0, 0, "", 0, NULL,
     "Circuit hashes (64 hex digits, as printed by `mpcc --stats`) the operator approves; comma-separated, "
     "and the key may be repeated."},

    {S_PARTY, "endpoint", K_STR, offsetof(mpcd_party_conf, endpoint), MPCD_ENDPOINT_MAX, 0, 0, NULL, 1, NULL,
     "In `[party NAME]`: the peer endpoint that party's daemon binds, e.g. `tcp://10.0.0.2:7001`."},
    {S_PARTY, "public_key", K_KEY, offsetof(mpcd_party_conf, public_key), MPCD_Z85_KEY_LEN + 1, 0, 0, NULL, 1, NULL,
     "In `[party NAME]`: that daemon's CURVE public key (40 Z85 characters). Only listed keys may connect as peers."},

    {S_CLIENT, "public_key", K_KEY, offsetof(mpcd_client_conf, public_key), MPCD_Z85_KEY_LEN + 1, 0, 0, NULL, 1, NULL,
     "In `[client NAME]`: the client's CURVE public key. Only listed clients may connect."},
    {S_CLIENT, "input_for", K_STR, offsetof(mpcd_client_conf, input_for_raw), MPCD_ENDPOINT_MAX, 0, 0, "", 0, NULL,
     "In `[client NAME]`: parties (comma-separated, or `*`) on whose behalf the client may give inputs."},
    {S_CLIENT, "output_for", K_STR, offsetof(mpcd_client_conf, output_for_raw), MPCD_ENDPOINT_MAX, 0, 0, "", 0, NULL,
     "In `[client NAME]`: parties (comma-separated, or `*`) whose outputs the client may receive."},
    {S_CLIENT, "submit", K_BOOL, offsetof(mpcd_client_conf, may_submit), 0, 0, 1, "false", 0, NULL,
     "In `[client NAME]`: whether the client may submit programs."},
};
#define N_ROWS (sizeof s_rows / sizeof s_rows[0])

typedef struct {
    mpcd_config *cfg;
    uint32_t     line;         /* current line, counted by s_reader */
    FILE        *f;
    char        *err;
    size_t       errlen;
    int          failed;
    section_kind cur;
    int          cur_valid;
    void        *cur_entry;    /* mpcd_party_conf or mpcd_client_conf of the current section */
    char         cur_name[128];
    char         section[256];  /* raw name of the current section */
    uint32_t     section_line;  /* line of the last [section] header read */
    uint32_t     section_start; /* line of the current section's header */
    uint32_t     seen[N_ROWS]; /* line where each row was set in the current section */
    mpcd_party_conf party_tmp[MPC_MAX_PARTIES + 1];
    uint32_t     n_party_tmp;
} parse_state;

static int s_err(parse_state *ps, uint32_t line, const char *fmt, ...)
{
    if (ps->failed) return 0;  /* keep the first error */
    ps->failed = 1;
    size_t off = 0;
    int n = line ? snprintf(ps->err, ps->errlen, "%s:%u: error: ", ps->cfg->path, (unsigned)line)
                 : snprintf(ps->err, ps->errlen, "%s: error: ", ps->cfg->path);
    if (n > 0) off = (size_t)n < ps->errlen ? (size_t)n : ps->errlen;
    va_list ap;
    va_start(ap, fmt);
    if (off < ps->errlen) vsnprintf(ps->err + off, ps->errlen - off, fmt, ap);
    va_end(ap);
    return 0;
}

/* inih calls this once per line: counting here gives the handler its line number. */
static char *s_reader(char *buf, int size, void *stream)
{
    parse_state *ps = stream;
    char *r = fgets(buf, size, ps->f);
    if (r) {
        ps->line++;
        const char *p = r;
        while (*p == ' ' || *p == '\t') p++;
        if (*p == '[') ps->section_line = ps->line;
    }
    return r;
}

static int s_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= MPC_NAME_MAX) return 0;
    for (size_t i = 0; i < n; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '-')) return 0;
    return 1;
}

static int s_z85_ok(const char *s)
{
    static const char alphabet[] =
        "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
    if (strlen(s) != MPCD_Z85_KEY_LEN) return 0;
    for (size_t i = 0; i < MPCD_Z85_KEY_LEN; i++)
        if (!strchr(alphabet, s[i])) return 0;
    return 1;
}

static int s_parse_bool(const char *v, int *out)
{
    if (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "on") || !strcmp(v, "1")) { *out = 1; return 0; }
    if (!strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "off") || !strcmp(v, "0")) { *out = 0; return 0; }
    return -1;
}

static int s_hexval(char ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

/* Splits a comma/blank separated list in place; calls fn for each item. */
typedef int (*item_fn)(parse_state *ps, const char *item, void *ctx);
static int s_each_item(parse_state *ps, const char *list, item_fn fn, void *ctx)
{
    char buf[4096];
    if (strlen(list) >= sizeof buf) return s_err(ps, ps->line, "list too long"), -1;
    strcpy(buf, list);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save))
        if (fn(ps, tok, ctx) != 0) return -1;
    return 0;
}

static int s_add_hash(parse_state *ps, const char *item, void *ctx)
{
    (void)ctx;
    mpcd_config *cfg = ps->cfg;
    if (strlen(item) != 64) return s_err(ps, ps->line, "allow: '%.70s' is not a 64-digit hex circuit hash", item), -1;
    if (cfg->n_allowed >= MPCD_MAX_ALLOWED) return s_err(ps, ps->line, "allow: more than %d hashes", MPCD_MAX_ALLOWED), -1;
    for (int i = 0; i < 32; i++) {
        int hi = s_hexval(item[2 * i]), lo = s_hexval(item[2 * i + 1]);
        if (hi < 0 || lo < 0) return s_err(ps, ps->line, "allow: '%.70s' is not a 64-digit hex circuit hash", item), -1;
        cfg->allowed[cfg->n_allowed][i] = (uint8_t)(hi << 4 | lo);
    }
    cfg->n_allowed++;
    return 0;
}

static int s_set(parse_state *ps, const conf_row *r, void *base, const char *value)
{
    char *field = (char *)base + r->off;
    switch (r->type) {
    case K_STR:
        if (strlen(value) >= r->size) return s_err(ps, ps->line, "%s: value too long (at most %zu characters)", r->key, r->size - 1), -1;
        strcpy(field, value);
        return 0;
    case K_KEY:
        if (!value[0] && r->required)
            return s_err(ps, ps->line, "%s: empty (need 40 Z85 characters)", r->key), -1;
        if (value[0] && !s_z85_ok(value))
            return s_err(ps, ps->line, "%s: not a CURVE public key (need 40 Z85 characters)", r->key), -1;
        strcpy(field, value);
        return 0;
    case K_INT: {
        char *end = NULL;
        errno = 0;
        long long v = strtoll(value, &end, 10);
        if (errno || end == value || *end) return s_err(ps, ps->line, "%s: '%.40s' is not an integer", r->key, value), -1;
        if (v < r->min || v > r->max)
            return s_err(ps, ps->line, "%s: %lld is out of range %lld..%lld", r->key, v, (long long)r->min, (long long)r->max), -1;
        *(int64_t *)(void *)field = v;
        return 0;
    }
    case K_BOOL: {
        int b;
        if (s_parse_bool(value, &b)) return s_err(ps, ps->line, "%s: '%.40s' is not true or false", r->key, value), -1;
        *(int *)(void *)field = b;
        return 0;
    }
    case K_ENUM:
        for (int i = 0; r->names[i]; i++)
            if (!strcmp(value, r->names[i])) {
                *(int64_t *)(void *)field = i;
                return 0;
            }
        return s_err(ps, ps->line, "%s: '%.40s' is not one of the allowed values", r->key, value), -1;
    case K_HASHES:
        return s_each_item(ps, value, s_add_hash, NULL);
    }
    return -1;
}

/* Applies defaults of every row of `sec` to `base`. */
static void s_defaults(parse_state *ps, section_kind sec, void *base)
{
    for (size_t i = 0; i < N_ROWS; i++) {
        const conf_row *r = &s_rows[i];
        if (r->section != sec || !r->dflt || r->type == K_HASHES) continue;
        int saved = ps->failed;
        s_set(ps, r, base, r->dflt);
        ps->failed = saved;
    }
}

/* Checks the section that just ended for required keys. */
static void s_close_section(parse_state *ps)
{
    if (!ps->cur_valid) return;
    for (size_t i = 0; i < N_ROWS; i++) {
        const conf_row *r = &s_rows[i];
        if (r->section != ps->cur || !r->required || ps->seen[i]) continue;
        if (ps->cur == S_PARTY || ps->cur == S_CLIENT)
            s_err(ps, ps->section_start, "[%s %s] lacks the required key '%s'", s_section_names[ps->cur], ps->cur_name, r->key);
    }
}

static int s_open_section(parse_state *ps, const char *section)
{
    s_close_section(ps);
    memset(ps->seen, 0, sizeof ps->seen);
    ps->cur_valid = 0;
    ps->cur_entry = NULL;
    ps->section_start = ps->section_line;
    char kind[32] = {0}, name[128] = {0};
    const char *sp = strchr(section, ' ');
    if (sp) {
        size_t kl = (size_t)(sp - section);
        if (kl >= sizeof kind) return s_err(ps, ps->section_start, "unknown section [%.40s]", section);
        memcpy(kind, section, kl);
        while (*sp == ' ') sp++;
        if (strlen(sp) >= sizeof name) return s_err(ps, ps->section_start, "section name too long");
        strcpy(name, sp);
    } else {
        if (strlen(section) >= sizeof kind) return s_err(ps, ps->section_start, "unknown section [%.40s]", section);
        strcpy(kind, section);
    }
    int k = -1;
    for (int i = 0; i < S__COUNT; i++)
        if (!strcmp(kind, s_section_names[i])) k = i;
    if (k < 0) return s_err(ps, ps->section_start, "unknown section [%.40s]", section);
    int named = (k == S_PARTY || k == S_CLIENT);
    if (named != (name[0] != 0))
        return s_err(ps, ps->section_start, named ? "[%s] needs a name: [%s NAME]" : "[%s] takes no name",
                     kind, kind);
    if (named && !s_name_ok(name))
        return s_err(ps, ps->section_start, "'%.40s' is not a valid name (letters, digits, _ and -, under %d bytes)", name, MPC_NAME_MAX);
    ps->cur = (section_kind)k;
    ps->cur_valid = 1;
    strcpy(ps->cur_name, name);
    mpcd_config *cfg = ps->cfg;
    if (k == S_PARTY) {
        for (uint32_t i = 0; i < ps->n_party_tmp; i++)
            if (!strcmp(ps->party_tmp[i].name, name)) return s_err(ps, ps->section_start, "[party %s] appears twice", name);
        if (ps->n_party_tmp >= MPC_MAX_PARTIES) return s_err(ps, ps->section_start, "more than %d [party] sections", MPC_MAX_PARTIES);
        mpcd_party_conf *p = &ps->party_tmp[ps->n_party_tmp++];
        memset(p, 0, sizeof *p);
        strcpy(p->name, name);
        p->line = ps->section_start;
        ps->cur_entry = p;
    } else if (k == S_CLIENT) {
        for (uint32_t i = 0; i < cfg->n_clients; i++)
            if (!strcmp(cfg->clients[i].name, name)) return s_err(ps, ps->section_start, "[client %s] appears twice", name);
        if (cfg->n_clients >= MPCD_MAX_CLIENTS) return s_err(ps, ps->section_start, "more than %d [client] sections", MPCD_MAX_CLIENTS);
        mpcd_client_conf *c = &cfg->clients[cfg->n_clients++];
        memset(c, 0, sizeof *c);
        strcpy(c->name, name);
        c->line = ps->section_start;
        s_defaults(ps, S_CLIENT, c);
        ps->cur_entry = c;
    }
    return 1;
}

static int s_handler(void *user, const char *section, const char *key, const char *value)
{
    parse_state *ps = user;
    /* inih reports sections through the keys they hold: a new section name opens one. */
    if (!ps->cur_valid || strcmp(ps->section, section) != 0) {
        snprintf(ps->section, sizeof ps->section, "%s", section);
        s_open_section(ps, section);
        if (!ps->cur_valid) return 0;
    }
    for (size_t i = 0; i < N_ROWS; i++) {
        const conf_row *r = &s_rows[i];
        if (r->section != ps->cur || strcmp(r->key, key) != 0) continue;
        if (ps->seen[i] && r->type != K_HASHES)
            return s_err(ps, ps->line, "'%s' is set twice in [%s] (first on line %u)", key, section, (unsigned)ps->seen[i]);
        ps->seen[i] = ps->line;
        void *base = ps->cur_entry ? ps->cur_entry : (void *)ps->cfg;
        return s_set(ps, r, base, value) == 0;
    }
    return s_err(ps, ps->line, "unknown key '%.60s' in [%.60s]", key, section);
}

static int s_party_index(const mpcd_config *cfg, const char *name)
{
    for (uint32_t i = 0; i < cfg->n_parties; i++)
        if (!strcmp(cfg->parties[i].name, name)) return (int)i;
    return -1;
}

static int s_add_party(parse_state *ps, const char *item, void *ctx)
{
    (void)ctx;
    mpcd_config *cfg = ps->cfg;
    if (!s_name_ok(item)) return s_err(ps, 0, "parties: '%.40s' is not a valid name", item), -1;
    if (s_party_index(cfg, item) >= 0) return s_err(ps, 0, "parties: '%s' is listed twice", item), -1;
    if (cfg->n_parties >= MPC_MAX_PARTIES) return s_err(ps, 0, "parties: more than %d parties", MPC_MAX_PARTIES), -1;
    strcpy(cfg->parties[cfg->n_parties++].name, item);
    return 0;
}

typedef struct { uint32_t *mask; const mpcd_client_conf *client; const char *key; } mask_ctx;

static int s_add_mask(parse_state *ps, const char *item, void *vctx)
{
    mask_ctx *ctx = vctx;
    if (!strcmp(item, "*")) {
        *ctx->mask = (ps->cfg->n_parties >= 32) ? UINT32_MAX : ((1u << ps->cfg->n_parties) - 1);
        return 0;
    }
    int i = s_party_index(ps->cfg, item);
    if (i < 0)
        return s_err(ps, ctx->client->line, "[client %s] %s names '%.40s', which is not in parties",
                     ctx->client->name, ctx->key, item), -1;
    *ctx->mask |= 1u << i;
    return 0;
}

static int s_resolve(parse_state *ps)
{
    mpcd_config *cfg = ps->cfg;
    static const char *const required[] = {"name", "parties", "peer_endpoint", "public_key_file",
                                           "secret_key_file"};
    for (size_t k = 0; k < sizeof required / sizeof required[0]; k++)
        for (size_t i = 0; i < N_ROWS; i++)
            if (s_rows[i].section == S_MPCD && !strcmp(s_rows[i].key, required[k]) &&
                !*((char *)cfg + s_rows[i].off))
                return s_err(ps, 0, "[mpcd] lacks the required key '%s'", required[k]);
    int dealer = cfg->role == MPCD_ROLE_DEALER;
    if (!dealer && !cfg->client_endpoint[0])
        return s_err(ps, 0, "[mpcd] lacks the required key 'client_endpoint'");
    if (s_each_item(ps, cfg->parties_raw, s_add_party, NULL) != 0) return 0;
    if (cfg->n_parties < 2) return s_err(ps, 0, "parties: need at least 2 parties, got %u", (unsigned)cfg->n_parties);
    int self = s_party_index(cfg, cfg->name);
    if (dealer) {
        if (self >= 0) return s_err(ps, 0, "the dealer's name '%s' must not be one of the parties", cfg->name);
        self = (int)cfg->n_parties;
    } else if (self < 0) {
        return s_err(ps, 0, "name '%s' is not in parties", cfg->name);
    }
    cfg->self = (uint32_t)self;
    for (uint32_t i = 0; i < ps->n_party_tmp; i++) {
        int idx = s_party_index(cfg, ps->party_tmp[i].name);
        if (idx < 0)
            return s_err(ps, ps->party_tmp[i].line, "[party %s] is not in parties", ps->party_tmp[i].name);
        cfg->parties[idx] = ps->party_tmp[i];
    }
    for (uint32_t i = 0; i < cfg->n_parties; i++) {
        if (i == cfg->self) {
            if (!cfg->parties[i].endpoint[0]) strcpy(cfg->parties[i].endpoint, cfg->peer_endpoint);
            continue;
        }
        if (!cfg->parties[i].endpoint[0])
            return s_err(ps, 0, "party '%s' has no [party %s] section", cfg->parties[i].name, cfg->parties[i].name);
    }
    for (uint32_t i = 0; i < cfg->n_clients; i++) {
        mpcd_client_conf *c = &cfg->clients[i];
        mask_ctx in = {&c->input_for, c, "input_for"}, out = {&c->output_for, c, "output_for"};
        if (s_each_item(ps, c->input_for_raw, s_add_mask, &in) != 0) return 0;
        if (s_each_item(ps, c->output_for_raw, s_add_mask, &out) != 0) return 0;
    }
    /* Relative paths are relative to the configuration file's directory. */
    char *paths[] = {cfg->public_key_file, cfg->secret_key_file, cfg->state_dir};
    const char *slash = strrchr(cfg->path, '/');
    size_t dirlen = slash ? (size_t)(slash - cfg->path) + 1 : 0;
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        if (!dirlen || paths[i][0] == '/' || !paths[i][0]) continue;
        if (dirlen + strlen(paths[i]) >= MPCD_PATH_MAX) return s_err(ps, 0, "path '%s' too long", paths[i]);
        memmove(paths[i] + dirlen, paths[i], strlen(paths[i]) + 1);
        memcpy(paths[i], cfg->path, dirlen);
    }
    if (dealer) return 1;
    if (cfg->preprocessing == MPCD_PREP_DEALER && (!cfg->dealer_endpoint[0] || !cfg->dealer_public_key[0]))
        return s_err(ps, 0, "preprocessing = dealer needs dealer_endpoint and dealer_public_key");
    if (!cfg->allow_any_program && cfg->n_allowed == 0)
        return s_err(ps, 0, "[policy] allows no program: set allow = HASH,... or allow_any_program = true");
    return 1;
}

int mpcd_config_load(const char *path, mpcd_config *cfg, char *err, size_t errlen)
{
    memset(cfg, 0, sizeof *cfg);
    parse_state ps;
    memset(&ps, 0, sizeof ps);
    ps.cfg = cfg;
    ps.err = err;
    ps.errlen = errlen;
    if (errlen) err[0] = 0;
    snprintf(cfg->path, sizeof cfg->path, "%s", path);
    s_defaults(&ps, S_MPCD, cfg);
    s_defaults(&ps, S_LIMITS, cfg);
    s_defaults(&ps, S_POLICY, cfg);
    ps.f = fopen(path, "r");
    if (!ps.f) {
        s_err(&ps, 0, "cannot open: %s", strerror(errno));
        return -1;
    }
    int rc = ini_parse_stream(s_reader, &ps, s_handler, &ps);
    fclose(ps.f);
    if (!ps.failed && rc > 0) s_err(&ps, (uint32_t)rc, "malformed line (expected [section] or key = value)");
    if (!ps.failed && rc < 0) s_err(&ps, 0, "cannot read the file");
    if (!ps.failed) s_close_section(&ps);
    if (!ps.failed) s_resolve(&ps);
    return ps.failed ? -1 : 0;
}

void mpcd_config_write_doc(FILE *f)
{
    fprintf(f, "# mpcd configuration reference\n\n"
               "Generated by `mpcd config-doc` from the table in `mpcd/config.c`; a test checks that this\n"
               "file matches it. A configuration is an INI file: `[section]` headers, `key = value` lines,\n"
               "`#` or `;` comments. Unknown sections and keys, duplicate keys and out-of-range values are\n"
               "refused at start with the file, the line and the reason. See `configs/party-a.ini` for an\n"
               "example.\n");
    for (int s = 0; s < S__COUNT; s++) {
        fprintf(f, "\n## [%s%s]\n\n| key | type | default | meaning |\n|---|---|---|---|\n",
                s_section_names[s], (s == S_PARTY || s == S_CLIENT) ? " NAME" : "");
        for (size_t i = 0; i < N_ROWS; i++) {
            const conf_row *r = &s_rows[i];
            if ((int)r->section != s) continue;
            char type[96];
            switch (r->type) {
            case K_STR: snprintf(type, sizeof type, "string"); break;
            case K_KEY: snprintf(type, sizeof type, "Z85 key"); break;
            case K_INT: snprintf(type, sizeof type, "integer %lld..%lld", (long long)r->min, (long long)r->max); break;
            case K_BOOL: snprintf(type, sizeof type, "boolean"); break;
            case K_HASHES: snprintf(type, sizeof type, "list of hashes"); break;
            case K_ENUM: {
                size_t off = 0;
                for (int k = 0; r->names[k]; k++)
                    off += (size_t)snprintf(type + off, sizeof type - off, "%s%s", k ? " \\| " : "", r->names[k]);
                break;
            }
            }
            const char *dflt = r->required ? "required" : (r->dflt && r->dflt[0] ? r->dflt : "(empty)");
            fprintf(f, "| `%s` | %s | %s%s%s | %s |\n", r->key, type, r->required ? "" : "`", dflt,
                    r->required ? "" : "`", r->help);
        }
    }
}
