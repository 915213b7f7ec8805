/* json.h — the little JSON the daemon writes (JSON log lines, audit records) and reads back
 * (`mpcd audit show`).  Writing: bounded appends with strings escaped (", \, control
 * characters; valid UTF-8 kept, any other byte replaced by U+FFFD).  Reading: a strict walker
 * over one value that reports every scalar with its dotted path; nothing is allocated. */
#ifndef MPCD_JSON_H
#define MPCD_JSON_H

#include <stddef.h>
#include <stdint.h>

/* Appends to out (cap bytes, *n used) as much of src as fits, never past cap - 1. */
void mpcd_json_put(char *out, size_t cap, size_t *n, const char *src, size_t len);
/* Appends s as a JSON string, quotes included; never cuts an escape in two. */
void mpcd_json_put_str(char *out, size_t cap, size_t *n, const char *s);

/* A builder of one JSON object in a caller's buffer.  Keys are plain identifiers written as
 * given.  A value that does not fit sets `full`; the text is then unusable. */
typedef struct {
    char    *out;
    size_t   cap, n;
    int      full;
    uint32_t depth;
    uint8_t  first[16];    /* per open level: nothing written at this level yet */
} mpcd_json;

void mpcd_json_begin(mpcd_json *j, char *out, size_t cap);   /* writes "{" */
void mpcd_json_str(mpcd_json *j, const char *key, const char *v);   /* key NULL: in an array */
void mpcd_json_int(mpcd_json *j, const char *key, int64_t v);
void mpcd_json_uint(mpcd_json *j, const char *key, uint64_t v);
void mpcd_json_hex(mpcd_json *j, const char *key, const uint8_t *b, size_t len);
void mpcd_json_open(mpcd_json *j, const char *key, char bracket);   /* '{' or '[' */
void mpcd_json_close(mpcd_json *j, char bracket);                   /* '}' or ']' */
/* Closes the outer object; the length of the text, or 0 if it did not fit. */
size_t mpcd_json_end(mpcd_json *j);

/* Walks the JSON value at s[0..len-1] (nothing may follow it but blanks) and calls fn for each
 * scalar with its path ("local.job", "stmt.inputs.0.name") and its text (a string's raw text
 * between the quotes, escapes left as written).  Depth at most 16, path at most 255 bytes.
 * 0, or -1 (malformed; *at, if not NULL, gets the byte offset). */
typedef void (*mpcd_json_fn)(void *ctx, const char *path, const char *val, size_t vlen, int is_str);
int mpcd_json_walk(const char *s, size_t len, mpcd_json_fn fn, void *ctx, size_t *at);
/* The length of the JSON value starting at s[0] (an object, array, string or scalar), or 0
 * if it is malformed or runs past len. */
size_t mpcd_json_span(const char *s, size_t len);

#endif
