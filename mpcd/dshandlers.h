/* dshandlers.h — mpcd's side of the datasets (docs/datasets.md): the dataset requests of the
 * client protocol (client-sdk/dswire.h) with their rights ([dataset NAME] in the
 * configuration), and the inputs a submitted job reads from stored datasets.  Every refusal
 * names this party and the cause, never a value. */
#ifndef MPCD_DSHANDLERS_H
#define MPCD_DSHANDLERS_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "cwire.h"
#include "dataset.h"
#include "dswire.h"
#include "jobs.h"

/* The store the handlers use (set once at start, before any request; NULL: no state_dir, so
 * every dataset request is refused). */
void mpcd_ds_set_store(mpcd_ds_store *s);

/* Handles a dataset request of `client` (the authenticated name).  0: *rep is the reply
 * (rep->items may point to memory to free with free() after encoding: *to_free); -1: *erep
 * is the ERROR reply.  Called from the client socket's thread only (upload sessions live
 * there). */
int mpcd_ds_handle(const mpcd_config *cfg, const char *client, const mpc_dw_req *req, const uint8_t *payload,
                   size_t plen, mpc_dw_rep *rep, void **to_free, mpc_cwire_rep *erep);

/* For a job being submitted that this daemon is party `me` of: when the circuit's program
 * reads stored datasets, checks that the program is this circuit (recompiling it), that each
 * dataset admits the program ([dataset NAME] readers), exists here, is owned by the party
 * its table is read from, is shared among exactly the job's daemons and matches the table
 * (columns, types, rows, precision); then marks in[k] present, mode MPC_IN_STORED, without a
 * share (giver: the dataset), for every input the datasets give: the job thread loads them
 * when the job runs (mpcd_ds_job_load).  *n_loaded counts them.  0, or an MPC_ERR_* code with
 * one line in why (in[] then holds nothing). */
int mpcd_ds_job_inputs(const mpcd_config *cfg, const mpc_circuit *c, const uint8_t hash[32],
                       const uint32_t *binding, const mpc_circ_limits *lim, mpcd_job_input *in,
                       uint32_t *n_loaded, char *why, size_t whylen);

/* When the job runs: vals[k] (k < c->n_inputs) receives this daemon's stored share of every
 * MPC_IN_STORED input (malloc'ed; the others NULL), every file checked again.  Free with
 * mpcd_ds_free_vals (wipes).  0, or a code with why naming the file at fault. */
int  mpcd_ds_job_load(const mpc_circuit *c, const mpcd_job_input *in, uint64_t **vals, char *why, size_t whylen);
void mpcd_ds_free_vals(const mpc_circuit *c, uint64_t **vals);

#endif
