/* SPDX-License-Identifier: Apache-2.0 */
#include "vm/console.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/stat.h>

/* The logical offset of console.log's first byte (0 if never capped). */
static uint64_t console_base(const char *run_dir) {
        _cleanup_free_ char *path = strdup_printf("%s/console.base", run_dir);
        _cleanup_free_ char *text = NULL;
        if (!path || read_full_file(path, 64, &text, NULL) < 0)
                return 0;
        return strtoull(text, NULL, 10);
}

static int console_set_base(const char *run_dir, uint64_t base) {
        _cleanup_free_ char *path = strdup_printf("%s/console.base", run_dir);
        _cleanup_free_ char *tmp = strdup_printf("%s/console.base.tmp", run_dir);
        if (!path || !tmp)
                return -ENOMEM;
        /* O_NOFOLLOW: the run dir belongs to the VMM user, who must not point
         * this root-written file elsewhere. */
        _cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        char buf[32];
        int n = snprintf(buf, sizeof buf, "%" PRIu64 "\n", base);
        int r = loop_write(fd, buf, (size_t) n);
        if (r < 0)
                return r;
        if (fsync(fd) < 0 || rename(tmp, path) < 0)
                return -errno;
        return 0;
}

int console_read(const char *run_dir, uint64_t offset, size_t max, ConsoleChunk *ret) {
        *ret = (ConsoleChunk){ 0 };
        if (max > CONSOLE_READ_MAX)
                max = CONSOLE_READ_MAX;
        uint64_t base = console_base(run_dir);
        _cleanup_free_ char *path = strdup_printf("%s/console.log", run_dir);
        if (!path)
                return -ENOMEM;
        _cleanup_free_ char *buf = malloc(max + 1);
        if (!buf)
                return -ENOMEM;
        uint64_t from = offset < base ? base : offset;
        ssize_t n = 0;
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd >= 0) {
                n = pread(fd, buf, max, (off_t) (from - base));
                if (n < 0)
                        return -errno;
        } else if (errno != ENOENT)
                return -errno;
        buf[n] = 0;
        ret->data = TAKE_PTR(buf);
        ret->size = (size_t) n;
        ret->offset = from;
        ret->next_offset = from + (uint64_t) n;
        ret->skipped = offset < base;
        return 0;
}

void console_chunk_done(ConsoleChunk *c) {
        c->data = mfree(c->data);
}

int console_cap(const char *run_dir, uint64_t max_bytes) {
        _cleanup_free_ char *path = strdup_printf("%s/console.log", run_dir);
        _cleanup_free_ char *old = strdup_printf("%s/console.log.1", run_dir);
        if (!path || !old)
                return -ENOMEM;
        _cleanup_close_ int fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        if ((uint64_t) st.st_size <= max_bytes)
                return 0;
        /* Keep the newest half in console.log.1. */
        uint64_t keep = max_bytes / 2;
        _cleanup_free_ char *buf = malloc(keep ? keep : 1);
        if (!buf)
                return -ENOMEM;
        ssize_t n = pread(fd, buf, keep, st.st_size - (off_t) keep);
        if (n < 0)
                return -errno;
        _cleanup_close_ int ofd = open(old, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (ofd < 0)
                return -errno;
        int r = loop_write(ofd, buf, (size_t) n);
        if (r < 0)
                return r;
        /* Truncate, then move the base: a crash in between leaves an old base,
         * so offsets restart lower (a follower waits) but never point into
         * bytes that are no longer there. */
        uint64_t base = console_base(run_dir);
        if (ftruncate(fd, 0) < 0)
                return -errno;
        r = console_set_base(run_dir, base + (uint64_t) st.st_size);
        if (r < 0)
                return r;
        return 1;
}
