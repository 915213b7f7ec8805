/* client_conf.c — a client configuration (client_conf.h), read and checked against one table
 * of keys by the loader the daemon's configuration uses too (protocols/inifile.c), and the
 * client's key files. */
#include "client_conf.h"

#include <sodium.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inifile.h"
#include "keys.h"
#include "mpc_err.h"

enum { S_CLIENT, S_DAEMON, S__COUNT };

static const mpc_ini_section s_sections[S__COUNT] = {
    [S_CLIENT] = {"client", 0, 1},
    [S_DAEMON] = {"daemon", 1, 0},
};

#define C(f) offsetof(mpc_client_conf, f), sizeof(((mpc_client_conf *)0)->f)
#define D(f) offsetof(mpc_client_daemon_conf, f), sizeof(((mpc_client_daemon_conf *)0)->f)

static const mpc_ini_key s_keys[] = {
    {S_CLIENT, "name", MPC_INI_NAME, C(name), 0, 0, NULL, 1, NULL, NULL, 0, NULL,
     "The client's name, for messages only: daemons know a client by its key."},
    {S_CLIENT, "public_key_file", MPC_INI_PATH, C(public_key_file), 0, 0, NULL, 1, NULL, NULL, 0, NULL,
     "File holding the client's CURVE public key; relative to the configuration's directory."},
    {S_CLIENT, "secret_key_file", MPC_INI_PATH, C(secret_key_file), 0, 0, NULL, 1, NULL, NULL, 0, NULL,
     "File holding the client's CURVE secret key; must not be readable by group or others."},
    {S_CLIENT, "timeout_ms", MPC_INI_INT, C(timeout_ms), 100, 3600000, "10000", 0, NULL, NULL, 0, NULL,
     "Longest wait for any one reply, in milliseconds."},
    {S_CLIENT, "max_message_bytes", MPC_INI_INT, C(max_message_bytes), 1024, (int64_t)1 << 40, "1073741824", 0, NULL,
     NULL, 0, NULL, "Largest reply frame accepted."},
    {S_DAEMON, "endpoint", MPC_INI_ENDPOINT, D(endpoint), 0, 0, NULL, 1, NULL, NULL, 0, NULL,
     "The daemon's client_endpoint."},
    {S_DAEMON, "public_key", MPC_INI_KEY_BIN, D(public_key), 0, 0, NULL, 1, NULL, NULL, 0, NULL,
     "The daemon's CURVE public key (40 Z85 characters)."},
};

static void *s_open(mpc_ini *ini, int section, const char *name, uint32_t line, void *user)
{
    mpc_client_conf *cfg = user;
    if (section == S_CLIENT) return cfg;
    if (cfg->n_daemons >= MPC_MAX_PARTIES)
        return mpc_ini_error(ini, line, "more than %d [daemon] sections", MPC_MAX_PARTIES), NULL;
    mpc_client_daemon_conf *d = &cfg->daemons[cfg->n_daemons++];
    memset(d, 0, sizeof *d);
    snprintf(d->name, sizeof d->name, "%s", name);
    d->line = line;
    return d;
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
    snprintf(cfg->path, sizeof cfg->path, "%s", path);
    mpc_ini_schema schema = {s_sections, S__COUNT, s_keys, sizeof s_keys / sizeof s_keys[0], s_open, cfg};
    mpc_ini *ini = malloc(sizeof *ini);
    if (!ini) {
        snprintf(err, errlen, "%s: error: out of memory", path);
        return MPC_ERR_NOMEM;
    }
    if (mpc_ini_load(ini, path, &schema, err, errlen) == 0) {
        if (cfg->n_daemons < 2)
            mpc_ini_error(ini, 0, "%u [daemon NAME] section%s: a cluster has at least 2 daemons", cfg->n_daemons,
                          cfg->n_daemons == 1 ? "" : "s");
        for (uint32_t i = 0; i < cfg->n_daemons; i++)
            for (uint32_t j = 0; j < i; j++)
                if (!memcmp(cfg->daemons[i].public_key, cfg->daemons[j].public_key, MPC_CLIENT_KEY_BYTES))
                    mpc_ini_error(ini, cfg->daemons[i].line, "[daemon %s] has the same public key as [daemon %s]",
                                  cfg->daemons[i].name, cfg->daemons[j].name);
    }
    int rc = mpc_ini_done(ini);
    free(ini);
    return rc;
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
