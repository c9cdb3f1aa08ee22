/*
 * gctl.c - talks to a running gserve through its control socket
 * (gserve --control PATH; doc/control.md, doc/gctl.1).
 *
 *   gctl [-s PATH] [--json] COMMAND [ARGS]
 *
 * One request, one answer, one line each way (JSON).  Human output by
 * default (the tree drawn with each gobj's state), the answer's data as
 * JSON with --json.  Exit status: 0 done, 1 the command failed (the
 * server's reason on stderr), 2 bad usage or no server at PATH.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#define EXIT_FAILED 1
#define EXIT_USAGE  2
#define ANSWER_MAX  (64 * 1024 * 1024)

static const char *prog = "gctl";

static void usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "%s: ", prog);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (try '%s --help')\n", prog);
    exit(EXIT_USAGE);
}

static void help(void)
{
    printf("Usage: %s [-s PATH] [--json] COMMAND [ARGS]\n"
           "Talks to a running gserve through its control socket (gserve --control PATH).\n"
           "\n"
           "Commands:\n"
           "  tree [NAME]             the tree (or the subtree NAME), each gobj with its state\n"
           "  attrs NAME              the attributes of gobj NAME\n"
           "  set NAME.ATTR=VALUE     write an attribute (VALUE is JSON, or else a string)\n"
           "  stats [NAME]            the statistics of the tree (or of the subtree NAME)\n"
           "  gclass GCLASS           a gclass: its states, events and attributes\n"
           "  dot GCLASS              a gclass's state machine as Graphviz DOT\n"
           "  log-level LEVEL         error, warn, info, debug or trace\n"
           "  shutdown                a graceful shutdown of the server\n"
           "  hello                   the server's name, version, pid and protocol\n"
           "\n"
           "Options:\n"
           "  -s, --socket PATH       the control socket (default: $GSERVE_CONTROL)\n"
           "      --json              print the answer's data as JSON\n"
           "  -h, --help              this help\n"
           "\n"
           "Exit status: 0 done, 1 the command failed, 2 bad usage or cannot connect.\n",
           prog);
}

/*--------------------------------------------------------------------------*
 *  The exchange
 *--------------------------------------------------------------------------*/
static int connect_to(const char *path)
{
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof un.sun_path) {
        fprintf(stderr, "%s: %s: the path is too long for a unix socket\n", prog, path);
        exit(EXIT_USAGE);
    }
    strcpy(un.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&un, sizeof un) < 0) {
        fprintf(stderr, "%s: cannot connect to %s: %s (is gserve running with --control %s?)\n",
                prog, path, strerror(errno), path);
        exit(EXIT_USAGE);
    }
    return fd;
}

static json_t *exchange(const char *path, json_t *req)
{
    int fd = connect_to(path);
    char *text = json_dumps(req, JSON_COMPACT);
    size_t len = strlen(text);
    text = realloc(text, len + 2);
    text[len++] = '\n';
    for (size_t off = 0; off < len;) {
        ssize_t n = write(fd, text + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            fprintf(stderr, "%s: %s: write failed: %s\n", prog, path, strerror(errno));
            exit(EXIT_USAGE);
        }
        off += (size_t)n;
    }
    free(text);
    size_t cap = 65536, got = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (got == cap) {
            if (cap >= ANSWER_MAX) {
                fprintf(stderr, "%s: %s: the answer is larger than %d MiB\n", prog, path,
                        ANSWER_MAX >> 20);
                exit(EXIT_FAILED);
            }
            cap *= 2;
            buf = realloc(buf, cap);
        }
        ssize_t n = read(fd, buf + got, cap - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
        if (memchr(buf + got - (size_t)n, '\n', (size_t)n))
            break;
    }
    close(fd);
    char *nl = memchr(buf, '\n', got);
    if (!nl) {
        fprintf(stderr, "%s: %s: the server closed the connection without an answer\n", prog, path);
        exit(EXIT_FAILED);
    }
    json_error_t jerr;
    json_t *ans = json_loadb(buf, (size_t)(nl - buf), 0, &jerr);
    free(buf);
    if (!json_is_object(ans)) {
        fprintf(stderr, "%s: %s: the answer is not a JSON object: %s\n", prog, path, jerr.text);
        exit(EXIT_FAILED);
    }
    return ans;
}

/*--------------------------------------------------------------------------*
 *  Human output
 *--------------------------------------------------------------------------*/
static void print_value(json_t *v)
{
    if (json_is_string(v)) {
        fputs(json_string_value(v), stdout);
        return;
    }
    char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    fputs(t ? t : "?", stdout);
    free(t);
}

static void print_tree(json_t *n, const char *prefix, bool last, bool root)
{
    const char *state = json_string_value(json_object_get(n, "state"));
    printf("%s%s%s  %s  %s%s\n", prefix,
           root   ? ""
           : last ? "`-- "
                  : "|-- ",
           json_string_value(json_object_get(n, "name")),
           json_string_value(json_object_get(n, "gclass")), state ? state : "",
           json_is_true(json_object_get(n, "stopping"))   ? "  (stopping)"
           : !json_is_true(json_object_get(n, "running")) ? "  (stopped)"
                                                          : "");
    json_t *kids = json_object_get(n, "children");
    size_t k = json_array_size(kids);
    char *sub = NULL;
    if (asprintf(&sub, "%s%s", prefix, root ? "" : last ? "    " : "|   ") < 0)
        return;
    for (size_t i = 0; i < k; i++)
        print_tree(json_array_get(kids, i), sub, i + 1 == k, false);
    free(sub);
}

static void print_object(json_t *o, const char *indent)
{
    const char *k;
    json_t *v;
    json_object_foreach (o, k, v) {
        printf("%s%s = ", indent, k);
        print_value(v);
        putchar('\n');
    }
}

static void print_gclass(json_t *d)
{
    printf("%s%s\n", json_string_value(json_object_get(d, "gclass")),
           json_is_true(json_object_get(d, "hierarchical")) ? " (hierarchical)" : "");
    const char *desc = json_string_value(json_object_get(d, "description"));
    if (desc)
        printf("  %s\n", desc);
    size_t i;
    json_t *s, *r;
    printf("\nstates:\n");
    json_array_foreach (json_object_get(d, "states"), i, s) {
        const char *parent = json_string_value(json_object_get(s, "parent"));
        printf("  %s%s%s\n", json_string_value(json_object_get(s, "state")), parent ? " in " : "",
               parent ? parent : "");
        size_t j;
        json_array_foreach (json_object_get(s, "rows"), j, r) {
            const char *ac = json_string_value(json_object_get(r, "action"));
            const char *nx = json_string_value(json_object_get(r, "next"));
            printf("    %-24s %-24s %s\n", json_string_value(json_object_get(r, "event")),
                   ac ? ac : "-", nx ? nx : "");
        }
    }
    printf("\nevents:\n");
    json_array_foreach (json_object_get(d, "events"), i, s) {
        const char *kw = json_string_value(json_object_get(s, "kw"));
        printf("  %-24s %-8s %s\n", json_string_value(json_object_get(s, "event")),
               json_string_value(json_object_get(s, "direction")), kw ? kw : "");
    }
    printf("\nattributes:\n");
    json_array_foreach (json_object_get(d, "attrs"), i, s) {
        const char *def = json_string_value(json_object_get(s, "default"));
        printf("  %-24s %-7s %-8s %-14s %s\n", json_string_value(json_object_get(s, "name")),
               json_string_value(json_object_get(s, "type")), def ? def : "",
               json_string_value(json_object_get(s, "flags")),
               json_string_value(json_object_get(s, "description")));
    }
}

static void print_human(const char *cmd, json_t *req, json_t *data)
{
    if (strcmp(cmd, "tree") == 0) {
        print_tree(data, "", true, true);
    } else if (strcmp(cmd, "attrs") == 0 || strcmp(cmd, "hello") == 0) {
        print_object(data, "");
    } else if (strcmp(cmd, "stats") == 0) {
        const char *g;
        json_t *st;
        json_object_foreach (data, g, st) {
            printf("%s\n", g);
            print_object(st, "  ");
        }
    } else if (strcmp(cmd, "set") == 0) {
        printf("%s.%s = ", json_string_value(json_object_get(req, "gobj")),
               json_string_value(json_object_get(req, "attr")));
        print_value(data);
        putchar('\n');
    } else if (strcmp(cmd, "gclass") == 0) {
        print_gclass(data);
    } else if (strcmp(cmd, "dot") == 0) {
        fputs(json_string_value(json_object_get(data, "dot")), stdout);
    } else if (strcmp(cmd, "log-level") == 0) {
        printf("log level: %s\n", json_string_value(json_object_get(data, "level")));
    } else if (strcmp(cmd, "shutdown") == 0) {
        printf("stopping\n");
    } else {
        print_value(data);
        putchar('\n');
    }
}

/*--------------------------------------------------------------------------*
 *  Building the request
 *--------------------------------------------------------------------------*/
/* "NAME.ATTR=VALUE": the attribute is after the last '.' before '='; VALUE
 * is JSON if it parses as JSON, else a string. */
static void parse_set(const char *arg, json_t *req)
{
    const char *eq = strchr(arg, '=');
    if (!eq)
        usage_error("set: expected NAME.ATTR=VALUE, not '%s'", arg);
    const char *dot = NULL;
    for (const char *p = arg; p < eq; p++)
        if (*p == '.')
            dot = p;
    if (!dot || dot == arg || dot + 1 == eq)
        usage_error("set: expected NAME.ATTR=VALUE, not '%s'", arg);
    json_object_set_new(req, "gobj", json_stringn(arg, (size_t)(dot - arg)));
    json_object_set_new(req, "attr", json_stringn(dot + 1, (size_t)(eq - dot - 1)));
    json_t *v = json_loads(eq + 1, JSON_DECODE_ANY, NULL);
    json_object_set_new(req, "value", v ? v : json_string(eq + 1));
}

int main(int argc, char **argv)
{
    const char *path = getenv("GSERVE_CONTROL");
    bool as_json = false;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            help();
            return 0;
        } else if (strcmp(a, "--json") == 0) {
            as_json = true;
        } else if (strcmp(a, "-s") == 0 || strcmp(a, "--socket") == 0) {
            if (i + 1 >= argc)
                usage_error("option '%s' needs an argument (PATH)", a);
            path = argv[++i];
        } else if (strncmp(a, "--socket=", 9) == 0) {
            path = a + 9;
        } else {
            usage_error("unknown option '%s'", a);
        }
    }
    if (i >= argc)
        usage_error("%s", "a COMMAND is needed");
    if (!path || !*path)
        usage_error("%s", "no control socket: give -s PATH or set GSERVE_CONTROL");
    const char *cmd = argv[i++];
    int nargs = argc - i;
    json_t *req = json_pack("{s:i, s:s}", "id", (int)getpid(), "cmd", cmd);
    struct {
        const char *name, *arg;
        int min, max;
    } const table[] = {
        {"tree", "gobj", 0, 1},       {"attrs", "gobj", 1, 1},    {"set", NULL, 1, 1},
        {"stats", "gobj", 0, 1},      {"gclass", "gclass", 1, 1}, {"dot", "gclass", 1, 1},
        {"log-level", "level", 1, 1}, {"shutdown", NULL, 0, 0},   {"hello", NULL, 0, 0},
    };
    size_t k = 0, n = sizeof table / sizeof table[0];
    while (k < n && strcmp(table[k].name, cmd) != 0)
        k++;
    if (k == n)
        usage_error("unknown command '%s'", cmd);
    if (nargs < table[k].min || nargs > table[k].max) {
        fprintf(stderr, "%s: %s takes %s argument%s (try '%s --help')\n", prog, cmd,
                table[k].min == table[k].max ? (table[k].min ? "one" : "no") : "at most one",
                table[k].max == 1 && table[k].min == table[k].max ? "" : "s", prog);
        return EXIT_USAGE;
    }
    if (strcmp(cmd, "set") == 0)
        parse_set(argv[i], req);
    else if (nargs == 1)
        json_object_set_new(req, table[k].arg, json_string(argv[i]));

    json_t *ans = exchange(path, req);
    int status = 0;
    if (!json_is_true(json_object_get(ans, "ok"))) {
        const char *e = json_string_value(json_object_get(ans, "error"));
        fprintf(stderr, "%s: %s: %s\n", prog, cmd, e ? e : "failed (no reason given)");
        status = EXIT_FAILED;
    } else if (as_json) {
        char *t = json_dumps(json_object_get(ans, "data"), JSON_INDENT(2) | JSON_ENCODE_ANY);
        printf("%s\n", t ? t : "null");
        free(t);
    } else {
        print_human(cmd, req, json_object_get(ans, "data"));
    }
    json_decref(ans);
    json_decref(req);
    return status;
}
