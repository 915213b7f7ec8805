/* dswire.h — the dataset messages of the client protocol (docs/datasets.md, "Wire messages"),
 * linked by the SDK and mpcd.  Same framing as cwire.h: one msgpack header frame
 * [version, type, request id, ...] and at most one raw payload frame; errors come back as the
 * ERROR reply of cwire.h.  Decoders treat their bytes as hostile (mpc_cwire_precheck first,
 * then every field checked).
 *
 *   PUT    [1, 0x10, rid, phase, name, append, owner, frac, [[col, type]...], [daemon...],
 *           rows, mode, chunk, ncols]
 *          phase BEGIN: starts an upload (append = 1 adds rows); the columns, frac, owner party
 *          and the daemons sharing it (in sharing order).  CHUNK: `rows` rows of `ncols`
 *          columns, the payload being this daemon's share column after column (mode EXPLICIT,
 *          rows·ncols·8 bytes) or a 32-byte seed (mode SEED) it expands to
 *          PRG(seed, MPC_PRG_STREAM(MPC_PRG_D_DATASET, chunk)).  COMMIT: makes it visible.
 *          ABORT: drops it.
 *   LIST   [1, 0x11, rid]
 *   DELETE [1, 0x12, rid, name]
 *   replies: PUT_OK [1, 0x90, rid, info or nil (COMMIT: the dataset now)],
 *            LIST_OK [1, 0x91, rid, daemon, [info...]], DELETE_OK [1, 0x92, rid]
 *   info:  [name, owner, uploader, frac, [[col, type]...], [daemon...], rows, created,
 *           modified, bytes, uploads] */
#ifndef MPC_DSWIRE_H
#define MPC_DSWIRE_H

#include <stddef.h>
#include <stdint.h>

#include "circuit.h"

#define MPC_DW_MAX_COLS   64
#define MPC_DW_CHUNK_ROWS 65536
#define MPC_DW_MAX_LIST   256        /* datasets in one LIST reply */

enum {
    MPC_DW_PUT = 0x10,
    MPC_DW_LIST = 0x11,
    MPC_DW_DELETE = 0x12,
    MPC_DW_PUT_OK = 0x90,
    MPC_DW_LIST_OK = 0x91,
    MPC_DW_DELETE_OK = 0x92,
};
enum { MPC_DW_BEGIN = 0, MPC_DW_CHUNK = 1, MPC_DW_COMMIT = 2, MPC_DW_ABORT = 3 };
enum { MPC_DW_EXPLICIT = 0, MPC_DW_SEED = 1 };

typedef struct {
    char    name[MPC_NAME_MAX];
    uint8_t type;                      /* mpc_type */
} mpc_dw_col;

/* A dataset as one daemon describes it. */
typedef struct {
    char       name[MPC_NAME_MAX], owner[MPC_NAME_MAX], uploader[MPC_NAME_MAX];
    uint32_t   frac, n_cols, n_parties, uploads;
    mpc_dw_col cols[MPC_DW_MAX_COLS];
    char       parties[MPC_MAX_PARTIES][MPC_NAME_MAX];
    uint64_t   rows, bytes;
    int64_t    created, modified;
} mpc_dw_info;

typedef struct {
    uint8_t    type;
    uint64_t   rid;
    char       name[MPC_NAME_MAX];     /* PUT, DELETE */
    uint8_t    phase, append, mode;    /* PUT */
    char       owner[MPC_NAME_MAX];    /* PUT BEGIN */
    uint32_t   frac, n_cols, n_parties;
    mpc_dw_col cols[MPC_DW_MAX_COLS];
    char       parties[MPC_MAX_PARTIES][MPC_NAME_MAX];
    uint64_t   rows, chunk;            /* PUT CHUNK (n_cols too) */
} mpc_dw_req;

typedef struct {
    uint8_t      type;
    uint64_t     rid;
    char         daemon[MPC_NAME_MAX]; /* LIST_OK */
    int          has_info;             /* PUT_OK */
    uint32_t     n;                    /* LIST_OK: items; PUT_OK: 1 when has_info */
    mpc_dw_info *items;                /* malloc'ed by the decoder (free()); borrowed by the encoder */
} mpc_dw_rep;

/* Whether a header frame carries a dataset request or reply (its type is 0x10..0x12 or
 * 0x90..0x92); 0 for anything else, including bytes that are not a header. */
int mpc_dw_is_dataset(const uint8_t *hdr, size_t len);

__attribute__((warn_unused_result)) int mpc_dw_req_encode(const mpc_dw_req *r, uint8_t **buf, size_t *len);
__attribute__((warn_unused_result)) int mpc_dw_rep_encode(const mpc_dw_rep *r, uint8_t **buf, size_t *len);
/* 0 or MPC_ERR_PROTOCOL with a reason; the payload frame must be what the header announces. */
__attribute__((warn_unused_result))
int mpc_dw_req_decode(const uint8_t *hdr, size_t len, size_t n_payload, size_t payload_len, mpc_dw_req *out,
                      char *err, size_t errlen);
__attribute__((warn_unused_result))
int mpc_dw_rep_decode(const uint8_t *hdr, size_t len, mpc_dw_rep *out, char *err, size_t errlen);
size_t mpc_dw_req_payload_len(const mpc_dw_req *r);

#endif
