/* fdguard.c — accept() and accept4() that survive EMFILE (fdguard.h). */
#include "fdguard.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <unistd.h>

typedef int (*s_accept_fn)(int, __SOCKADDR_ARG, socklen_t *__restrict);
typedef int (*s_accept4_fn)(int, __SOCKADDR_ARG, socklen_t *__restrict, int);

static pthread_mutex_t s_mu = PTHREAD_MUTEX_INITIALIZER;
static int s_reserve = -1;              /* guarded by s_mu */
static atomic_uint_least64_t s_dropped;

/* libc's function `name` (the next definition after this executable's), looked up once. */
static void *s_next(const char *name, _Atomic(void *) *slot)
{
    void *f = atomic_load(slot);
    if (!f) {
        f = dlsym(RTLD_NEXT, name);
        atomic_store(slot, f);
    }
    return f;
}

static _Atomic(void *) s_accept_slot, s_accept4_slot;
#define s_real_accept()  ((s_accept_fn)s_next("accept", &s_accept_slot))
#define s_real_accept4() ((s_accept4_fn)s_next("accept4", &s_accept4_slot))

static int s_open_reserve(void)
{
    if (s_reserve < 0) s_reserve = open("/dev/null", O_RDONLY | O_CLOEXEC);
    return s_reserve;
}

int mpcd_fdguard_init(void)
{
    pthread_mutex_lock(&s_mu);
    int r = s_open_reserve() >= 0 ? 0 : -1;
    pthread_mutex_unlock(&s_mu);
    return r;
}

uint64_t mpcd_fdguard_dropped(void)
{
    return atomic_load(&s_dropped);
}

/* accept() failed with EMFILE on fd: frees the reserve, takes the waiting connection and closes
 * it, takes the reserve back.  Always -1 with errno ECONNABORTED. */
static int s_out_of_descriptors(int fd)
{
    pthread_mutex_lock(&s_mu);
    /* Only if a connection still waits: a blocking listener would otherwise block here. */
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    if (s_reserve >= 0 && poll(&pf, 1, 0) == 1 && (pf.revents & POLLIN)) {
        close(s_reserve);
        s_reserve = -1;
        s_accept4_fn real = s_real_accept4();
        int c = real ? real(fd, (struct sockaddr *)NULL, NULL, SOCK_CLOEXEC) : -1;
        if (c >= 0) {
            close(c);
            atomic_fetch_add(&s_dropped, 1);
        }
    }
    (void)s_open_reserve();   /* may fail if another thread took the slot: tried again next time */
    pthread_mutex_unlock(&s_mu);
    errno = ECONNABORTED;
    return -1;
}

int accept(int fd, __SOCKADDR_ARG addr, socklen_t *__restrict len)
{
    s_accept_fn real = s_real_accept();
    if (!real) {
        errno = ENOSYS;
        return -1;
    }
    int c = real(fd, addr, len);
    return c < 0 && errno == EMFILE ? s_out_of_descriptors(fd) : c;
}

int accept4(int fd, __SOCKADDR_ARG addr, socklen_t *__restrict len, int flags)
{
    s_accept4_fn real = s_real_accept4();
    if (!real) {
        errno = ENOSYS;
        return -1;
    }
    int c = real(fd, addr, len, flags);
    return c < 0 && errno == EMFILE ? s_out_of_descriptors(fd) : c;
}
