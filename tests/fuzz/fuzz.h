/* fuzz.h — shared by the fuzz targets (tests/fuzz/fuzz_*.c).  Each target is one function
 * mpc_fuzz_<name>(data, size) that feeds hostile bytes to one decoder and aborts if an
 * invariant breaks (a round trip that does not reproduce itself, an encoder refusing what its
 * decoder accepted).  Built with -DMPC_FUZZ_LIBFUZZER by tests/fuzz/run it becomes a libFuzzer
 * binary; tests/check_hostile_corpus.c includes the same files to replay every corpus file in
 * `make test`. */
#ifndef MPC_FUZZ_H
#define MPC_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define MPC_FUZZ_ASSERT(cond)                                                              \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                       \
        }                                                                                  \
    } while (0)

#ifdef MPC_FUZZ_LIBFUZZER
#define MPC_FUZZ_ENTRY(fn)                                                     \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);              \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)               \
    {                                                                          \
        fn(data, size);                                                        \
        return 0;                                                              \
    }
#else
#define MPC_FUZZ_ENTRY(fn)
#endif

#endif
