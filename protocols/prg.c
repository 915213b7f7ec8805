/* prg.c — ChaCha20 expansion of uint64 vectors (prg.h).  The stream is produced by XOR-ing
 * the key stream into a zeroed buffer in place, which libsodium allows. */
#include "prg.h"

#include <sodium.h>
#include <string.h>

#include "mpc_err.h"

int mpc_prg_expand(uint64_t *out, uint64_t n, const uint8_t seed[MPC_PRG_SEEDBYTES],
                   uint64_t stream, uint64_t pos)
{
    if (n == 0) return 0;
    if (pos + n < pos) return MPC_ERR_INVALID;
    unsigned char nonce[crypto_stream_chacha20_NONCEBYTES];
    for (int i = 0; i < 8; i++) nonce[i] = (unsigned char)(stream >> (8 * i));
    uint64_t block = pos / 8;     /* 64-byte blocks hold 8 words */
    uint64_t skip = pos % 8;
    if (skip) {
        uint64_t tmp[8] = {0};
        crypto_stream_chacha20_xor_ic((unsigned char *)tmp, (const unsigned char *)tmp,
                                      sizeof tmp, nonce, block, seed);
        uint64_t take = 8 - skip < n ? 8 - skip : n;
        memcpy(out, tmp + skip, (size_t)take * 8);
        sodium_memzero(tmp, sizeof tmp);
        out += take;
        n -= take;
        block++;
    }
    /* Large requests go in chunks so that the byte length never overflows size_t math. */
    const uint64_t chunk = 1ull << 24;   /* words */
    while (n) {
        uint64_t k = n < chunk ? n : chunk;
        memset(out, 0, (size_t)k * 8);
        crypto_stream_chacha20_xor_ic((unsigned char *)out, (const unsigned char *)out,
                                      (unsigned long long)k * 8, nonce, block, seed);
        out += k;
        n -= k;
        block += k / 8;
    }
    return 0;
}

uint8_t *mpc_prg_seed_new(void)
{
    if (sodium_init() < 0) return NULL;
    uint8_t *s = sodium_malloc(MPC_PRG_SEEDBYTES);
    if (s) randombytes_buf(s, MPC_PRG_SEEDBYTES);
    return s;
}

uint8_t *mpc_prg_seed_dup(const uint8_t src[MPC_PRG_SEEDBYTES])
{
    if (sodium_init() < 0) return NULL;
    uint8_t *s = sodium_malloc(MPC_PRG_SEEDBYTES);
    if (s) memcpy(s, src, MPC_PRG_SEEDBYTES);
    return s;
}

void mpc_prg_seed_free(uint8_t **s)
{
    if (!s || !*s) return;
    sodium_free(*s);   /* wipes before unmapping */
    *s = NULL;
}
