/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Helpers the unit tests of VMM processes and backends share (test.h stays
 * the bare harness). Static inline: a test includes what it uses.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "hv/vmm-process.h"
#include "util/util.h"

/* Milliseconds since since_us (now_mono_us()). */
static inline uint64_t elapsed_ms(uint64_t since_us) {
        return (now_mono_us() - since_us) / 1000u;
}

/* Write text to path (created with mode, truncated). 0 or negative errno. */
static inline int write_file(const char *path, const char *text, mode_t mode) {
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        if (fd < 0)
                return -errno;
        return loop_write(fd, text, strlen(text));
}

/* Reap a child we know has exited or been killed; its wait status, or -1. */
static inline int reap(pid_t pid) {
        int status;
        return waitpid(pid, &status, 0) < 0 ? -1 : status;
}

/* Does /proc/<pid>/cmdline equal the NULL-terminated argv exactly? */
static inline bool proc_cmdline_is(pid_t pid, const char *const *argv) {
        char path[64];
        _cleanup_free_ char *buf = NULL;
        size_t size = 0, off = 0;

        snprintf(path, sizeof path, "/proc/%d/cmdline", (int) pid);
        if (read_full_file(path, 65536, &buf, &size) < 0)
                return false;
        for (; *argv; argv++) {
                if (off >= size || !streq(buf + off, *argv))
                        return false;
                off += strlen(*argv) + 1;
        }
        return off == size;
}

/* How many live processes name sock in their cmdline (vmm_is_alive's rule). */
static inline unsigned count_socket_owners(const char *sock) {
        DIR *d = opendir("/proc");
        unsigned n = 0;
        struct dirent *de;

        if (!d)
                return 0;
        while ((de = readdir(d))) {
                pid_t pid = (pid_t) strtol(de->d_name, NULL, 10);
                uint64_t st;
                if (pid > 0 && vmm_pid_start_time(pid, &st) == 0 && vmm_is_alive(pid, st, sock))
                        n++;
        }
        closedir(d);
        return n;
}
