/* zmq_bench.h — loopback throughput of the ZeroMQ + CURVE transport (protocols/transport_zmq.h),
 * the floor of several benchmarks (bench/run, docs/performance.md).  Built with mpcbench only;
 * not part of the libraries. */
#ifndef MPC_BENCH_ZMQ_BENCH_H
#define MPC_BENCH_ZMQ_BENCH_H

#include <stddef.h>
#include <stdint.h>

/* Two parties in two threads on 127.0.0.1 with CURVE; party 0 sends total_bytes in messages
 * of msg_bytes (multiples of 8) to party 1.  *bytes_per_sec receives payload bytes / wall
 * time from the first send to the last receive.  0 or an MPC_ERR_* with a reason in err. */
int bench_zmq_loopback(uint64_t total_bytes, uint64_t msg_bytes, double *bytes_per_sec, char *err,
                       size_t errlen);

#endif
