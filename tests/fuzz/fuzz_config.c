/*
 * fuzz_config.c - libFuzzer harness: arbitrary bytes through the whole
 * configuration path of gapp_main() (load, parse, merge, validation, -s,
 * --trace, --check / --print-config), in-process, once per input.
 *
 * Input layout: segments separated by the byte 0xFF (never valid in UTF-8
 * JSON text, so a plain JSON file is a valid input: one segment).
 *   segment 0      the first config file (-c)
 *   "c" TEXT       one more config file, merged after the others (-c)
 *   "s" KEY=VALUE  -s KEY=VALUE
 *   "t" SPEC       --trace SPEC
 *   "l" LEVEL      --log-level LEVEL
 *   "f" FORMAT     --log-format FORMAT
 *   "d" GCLASS     --dot GCLASS
 *   "p"            --print-config
 *   "o" ARG        one raw argument, unless it starts with "-c" or "--c"
 * Any other segment is ignored.  FUZZ_AVOID_KNOWN=1 drops the "d" segments
 * and "o" ones starting with "--d" (the unfixed bug config-dot-null-offset in
 * tests/fuzz/crashers/README.md).  "--check" is always argv[1], so no input
 * can turn it into the value of an option, and gapp_main() never runs the
 * loop.  Config files are memfds, named /proc/self/fd/N.
 *
 * Registered gclasses: gserve's (the builtins, Ticker and Echo).
 *
 * Invariants after every call (a violation aborts with a message):
 *   - the exit status is GAPP_EXIT_OK or GAPP_EXIT_USAGE (FAILURE only with
 *     --dot, or an "o" argument, which may be --dot);
 *   - no gobj is alive, no json_t allocation is alive;
 *   - the gclass registry is empty and no trace level is left on.
 * stdout and stderr are sent to /dev/null during the call (FUZZ_VERBOSE=1
 * keeps them); sanitizer reports go to the real stderr.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ginsfsm/app.h"
#include "ginsfsm/gobj.h"
#include "ginsfsm/gobjs.h"
#include "ginsfsm/log.h"

#include "c_echo.h"
#include "c_ticker.h"
#include "fuzz.h"

#define MAX_FILES 4
#define MAX_ARGS  32
#define SEP       0xFF

static long json_live;
static int config_fd[MAX_FILES];
static char config_path[MAX_FILES][40];
static int avoid_known; /* FUZZ_AVOID_KNOWN=1: skip the unfixed bugs of crashers/ */

static void *count_malloc(size_t n)
{
    void *p = malloc(n);
    if (p)
        json_live++;
    return p;
}

static void count_free(void *p)
{
    if (p) {
        json_live--;
        free(p);
    }
}

static int register_gclasses(void *user)
{
    (void)user;
    int rc = gobj_register_builtin_gclasses();
    if (rc == 0)
        rc = ticker_register_gclass();
    if (rc == 0)
        rc = echo_register_gclass();
    return rc;
}

static void setup(void)
{
    static int done;
    if (done)
        return;
    done = 1;
    fuzz_quiet_init();
    const char *v = getenv("FUZZ_AVOID_KNOWN");
    avoid_known = v && *v && *v != '0';
    json_set_alloc_funcs(count_malloc, count_free);
    for (int i = 0; i < MAX_FILES; i++) {
        config_fd[i] = memfd_create("fuzz_config", MFD_CLOEXEC);
        if (config_fd[i] < 0)
            fuzz_fail("memfd_create failed");
        snprintf(config_path[i], sizeof config_path[i], "/proc/self/fd/%d", config_fd[i]);
    }
}

/* Replace the content of config file i. */
static void put_file(int i, const uint8_t *p, size_t n)
{
    if (ftruncate(config_fd[i], 0) < 0 || pwrite(config_fd[i], p, n, 0) != (ssize_t)n)
        fuzz_fail("cannot write the config memfd");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();

    /* Split the input; strings for argv are copied (NUL-terminated). */
    char *argv[MAX_ARGS + 1];
    char *owned[MAX_ARGS];
    int argc = 0, n_owned = 0, n_files = 0, may_fail = 0;
    argv[argc++] = "fuzz_config";
    argv[argc++] = "--check";

    size_t start = 0;
    for (size_t seg = 0; start <= size && argc < MAX_ARGS - 2; seg++) {
        const uint8_t *sep = memchr(data + start, SEP, size - start);
        size_t end = sep ? (size_t)(sep - data) : size;
        const uint8_t *p = data + start;
        size_t n = end - start;
        start = end + 1;

        if (seg == 0 || (n > 0 && p[0] == 'c')) {
            if (seg > 0) {
                p++;
                n--;
            }
            if (n_files == MAX_FILES)
                continue;
            put_file(n_files, p, n);
            argv[argc++] = "-c";
            argv[argc++] = config_path[n_files++];
            continue;
        }
        if (n == 0)
            continue;
        const char *opt = NULL;
        switch (p[0]) {
        case 's': opt = "-s"; break;
        case 't': opt = "--trace"; break;
        case 'l': opt = "--log-level"; break;
        case 'f': opt = "--log-format"; break;
        case 'd':
            if (avoid_known)
                continue; /* tests/fuzz/crashers/README.md: config-dot-null-offset */
            opt = "--dot";
            may_fail = 1;
            break;
        case 'p': argv[argc++] = "--print-config"; continue;
        case 'o':
            /* Never a config file name: a raw "-c /dev/zero" would read
             * forever.  (--check and --config both start with "--c".) */
            if ((n >= 3 && memcmp(p + 1, "-c", 2) == 0) || (n >= 4 && memcmp(p + 1, "--c", 3) == 0))
                continue;
            if (avoid_known && n >= 4 && memcmp(p + 1, "--d", 3) == 0)
                continue; /* --dot: config-dot-null-offset */
            may_fail = 1;
            break;
        default: continue;
        }
        if (opt)
            argv[argc++] = (char *)opt;
        char *val = strndup((const char *)p + 1, n - 1);
        if (!val)
            fuzz_fail("out of memory");
        owned[n_owned++] = val;
        argv[argc++] = val;
        if (!sep)
            break;
    }
    argv[argc] = NULL;

    static const gapp_t app = {
        .name = "fuzz_config",
        .version = "0",
        .register_gclasses = register_gclasses,
    };
    fuzz_quiet_begin();
    int status = gapp_main(argc, argv, &app);
    fuzz_quiet_end();

    if (status != GAPP_EXIT_OK && status != GAPP_EXIT_USAGE &&
        !(status == GAPP_EXIT_FAILURE && may_fail))
        fuzz_fail("gapp_main returned %d", status);
    if (gobj_live_count() != 0)
        fuzz_fail("%zu gobj(s) alive after gapp_main", gobj_live_count());
    if (json_live != 0)
        fuzz_fail("%ld json allocation(s) alive after gapp_main", json_live);
    if (gclass_find(GCLASS_GSOCK_NAME) || gclass_find(GCLASS_ECHO_NAME))
        fuzz_fail("the gclass registry is not empty after gapp_main");
    if (gobj_get_global_trace() != 0)
        fuzz_fail("global trace 0x%x left on after gapp_main", gobj_get_global_trace());

    /* gapp_main applies the config's log level and format and leaves them
     * (the process's log settings are its to set): put the defaults back so
     * that one input cannot change how the next one runs. */
    gobj_log_set_level(GOBJ_LOG_INFO);
    gobj_log_set_format(GOBJ_LOG_TEXT);

    for (int i = 0; i < n_owned; i++)
        free(owned[i]);
    return 0;
}
