/*
 * test_rtt_hist.c - the echo client's round-trip histogram
 * (samples/rtt_hist.c): bucket layout, exact small values, the 6.25% bound
 * on a percentile's error, order of the percentiles, merge, reset, and the
 * ends of the uint64_t range.
 */
#include "testlib.h"

#include "rtt_hist.h"

/* Buckets tile the range: each starts right after the previous one ends. */
static void test_layout(void)
{
    for (unsigned v = 0; v < 16; v++) {
        T_EQ_INT(rtt_hist_bucket(v), v);
        T_EQ_INT(rtt_hist_bucket_top(v), v);
    }
    T_EQ_INT(rtt_hist_bucket(16), 16);
    T_EQ_INT(rtt_hist_bucket(31), 31);
    T_EQ_INT(rtt_hist_bucket(32), 32);
    T_EQ_INT(rtt_hist_bucket(33), 32); /* 32..33 share a bucket of width 2 */
    T_EQ_INT(rtt_hist_bucket_top(32), 33);
    int bad = 0;
    for (unsigned b = 1; b < RTT_HIST_BUCKETS; b++) {
        uint64_t first = rtt_hist_bucket_top(b - 1) + 1;
        if (rtt_hist_bucket(first) != b || rtt_hist_bucket(rtt_hist_bucket_top(b)) != b)
            bad++;
    }
    T_EQ_INT(bad, 0);
    T_EQ_INT(rtt_hist_bucket(UINT64_MAX), RTT_HIST_BUCKETS - 1);
    T_ASSERT(rtt_hist_bucket_top(RTT_HIST_BUCKETS - 1) == UINT64_MAX);
}

static void test_empty_and_exact(void)
{
    rtt_hist_t h;
    rtt_hist_reset(&h);
    T_EQ_INT(rtt_hist_percentile(&h, 50), 0);
    T_EQ_INT(rtt_hist_percentile(&h, 100), 0);

    /* 1..10: exact buckets, nearest rank. */
    for (uint64_t v = 1; v <= 10; v++)
        rtt_hist_add(&h, v);
    T_EQ_INT(h.count, 10);
    T_EQ_INT(h.min, 1);
    T_EQ_INT(h.max, 10);
    T_EQ_INT(rtt_hist_percentile(&h, 0), 1);
    T_EQ_INT(rtt_hist_percentile(&h, 50), 5);
    T_EQ_INT(rtt_hist_percentile(&h, 90), 9);
    T_EQ_INT(rtt_hist_percentile(&h, 99), 10);
    T_EQ_INT(rtt_hist_percentile(&h, 100), 10);

    /* One value: every percentile is it, never a bucket edge. */
    rtt_hist_reset(&h);
    rtt_hist_add(&h, 1000);
    T_EQ_INT(rtt_hist_percentile(&h, 1), 1000);
    T_EQ_INT(rtt_hist_percentile(&h, 50), 1000);
    T_EQ_INT(rtt_hist_percentile(&h, 100), 1000);
}

/* 1..100000 once each: every percentile within 6.25% above the true one,
 * never below it, and in order. */
static void test_error_bound(void)
{
    static rtt_hist_t h;
    rtt_hist_reset(&h);
    for (uint64_t v = 1; v <= 100000; v++)
        rtt_hist_add(&h, v);
    static const double pcts[] = {1, 10, 25, 50, 75, 90, 99, 99.9, 99.99};
    uint64_t prev = 0;
    for (size_t i = 0; i < sizeof pcts / sizeof pcts[0]; i++) {
        uint64_t exact = (uint64_t)(pcts[i] * 1000.0 + 0.5); /* rank = value here */
        uint64_t got = rtt_hist_percentile(&h, pcts[i]);
        T_ASSERT(got >= exact);
        T_ASSERT((double)got <= (double)exact * 1.0625 + 1);
        T_ASSERT(got >= prev);
        prev = got;
    }
    T_EQ_INT(rtt_hist_percentile(&h, 100), 100000);
}

/* Order p50 <= p90 <= p99 <= max whatever the data (a skewed mix). */
static void test_order_and_merge(void)
{
    static rtt_hist_t a, b, all;
    rtt_hist_reset(&a);
    rtt_hist_reset(&b);
    rtt_hist_reset(&all);
    uint64_t x = 88172645463325252ULL;
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        uint64_t v = (i % 100 == 0) ? x % 10000000 : x % 2000;
        rtt_hist_add(i % 2 ? &a : &b, v);
        rtt_hist_add(&all, v);
    }
    rtt_hist_merge(&a, &b);
    T_EQ_INT(a.count, 20000);
    T_EQ_INT(a.min, all.min);
    T_EQ_INT(a.max, all.max);
    T_EQ_INT(memcmp(a.buckets, all.buckets, sizeof a.buckets), 0);
    uint64_t p50 = rtt_hist_percentile(&a, 50), p90 = rtt_hist_percentile(&a, 90);
    uint64_t p99 = rtt_hist_percentile(&a, 99), mx = rtt_hist_percentile(&a, 100);
    T_ASSERT(p50 <= p90 && p90 <= p99 && p99 <= mx);
    T_ASSERT(mx == a.max);

    /* Merging an empty histogram changes nothing; into an empty one copies. */
    rtt_hist_reset(&b);
    rtt_hist_merge(&a, &b);
    T_EQ_INT(a.count, 20000);
    rtt_hist_merge(&b, &a);
    T_EQ_INT(b.count, 20000);
    T_EQ_INT(b.min, a.min);
}

static void test_extremes(void)
{
    rtt_hist_t h;
    rtt_hist_reset(&h);
    rtt_hist_add(&h, 0);
    rtt_hist_add(&h, UINT64_MAX);
    T_EQ_INT(rtt_hist_percentile(&h, 50), 0);
    T_ASSERT(rtt_hist_percentile(&h, 99) == UINT64_MAX);
    T_ASSERT(rtt_hist_percentile(&h, 100) == UINT64_MAX);
    T_EQ_INT(rtt_hist_percentile(&h, -5), 0);
}

int main(void)
{
    t_init();
    test_layout();
    test_empty_and_exact();
    test_error_bound();
    test_order_and_merge();
    test_extremes();
    return t_done();
}
