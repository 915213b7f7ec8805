/* http.h — mpcd's metrics endpoint: a small HTTP server (libmicrohttpd, on its own thread)
 * answering GET /metrics (metrics.h, Prometheus text format) and GET /healthz (200 "ok" when
 * the mesh is connected to every peer, 503 and the reason otherwise); 404 for any other
 * path, 405 for any other method (HEAD is answered like GET, without a body).  Bounded: few
 * connections, a per-connection timeout, small request memory; a scrape reads atomics and
 * takes the job table's lock only to count jobs, so it never holds up the worker
 * (docs/daemon.md, "Metrics and health"). */
#ifndef MPCD_HTTP_H
#define MPCD_HTTP_H

#include <stddef.h>
#include <sys/socket.h>

#include "metrics.h"

#define MPCD_HTTP_MAX_CONNECTIONS 16   /* open at a time; further ones are refused */
#define MPCD_HTTP_TIMEOUT_S       5    /* a connection idle this long is closed */

typedef struct mpcd_http mpcd_http;

/* Parses "HOST:PORT" (a numeric IPv4 address, or an IPv6 one in brackets: "[::1]:9464";
 * port 0..65535, 0 picks a free one).  0, or -1 with the reason in err. */
int mpcd_http_parse_address(const char *text, struct sockaddr_storage *sa, socklen_t *salen, char *err,
                            size_t errlen);

/* Binds `address` and starts serving; src (copied) says where the numbers come from and must
 * stay valid until mpcd_http_stop.  0, or MPC_ERR_CONFIG / MPC_ERR_IO with a reason in err. */
int  mpcd_http_start(mpcd_http **out, const char *address, const mpcd_metrics_source *src, char *err,
                     size_t errlen);
/* The TCP port bound (the one picked, for port 0). */
unsigned mpcd_http_port(const mpcd_http *h);
/* Stops the server (joins its thread) and frees it; sets *h to NULL.  Accepts NULL. */
void mpcd_http_stop(mpcd_http **h);

#endif
