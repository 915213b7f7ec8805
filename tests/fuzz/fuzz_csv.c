/* fuzz_csv.c — the CSV table reader (circuits/csv.c).  Input: the file's bytes, written to a
 * temporary file (the reader's contract takes a path), read as a table of three columns
 * a: int, b: fix (default 2.5), c: bool, with ',' as separator; then the same bytes record
 * by record with ';'.  A read table has at least one row and every column its values; a
 * refused one says why in a terminated "path:line:col: error: ..." line. */
#include <string.h>
#include <unistd.h>

#include "csv.h"
#include "fuzz.h"

int mpc_fuzz_csv(const uint8_t *data, size_t size);

static char s_csv_path[64];

int mpc_fuzz_csv(const uint8_t *data, size_t size)
{
    if (!s_csv_path[0]) {
        const char *dir = getenv("TMPDIR");
        snprintf(s_csv_path, sizeof s_csv_path, "%.30s/mpcfuzzcsvXXXXXX", dir && dir[0] ? dir : "/tmp");
        int fd = mkstemp(s_csv_path);
        MPC_FUZZ_ASSERT(fd >= 0);
        close(fd);
    }
    FILE *f = fopen(s_csv_path, "wb");
    MPC_FUZZ_ASSERT(f != NULL);
    MPC_FUZZ_ASSERT(fwrite(data, 1, size, f) == size);
    fclose(f);
    mpc_table_col cols[3] = {{.name = "a", .type = MPC_T_INT},
                             {.name = "b", .type = MPC_T_FIX, .has_default = 1, .dflt = 5u << 15},
                             {.name = "c", .type = MPC_T_BOOL}};
    char err[512];
    err[0] = 0;
    uint64_t rows = 0;
    size_t pl = strlen(s_csv_path);
    if (mpc_table_read(s_csv_path, NULL, 16, cols, 3, &rows, err, sizeof err) == 0) {
        MPC_FUZZ_ASSERT(rows >= 1);
        for (int i = 0; i < 3; i++) {
            MPC_FUZZ_ASSERT(cols[i].vals != NULL);
            if (cols[i].type == MPC_T_BOOL)
                for (uint64_t r = 0; r < rows; r++) MPC_FUZZ_ASSERT(cols[i].vals[r] <= 1);
            free(cols[i].vals);
        }
    } else {
        MPC_FUZZ_ASSERT(memchr(err, 0, sizeof err) != NULL && strncmp(err, s_csv_path, pl) == 0);
        for (int i = 0; i < 3; i++) MPC_FUZZ_ASSERT(cols[i].vals == NULL);
    }
    mpc_csv *r;
    MPC_FUZZ_ASSERT(mpc_csv_open(s_csv_path, ';', &r, err, sizeof err) == 0);
    mpc_csv_record rec;
    int k;
    while ((k = mpc_csv_next(r, &rec, err, sizeof err)) == 1) {
        MPC_FUZZ_ASSERT(rec.n >= 1);
        for (size_t i = 0; i < rec.n; i++) {
            MPC_FUZZ_ASSERT(rec.text[i][rec.len[i]] == 0 && rec.line[i] >= 1 && rec.col[i] >= 1);
            MPC_FUZZ_ASSERT(rec.line[i] <= rec.end_line);
        }
    }
    MPC_FUZZ_ASSERT(k == 0 || strncmp(err, s_csv_path, pl) == 0);
    mpc_csv_close(&r);
    unlink(s_csv_path);
    return 0;
}

MPC_FUZZ_ENTRY(mpc_fuzz_csv)
