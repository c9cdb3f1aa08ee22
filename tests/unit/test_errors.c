/*
 * test_errors.c - error codes: every GOBJ_E* code has its own symbolic
 * name and a description; a negated errno is named after errno and
 * described by the C library; anything else is "unknown".
 */
#include <errno.h>

#include "testlib.h"

struct err_row {
    int value;
    const char *name;
    const char *text;
};

/* Built from the same X-macro list as the enum, so a code added to the
 * header is checked here without touching this file. */
static const struct err_row g_codes[] = {
#define ROW(name, value, text) {(value), #name, (text)},
    GOBJ_ERRORS(ROW)
#undef ROW
};
#define N_CODES (sizeof g_codes / sizeof g_codes[0])

/* Each code: its own name, its own text. */
static void case_gobj_codes(void)
{
    for (size_t i = 0; i < N_CODES; i++) {
        const char *name = gobj_err_name(g_codes[i].value);
        const char *text = gobj_strerror(g_codes[i].value);
        T_EQ_STR(name, g_codes[i].name);
        T_EQ_STR(text, g_codes[i].text);
        T_ASSERT(text && *text);
        for (size_t k = 0; k < i; k++) {
            t_checks++;
            if (name && strcmp(name, gobj_err_name(g_codes[k].value)) == 0)
                T_FAIL_("%s and %s share the name \"%s\"", g_codes[i].name, g_codes[k].name, name);
        }
    }
    /* The list holds every code of the public enum. */
    T_ASSERT(N_CODES >= 14);
}

/* Operating-system failures pass through as negated errno. */
static void case_errno(void)
{
    static const struct {
        int err;
        const char *name;
    } sys[] = {
        {ECONNRESET, "ECONNRESET"}, {ECONNREFUSED, "ECONNREFUSED"}, {EPIPE, "EPIPE"},
        {EADDRINUSE, "EADDRINUSE"}, {ETIMEDOUT, "ETIMEDOUT"},       {ENOENT, "ENOENT"},
    };
    for (size_t i = 0; i < sizeof sys / sizeof sys[0]; i++) {
        T_EQ_STR(gobj_err_name(-sys[i].err), sys[i].name);
        /* strerror's buffer may be reused: copy before the next call. */
        char want[256];
        snprintf(want, sizeof want, "%s", strerror(sys[i].err));
        T_EQ_STR(gobj_strerror(-sys[i].err), want);
    }
    /* The library's own timeout and the system's are told apart. */
    T_EQ_STR(gobj_err_name(GOBJ_ETIMEDOUT), "GOBJ_ETIMEDOUT");
    T_EQ_STR(gobj_err_name(-ETIMEDOUT), "ETIMEDOUT");
}

/* Codes that are neither. */
static void case_unknown(void)
{
    int lo = 0, hi = INT_MIN;
    for (size_t i = 0; i < N_CODES; i++) {
        lo = g_codes[i].value < lo ? g_codes[i].value : lo;
        hi = g_codes[i].value > hi ? g_codes[i].value : hi;
    }
    /* Just outside the GOBJ_E* range, between it and errno, positive, and
     * FSM_UNHANDLED (INT_MIN, which must not be negated). */
    const int odd[] = {lo - 1, hi + 1, -99999, -5000, 12345, INT_MIN};
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
        T_EQ_STR(gobj_err_name(odd[i]), "unknown");
        const char *text = gobj_strerror(odd[i]);
        T_ASSERT(text && *text);
    }
}

int main(void)
{
    t_init();
    case_gobj_codes();
    case_errno();
    case_unknown();
    return t_done();
}
