/*
 * fuzz.h - what the fuzz harnesses share: silencing the program's own
 * output around a call without losing sanitizer reports, and failing an
 * invariant loudly.
 *
 * A harness defines LLVMFuzzerTestOneInput(); it is linked either with
 * libFuzzer (./configure --enable-fuzzers, clang) or with replay.c, which
 * runs it over the seed corpus under any compiler (make check).
 */
#ifndef GINSFSM_FUZZ_H
#define GINSFSM_FUZZ_H

#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* In the sanitizer runtimes (clang and gcc); absent in a plain build. */
void __sanitizer_set_report_fd(void *fd) __attribute__((weak));

static int fuzz_stderr = 2;   /* the real stderr, for reports */
static int fuzz_devnull = -1; /* -1: FUZZ_VERBOSE, nothing is silenced */
static int fuzz_saved_out = -1, fuzz_saved_err = -1;

static inline void fuzz_quiet_init(void)
{
    const char *v = getenv("FUZZ_VERBOSE");
    fuzz_stderr = fcntl(2, F_DUPFD_CLOEXEC, 3);
    if (fuzz_stderr < 0)
        fuzz_stderr = 2;
    if (__sanitizer_set_report_fd)
        __sanitizer_set_report_fd((void *)(intptr_t)fuzz_stderr);
    if (v && *v && *v != '0')
        return;
    fuzz_devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    fuzz_saved_out = fcntl(1, F_DUPFD_CLOEXEC, 3);
    fuzz_saved_err = fuzz_stderr;
}

/* stdout and stderr go to /dev/null until fuzz_quiet_end(). */
static inline void fuzz_quiet_begin(void)
{
    if (fuzz_devnull < 0)
        return;
    fflush(stdout);
    dup2(fuzz_devnull, 1);
    dup2(fuzz_devnull, 2);
}

static inline void fuzz_quiet_end(void)
{
    if (fuzz_devnull < 0)
        return;
    fflush(stdout);
    dup2(fuzz_saved_out, 1);
    dup2(fuzz_saved_err, 2);
}

/* An invariant does not hold: say which on the real stderr and abort, which
 * libFuzzer (and replay.c's caller) reports as a crash with the input. */
static inline void fuzz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static inline void fuzz_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    dprintf(fuzz_stderr, "FUZZ INVARIANT: ");
    vdprintf(fuzz_stderr, fmt, ap);
    dprintf(fuzz_stderr, "\n");
    va_end(ap);
    abort();
}

#endif /* GINSFSM_FUZZ_H */
