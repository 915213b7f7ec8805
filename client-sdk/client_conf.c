/* client_conf.c — loading and checking a client configuration (client_conf.h) and the
 * client's key files.  Same shape as mpcd/config.c: inih drives a handler, a reader counts
 * lines so every error names one. */
#include "client_conf.h"

#include <errno.h>
#include <ini.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cwire.h"
#include "keys.h"
#include "mpc_err.h"

typedef enum { K_NAME, K_CLIENT_PUB, K_CLIENT_SEC, K_TIMEOUT, K_MAXMSG, K_ENDPOINT, K_DAEMON_PUB, K__COUNT } key_id;

static const struct {
    const char *key;
    int         daemon;     /* 0: [client], 1: [daemon NAME] */
    int         required;
} s_keys[K__COUNT] = {
    [K_NAME] = {"name", 0, 1},
    [K_CLIENT_PUB] = {"public_key_file", 0, 1},
    [K_CLIENT_SEC] = {"secret_key_file", 0, 1},
    [K_TIMEOUT] = {"timeout_ms", 0, 0},
    [K_MAXMSG] = {"max_message_bytes", 0, 0},
    [K_ENDPOINT] = {"endpoint", 1, 1},
    [K_DAEMON_PUB] = {"public_key", 1, 1},
};

typedef struct {
    mpc_client_conf *cfg;
    FILE     *f;
    uint32_t  line;
    uint32_t  section_line;   /* line of the last [section] header read */
    char     *err;
    size_t    errlen;
    int       failed;
    char      section[256];   /* raw name of the current section */
    int       cur;            /* -1 none, 0 [client], 1 [daemon] */
    uint32_t  cur_start;
    uint32_t  seen[K__COUNT]; /* line each key was set in the current section */
    int       client_seen;    /* line of the [client] section, 0 if absent */
} parse_state;

static void s_err(parse_state *ps, uint32_t line, const char *fmt, ...)
{
    if (ps->failed) return;   /* keep the first error */
    ps->failed = 1;
    int n = line ? snprintf(ps->err, ps->errlen, "%s:%u: error: ", ps->cfg->path, (unsigned)line)
                 : snprintf(ps->err, ps->errlen, "%s: error: ", ps->cfg->path);
    size_t off = n > 0 ? ((size_t)n < ps->errlen ? (size_t)n : ps->errlen) : 0;
    va_list ap;
    va_start(ap, fmt);
    if (off < ps->errlen) vsnprintf(ps->err + off, ps->errlen - off, fmt, ap);
    va_end(ap);
}

static char *s_reader(char *buf, int size, void *stream)
{
    parse_state *ps = stream;
    char *r = fgets(buf, size, ps->f);
    if (r) {
        ps->line++;
        const char *p = r;
        while (*p == ' ' || *p == '\t') p++;
        if (*p == '[') {
            /* inih reports a section only through its keys: a header whose section got no
             * key before the next header would otherwise vanish (and shift the party order) */
            if (ps->section_line && ps->section_line != ps->cur_start)
                s_err(ps, ps->section_line, "section has no keys");
            ps->section_line = ps->line;
        }
    }
    return r;
}

/* Checks the section that just ended for its required keys. */
static void s_close_section(parse_state *ps)
{
    if (ps->cur < 0) return;
    for (int k = 0; k < K__COUNT; k++) {
        if (s_keys[k].daemon != ps->cur || !s_keys[k].required || ps->seen[k]) continue;
        s_err(ps, ps->cur_start, "[%s] lacks the required key '%s'", ps->section, s_keys[k].key);
    }
}

static void s_open_section(parse_state *ps, const char *section)
{
    s_close_section(ps);
    memset(ps->seen, 0, sizeof ps->seen);
    ps->cur = -1;
    ps->cur_start = ps->section_line;
    snprintf(ps->section, sizeof ps->section, "%s", section);
    mpc_client_conf *cfg = ps->cfg;
    if (!strcmp(section, "client")) {
        if (ps->client_seen) {
            s_err(ps, ps->cur_start, "[client] appears twice (first on line %u)", ps->client_seen);
            return;
        }
        ps->client_seen = (int)ps->cur_start;
        ps->cur = 0;
        return;
    }
    if (!strncmp(section, "daemon ", 7)) {
        const char *name = section + 7;
        while (*name == ' ') name++;
        if (!mpc_name_ok_str(name)) {
            s_err(ps, ps->cur_start, "'%.64s' is not a valid daemon name (letters, digits, '_', '-', '.', under %d bytes)",
                  name, MPC_NAME_MAX);
            return;
        }
        if (mpc_client_conf_daemon(cfg, name) >= 0) {
            s_err(ps, ps->cur_start, "[daemon %s] appears twice", name);
            return;
        }
        if (cfg->n_daemons >= MPC_MAX_PARTIES) {
            s_err(ps, ps->cur_start, "more than %d [daemon] sections", MPC_MAX_PARTIES);
            return;
        }
        mpc_client_daemon_conf *d = &cfg->daemons[cfg->n_daemons++];
        memset(d, 0, sizeof *d);
        strcpy(d->name, name);
        d->line = ps->cur_start;
        ps->cur = 1;
        return;
    }
    if (!strcmp(section, "daemon"))
        s_err(ps, ps->cur_start, "[daemon] needs a name: [daemon NAME]");
    else
        s_err(ps, ps->cur_start, "unknown section [%.64s]", section);
}

/* Resolves a key file path against the configuration file's directory. */
static int s_path(parse_state *ps, const char *value, char *out)
{
    if (value[0] == 0) return s_err(ps, ps->line, "empty path"), -1;
    const char *slash = strrchr(ps->cfg->path, '/');
    int n;
    if (value[0] == '/' || !slash) n = snprintf(out, MPC_CLIENT_PATH_MAX, "%s", value);
    else n = snprintf(out, MPC_CLIENT_PATH_MAX, "%.*s/%s", (int)(slash - ps->cfg->path), ps->cfg->path, value);
    if (n < 0 || n >= MPC_CLIENT_PATH_MAX) return s_err(ps, ps->line, "path too long"), -1;
    return 0;
}

static int s_int(parse_state *ps, const char *key, const char *value, int64_t lo, int64_t hi, int64_t *out)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(value, &end, 10);
    if (errno || end == value || *end) return s_err(ps, ps->line, "%s: '%.40s' is not an integer", key, value), -1;
    if (v < lo || v > hi)
        return s_err(ps, ps->line, "%s: %lld is out of range %lld..%lld", key, v, (long long)lo, (long long)hi), -1;
    *out = v;
    return 0;
}

static int s_z85_key(const char *text, uint8_t out[MPC_CLIENT_KEY_BYTES])
{
    return mpc_key_from_z85(out, text) == 0 ? 0 : -1;
}

static int s_handler(void *user, const char *section, const char *key, const char *value)
{
    parse_state *ps = user;
    if (ps->failed) return 0;
    if (ps->cur < 0 || strcmp(ps->section, section) != 0 || ps->section_line != ps->cur_start) {
        s_open_section(ps, section);
        if (ps->cur < 0) return 0;
    }
    int k = -1;
    for (int i = 0; i < K__COUNT; i++)
        if (s_keys[i].daemon == ps->cur && !strcmp(s_keys[i].key, key)) k = i;
    if (k < 0) return s_err(ps, ps->line, "unknown key '%.64s' in [%.64s]", key, section), 0;
    if (ps->seen[k])
        return s_err(ps, ps->line, "'%s' is set twice in [%s] (first on line %u)", key, section, ps->seen[k]), 0;
    ps->seen[k] = ps->line;
    mpc_client_conf *cfg = ps->cfg;
    mpc_client_daemon_conf *d = ps->cur ? &cfg->daemons[cfg->n_daemons - 1] : NULL;
    switch ((key_id)k) {
    case K_NAME:
        if (!mpc_name_ok_str(value))
            return s_err(ps, ps->line, "name: '%.64s' is not a valid name", value), 0;
        strcpy(cfg->name, value);
        return 1;
    case K_CLIENT_PUB:
        return s_path(ps, value, cfg->public_key_file) == 0;
    case K_CLIENT_SEC:
        return s_path(ps, value, cfg->secret_key_file) == 0;
    case K_TIMEOUT:
        return s_int(ps, key, value, 100, 3600000, &cfg->timeout_ms) == 0;
    case K_MAXMSG:
        return s_int(ps, key, value, 1024, (int64_t)1 << 40, &cfg->max_message_bytes) == 0;
    case K_ENDPOINT:
        if (value[0] == 0 || strlen(value) >= MPC_CLIENT_ENDPOINT_MAX || !strstr(value, "://"))
            return s_err(ps, ps->line, "endpoint: '%.64s' is not a ZeroMQ endpoint (e.g. tcp://host:port)", value), 0;
        strcpy(d->endpoint, value);
        return 1;
    case K_DAEMON_PUB:
        if (s_z85_key(value, d->public_key))
            return s_err(ps, ps->line, "public_key: not a CURVE public key (need 40 Z85 characters)"), 0;
        return 1;
    case K__COUNT:
        break;
    }
    return 0;
}

int mpc_client_conf_daemon(const mpc_client_conf *cfg, const char *name)
{
    for (uint32_t i = 0; i < cfg->n_daemons; i++)
        if (!strcmp(cfg->daemons[i].name, name)) return (int)i;
    return -1;
}

int mpc_client_conf_load(const char *path, mpc_client_conf *cfg, char *err, size_t errlen)
{
    memset(cfg, 0, sizeof *cfg);
    parse_state ps;
    memset(&ps, 0, sizeof ps);
    ps.cfg = cfg;
    ps.err = err;
    ps.errlen = errlen;
    ps.cur = -1;
    if (strlen(path) >= sizeof cfg->path) {
        snprintf(err, errlen, "%.64s...: error: path too long", path);
        return MPC_ERR_CONFIG;
    }
    strcpy(cfg->path, path);
    cfg->timeout_ms = 10000;
    cfg->max_message_bytes = 1073741824;
    ps.f = fopen(path, "r");
    if (!ps.f) {
        s_err(&ps, 0, "cannot open: %s", strerror(errno));
        return MPC_ERR_CONFIG;
    }
    int rc = ini_parse_stream(s_reader, &ps, s_handler, &ps);
    fclose(ps.f);
    if (rc > 0 && !ps.failed) s_err(&ps, (uint32_t)rc, "syntax error");
    else if (rc < 0 && !ps.failed) s_err(&ps, 0, "cannot read the file");
    s_close_section(&ps);
    /* the last header of the file, if it got no key */
    if (!ps.failed && ps.section_line && ps.section_line != ps.cur_start)
        s_err(&ps, ps.section_line, "section has no keys");
    if (!ps.failed && !ps.client_seen) s_err(&ps, 0, "no [client] section");
    if (!ps.failed && cfg->n_daemons < 2)
        s_err(&ps, 0, "%u [daemon NAME] section%s: a cluster has at least 2 daemons", cfg->n_daemons,
              cfg->n_daemons == 1 ? "" : "s");
    if (!ps.failed)
        for (uint32_t i = 0; i < cfg->n_daemons; i++)
            for (uint32_t j = 0; j < i; j++)
                if (!memcmp(cfg->daemons[i].public_key, cfg->daemons[j].public_key, MPC_CLIENT_KEY_BYTES))
                    s_err(&ps, cfg->daemons[i].line, "[daemon %s] has the same public key as [daemon %s]",
                          cfg->daemons[i].name, cfg->daemons[j].name);
    return ps.failed ? MPC_ERR_CONFIG : 0;
}

int mpc_client_conf_load_keys(const mpc_client_conf *cfg, uint8_t pub[MPC_CLIENT_KEY_BYTES],
                              uint8_t *secret, char *err, size_t errlen)
{
    /* The key files of protocols/keys.c (the format `mpcd keygen` writes); its messages name
     * the file, never key material.  The secret is read into guarded memory by keys.c. */
    char why[MPC_CLIENT_PATH_MAX + 160];
    mpc_keypair *kp = NULL;
    int r = mpc_keys_load_public(pub, cfg->public_key_file, why, sizeof why);
    if (r == 0) r = mpc_keys_load_secret(&kp, cfg->secret_key_file, why, sizeof why);
    if (r) {
        snprintf(err, errlen, "%s", why);
        if (r == MPC_ERR_INVALID) r = MPC_ERR_CONFIG;   /* a malformed key file is a configuration error */
        goto out;
    }
    if (sodium_memcmp(mpc_keypair_public(kp), pub, MPC_CLIENT_KEY_BYTES) != 0) {
        snprintf(err, errlen, "%s: error: the secret key does not belong to the public key in %s",
                 cfg->secret_key_file, cfg->public_key_file);
        r = MPC_ERR_CONFIG;
        goto out;
    }
    memcpy(secret, mpc_keypair_secret(kp), MPC_CLIENT_KEY_BYTES);
out:
    mpc_keypair_destroy(&kp);
    if (r) sodium_memzero(secret, MPC_CLIENT_KEY_BYTES);
    return r;
}
