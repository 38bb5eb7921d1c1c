/* SPDX-License-Identifier: Apache-2.0 */
/*
 * scope-probe: drives sys/scope.c directly, for test-systemd.sh, inside the
 * container under a real systemd, through the paths metald rarely takes
 * (a dead pid, the same pid twice, many threads at once). One command a run:
 *
 *   scope-probe new                        "active" or "fallback"
 *   scope-probe adopt ID PID MEM CPU [N]   adopt N times (default 1), in turn
 *   scope-probe adopt-threads PREFIX PID...
 *                                          one thread per pid, all at once,
 *                                          vm id PREFIX-<i>
 *
 * Prints "ok" or one "error <ERRNO>: <message>" line per failed call; exits 0
 * if every call succeeded, 1 if one failed, 2 on bad usage.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "sys/scope.h"
#include "util/log.h"

#define THREADS_MAX 32

typedef struct Job {
        ScopeManager *m;
        char id[64];
        pid_t pid;
        int r;
        char *error;
} Job;

/* Thread body: one adopt with no limits; result into the Job. */
static void *adopt_thread(void *userdata) {
        Job *j = userdata;
        j->r = scope_manager_adopt(j->m, j->id, j->pid, 0, 0, &j->error);
        return NULL;
}

/* Print the outcome of one call; returns 0 for success, 1 for failure. */
static int report(int r, const char *error) {
        if (r >= 0)
                return 0;
        printf("error %s: %s\n", strerrorname_np(-r) ? strerrorname_np(-r) : "?",
               error ? error : "(no message)");
        return 1;
}

int main(int argc, char *argv[]) {
        if (argc < 2)
                return 2;
        log_max_level = LOG_LEVEL_WARNING; /* the verdict on stdout, warnings on stderr */
        _cleanup_(scope_manager_freep) ScopeManager *m = NULL;
        int r = scope_manager_new(&m);
        if (r < 0) {
                printf("error %s: scope_manager_new\n", strerrorname_np(-r));
                return 1;
        }
        int failed = 0;

        if (streq(argv[1], "new")) {
                printf("%s\n", r > 0 && scope_manager_active(m) ? "active" : "fallback");
                return 0;
        }
        if (streq(argv[1], "adopt") && (argc == 6 || argc == 7)) {
                int n = argc == 7 ? atoi(argv[6]) : 1;
                for (int i = 0; i < n; i++) {
                        _cleanup_free_ char *error = NULL;
                        r = scope_manager_adopt(m, argv[2], (pid_t) atoi(argv[3]),
                                                strtoull(argv[4], NULL, 10), (unsigned) atoi(argv[5]),
                                                &error);
                        failed |= report(r, error);
                }
        } else if (streq(argv[1], "adopt-threads") && argc >= 4 && argc - 3 <= THREADS_MAX) {
                Job jobs[THREADS_MAX] = { 0 };
                pthread_t threads[THREADS_MAX];
                int n = argc - 3;
                for (int i = 0; i < n; i++) {
                        jobs[i] = (Job){ .m = m, .pid = (pid_t) atoi(argv[3 + i]) };
                        snprintf(jobs[i].id, sizeof jobs[i].id, "%s-%d", argv[2], i);
                        if (pthread_create(&threads[i], NULL, adopt_thread, &jobs[i]) != 0)
                                return 1;
                }
                for (int i = 0; i < n; i++) {
                        pthread_join(threads[i], NULL);
                        failed |= report(jobs[i].r, jobs[i].error);
                        free(jobs[i].error);
                }
        } else
                return 2;

        if (!failed)
                printf("ok\n");
        return failed;
}
