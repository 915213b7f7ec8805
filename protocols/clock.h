/* clock.h — the one monotonic clock of the code base (CLOCK_MONOTONIC: not affected by
 * changes of the wall-clock time, so deadlines and durations measured with it are sound).
 * Condition variables that wait with a deadline must be set to the same clock
 * (pthread_condattr_setclock(..., CLOCK_MONOTONIC)); mpc_clock_deadline() converts. */
#ifndef MPC_CLOCK_H
#define MPC_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Nanoseconds, microseconds, milliseconds since an arbitrary fixed point (boot). */
uint64_t mpc_now_ns(void);
uint64_t mpc_now_us(void);
uint64_t mpc_now_ms(void);

/* The absolute CLOCK_MONOTONIC time `ms` milliseconds from now (ms <= 0: now), as
 * pthread_cond_timedwait on a monotonic condition variable expects it. */
struct timespec mpc_clock_deadline(int64_t ms);

#endif
