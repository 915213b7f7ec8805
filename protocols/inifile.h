/* inifile.h — the one INI loader of the daemon's (mpcd/config.c) and the client's
 * (client-sdk/client_conf.c) configurations.  inih reads the lines; this module checks them
 * against a table of keys: every row gives the section, key, type, bounds, default, whether
 * it is required, and help text (the daemon's reference, configs/README.md, is printed from
 * its table by mpc_ini_write_doc).  Unknown sections and keys, keys set twice, sections
 * that appear twice or hold no key, bad names, bad values and missing required keys are
 * refused with "path:line: error: reason" (line omitted when the problem is the file as a
 * whole).  Only the first error is kept.  Section names ([party NAME], [daemon NAME], ...)
 * follow the one name rule, mpc_name_ok (circuits/circuit.h).
 *
 * Use: fill an mpc_ini_schema (sections, keys, and an `open` callback that returns the
 * struct a section's keys fill), call mpc_ini_load, then check what depends on the whole
 * file (cross-references, role-dependent requirements) with mpc_ini_error, and finish with
 * mpc_ini_done, which returns 0 or MPC_ERR_CONFIG. */
#ifndef MPC_INIFILE_H
#define MPC_INIFILE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define MPC_INI_PATH_MAX     512
#define MPC_INI_MAX_KEYS     80    /* rows in one table */
#define MPC_INI_MAX_SECTIONS 8     /* section kinds in one table */
#define MPC_INI_MAX_NAMED    128   /* named sections in one file */

typedef enum {
    MPC_INI_STR,       /* text of at most size-1 bytes */
    MPC_INI_NAME,      /* a name (mpc_name_ok); size as for STR */
    MPC_INI_PATH,      /* a file or directory; relative paths are resolved against the
                        * configuration file's directory; size as for STR */
    MPC_INI_ENDPOINT,  /* a ZeroMQ endpoint (transport://address); size as for STR */
    MPC_INI_KEY,       /* a CURVE public key as its 40 Z85 characters (size 41) */
    MPC_INI_KEY_BIN,   /* a CURVE public key, decoded to 32 bytes */
    MPC_INI_INT,       /* int64_t in min..max */
    MPC_INI_BOOL,      /* int: true/yes/on/1 or false/no/off/0 */
    MPC_INI_ENUM,      /* int64_t: the index of the value in names[] */
    MPC_INI_CUSTOM,    /* parse() decides */
} mpc_ini_type;

typedef struct mpc_ini mpc_ini;

typedef struct {
    const char *name;      /* "mpcd", "party", ... */
    int         named;     /* 1: [name NAME], once per NAME; 0: [name], at most once */
    int         required;  /* unnamed sections: the file must have it */
} mpc_ini_section;

typedef struct {
    int                 section;   /* index in the schema's sections */
    const char         *key;
    mpc_ini_type        type;
    size_t              off;       /* of the field in the section's struct */
    size_t              size;      /* STR, NAME, PATH, ENDPOINT: capacity including the NUL */
    int64_t             min, max;  /* INT */
    const char         *dflt;      /* applied before the file is read; NULL: none */
    int                 required;  /* the section must set it (to a non-empty value) */
    const char *const  *names;     /* ENUM: NULL-terminated */
    /* CUSTOM: parses value into base; 0, or -1 after mpc_ini_error.  Such a key may be
     * repeated in a section when `repeat` is set (e.g. a list given on several lines). */
    int               (*parse)(mpc_ini *ini, void *base, const char *value);
    int                 repeat;
    const char         *type_doc;  /* CUSTOM: the type column of the reference */
    const char         *help;
} mpc_ini_key;

typedef struct {
    const mpc_ini_section *sections;
    size_t                 n_sections;
    const mpc_ini_key     *keys;
    size_t                 n_keys;
    /* The struct the keys of a section fill.  Called once per unnamed section before the
     * file is read (name NULL; defaults are applied to it then, whether or not the file has
     * the section), and for each named section when it opens (name valid and new; its
     * defaults are applied after).  NULL refuses the section: call mpc_ini_error first. */
    void *(*open)(mpc_ini *ini, int section, const char *name, uint32_t line, void *user);
    void  *user;
} mpc_ini_schema;

struct mpc_ini {
    const mpc_ini_schema *schema;
    char      path[MPC_INI_PATH_MAX];
    FILE     *f;
    char     *err;
    size_t    errlen;
    int       failed;
    uint32_t  line;             /* current line, counted by the reader */
    int       at_line_start;    /* the next chunk inih reads begins a line */
    uint32_t  header_line;      /* line of the last [section] header read */
    int       cur;              /* section kind being filled, -1 none */
    void     *cur_base;
    uint32_t  cur_start;        /* line of its header */
    char      cur_raw[160];     /* its header as written, for messages */
    uint32_t  seen[MPC_INI_MAX_KEYS];            /* line each key was set in this section */
    void     *unnamed_base[MPC_INI_MAX_SECTIONS];
    uint32_t  unnamed_line[MPC_INI_MAX_SECTIONS];/* where each unnamed section appeared */
    struct { int section; uint32_t line; char name[64]; } named[MPC_INI_MAX_NAMED];
    uint32_t  n_named;
};

/* Reads and checks `path` against the schema into the structs `open` hands out.  Returns
 * 0 when nothing is wrong so far (the caller may add checks with mpc_ini_error), else -1;
 * either way finish with mpc_ini_done. */
int  mpc_ini_load(mpc_ini *ini, const char *path, const mpc_ini_schema *schema, char *err, size_t errlen);
/* Records an error (the first one only): "path:line: error: …", or "path: error: …" for
 * line 0. */
void mpc_ini_error(mpc_ini *ini, uint32_t line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The line being parsed (in open and parse callbacks). */
uint32_t mpc_ini_line(const mpc_ini *ini);
/* 0, or MPC_ERR_CONFIG when an error was recorded. */
int  mpc_ini_done(mpc_ini *ini);

/* Writes the Markdown reference of every section and key of the schema: one table per
 * section with key, type, default and help. */
void mpc_ini_write_doc(FILE *f, const mpc_ini_schema *schema);

#endif
