/* SPDX-License-Identifier: Apache-2.0 */
#include "event.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int monitor_fd = -1;
static struct timespec monitor_start;

int event_monitor_set(int fd) {
        int fl = fcntl(fd, F_GETFL);
        if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
                return -errno;
        (void) fcntl(fd, F_SETFD, FD_CLOEXEC);
        monitor_fd = fd;
        clock_gettime(CLOCK_MONOTONIC, &monitor_start);
        return 0;
}

void event_emit(const char *source, const char *event, ...) {
        if (monitor_fd < 0)
                return;
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long long ns = (long long) (now.tv_sec - monitor_start.tv_sec) * 1000000000LL +
                       (now.tv_nsec - monitor_start.tv_nsec);
        json_t *props = NULL;
        va_list ap;
        va_start(ap, event);
        for (const char *k; (k = va_arg(ap, const char *));) {
                const char *v = va_arg(ap, const char *);
                if (!props)
                        props = json_object();
                if (props && v)
                        json_object_set_new(props, k, json_string(v));
        }
        va_end(ap);
        json_t *e = json_pack("{s:{s:I,s:I},s:s,s:s,s:o}", "timestamp", "secs",
                              (json_int_t) (ns / 1000000000LL), "nanos", (json_int_t) (ns % 1000000000LL),
                              "source", source, "event", event, "properties", props ? props : json_null());
        char *text = e ? json_dumps(e, JSON_INDENT(2)) : NULL;
        json_decref(e);
        if (!text)
                return;
        size_t len = strlen(text);
        /* One write so that a reader never sees half an event. */
        char *buf = malloc(len + 2);
        if (buf) {
                memcpy(buf, text, len);
                buf[len] = '\n';
                buf[len + 1] = '\n';
                ssize_t w = write(monitor_fd, buf, len + 2);
                (void) w;
                free(buf);
        }
        free(text);
}

void event_monitor_close(void) {
        if (monitor_fd >= 0)
                close(monitor_fd);
        monitor_fd = -1;
}
