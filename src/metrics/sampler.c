/* SPDX-License-Identifier: Apache-2.0 */
#include "metrics/sampler.h"

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "metrics/collector.h"
#include "util/log.h"

#define SAMPLER_THREADS_MAX 64
/* VMs per collecting thread below which fewer threads are started. */
#define SAMPLER_VMS_PER_THREAD 16

struct Sampler {
        SamplerOptions o;
        pthread_mutex_t round_lock; /* one round at a time; guards last_at */
        int64_t last_at;

        pthread_mutex_t lock; /* guards stats, stopping */
        pthread_cond_t wake; /* CLOCK_MONOTONIC */
        SamplerStats stats;
        bool stopping;
        atomic_bool cancel; /* set with stopping: a round in flight collects no more */
        bool running;
        pthread_t thread;
};

int sampler_new(const SamplerOptions *o, Sampler **ret) {
        assert(o && o->store && ret);
        int64_t last_at;
        int r = store_metrics_last_round(o->store, &last_at);
        if (r < 0)
                return r;
        Sampler *s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        s->o = *o;
        if (!s->o.api_timeout_ms)
                s->o.api_timeout_ms = 1000;
        if (!s->o.threads)
                s->o.threads = 8;
        if (s->o.threads > SAMPLER_THREADS_MAX)
                s->o.threads = SAMPLER_THREADS_MAX;
        s->last_at = last_at;
        pthread_mutex_init(&s->round_lock, NULL);
        pthread_mutex_init(&s->lock, NULL);
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&s->wake, &ca);
        pthread_condattr_destroy(&ca);
        *ret = s;
        return 0;
}

/* The work of one round, shared by its collecting threads. */
typedef struct Round {
        const MetricsCollectContext *ctx;
        const VmMetricTarget *targets;
        VmMetricSample *samples;
        int *status; /* per target: 0 sampled, < 0 no sample */
        size_t n;
        int64_t at;
        const atomic_bool *cancel; /* metald is stopping: take no more targets */
        atomic_size_t next;
        atomic_uint_fast64_t backend_errors;
} Round;

/* Take targets one by one until none is left. */
static void *collect_main(void *userdata) {
        Round *rd = userdata;
        for (;;) {
                size_t i = atomic_fetch_add(&rd->next, 1);
                if (i >= rd->n)
                        break;
                if (atomic_load(rd->cancel)) {
                        rd->status[i] = -ECANCELED; /* no sample; the next run takes it */
                        continue;
                }
                int backend_error = 0;
                rd->status[i] = metrics_collect_vm(rd->ctx, &rd->targets[i], rd->at, &rd->samples[i],
                                                   &backend_error);
                if (rd->status[i] >= 0 && backend_error < 0) {
                        atomic_fetch_add(&rd->backend_errors, 1);
                        log_debug("vm %s: metrics: %s counters not read: %s", rd->targets[i].vm_id,
                                  rd->targets[i].backend, strerror(-backend_error));
                }
        }
        return NULL;
}

/* Collect every target, on up to `threads` threads (the caller's among them). */
static void collect_all(Round *rd, unsigned threads) {
        size_t want = rd->n / SAMPLER_VMS_PER_THREAD + 1;
        if (want > threads)
                want = threads;
        pthread_t tids[SAMPLER_THREADS_MAX];
        size_t started = 0;
        for (size_t i = 1; i < want; i++)
                if (pthread_create(&tids[started], NULL, collect_main, rd) == 0)
                        started++;
        collect_main(rd); /* with no helper at all, the caller does everything */
        for (size_t i = 0; i < started; i++)
                pthread_join(tids[i], NULL);
}

int sampler_run_round(Sampler *s) {
        assert(s);
        pthread_mutex_lock(&s->round_lock);
        uint64_t t0 = now_mono_us();
        int64_t at = now_ms();
        if (at <= s->last_at)
                at = s->last_at + 1; /* the clock stepped back: keep rounds ordered */

        VmMetricTarget *targets = NULL;
        size_t n = 0;
        VmMetricSample *samples = NULL;
        int *status = NULL;
        int r = store_metrics_targets(s->o.store, &targets, &n);
        if (r >= 0 && n > 0) {
                samples = calloc(n, sizeof *samples);
                status = calloc(n, sizeof *status);
                if (!samples || !status)
                        r = -ENOMEM;
        }
        MetricsCollectContext ctx = { .api_timeout_ms = s->o.api_timeout_ms };
        Round rd = { .ctx = &ctx,
                     .targets = targets,
                     .samples = samples,
                     .status = status,
                     .at = at,
                     .cancel = &s->cancel };
        atomic_init(&rd.next, 0);
        atomic_init(&rd.backend_errors, 0);
        if (r >= 0 && n > 0) {
                rd.n = n;
                collect_all(&rd, s->o.threads);
        }
        /* Keep the samples taken, in target (vm seq) order; status[j] becomes the
         * index of sample j's target. */
        size_t m = 0;
        for (size_t i = 0; r >= 0 && i < n; i++)
                if (status[i] >= 0) {
                        status[m] = (int) i;
                        samples[m++] = samples[i];
                }
        uint64_t t1 = now_mono_us();

        VmMetricTrimmed trimmed = { 0 };
        if (r >= 0) {
                VmMetricTrim trim = {
                        .samples_before = s->o.retention_ms > 0 ? at - s->o.retention_ms : 0,
                        .rollups_before = s->o.rollup_retention_ms > 0 ? at - s->o.rollup_retention_ms : 0,
                        /* Twice a round's worth, and some: a backlog drains while rounds go
                         * on, also when few VMs are left to sample. */
                        .max_rows = (unsigned) (2 * m + 20000),
                };
                r = store_metrics_write_round(s->o.store, at, (unsigned) ((t1 - t0) / 1000), samples, m,
                                              &trim, &trimmed);
        }
        uint64_t t2 = now_mono_us();
        /* Committed: collectors may release what was consumed. */
        for (size_t j = 0; r >= 0 && j < m; j++) {
                const VmMetricTarget *t = &targets[status[j]];
                const MetricsCollector *c = metrics_collector_find(t->backend);
                if (c && c->committed)
                        c->committed(t, &t->cursor.source, &samples[j].cursor.source);
        }

        pthread_mutex_lock(&s->lock);
        s->stats.backend_errors += atomic_load(&rd.backend_errors);
        if (r >= 0) {
                s->stats.rounds++;
                s->stats.samples += m;
                s->stats.trimmed_samples += trimmed.samples;
                s->stats.trimmed_rollups += trimmed.rollups;
                s->stats.last_round_us = t2 - t0;
                s->stats.last_collect_us = t1 - t0;
                s->stats.last_vms = m;
                s->stats.last_at = at;
        } else
                s->stats.round_failures++;
        pthread_mutex_unlock(&s->lock);
        if (r >= 0 && m > 0)
                s->last_at = at;
        pthread_mutex_unlock(&s->round_lock);

        vm_metric_targets_free(targets, n);
        free(samples);
        free(status);
        return r;
}

static void timespec_add_us(struct timespec *ts, uint64_t us) {
        uint64_t ns = (uint64_t) ts->tv_nsec + (us % 1000000) * 1000;
        ts->tv_sec += (time_t) (us / 1000000 + ns / 1000000000);
        ts->tv_nsec = (long) (ns % 1000000000);
}

static void *sampler_main(void *userdata) {
        Sampler *s = userdata;
        uint64_t interval_us = (uint64_t) s->o.interval_ms * 1000;
        struct timespec next;
        clock_gettime(CLOCK_MONOTONIC, &next);
        timespec_add_us(&next, interval_us);
        pthread_mutex_lock(&s->lock);
        while (!s->stopping) {
                int w = pthread_cond_timedwait(&s->wake, &s->lock, &next);
                if (s->stopping)
                        break;
                if (w != ETIMEDOUT)
                        continue;
                pthread_mutex_unlock(&s->lock);
                int r = sampler_run_round(s);
                if (r < 0)
                        log_warning(
                                "metrics: sampling round failed, its samples are taken again next round: %s",
                                strerror(-r));
                /* Next tick on the grid; rounds that overran skip the ticks they missed. */
                timespec_add_us(&next, interval_us);
                struct timespec now;
                clock_gettime(CLOCK_MONOTONIC, &now);
                if (next.tv_sec < now.tv_sec || (next.tv_sec == now.tv_sec && next.tv_nsec < now.tv_nsec)) {
                        next = now;
                        timespec_add_us(&next, interval_us);
                }
                pthread_mutex_lock(&s->lock);
        }
        pthread_mutex_unlock(&s->lock);
        return NULL;
}

int sampler_start(Sampler *s) {
        assert(s);
        if (s->o.interval_ms == 0 || s->running)
                return 0;
        s->stopping = false;
        atomic_store(&s->cancel, false);
        int r = pthread_create(&s->thread, NULL, sampler_main, s);
        if (r != 0)
                return -r;
        s->running = true;
        return 0;
}

void sampler_stop(Sampler *s) {
        if (!s || !s->running)
                return;
        atomic_store(&s->cancel, true);
        pthread_mutex_lock(&s->lock);
        s->stopping = true;
        pthread_cond_broadcast(&s->wake);
        pthread_mutex_unlock(&s->lock);
        pthread_join(s->thread, NULL);
        s->running = false;
}

Sampler *sampler_free(Sampler *s) {
        if (!s)
                return NULL;
        sampler_stop(s);
        pthread_cond_destroy(&s->wake);
        pthread_mutex_destroy(&s->lock);
        pthread_mutex_destroy(&s->round_lock);
        return mfree(s);
}

void sampler_get_stats(Sampler *s, SamplerStats *ret) {
        assert(s && ret);
        pthread_mutex_lock(&s->lock);
        *ret = s->stats;
        pthread_mutex_unlock(&s->lock);
}
