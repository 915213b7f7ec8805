/* http_addr.c — the metrics endpoint's address syntax (http.h), apart from the HTTP server so
 * that the configuration loader (and its fuzz target) need not link libmicrohttpd. */
#include "http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int mpcd_http_parse_address(const char *text, struct sockaddr_storage *sa, socklen_t *salen, char *err,
                            size_t errlen)
{
    char host[64];
    const char *colon = strrchr(text, ':');
    const char *h = text;
    size_t hlen = colon ? (size_t)(colon - text) : 0;
    if (hlen >= 2 && text[0] == '[' && text[hlen - 1] == ']') {
        h = text + 1;
        hlen -= 2;
    }
    if (!colon || hlen == 0 || hlen >= sizeof host || !colon[1] || strlen(colon + 1) > 5 ||
        strspn(colon + 1, "0123456789") != strlen(colon + 1)) {
        snprintf(err, errlen, "'%.80s' is not HOST:PORT (a numeric address, e.g. 127.0.0.1:9464 or [::1]:9464)",
                 text);
        return -1;
    }
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    long port = strtol(colon + 1, NULL, 10);
    if (port > 65535) {
        snprintf(err, errlen, "'%.80s': port %ld is over 65535", text, port);
        return -1;
    }
    memset(sa, 0, sizeof *sa);
    struct sockaddr_in *v4 = (struct sockaddr_in *)sa;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)sa;
    if (h == text && inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        *salen = sizeof *v4;
    } else if (h != text && inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        *salen = sizeof *v6;
    } else {
        snprintf(err, errlen, "'%.80s': '%s' is not a numeric IPv4 address or a bracketed IPv6 address", text, host);
        return -1;
    }
    return 0;
}
