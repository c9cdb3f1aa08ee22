/*
 * loadgen_modes.c - the load generator's connect mode (connections per
 * second), idle mode (held connections and the server's RSS per
 * connection) and freeport mode (see loadgen.c for the options).
 */
#include "loadgen.h"

/* Connect mode: one blocking connection at a time per worker. */
struct cworker {
    pthread_t tid;
    uint32_t index;
    uint64_t conns;
    uint8_t *rbuf;
    uint64_t hist[HIST_BUCKETS];
};

static int one_cycle(struct cworker *cw, uint64_t seq)
{
    /* Each closed connection leaves its port in TIME_WAIT on our side for a
     * minute; a source address per worker (--source and up) gives every
     * worker its own range of ports, so that a long run does not use them
     * up, and a fresh --source per run keeps one run's TIME_WAIT from
     * slowing the port search of the next. */
    struct sockaddr_in src = {.sin_family = AF_INET};
    src.sin_addr.s_addr = htonl(opt.source + cw->index);
    int fd = open_conn(target_is_loopback4() ? &src : NULL);
    if (fd < 0) {
        if (atomic_load(&g_phase) == PHASE_STOP)
            return 0;
        char name[160];
        fail("cannot connect to %s: %s", target_name(name, sizeof name), connect_error_text(fd));
        return -1;
    }
    const uint8_t *msg = message_bytes(cw->index, seq);
    size_t done = 0;
    while (done < msg_size) {
        ssize_t n = send(fd, msg + done, msg_size - done, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            fail("worker %u: send: %s", cw->index, n < 0 ? strerror(errno) : "returned 0");
            close(fd);
            return -1;
        }
        done += (size_t)n;
    }
    done = 0;
    while (done < msg_size) {
        ssize_t n = recv(fd, cw->rbuf, msg_size - done, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            fail("worker %u: receive: %s", cw->index,
                 n < 0 ? strerror(errno) : "server closed the connection early");
            close(fd);
            return -1;
        }
        if (memcmp(cw->rbuf, msg + done, (size_t)n) != 0) {
            size_t i = 0;
            while (cw->rbuf[i] == msg[done + i])
                i++;
            fail("worker %u, connection %llu: byte %zu is 0x%02x, expected 0x%02x", cw->index,
                 (unsigned long long)seq, done + i, cw->rbuf[i], msg[done + i]);
            close(fd);
            return -1;
        }
        done += (size_t)n;
    }
    close(fd);
    return 1;
}

static void *cworker_main(void *arg)
{
    struct cworker *cw = arg;
    for (uint64_t seq = 0; atomic_load(&g_phase) != PHASE_STOP; seq++) {
        uint64_t t0 = now_ns();
        if (one_cycle(cw, seq) <= 0)
            break;
        if (atomic_load(&g_phase) == PHASE_MEASURE) {
            cw->conns++;
            hist_add(cw->hist, now_ns() - t0);
        }
    }
    return NULL;
}

int run_connect(void)
{
    size_t n = (size_t)opt.workers, started = 0;
    struct cworker *cws = calloc(n, sizeof *cws);
    int rc = 2;
    if (!cws) {
        fprintf(stderr, "loadgen: out of memory\n");
        return 2;
    }
    /* One probe first, so that an unreachable server is a clear error and
     * not eight of them. */
    int fd = open_conn(NULL);
    if (fd < 0) {
        connect_error(fd);
        goto out;
    }
    close(fd);
    for (size_t i = 0; i < n; i++) {
        cws[i].index = (uint32_t)i;
        if (!(cws[i].rbuf = malloc(msg_size))) {
            fprintf(stderr, "loadgen: out of memory\n");
            goto out;
        }
    }
    atomic_store(&g_phase, PHASE_WARMUP);
    for (; started < n; started++) {
        int e = pthread_create(&cws[started].tid, NULL, cworker_main, &cws[started]);
        if (e) {
            fail("pthread_create: %s", strerror(e));
            break;
        }
    }
    sleep_unless_failed(opt.warmup);
    int64_t c0 = opt.pid ? read_cpu_ns(opt.pid) : -1;
    uint64_t t0 = now_ns();
    atomic_store(&g_phase, PHASE_MEASURE);
    sleep_unless_failed(opt.duration);
    atomic_store(&g_phase, PHASE_STOP);
    uint64_t t1 = now_ns();
    int64_t c1 = opt.pid ? read_cpu_ns(opt.pid) : -1;
    for (size_t i = 0; i < started; i++)
        pthread_join(cws[i].tid, NULL);
    if (atomic_load(&g_failed)) {
        rc = report_failure();
        goto out;
    }
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        total += cws[i].conns;
        if (i > 0)
            for (unsigned b = 0; b < HIST_BUCKETS; b++)
                cws[0].hist[b] += cws[i].hist[b];
    }
    double secs = (double)(t1 - t0) / 1e9;
    double p50 = hist_percentile(cws[0].hist, 0.50) / 1e3;
    double p99 = hist_percentile(cws[0].hist, 0.99) / 1e3;
    printf("mode=connect workers=%zu size=%zu duration_s=%.3f conns=%llu conns_per_s=%.0f "
           "p50_us=%.1f p99_us=%.1f",
           n, msg_size, secs, (unsigned long long)total, (double)total / secs, p50, p99);
    print_server_cpu(c0, c1, secs, total, "conn");
    printf("\n");
    printf("# connect: %zu workers: %.0f connections/s (connect, %zu B each way, close; "
           "p50 %.1f us, p99 %.1f us per cycle)\n",
           n, (double)total / secs, msg_size, p50, p99);
    rc = 0;
out:
    for (size_t i = 0; i < n; i++)
        free(cws[i].rbuf);
    free(cws);
    return rc;
}

/* VmRSS of a process in KiB, or -1. */
static long read_rss_kb(long pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%ld/status", pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

/* How many descriptors a process has open, or -1. */
static long count_fds(long pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/fd", pid);
    DIR *d = opendir(path);
    long n = 0;
    if (!d)
        return -1;
    for (struct dirent *e; (e = readdir(d));)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

/* Beyond one source address's ephemeral ports the connections must come
 * from several loopback addresses; this is the size of that range. */
static long ephemeral_ports(void)
{
    long lo = 32768, hi = 60999;
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &lo, &hi) != 2) {
            lo = 32768;
            hi = 60999;
        }
        fclose(f);
    }
    return hi - lo + 1;
}

int run_idle(void)
{
    size_t n = (size_t)opt.conns, held = 0;
    struct conn *conns = calloc(n, sizeof *conns);
    struct worker *w = calloc(1, sizeof *w);
    int rc = 2, first_err = 0;
    if (!conns || !w) {
        fprintf(stderr, "loadgen: out of memory\n");
        goto out;
    }
    w->epfd = -1;
    long rss0 = opt.pid ? read_rss_kb(opt.pid) : -1;
    long fds0 = opt.pid ? count_fds(opt.pid) : -1;
    if (opt.pid && (rss0 < 0 || fds0 < 0)) {
        fprintf(stderr, "loadgen: cannot read /proc/%ld: is --pid a running process?\n", opt.pid);
        goto out;
    }
    /* Our own descriptor limit caps what we can hold; a few stay free for
     * epoll and /proc, so that reaching the cap is a result, not a crash. */
    size_t room = n;
    struct rlimit rl;
    long open_now = count_fds((long)getpid());
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && open_now >= 0 &&
        rl.rlim_cur < (rlim_t)n + (rlim_t)open_now + 8) {
        room =
            rl.rlim_cur > (rlim_t)open_now + 8 ? (size_t)(rl.rlim_cur - (rlim_t)open_now - 8) : 0;
        fprintf(stderr,
                "loadgen: RLIMIT_NOFILE %llu leaves room for %zu of the %zu connections; "
                "holding at most that many\n",
                (unsigned long long)rl.rlim_cur, room, n);
    }
    bool spread = target_is_loopback4() && (long)n > ephemeral_ports() - 1000;
    for (; held < room; held++) {
        struct sockaddr_in src = {.sin_family = AF_INET};
        src.sin_addr.s_addr = htonl(0x7f000001u + (uint32_t)(held % 254));
        int fd = open_conn(spread ? &src : NULL);
        if (fd < 0) {
            first_err = fd;
            break;
        }
        conns[held].fd = fd;
        conns[held].id = (uint32_t)held;
    }
    if (held == 0) {
        connect_error(first_err);
        goto out;
    }
    if (first_err)
        fprintf(stderr, "loadgen: connection %zu of %zu failed: %s; holding %zu\n", held + 1, n,
                connect_error_text(first_err), held);

    /* A connect completes in the kernel before the server accepts it; wait
     * (bounded) until the server holds a descriptor for each one, so that
     * its RSS includes them. */
    long rss1 = -1, fds1 = -1;
    if (opt.pid) {
        uint64_t end = now_ns() + 10 * 1000000000ull;
        while ((fds1 = count_fds(opt.pid)) >= 0 && fds1 < fds0 + (long)held && now_ns() < end)
            sleep_s(0.02);
        sleep_s(0.1);
        rss1 = read_rss_kb(opt.pid);
    }
    if (opt.duration > 0)
        sleep_s(opt.duration);

    /* Echo once on every connection, from one thread, within 30 s. */
    w->one_shot = true;
    atomic_store(&g_phase, PHASE_MEASURE);
    if (worker_init(w, conns, held) < 0)
        goto out;
    worker_run(w, now_ns() + 30 * 1000000000ull);
    if (atomic_load(&g_failed)) {
        rc = report_failure();
        goto out;
    }
    long rss2 = opt.pid ? read_rss_kb(opt.pid) : -1;
    uint64_t echoed = w->msgs;

    printf("mode=idle conns=%zu held=%zu echoed=%llu lost=%llu size=%zu source_spread=%d", n, held,
           (unsigned long long)echoed, (unsigned long long)w->lost, msg_size, spread);
    /* A server that went away mid-run has no RSS to report. */
    char per1[32] = "n/a", per2[32] = "n/a";
    if (rss1 >= 0)
        snprintf(per1, sizeof per1, "%.0f", (double)(rss1 - rss0) * 1024 / (double)held);
    if (rss2 >= 0)
        snprintf(per2, sizeof per2, "%.0f", (double)(rss2 - rss0) * 1024 / (double)held);
    if (opt.pid)
        printf(" server_pid=%ld server_fds=%ld rss_before_kb=%ld rss_held_kb=%ld "
               "rss_echoed_kb=%ld bytes_per_conn=%s bytes_per_conn_echoed=%s",
               opt.pid, fds1, rss0, rss1, rss2, per1, per2);
    printf("\n# idle: held %zu of %zu connections, %llu echoed %zu B each", held, n,
           (unsigned long long)echoed, msg_size);
    if (opt.pid)
        printf("; server RSS %ld -> %ld KiB (%s bytes per connection), %ld KiB after the echo",
               rss0, rss1, per1, rss2);
    printf("\n");
    rc = held == n && echoed == held ? 0 : 1;
out:
    if (w)
        worker_fini(w);
    if (conns)
        close_conns(conns, held);
    free(conns);
    free(w);
    return rc;
}

int run_freeport(void)
{
    int fd = socket(tgt.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_storage a = tgt.addr;
    socklen_t len = tgt.addrlen;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, len) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
        fprintf(stderr, "loadgen: cannot bind %s port 0: %s\n", opt.host, strerror(errno));
        if (fd >= 0)
            close(fd);
        return 2;
    }
    close(fd);
    printf("%u\n", ntohs(a.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&a)->sin6_port
                                                 : ((struct sockaddr_in *)&a)->sin_port));
    return 0;
}

