/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The metrics sampler: a thread that, every interval, samples each VM that
 * has a VMM process (metrics/collector.h) and writes the whole round, with
 * rollups, totals, cursors and retention trimming, in one transaction
 * (store_metrics_write_round). VMM calls of a round run on a few short-lived
 * threads, each with a short timeout, so one stuck VMM delays only itself.
 *
 * A round reads the cursors from the database and writes them back with its
 * samples: a metald killed at any instant resumes where the last committed
 * round ended, and counts nothing twice.
 */

#include "store/metrics.h"

typedef struct Sampler Sampler;

typedef struct SamplerOptions {
        Store *store;
        unsigned interval_ms; /* 0: no thread (sampler_run_round still works) */
        int64_t retention_ms; /* raw samples; 0: kept forever */
        int64_t rollup_retention_ms; /* hourly rollups; 0: kept forever */
        unsigned api_timeout_ms; /* each VMM call; default 1000 */
        unsigned threads; /* collecting threads per round; default 8 */
} SamplerOptions;

typedef struct SamplerStats {
        uint64_t rounds; /* rounds committed */
        uint64_t round_failures; /* rounds whose write failed (their samples are taken again) */
        uint64_t samples; /* samples committed */
        uint64_t backend_errors; /* samples whose backend counters could not be read */
        uint64_t trimmed_samples; /* raw samples removed by retention */
        uint64_t trimmed_rollups;
        uint64_t last_round_us; /* the last round: collection + write */
        uint64_t last_collect_us;
        size_t last_vms;
        int64_t last_at; /* its time (ms since the epoch) */
} SamplerStats;

/* Reads the time of the last round from the store (rounds are strictly
 * increasing in time, also across restarts and clock steps). No thread yet. */
int sampler_new(const SamplerOptions *o, Sampler **ret);
/* Start the periodic thread (when interval_ms > 0); the first round runs one interval from now. */
int sampler_start(Sampler *s);
/* Stop the thread, letting a round in flight finish. Idempotent. */
void sampler_stop(Sampler *s);
/* Stops, then frees. Accepts NULL. */
Sampler *sampler_free(Sampler *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(Sampler *, sampler_free);

/* Run one round now on the caller's thread (rounds never overlap). 0, or the
 * store's negative errno (nothing of the round was written). */
int sampler_run_round(Sampler *s);

/* A snapshot of the counters above. */
void sampler_get_stats(Sampler *s, SamplerStats *ret);
