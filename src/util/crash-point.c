/* SPDX-License-Identifier: Apache-2.0 */
#include "util/crash-point.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

const char *const crash_points[] = {
        "api-after-commit", /* desired state committed, answer not yet sent */
        "after-intent", /* transitional state committed, side effect not yet done */
        "after-spawn", /* VMM spawned, its pid not yet recorded */
        "after-vmm-recorded", /* pid recorded, guest not yet booted */
        "after-side-effect", /* side effect done, target state not yet committed */
        NULL,
};

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char target[64];
static atomic_long remaining = -1;

static void parse_env(void) {
        const char *v = getenv("METALD_CRASH_AT");
        if (!v)
                return;
        const char *colon = strrchr(v, ':');
        if (!colon || (size_t) (colon - v) >= sizeof target)
                return;
        memcpy(target, v, (size_t) (colon - v));
        target[colon - v] = 0;
        long n = strtol(colon + 1, NULL, 10);
        if (n > 0)
                atomic_store(&remaining, n);
}

void crash_point(const char *name) {
        pthread_once(&once, parse_env);
        if (atomic_load_explicit(&remaining, memory_order_relaxed) < 0 || !streq(name, target))
                return;
        if (atomic_fetch_sub(&remaining, 1) == 1) {
                static const char msg[] = "metald: crash point reached, dying with SIGKILL\n";
                (void) loop_write(STDERR_FILENO, msg, sizeof msg - 1);
                raise(SIGKILL);
        }
}
