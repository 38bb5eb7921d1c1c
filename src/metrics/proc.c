/* SPDX-License-Identifier: Apache-2.0 */
#include "metrics/proc.h"

#include <assert.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <time.h>

/* Parse a decimal field at *p, which then points after it. */
static int parse_field(const char **p, uint64_t *ret) {
        const char *s = *p;
        if (*s < '0' || *s > '9')
                return -EINVAL;
        uint64_t v = 0;
        for (; *s >= '0' && *s <= '9'; s++) {
                if (v > (UINT64_MAX - (uint64_t) (*s - '0')) / 10)
                        return -EINVAL;
                v = v * 10 + (uint64_t) (*s - '0');
        }
        *p = s;
        *ret = v;
        return 0;
}

/* Skip one blank-separated field (which may be negative, like nice or the tty). */
static int skip_field(const char **p) {
        const char *s = *p;
        if (*s == ' ' || !*s)
                return -EINVAL;
        while (*s && *s != ' ')
                s++;
        *p = s;
        return 0;
}

int proc_stat_parse(const char *text, ProcStat *ret) {
        assert(text && ret);
        const char *p = strrchr(text, ')');
        if (!p || p[1] != ' ' || !p[2] || p[3] != ' ')
                return -EINVAL;
        ProcStat st = { .state = p[2] };
        p += 3; /* at the blank before field 4 */
        /* Fields 4 .. 22; we keep 14, 15 and 22. */
        for (int field = 4; field <= 22; field++) {
                if (*p != ' ')
                        return -EINVAL;
                p++;
                uint64_t *slot = field == 14   ? &st.utime
                                 : field == 15 ? &st.stime
                                 : field == 22 ? &st.start_time
                                               : NULL;
                int r = slot ? parse_field(&p, slot) : skip_field(&p);
                if (r < 0)
                        return r;
        }
        *ret = st;
        return 0;
}

int proc_statm_parse(const char *text, uint64_t *ret_resident_pages) {
        assert(text && ret_resident_pages);
        const char *p = text;
        uint64_t size;
        if (parse_field(&p, &size) < 0 || *p != ' ')
                return -EINVAL;
        p++;
        return parse_field(&p, ret_resident_pages);
}

/* Read a small /proc file of pid into buf. -ESRCH when the process is gone. */
static int read_proc(pid_t pid, const char *name, char *buf, size_t size) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/%s", (int) pid, name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? -ESRCH : -errno;
        ssize_t n = read(fd, buf, size - 1);
        int err = errno;
        safe_close(fd);
        if (n < 0)
                return err == ESRCH ? -ESRCH : -err;
        buf[n] = 0;
        return 0;
}

int proc_usage_read(pid_t pid, uint64_t start_time, ProcUsage *ret) {
        assert(ret);
        if (pid <= 0)
                return -ESRCH;
        char buf[1024];
        int r = read_proc(pid, "stat", buf, sizeof buf);
        if (r < 0)
                return r;
        ProcStat st;
        r = proc_stat_parse(buf, &st);
        if (r < 0)
                return r;
        if (st.state == 'Z' || st.state == 'X' || st.start_time != start_time)
                return -ESRCH;
        r = read_proc(pid, "statm", buf, sizeof buf);
        if (r < 0)
                return r;
        uint64_t pages;
        r = proc_statm_parse(buf, &pages);
        if (r < 0)
                return r;

        long hz = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
        if (hz <= 0 || page <= 0)
                return -EIO;
        /* /proc's start time counts from boot, suspend included: CLOCK_BOOTTIME. */
        struct timespec ts;
        clock_gettime(CLOCK_BOOTTIME, &ts);
        uint64_t boot_ms = (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
        uint64_t started_ms = st.start_time * 1000 / (uint64_t) hz;
        *ret = (ProcUsage){
                .cpu_ns = (st.utime + st.stime) * (1000000000 / (uint64_t) hz),
                .rss_bytes = pages * (uint64_t) page,
                .uptime_ms = boot_ms > started_ms ? boot_ms - started_ms : 0,
        };
        return 0;
}
