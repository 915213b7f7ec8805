/* audit.h — each party's audit log: one record per job, appended to a file, hash-chained and
 * signed with the party's Ed25519 key, holding the parties' co-signatures of the job's common
 * statement (docs/governance.md, "Audit log", gives the format and what each check proves).
 * Never a value, share or key in a record: callers put names, hashes, counts and times only. */
#ifndef MPCD_AUDIT_H
#define MPCD_AUDIT_H

#include <stdint.h>
#include <stdio.h>

#include "circuit.h"
#include "keys.h"

#define MPCD_AUDIT_LINE_MAX   (256u * 1024u)   /* one record, newline included */
#define MPCD_AUDIT_SIG_BYTES  64
#define MPCD_AUDIT_HASH_BYTES 32

typedef struct mpcd_audit mpcd_audit;

/* A party's signature of a job's statement. */
typedef struct {
    char    party[MPC_NAME_MAX];
    uint8_t sig[MPCD_AUDIT_SIG_BYTES];
} mpcd_audit_cosig;

/* A party's Ed25519 public key, for verification. */
typedef struct {
    char    party[MPC_NAME_MAX];
    uint8_t pub[32];
} mpcd_audit_key;

/* Opens the log at path for appending (creating it, mode 0600), as party `party` signing with
 * kp (an MPC_KEY_SIGN pair; the log keeps its own copy).  The file's last record and the
 * signed head file (path + ".head") must agree: a log cut short, a head that does not match
 * or a record not ending in a newline is refused, naming the file, so that the daemon does
 * not extend a damaged chain.  One exception: a head exactly one record behind a last record
 * that is this party's, signed, and follows the head's record (a crash between the record's
 * fsync and the head's rename) is advanced, and mpcd_audit_head_advanced says so.  0 or a
 * negative MPC_ERR_* with err set. */
int mpcd_audit_head_advanced(const mpcd_audit *a);
int mpcd_audit_open(mpcd_audit **out, const char *path, const char *party, const mpc_keypair *kp,
                    char *err, size_t errlen);
void mpcd_audit_close(mpcd_audit **a);

/* This party's co-signature of a statement (the exact bytes of a JSON object). */
void mpcd_audit_cosign(const mpcd_audit *a, const char *stmt, size_t len, mpcd_audit_cosig *out);
/* Checks a co-signature against a public key.  1 if valid. */
int mpcd_audit_cosig_ok(const uint8_t pub[32], const char *stmt, size_t len,
                        const uint8_t sig[MPCD_AUDIT_SIG_BYTES]);

/* Appends one record: `local` (a JSON object: this party's own view — times, outcome, reason)
 * and `stmt` (a JSON object every party of the job signs) with the co-signatures given (this
 * party's own is added if missing).  Written with one write() and fsync()ed; then the head
 * file is replaced.  Thread-safe.  0 or a negative MPC_ERR_* with err set. */
int mpcd_audit_append(mpcd_audit *a, const char *local, const char *stmt, const mpcd_audit_cosig *cs,
                      uint32_t n_cs, char *err, size_t errlen);
/* This party's audit public key. */
void mpcd_audit_own_public(const mpcd_audit *a, uint8_t pub[32]);
/* The number of records in the log. */
uint64_t mpcd_audit_seq(const mpcd_audit *a);

/* `mpcd audit verify`: checks every record of the log of party `self` — its place in the chain,
 * its signature, every co-signature (keys[] holds every party's public key, own included) —
 * and the head file.  Prints one line per problem found up to the first broken record, and a
 * summary, to out.  0: intact; 1: damaged (the first bad record is named); -1: unreadable. */
int mpcd_audit_verify(const char *path, const char *self, const mpcd_audit_key *keys, uint32_t n_keys,
                      FILE *out);
/* `mpcd audit show`: prints each record (json: the lines as they are; otherwise one
 * "path: value" line per field).  0, 1 on a malformed record, -1 when unreadable. */
int mpcd_audit_show(const char *path, int json, FILE *out);

#endif
