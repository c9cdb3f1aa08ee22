/*
 * loadgen_util.h - what the load generators (loadgen, loadgen_line) share:
 * the clock and the server's CPU time.  Plain libc: the load generators
 * share nothing with the servers they measure.
 */
#ifndef GINSFSM_BENCH_LOADGEN_UTIL_H
#define GINSFSM_BENCH_LOADGEN_UTIL_H

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static inline uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* CPU time a process has used so far, summed over its threads, in ns; -1
 * when /proc cannot tell.  schedstat counts nanoseconds; the fallback,
 * /proc/PID/stat, counts clock ticks (10 ms). */
static inline int64_t read_cpu_ns(long pid)
{
    char path[96];
    snprintf(path, sizeof path, "/proc/%ld/task", pid);
    DIR *d = opendir(path);
    int64_t total = 0;
    if (!d)
        return -1;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        unsigned long long ns;
        snprintf(path, sizeof path, "/proc/%ld/task/%.20s/schedstat", pid, e->d_name);
        FILE *f = fopen(path, "r");
        if (f && fscanf(f, "%llu", &ns) == 1) {
            total += (int64_t)ns;
            fclose(f);
            continue;
        }
        if (f)
            fclose(f);
        closedir(d);
        unsigned long long ut, st;
        snprintf(path, sizeof path, "/proc/%ld/stat", pid);
        if (!(f = fopen(path, "r")))
            return -1;
        /* The command name may hold spaces: the fields start after ')'. */
        int ch, ok = 0;
        while ((ch = fgetc(f)) != EOF && ch != ')')
            ;
        ok = fscanf(f, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) == 2;
        fclose(f);
        return ok ? (int64_t)((ut + st) * (1000000000.0 / (double)sysconf(_SC_CLK_TCK))) : -1;
    }
    closedir(d);
    return total;
}

#endif /* GINSFSM_BENCH_LOADGEN_UTIL_H */
