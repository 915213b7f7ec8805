/* inifile.c — the table-driven INI loader shared by the daemon's and the client's
 * configurations (inifile.h).  inih drives a handler; a reader in front of it counts lines,
 * so every message names one. */
#include "inifile.h"

#include <errno.h>
#include <ini.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "circuit.h"   /* mpc_name_ok: the one rule for names */
#include "keys.h"
#include "mpc_err.h"

void mpc_ini_error(mpc_ini *ini, uint32_t line, const char *fmt, ...)
{
    if (ini->failed) return;   /* keep the first error */
    ini->failed = 1;
    if (!ini->err || !ini->errlen) return;
    int n = line ? snprintf(ini->err, ini->errlen, "%s:%u: error: ", ini->path, (unsigned)line)
                 : snprintf(ini->err, ini->errlen, "%s: error: ", ini->path);
    size_t off = n > 0 ? ((size_t)n < ini->errlen ? (size_t)n : ini->errlen) : 0;
    va_list ap;
    va_start(ap, fmt);
    if (off < ini->errlen) vsnprintf(ini->err + off, ini->errlen - off, fmt, ap);
    va_end(ap);
}

uint32_t mpc_ini_line(const mpc_ini *ini) { return ini->line; }
int mpc_ini_done(mpc_ini *ini) { return ini->failed ? MPC_ERR_CONFIG : 0; }

/* inih reads through this: counting here gives the handler its line number.  A line longer
 * than inih's buffer arrives in pieces and is counted once. */
static char *s_reader(char *buf, int size, void *stream)
{
    mpc_ini *ini = stream;
    char *r = fgets(buf, size, ini->f);
    if (!r) return NULL;
    if (ini->at_line_start) {
        ini->line++;
        const char *p = r;
        while (*p == ' ' || *p == '\t') p++;
        if (*p == '[') {
            /* inih reports a section only through its keys: a header whose section got no
             * key before the next header would otherwise vanish unnoticed */
            if (ini->header_line && ini->header_line != ini->cur_start)
                mpc_ini_error(ini, ini->header_line, "section has no keys");
            ini->header_line = ini->line;
        }
    }
    size_t n = strlen(r);
    ini->at_line_start = n > 0 && r[n - 1] == '\n';
    return r;
}

static int s_bool(const char *v, int *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"}, *const no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (!strcmp(v, yes[i])) return *out = 1, 0;
        if (!strcmp(v, no[i])) return *out = 0, 0;
    }
    return -1;
}

/* Copies value into a text field of `size` bytes. */
static int s_text(mpc_ini *ini, const mpc_ini_key *k, char *field, const char *value)
{
    if (strlen(value) >= k->size)
        return mpc_ini_error(ini, ini->line, "%s: value too long (at most %zu characters)", k->key, k->size - 1), -1;
    strcpy(field, value);
    return 0;
}

static int s_path(mpc_ini *ini, const mpc_ini_key *k, char *field, const char *value)
{
    const char *slash = strrchr(ini->path, '/');
    if (value[0] == '/' || !slash || !value[0]) return s_text(ini, k, field, value);
    int n = snprintf(field, k->size, "%.*s/%s", (int)(slash - ini->path), ini->path, value);
    if (n < 0 || (size_t)n >= k->size) {
        field[0] = 0;
        return mpc_ini_error(ini, ini->line, "%s: path too long (at most %zu characters)", k->key, k->size - 1), -1;
    }
    return 0;
}

/* Sets one value.  0, or -1 after mpc_ini_error. */
static int s_set(mpc_ini *ini, const mpc_ini_key *k, void *base, const char *value)
{
    char *field = (char *)base + k->off;
    uint32_t line = ini->line;
    if (!value[0] && k->required && k->type != MPC_INI_CUSTOM)
        return mpc_ini_error(ini, line, "%s: empty%s", k->key,
                             k->type == MPC_INI_KEY || k->type == MPC_INI_KEY_BIN ? " (need 40 Z85 characters)" : ""), -1;
    switch (k->type) {
    case MPC_INI_STR:
        return s_text(ini, k, field, value);
    case MPC_INI_NAME:
        if (value[0] && !mpc_name_ok_str(value))
            return mpc_ini_error(ini, line, "%s: '%.64s' is not a valid name (1-63 of letters, digits, '_', '-', '.', "
                                 "starting with a letter, digit or '_')", k->key, value), -1;
        return s_text(ini, k, field, value);
    case MPC_INI_PATH:
        return s_path(ini, k, field, value);
    case MPC_INI_ENDPOINT:
        if (value[0] && (!strstr(value, "://") || strstr(value, "://") == value))
            return mpc_ini_error(ini, line, "%s: '%.64s' is not a ZeroMQ endpoint (e.g. tcp://host:port or ipc:///path)",
                                 k->key, value), -1;
        return s_text(ini, k, field, value);
    case MPC_INI_KEY:
    case MPC_INI_KEY_BIN: {
        uint8_t key[MPC_KEY_BYTES];
        if (value[0] && mpc_key_from_z85(key, value) != 0)
            return mpc_ini_error(ini, line, "%s: not a CURVE public key (need 40 Z85 characters)", k->key), -1;
        if (k->type == MPC_INI_KEY_BIN) memcpy(field, key, MPC_KEY_BYTES);
        else snprintf(field, MPC_KEY_Z85_LEN + 1, "%s", value);
        return 0;
    }
    case MPC_INI_INT: {
        char *end = NULL;
        errno = 0;
        long long v = strtoll(value, &end, 10);
        if (errno || end == value || *end)
            return mpc_ini_error(ini, line, "%s: '%.40s' is not an integer", k->key, value), -1;
        if (v < k->min || v > k->max)
            return mpc_ini_error(ini, line, "%s: %lld is out of range %lld..%lld", k->key, v, (long long)k->min,
                                 (long long)k->max), -1;
        *(int64_t *)(void *)field = v;
        return 0;
    }
    case MPC_INI_BOOL: {
        int b;
        if (s_bool(value, &b)) return mpc_ini_error(ini, line, "%s: '%.40s' is not true or false", k->key, value), -1;
        *(int *)(void *)field = b;
        return 0;
    }
    case MPC_INI_ENUM:
        for (int i = 0; k->names[i]; i++)
            if (!strcmp(value, k->names[i])) {
                *(int64_t *)(void *)field = i;
                return 0;
            }
        return mpc_ini_error(ini, line, "%s: '%.40s' is not one of the allowed values", k->key, value), -1;
    case MPC_INI_CUSTOM:
        return k->parse(ini, base, value);
    }
    return -1;
}

/* Applies the defaults of every key of `section` to base.  Defaults are the table's own
 * and cannot fail; an error there is the table's, reported like any other. */
static void s_defaults(mpc_ini *ini, int section, void *base)
{
    const mpc_ini_schema *s = ini->schema;
    for (size_t i = 0; i < s->n_keys; i++) {
        const mpc_ini_key *k = &s->keys[i];
        if (k->section == section && k->dflt && k->type != MPC_INI_CUSTOM) s_set(ini, k, base, k->dflt);
    }
}

/* Checks the section that just ended for its required keys. */
static void s_close_section(mpc_ini *ini)
{
    if (ini->cur < 0) return;
    const mpc_ini_schema *s = ini->schema;
    for (size_t i = 0; i < s->n_keys; i++) {
        const mpc_ini_key *k = &s->keys[i];
        if (k->section == ini->cur && k->required && !ini->seen[i])
            mpc_ini_error(ini, ini->cur_start, "[%s] lacks the required key '%s'", ini->cur_raw, k->key);
    }
    ini->cur = -1;
}

static void s_open_named(mpc_ini *ini, int k, const char *kind, const char *name)
{
    const mpc_ini_schema *s = ini->schema;
    if (!mpc_name_ok_str(name)) {
        mpc_ini_error(ini, ini->cur_start, "'%.64s' is not a valid %s name (1-63 of letters, digits, '_', '-', '.', "
                      "starting with a letter, digit or '_')", name, kind);
        return;
    }
    for (uint32_t i = 0; i < ini->n_named; i++)
        if (ini->named[i].section == k && !strcmp(ini->named[i].name, name)) {
            mpc_ini_error(ini, ini->cur_start, "[%s %s] appears twice (first on line %u)", kind, name, ini->named[i].line);
            return;
        }
    if (ini->n_named >= MPC_INI_MAX_NAMED) {
        mpc_ini_error(ini, ini->cur_start, "more than %d named sections", MPC_INI_MAX_NAMED);
        return;
    }
    void *base = s->open(ini, k, name, ini->cur_start, s->user);
    if (!base) {
        mpc_ini_error(ini, ini->cur_start, "[%s %s] refused", kind, name);   /* open said why */
        return;
    }
    ini->named[ini->n_named].section = k;
    ini->named[ini->n_named].line = ini->cur_start;
    snprintf(ini->named[ini->n_named].name, sizeof ini->named[0].name, "%s", name);
    ini->n_named++;
    s_defaults(ini, k, base);
    ini->cur = k;
    ini->cur_base = base;
}

static void s_open_section(mpc_ini *ini, const char *section)
{
    s_close_section(ini);
    memset(ini->seen, 0, sizeof ini->seen);
    ini->cur_start = ini->header_line;
    snprintf(ini->cur_raw, sizeof ini->cur_raw, "%s", section);
    char kind[32] = "";
    const char *name = NULL;
    const char *sp = strchr(section, ' ');
    size_t kl = sp ? (size_t)(sp - section) : strlen(section);
    if (kl < sizeof kind) memcpy(kind, section, kl), kind[kl] = 0;
    if (sp) {
        name = sp;
        while (*name == ' ') name++;
    }
    const mpc_ini_schema *s = ini->schema;
    int k = -1;
    for (size_t i = 0; i < s->n_sections && kl < sizeof kind; i++)
        if (!strcmp(kind, s->sections[i].name)) k = (int)i;
    if (k < 0) {
        mpc_ini_error(ini, ini->cur_start, "unknown section [%.64s]", section);
        return;
    }
    if (s->sections[k].named) {
        if (!name || !*name) {
            mpc_ini_error(ini, ini->cur_start, "[%s] needs a name: [%s NAME]", kind, kind);
            return;
        }
        s_open_named(ini, k, kind, name);
        return;
    }
    if (name) {
        mpc_ini_error(ini, ini->cur_start, "[%s] takes no name", kind);
        return;
    }
    if (ini->unnamed_line[k]) {
        mpc_ini_error(ini, ini->cur_start, "[%s] appears twice (first on line %u)", kind, ini->unnamed_line[k]);
        return;
    }
    ini->unnamed_line[k] = ini->cur_start;
    if (!ini->unnamed_base[k]) {
        mpc_ini_error(ini, ini->cur_start, "[%s] is not accepted here", kind);
        return;
    }
    ini->cur = k;
    ini->cur_base = ini->unnamed_base[k];
}

static int s_handler(void *user, const char *section, const char *key, const char *value)
{
    mpc_ini *ini = user;
    if (ini->failed) return 0;
    /* inih reports a section through the keys it holds: a new header opens one */
    if (ini->cur < 0 || ini->header_line != ini->cur_start) {
        if (!section[0]) return mpc_ini_error(ini, ini->line, "'%.64s' is outside any [section]", key), 0;
        s_open_section(ini, section);
        if (ini->cur < 0) return 0;
    }
    const mpc_ini_schema *s = ini->schema;
    for (size_t i = 0; i < s->n_keys; i++) {
        const mpc_ini_key *k = &s->keys[i];
        if (k->section != ini->cur || strcmp(k->key, key) != 0) continue;
        if (ini->seen[i] && !k->repeat)
            return mpc_ini_error(ini, ini->line, "'%s' is set twice in [%s] (first on line %u)", key, ini->cur_raw,
                                 (unsigned)ini->seen[i]), 0;
        ini->seen[i] = ini->line;
        return s_set(ini, k, ini->cur_base, value) == 0;
    }
    mpc_ini_error(ini, ini->line, "unknown key '%.64s' in [%.64s]", key, ini->cur_raw);
    return 0;
}

int mpc_ini_load(mpc_ini *ini, const char *path, const mpc_ini_schema *schema, char *err, size_t errlen)
{
    memset(ini, 0, sizeof *ini);
    ini->schema = schema;
    ini->err = err;
    ini->errlen = errlen;
    ini->cur = -1;
    ini->at_line_start = 1;
    if (errlen) err[0] = 0;
    if (schema->n_keys > MPC_INI_MAX_KEYS || schema->n_sections > MPC_INI_MAX_SECTIONS) {
        snprintf(ini->path, sizeof ini->path, "%s", path);
        mpc_ini_error(ini, 0, "internal: key table too large");
        return -1;
    }
    if (strlen(path) >= sizeof ini->path) {
        snprintf(ini->path, sizeof ini->path, "%.64s...", path);
        mpc_ini_error(ini, 0, "path too long");
        return -1;
    }
    strcpy(ini->path, path);
    for (size_t i = 0; i < schema->n_sections; i++) {
        if (schema->sections[i].named) continue;
        ini->unnamed_base[i] = schema->open(ini, (int)i, NULL, 0, schema->user);
        if (ini->unnamed_base[i]) s_defaults(ini, (int)i, ini->unnamed_base[i]);
    }
    if (ini->failed) return -1;
    ini->f = fopen(path, "r");
    if (!ini->f) {
        mpc_ini_error(ini, 0, "cannot open: %s", strerror(errno));
        return -1;
    }
    int rc = ini_parse_stream(s_reader, ini, s_handler, ini);
    fclose(ini->f);
    ini->f = NULL;
    if (rc > 0) mpc_ini_error(ini, (uint32_t)rc, "malformed line (expected [section] or key = value)");
    else if (rc < 0) mpc_ini_error(ini, 0, "cannot read the file");
    s_close_section(ini);
    /* the last header of the file, if it got no key */
    if (ini->header_line && ini->header_line != ini->cur_start) mpc_ini_error(ini, ini->header_line, "section has no keys");
    for (size_t i = 0; i < schema->n_sections; i++)
        if (!schema->sections[i].named && schema->sections[i].required && !ini->unnamed_line[i])
            mpc_ini_error(ini, 0, "no [%s] section", schema->sections[i].name);
    return ini->failed ? -1 : 0;
}

static void s_type_doc(const mpc_ini_key *k, char *type, size_t n)
{
    switch (k->type) {
    case MPC_INI_STR: snprintf(type, n, "string"); break;
    case MPC_INI_NAME: snprintf(type, n, "name"); break;
    case MPC_INI_PATH: snprintf(type, n, "path"); break;
    case MPC_INI_ENDPOINT: snprintf(type, n, "endpoint"); break;
    case MPC_INI_KEY:
    case MPC_INI_KEY_BIN: snprintf(type, n, "Z85 key"); break;
    case MPC_INI_INT: snprintf(type, n, "integer %lld..%lld", (long long)k->min, (long long)k->max); break;
    case MPC_INI_BOOL: snprintf(type, n, "boolean"); break;
    case MPC_INI_CUSTOM: snprintf(type, n, "%s", k->type_doc ? k->type_doc : "string"); break;
    case MPC_INI_ENUM: {
        size_t off = 0;
        type[0] = 0;
        for (int i = 0; k->names[i] && off < n; i++)
            off += (size_t)snprintf(type + off, n - off, "%s%s", i ? " \\| " : "", k->names[i]);
        break;
    }
    }
}

void mpc_ini_write_doc(FILE *f, const mpc_ini_schema *schema)
{
    for (size_t s = 0; s < schema->n_sections; s++) {
        fprintf(f, "\n## [%s%s]\n\n| key | type | default | meaning |\n|---|---|---|---|\n", schema->sections[s].name,
                schema->sections[s].named ? " NAME" : "");
        for (size_t i = 0; i < schema->n_keys; i++) {
            const mpc_ini_key *k = &schema->keys[i];
            if ((size_t)k->section != s) continue;
            char type[96];
            s_type_doc(k, type, sizeof type);
            if (k->required) fprintf(f, "| `%s` | %s | required | %s |\n", k->key, type, k->help ? k->help : "");
            else
                fprintf(f, "| `%s` | %s | `%s` | %s |\n", k->key, type, k->dflt && k->dflt[0] ? k->dflt : "(empty)",
                        k->help ? k->help : "");
        }
    }
}
