/*
 * rtt_hist.c - the fixed-size log-bucket histogram of rtt_hist.h.
 *
 * Bucket layout: values 0..15 are buckets 0..15.  A value v >= 16 with its
 * highest bit at position e (4..63) keeps its 4 bits below that one as the
 * sub-bucket s: bucket 16 + (e - 4) * 16 + s holds the values
 * [(16 + s) << (e - 4), ((17 + s) << (e - 4)) - 1].
 */
#include "rtt_hist.h"

#include <string.h>

void rtt_hist_reset(rtt_hist_t *h)
{
    memset(h, 0, sizeof *h);
}

static unsigned high_bit(uint64_t v)
{
    return 63u - (unsigned)__builtin_clzll(v);
}

unsigned rtt_hist_bucket(uint64_t v)
{
    if (v < RTT_HIST_SUB)
        return (unsigned)v;
    unsigned e = high_bit(v);
    unsigned s = (unsigned)(v >> (e - 4)) & (RTT_HIST_SUB - 1);
    return RTT_HIST_SUB + (e - 4) * RTT_HIST_SUB + s;
}

uint64_t rtt_hist_bucket_top(unsigned bucket)
{
    if (bucket < RTT_HIST_SUB)
        return bucket;
    if (bucket >= RTT_HIST_BUCKETS)
        return UINT64_MAX;
    unsigned e = (bucket - RTT_HIST_SUB) / RTT_HIST_SUB + 4;
    uint64_t s = (bucket - RTT_HIST_SUB) % RTT_HIST_SUB;
    /* The last bucket ends at UINT64_MAX: (17 + 15) << 60 would overflow. */
    if (e == 63 && s == RTT_HIST_SUB - 1)
        return UINT64_MAX;
    return ((RTT_HIST_SUB + s + 1) << (e - 4)) - 1;
}

void rtt_hist_add(rtt_hist_t *h, uint64_t v)
{
    if (h->count == 0 || v < h->min)
        h->min = v;
    if (v > h->max)
        h->max = v;
    h->count++;
    h->buckets[rtt_hist_bucket(v)]++;
}

void rtt_hist_merge(rtt_hist_t *dst, const rtt_hist_t *src)
{
    if (src->count == 0)
        return;
    if (dst->count == 0 || src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
    dst->count += src->count;
    for (unsigned i = 0; i < RTT_HIST_BUCKETS; i++)
        dst->buckets[i] += src->buckets[i];
}

uint64_t rtt_hist_percentile(const rtt_hist_t *h, double pct)
{
    if (h->count == 0)
        return 0;
    if (!(pct < 100.0))
        return h->max;
    if (pct < 0.0)
        pct = 0.0;
    /* The rank of the value wanted, 1..count: the smallest value with at
     * least pct percent of the values at or below it (nearest rank). */
    double r = pct / 100.0 * (double)h->count;
    uint64_t rank = (uint64_t)r;
    if ((double)rank < r || rank == 0)
        rank++;
    uint64_t seen = 0;
    for (unsigned i = 0; i < RTT_HIST_BUCKETS; i++) {
        seen += h->buckets[i];
        if (seen >= rank) {
            uint64_t top = rtt_hist_bucket_top(i);
            if (top > h->max)
                top = h->max;
            return top < h->min ? h->min : top;
        }
    }
    return h->max;
}
