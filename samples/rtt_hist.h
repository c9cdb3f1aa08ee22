/*
 * rtt_hist.h - a fixed-size histogram of round-trip times (or any unsigned
 * 64-bit values), with logarithmic buckets, for percentiles in bounded memory.
 *
 * Values below 16 have a bucket each (exact).  Above, every power of two is
 * cut into 16 equal buckets, so a bucket is at most 1/16 (6.25%) of its
 * values wide: a percentile read back is the upper edge of the bucket it
 * falls in, never more than 6.25% above the true value, and never above the
 * largest value recorded (which is kept exactly).  The whole range of
 * uint64_t fits in RTT_HIST_BUCKETS counters: a histogram is a plain struct
 * of about 8 KiB that never allocates, whatever it records.
 */
#ifndef GINSFSM_SAMPLES_RTT_HIST_H
#define GINSFSM_SAMPLES_RTT_HIST_H

#include <stdint.h>

#define RTT_HIST_SUB     16 /* buckets per power of two */
#define RTT_HIST_BUCKETS (RTT_HIST_SUB + (64 - 4) * RTT_HIST_SUB)

typedef struct rtt_hist {
    uint64_t count; /* values recorded */
    uint64_t min;   /* exact; 0 when empty */
    uint64_t max;   /* exact; 0 when empty */
    uint64_t buckets[RTT_HIST_BUCKETS];
} rtt_hist_t;

/* Empty the histogram (also the way to initialise one). */
void rtt_hist_reset(rtt_hist_t *h);
/* Record one value. */
void rtt_hist_add(rtt_hist_t *h, uint64_t v);
/* Add every value of src to dst. */
void rtt_hist_merge(rtt_hist_t *dst, const rtt_hist_t *src);
/* The value below or at which pct percent of the recorded values lie (the
 * upper edge of its bucket, at most max), for pct in [0, 100]; pct 100 is
 * max.  Returns: 0 for an empty histogram.  Monotonic in pct. */
uint64_t rtt_hist_percentile(const rtt_hist_t *h, double pct);

/* The bucket of v and the largest value that bucket holds (for tests). */
unsigned rtt_hist_bucket(uint64_t v);
uint64_t rtt_hist_bucket_top(unsigned bucket);

#endif /* GINSFSM_SAMPLES_RTT_HIST_H */
