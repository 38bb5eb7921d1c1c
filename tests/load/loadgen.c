/* SPDX-License-Identifier: Apache-2.0 */
/*
 * loadgen URL SECONDS THREADS CONFIG_JSON: drive metald's Connect API at full
 * speed. THREADS workers loop over CreateVm (not booted) / GetVmInfo /
 * ListVms and delete what they created (each keeps at most 16 VMs), and one
 * more thread runs the lifecycle on booted VMs: create+boot, pause, resume,
 * shutdown, boot, delete. Any answer but 200 is an unexpected error. Prints the
 * requests, errors and p50/p99 per RPC; exits 1 on any unexpected error.
 */
#include <curl/curl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum {
        OP_CREATE,
        OP_INFO,
        OP_LIST,
        OP_DELETE,
        OP_BOOT_CREATE,
        OP_PAUSE,
        OP_RESUME,
        OP_SHUTDOWN,
        OP_BOOT,
        OP_MAX
};
static const char *const op_rpc[OP_MAX] = {
        [OP_CREATE] = "CreateVm", [OP_INFO] = "GetVmInfo",       [OP_LIST] = "ListVms",
        [OP_DELETE] = "DeleteVm", [OP_BOOT_CREATE] = "CreateVm", [OP_PAUSE] = "PauseVm",
        [OP_RESUME] = "ResumeVm", [OP_SHUTDOWN] = "ShutdownVm",  [OP_BOOT] = "BootVm",
};
static const char *const op_name[OP_MAX] = {
        [OP_CREATE] = "CreateVm",
        [OP_INFO] = "GetVmInfo",
        [OP_LIST] = "ListVms",
        [OP_DELETE] = "DeleteVm",
        [OP_BOOT_CREATE] = "CreateVm(boot)",
        [OP_PAUSE] = "PauseVm",
        [OP_RESUME] = "ResumeVm",
        [OP_SHUTDOWN] = "ShutdownVm",
        [OP_BOOT] = "BootVm",
};

#define LAT_MAX 2000000
typedef struct Stats {
        uint32_t *lat_us; /* per op */
        size_t n;
        uint64_t errors;
} Stats;

static const char *url, *config;
static double deadline;
static Stats stats[OP_MAX];
static pthread_mutex_t stats_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_uint id_counter;
static struct curl_slist *headers; /* made before the threads start */

static double now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static size_t sink(char *p, size_t size, size_t n, void *userdata) {
        size_t *len = userdata;
        *len += size * n;
        return size * n;
}

/* One call; returns the HTTP status (0: transport failure). */
static long call(CURL *c, int op, const char *body) {
        char u[512];
        snprintf(u, sizeof u, "%s/vmprovisioner.v1.VmService/%s", url, op_rpc[op]);
        size_t got = 0;
        curl_easy_setopt(c, CURLOPT_URL, u);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &got);
        double t0 = now();
        CURLcode rc = curl_easy_perform(c);
        uint32_t us = (uint32_t) ((now() - t0) * 1e6);
        long status = 0;
        if (rc == CURLE_OK)
                curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        pthread_mutex_lock(&stats_lock);
        if (stats[op].n < LAT_MAX)
                stats[op].lat_us[stats[op].n++] = us;
        if (status != 200) {
                stats[op].errors++;
                if (stats[op].errors <= 5)
                        fprintf(stderr, "unexpected: %s %s -> %ld (%s)\n", op_name[op], body, status,
                                curl_easy_strerror(rc));
        }
        pthread_mutex_unlock(&stats_lock);
        return status;
}

static CURL *client(void) {
        CURL *c = curl_easy_init();
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        return c;
}

static void *worker(void *arg) {
        unsigned seed = (unsigned) (uintptr_t) arg;
        CURL *c = client();
        char ids[16][32];
        size_t n = 0;
        char body[4096];
        while (now() < deadline) {
                unsigned dice = (unsigned) rand_r(&seed) % 10;
                if (dice < 2 || n == 0) {
                        if (n == 16) { /* keep the live set bounded */
                                snprintf(body, sizeof body, "{\"vm_id\":\"%s\"}", ids[0]);
                                call(c, OP_DELETE, body);
                                memmove(ids[0], ids[1], sizeof ids[0] * 15);
                                n--;
                        }
                        snprintf(ids[n], sizeof ids[n], "load-%u", atomic_fetch_add(&id_counter, 1));
                        snprintf(body, sizeof body, "{\"vm_id\":\"%s\",\"config\":%s}", ids[n], config);
                        if (call(c, OP_CREATE, body) == 200)
                                n++;
                } else if (dice < 7) {
                        snprintf(body, sizeof body, "{\"vm_id\":\"%s\"}", ids[(unsigned) rand_r(&seed) % n]);
                        call(c, OP_INFO, body);
                } else
                        call(c, OP_LIST, "{\"page_size\":10}");
        }
        for (size_t i = 0; i < n; i++) {
                snprintf(body, sizeof body, "{\"vm_id\":\"%s\"}", ids[i]);
                call(c, OP_DELETE, body);
        }
        curl_easy_cleanup(c);
        return NULL;
}

static void *lifecycle(void *arg) {
        CURL *c = client();
        char body[4096], id[32];
        while (now() < deadline) {
                snprintf(id, sizeof id, "life-%u", atomic_fetch_add(&id_counter, 1));
                snprintf(body, sizeof body, "{\"vm_id\":\"%s\",\"boot\":true,\"config\":%s}", id, config);
                if (call(c, OP_BOOT_CREATE, body) != 200)
                        continue;
                snprintf(body, sizeof body, "{\"vm_id\":\"%s\"}", id);
                call(c, OP_PAUSE, body);
                call(c, OP_RESUME, body);
                call(c, OP_SHUTDOWN, body);
                call(c, OP_BOOT, body);
                call(c, OP_DELETE, body);
        }
        curl_easy_cleanup(c);
        return NULL;
}

static int cmp_u32(const void *a, const void *b) {
        uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;
        return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
        if (argc != 5) {
                fprintf(stderr, "usage: %s URL SECONDS THREADS CONFIG_JSON\n", argv[0]);
                return 2;
        }
        url = argv[1];
        double secs = atof(argv[2]);
        int threads = atoi(argv[3]);
        config = argv[4];
        if (secs <= 0 || threads < 1 || threads > 64) {
                fprintf(stderr, "bad SECONDS or THREADS\n");
                return 2;
        }
        curl_global_init(CURL_GLOBAL_DEFAULT);
        headers = curl_slist_append(NULL, "Content-Type: application/json");
        for (int i = 0; i < OP_MAX; i++)
                stats[i].lat_us = malloc(sizeof(uint32_t) * LAT_MAX);
        deadline = now() + secs;
        pthread_t t[65];
        for (int i = 0; i < threads; i++)
                pthread_create(&t[i], NULL, worker, (void *) (uintptr_t) (i + 1));
        pthread_create(&t[threads], NULL, lifecycle, NULL);
        for (int i = 0; i <= threads; i++)
                pthread_join(t[i], NULL);

        uint64_t total = 0, errors = 0;
        printf("%-16s %9s %7s %9s %9s %9s\n", "rpc", "requests", "errors", "p50 ms", "p99 ms", "max ms");
        for (int i = 0; i < OP_MAX; i++) {
                Stats *s = &stats[i];
                total += s->n;
                errors += s->errors;
                if (s->n == 0)
                        continue;
                qsort(s->lat_us, s->n, sizeof *s->lat_us, cmp_u32);
                printf("%-16s %9zu %7" PRIu64 " %9.2f %9.2f %9.2f\n", op_name[i], s->n, s->errors,
                       s->lat_us[s->n / 2] / 1e3, s->lat_us[s->n * 99 / 100] / 1e3,
                       s->lat_us[s->n - 1] / 1e3);
                free(s->lat_us);
        }
        printf("total %" PRIu64 " requests in %.0f s (%.0f/s), %" PRIu64 " unexpected errors\n", total, secs,
               (double) total / secs, errors);
        curl_slist_free_all(headers);
        curl_global_cleanup();
        return errors ? 1 : 0;
}
