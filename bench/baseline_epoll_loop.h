/*
 * baseline_epoll_loop.h - the part of the raw epoll baselines that does not
 * depend on what they echo: reading, writing what is pending, accepting,
 * listening, the options and the loop.  Included at the end of
 * baseline_epoll.c (echo each read back) and baseline_epoll_line.c (echo
 * each line), which define BASELINE_PROG, struct conn (with the pending
 * output fields), conns, conns_size, epfd, buf, conn_close() and
 * on_data(fd, c, data, n).
 */
#ifndef GINSFSM_BENCH_BASELINE_EPOLL_LOOP_H
#define GINSFSM_BENCH_BASELINE_EPOLL_LOOP_H

/*
 * Reads until the socket is drained.  A read shorter than the buffer means
 * it is (edge-triggered epoll reports any later arrival as a new event), which
 * saves the read that would only return EAGAIN; unless the peer has also
 * shut down, whose EOF must still be read.
 */
static void on_readable(int fd, bool hangup)
{
    struct conn *c = &conns[fd];
    for (;;) {
        if (c->len - c->off > PENDING_MAX) {
            c->paused = true;
            return;
        }
        ssize_t n = read(fd, buf, sizeof buf);
        if (n > 0) {
            if (on_data(fd, c, buf, (size_t)n) < 0) {
                conn_close(fd);
                return;
            }
            if ((size_t)n < sizeof buf && !hangup)
                return;
        } else if (n == 0) {
            conn_close(fd);
            return;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return;
        } else if (errno != EINTR) {
            conn_close(fd);
            return;
        }
    }
}

static void on_writable(int fd)
{
    struct conn *c = &conns[fd];
    while (c->off < c->len) {
        ssize_t w = write(fd, c->pending + c->off, c->len - c->off);
        if (w > 0) {
            c->off += (size_t)w;
        } else if (w < 0 && errno == EINTR) {
            continue;
        } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return;
        } else {
            conn_close(fd);
            return;
        }
    }
    if (c->pending) {
        /* Drained: give the memory back, an idle connection keeps none. */
        free(c->pending);
        c->pending = NULL;
        c->off = c->len = c->cap = 0;
    }
    if (c->paused) {
        c->paused = false;
        on_readable(fd, false);
    }
}

static void on_accept(int lfd)
{
    static int said;
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK && !said++)
                fprintf(stderr, BASELINE_PROG ": accept: %s\n", strerror(errno));
            return;
        }
        if ((size_t)fd >= conns_size) {
            close(fd);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        /* EPOLLOUT stays armed: edge-triggered, it only fires after a write
         * found the socket full, so it costs nothing in the common case. */
        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                                 .data.fd = fd};
        if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
            close(fd);
            continue;
        }
        conns[fd].open = true;
    }
}

static void usage(FILE *f)
{
    fprintf(f, "usage: " BASELINE_PROG " [--host ADDR] [--port N]\n"
               "  --host ADDR   IPv4 address to listen on (default 127.0.0.1)\n"
               "  --port N      port (default 0: the kernel chooses)\n");
}

static int listen_on(const char *host, long port)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    if (inet_pton(AF_INET, host, &sin.sin_addr) != 1) {
        fprintf(stderr, BASELINE_PROG ": --host must be an IPv4 address, not '%s'\n", host);
        return -1;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(fd, (struct sockaddr *)&sin, sizeof sin) < 0 || listen(fd, 4096) < 0) {
        fprintf(stderr, BASELINE_PROG ": cannot listen on %s:%ld: %s\n", host, port,
                strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    socklen_t len = sizeof sin;
    getsockname(fd, (struct sockaddr *)&sin, &len);
    fprintf(stderr, "listening %s:%u\n", host, ntohs(sin.sin_port));
    fflush(stderr);
    return fd;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"host", required_argument, NULL, 'H'},
        {"port", required_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *host = "127.0.0.1";
    long port = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        char *end;
        switch (ch) {
        case 'H':
            host = optarg;
            break;
        case 'p':
            errno = 0;
            port = strtol(optarg, &end, 10);
            if (errno || end == optarg || *end || port < 0 || port > 65535) {
                fprintf(stderr, BASELINE_PROG ": bad --port '%s'\n", optarg);
                return 2;
            }
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, BASELINE_PROG ": unexpected argument '%s'\n", argv[optind]);
        return 2;
    }

    /* Signals arrive as a descriptor, so that shutdown is one more event. */
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    int sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);

    conns_size = raise_nofile_limit();
    conns = calloc(conns_size, sizeof *conns);
    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (!conns || epfd < 0 || sfd < 0) {
        fprintf(stderr, BASELINE_PROG ": cannot set up: %s\n", strerror(errno));
        return 1;
    }
    int lfd = listen_on(host, port);
    if (lfd < 0)
        return 1;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.fd = lfd};
    epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev);
    ev = (struct epoll_event){.events = EPOLLIN, .data.fd = sfd};
    epoll_ctl(epfd, EPOLL_CTL_ADD, sfd, &ev);

    struct epoll_event evs[256];
    for (bool running = true; running;) {
        int n = epoll_wait(epfd, evs, 256, -1);
        if (n < 0 && errno != EINTR) {
            fprintf(stderr, BASELINE_PROG ": epoll_wait: %s\n", strerror(errno));
            break;
        }
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            uint32_t e = evs[i].events;
            if (fd == lfd) {
                on_accept(lfd);
            } else if (fd == sfd) {
                running = false;
            } else {
                /* An earlier event in this batch may have closed it, and an
                 * accept may even have reused its number: errors are
                 * therefore read from the socket itself, never assumed. */
                uint32_t hup = EPOLLRDHUP | EPOLLHUP | EPOLLERR;
                if ((e & EPOLLOUT) && conns[fd].open)
                    on_writable(fd);
                if ((e & (EPOLLIN | hup)) && conns[fd].open)
                    on_readable(fd, e & hup);
            }
        }
    }

    for (size_t fd = 0; fd < conns_size; fd++)
        if (conns[fd].open)
            conn_close((int)fd);
    free(conns);
    close(lfd);
    close(sfd);
    close(epfd);
    return 0;
}

#endif /* GINSFSM_BENCH_BASELINE_EPOLL_LOOP_H */
