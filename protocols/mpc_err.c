/* mpc_err.c — names for MPC_ERR_* codes. */
#include "mpc_err.h"

const char *mpc_strerror(int code)
{
    switch (code) {
#define X(name, val, msg) case (val): return msg;
        MPC_ERR_LIST(X)
#undef X
    default:
        return "unknown error";
    }
}
