/* fuzz_config.c — the configuration loader (mpcd/config.c over the shared loader, protocols/inifile.c).  Input: the INI text,
 * written to a temporary file (the loader's contract takes a path).  A loaded configuration
 * must satisfy what the daemon relies on; a refused one must say why in a terminated line. */
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "fuzz.h"

int mpc_fuzz_config(const uint8_t *data, size_t size);

static char s_cfg_path[64];

int mpc_fuzz_config(const uint8_t *data, size_t size)
{
    if (!s_cfg_path[0]) {
        const char *dir = getenv("TMPDIR");
        snprintf(s_cfg_path, sizeof s_cfg_path, "%.30s/mpcfuzzcfgXXXXXX", dir && dir[0] ? dir : "/tmp");
        int fd = mkstemp(s_cfg_path);
        MPC_FUZZ_ASSERT(fd >= 0);
        close(fd);
    }
    FILE *f = fopen(s_cfg_path, "wb");
    MPC_FUZZ_ASSERT(f != NULL);
    MPC_FUZZ_ASSERT(fwrite(data, 1, size, f) == size);
    fclose(f);
    static mpcd_config cfg;  /* large: keep it off the stack */
    char err[512];
    err[0] = 0;
    int rc = mpcd_config_load(s_cfg_path, &cfg, err, sizeof err);
    unlink(s_cfg_path);
    if (rc != 0) {
        MPC_FUZZ_ASSERT(err[0] != 0 && memchr(err, 0, sizeof err) != NULL);
        return 0;
    }
    MPC_FUZZ_ASSERT(cfg.n_parties >= 2 && cfg.n_parties <= MPC_MAX_PARTIES);
    MPC_FUZZ_ASSERT(cfg.role == MPCD_ROLE_DEALER ? cfg.self == cfg.n_parties : cfg.self < cfg.n_parties);
    MPC_FUZZ_ASSERT(cfg.n_clients <= MPCD_MAX_CLIENTS && cfg.n_allowed <= MPCD_MAX_ALLOWED);
    for (uint32_t i = 0; i < cfg.n_parties; i++) {
        MPC_FUZZ_ASSERT(memchr(cfg.parties[i].name, 0, sizeof cfg.parties[i].name) != NULL);
        MPC_FUZZ_ASSERT(cfg.parties[i].name[0] != 0);
        if (i != cfg.self) MPC_FUZZ_ASSERT(strlen(cfg.parties[i].public_key) == MPCD_Z85_KEY_LEN);
    }
    uint32_t all = (1u << cfg.n_parties) - 1;
    for (uint32_t i = 0; i < cfg.n_clients; i++) {
        MPC_FUZZ_ASSERT(strlen(cfg.clients[i].public_key) == MPCD_Z85_KEY_LEN);
        MPC_FUZZ_ASSERT((cfg.clients[i].input_for & ~all) == 0 && (cfg.clients[i].output_for & ~all) == 0);
    }
    MPC_FUZZ_ASSERT(cfg.max_gates >= 1 && cfg.max_message_bytes >= 1024 && cfg.peer_timeout_ms >= 100);
    return 0;
}

MPC_FUZZ_ENTRY(mpc_fuzz_config)
