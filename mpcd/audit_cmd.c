/* audit_cmd.c — `mpcd audit verify` and `mpcd audit show` (docs/governance.md, "Audit log"). */
#include "audit_cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "config.h"
#include "keys.h"

static void s_usage(FILE *f)
{
    fprintf(f,
            "usage: mpcd audit verify [LOG] --config FILE [--key PARTY=Z85]...\n"
            "       mpcd audit show [LOG] [--config FILE] [--json]\n"
            "\n"
            "verify  checks a party's audit log: every record's place in the hash chain, its signature,\n"
            "        every co-signature of its job statement, and the signed head file (LOG.head), which\n"
            "        reveals records removed from the end. The keys are this party's audit key (from\n"
            "        audit_key_file) and each [party NAME] audit_public_key of the configuration; --key\n"
            "        gives or replaces one (an auditor without the secret key gives this party's too).\n"
            "        Exit 0: intact; 1: damaged (the first bad record is named); 2: usage or unreadable.\n"
            "show    prints the records, one 'field: value' line each (--json: the records as they are,\n"
            "        one JSON object per line).\n"
            "LOG defaults to state_dir/audit.log of the configuration.\n");
}

/* Adds or replaces a key by party name. */
static int s_put_key(mpcd_audit_key *keys, uint32_t *n, const char *party, const uint8_t pub[32])
{
    uint32_t i = 0;
    while (i < *n && strcmp(keys[i].party, party) != 0) i++;
    if (i == *n) {
        if (*n == MPC_MAX_PARTIES + 8) return -1;
        (*n)++;
    }
    snprintf(keys[i].party, sizeof keys[i].party, "%s", party);
    memcpy(keys[i].pub, pub, 32);
    return 0;
}

/* The keys the configuration gives: this party's (from its secret file, if readable) and the
 * other parties' audit_public_key. */
static void s_config_keys(const mpcd_config *cfg, mpcd_audit_key *keys, uint32_t *n)
{
    for (uint32_t i = 0; i < cfg->n_parties; i++) {
        uint8_t pub[32];
        if (cfg->parties[i].audit_public_key[0] && mpc_key_from_z85(pub, cfg->parties[i].audit_public_key) == 0)
            s_put_key(keys, n, cfg->parties[i].name, pub);
    }
    mpc_keypair *kp = NULL;
    char err[256];
    if (cfg->audit_key_file[0] && mpc_keys_load_secret_kind(&kp, cfg->audit_key_file, MPC_KEY_SIGN, err, sizeof err) == 0) {
        s_put_key(keys, n, cfg->name, mpc_keypair_public(kp));
        mpc_keypair_destroy(&kp);
    }
}

int mpcd_audit_main(int argc, char **argv)
{
    if (argc < 3 || !strcmp(argv[2], "--help") || !strcmp(argv[2], "-h")) {
        s_usage(argc < 3 ? stderr : stdout);
        return argc < 3 ? 2 : 0;
    }
    int verify = !strcmp(argv[2], "verify"), json = 0;
    if (!verify && strcmp(argv[2], "show") != 0) {
        fprintf(stderr, "mpcd: error: audit: unknown command '%s' (verify or show)\n", argv[2]);
        return 2;
    }
    const char *log = NULL, *config = NULL;
    mpcd_audit_key keys[MPC_MAX_PARTIES + 8];
    uint32_t n_keys = 0;
    const char *extra[MPC_MAX_PARTIES + 8];
    uint32_t n_extra = 0;
    for (int i = 3; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return s_usage(stdout), 0;
        if (!strcmp(argv[i], "--config") && i + 1 < argc) config = argv[++i];
        else if (!strcmp(argv[i], "--json") && !verify) json = 1;
        else if (!strcmp(argv[i], "--key") && verify && i + 1 < argc && n_extra < MPC_MAX_PARTIES + 8) extra[n_extra++] = argv[++i];
        else if (argv[i][0] != '-' && !log) log = argv[i];
        else {
            fprintf(stderr, "mpcd: error: audit %s: unexpected argument '%s' (see mpcd audit --help)\n", argv[2], argv[i]);
            return 2;
        }
    }
    mpcd_config *cfg = NULL;
    char path[MPCD_PATH_MAX + 16], err[1024];
    if (config) {
        if (!(cfg = calloc(1, sizeof *cfg))) return 2;
        if (mpcd_config_load(config, cfg, err, sizeof err) != 0) {
            fprintf(stderr, "mpcd: %s\n", err);
            free(cfg);
            return 2;
        }
        if (!log && cfg->state_dir[0]) {
            snprintf(path, sizeof path, "%s/audit.log", cfg->state_dir);
            log = path;
        }
    }
    int rc = 2;
    if (!log) {
        fprintf(stderr, "mpcd: error: audit %s: name the LOG, or a --config with state_dir\n", argv[2]);
        goto out;
    }
    if (!verify) {
        int r = mpcd_audit_show(log, json, stdout);
        rc = r < 0 ? 2 : r;
        goto out;
    }
    if (!cfg) {
        fprintf(stderr, "mpcd: error: audit verify: --config FILE is required (it names the party and its keys)\n");
        goto out;
    }
    s_config_keys(cfg, keys, &n_keys);
    for (uint32_t i = 0; i < n_extra; i++) {
        const char *eq = strchr(extra[i], '=');
        char party[MPC_NAME_MAX];
        uint8_t pub[32];
        if (!eq || (size_t)(eq - extra[i]) >= sizeof party || eq == extra[i] || mpc_key_from_z85(pub, eq + 1) != 0) {
            fprintf(stderr, "mpcd: error: audit verify: --key '%.80s' is not PARTY=<40 Z85 characters>\n", extra[i]);
            goto out;
        }
        memcpy(party, extra[i], (size_t)(eq - extra[i]));
        party[eq - extra[i]] = '\0';
        s_put_key(keys, &n_keys, party, pub);
    }
    int r = mpcd_audit_verify(log, cfg->name, keys, n_keys, stdout);
    rc = r < 0 ? 2 : r;
out:
    free(cfg);
    return rc;
}
