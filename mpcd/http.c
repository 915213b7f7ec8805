/* http.c — mpcd's metrics endpoint over libmicrohttpd (http.h). */
#include "http.h"

#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mpc_err.h"

struct mpcd_http {
    struct MHD_Daemon  *d;
    mpcd_metrics_source src;
    unsigned            port;
};

static enum MHD_Result s_reply(struct MHD_Connection *c, unsigned status, const char *type, char *body, size_t len,
                               int must_free)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, body, must_free ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!r) {
        if (must_free) free(body);
        return MHD_NO;
    }
    enum MHD_Result ok = MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (ok == MHD_YES && status == MHD_HTTP_METHOD_NOT_ALLOWED)
        ok = MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    if (ok == MHD_YES) ok = MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (ok == MHD_YES) ok = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result s_text(struct MHD_Connection *c, unsigned status, const char *msg)
{
    return s_reply(c, status, "text/plain; charset=utf-8", (char *)msg, strlen(msg), 0);
}

static enum MHD_Result s_metrics(struct MHD_Connection *c, const mpcd_http *h)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return s_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
    mpcd_metrics_render(&h->src, f);
    if (fclose(f) != 0 || !buf) {
        free(buf);
        return s_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
    }
    return s_reply(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", buf, len, 1);
}

static enum MHD_Result s_health(struct MHD_Connection *c, const mpcd_http *h)
{
    char reason[1024];
    int ok = mpcd_metrics_healthy(&h->src, reason, sizeof reason - 1);
    size_t len = strlen(reason);
    reason[len++] = '\n';
    char *body = malloc(len);
    if (!body) return s_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
    memcpy(body, reason, len);
    return s_reply(c, ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain; charset=utf-8", body, len, 1);
}

/* Every request is answered at its first call, from the headers alone: a body (which no
 * valid request has) is never read, and MHD closes such a connection after the reply. */
static enum MHD_Result s_access(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                const char *version, const char *upload_data, size_t *upload_data_size,
                                void **con_cls)
{
    (void)version;
    (void)upload_data;
    (void)upload_data_size;
    (void)con_cls;
    const mpcd_http *h = cls;
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return s_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed: only GET and HEAD\n");
    if (!strcmp(url, "/metrics")) return s_metrics(c, h);
    if (!strcmp(url, "/healthz")) return s_health(c, h);
    return s_text(c, MHD_HTTP_NOT_FOUND, "not found: try /metrics or /healthz\n");
}

static void s_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char line[256];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
    mpcd_warn(NULL, "metrics endpoint: %s", line);
}

int mpcd_http_start(mpcd_http **out, const char *address, const mpcd_metrics_source *src, char *err,
                    size_t errlen)
{
    *out = NULL;
    struct sockaddr_storage sa;
    socklen_t salen;
    char why[256];
    if (mpcd_http_parse_address(address, &sa, &salen, why, sizeof why) != 0) {
        snprintf(err, errlen, "metrics_endpoint: %s", why);
        return MPC_ERR_CONFIG;
    }
    mpcd_http *h = calloc(1, sizeof *h);
    if (!h) return MPC_ERR_NOMEM;
    h->src = *src;
    unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
    if (sa.ss_family == AF_INET6) flags |= MHD_USE_IPv6;
    h->d = MHD_start_daemon(flags, 0, NULL, NULL, s_access, h,
                            MHD_OPTION_EXTERNAL_LOGGER, s_mhd_log, NULL,   /* first, or MHD warns */
                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)MPCD_HTTP_MAX_CONNECTIONS,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)MPCD_HTTP_TIMEOUT_S,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)16384,
                            MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)16,
                            MHD_OPTION_END);
    if (!h->d) {
        snprintf(err, errlen, "metrics_endpoint: cannot listen on %s (in use, or not an address of this host)",
                 address);
        free(h);
        return MPC_ERR_IO;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info ? info->port : 0;
    *out = h;
    return 0;
}

unsigned mpcd_http_port(const mpcd_http *h)
{
    return h ? h->port : 0;
}

void mpcd_http_stop(mpcd_http **hp)
{
    if (!hp || !*hp) return;
    MHD_stop_daemon((*hp)->d);
    free(*hp);
    *hp = NULL;
}
