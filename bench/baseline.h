/*
 * baseline.h - what the baseline echo servers share.
 */
#ifndef GINSFSM_BENCH_BASELINE_H
#define GINSFSM_BENCH_BASELINE_H

#include <stddef.h>
#include <sys/resource.h>

/* Raise the soft descriptor limit to the hard one, as gserve does, so that
 * the idle-connections case compares like with like.  Returns: the limit in
 * force, capped at 16M (the servers size a table by it). */
static inline size_t raise_nofile_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return 1024;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
            getrlimit(RLIMIT_NOFILE, &rl);
    }
    return rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 1u << 24 ? 1u << 24 : rl.rlim_cur;
}

#endif /* GINSFSM_BENCH_BASELINE_H */
