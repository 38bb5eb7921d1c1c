/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Small helpers shared by every module: cleanup attributes, ownership
 * transfer, and time. Depends on nothing else in metald.
 *
 * Conventions (see design/STYLE.md): errors are negative errno; "none" fds
 * are -EBADF; destructors accept NULL and return NULL.
 */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _warn_unused_result_ __attribute__((warn_unused_result))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

/* Hand out the value of a cleanup-guarded variable and disarm the guard. */
#define TAKE_PTR(p)                                                                                         \
        __extension__({                                                                                     \
                __typeof__(p) _p_ = (p);                                                                    \
                (p) = NULL;                                                                                 \
                _p_;                                                                                        \
        })
#define TAKE_FD(fd)                                                                                         \
        __extension__({                                                                                     \
                int _fd_ = (fd);                                                                            \
                (fd) = -EBADF;                                                                              \
                _fd_;                                                                                       \
        })

static inline void *mfree(void *p) {
        free(p);
        return NULL;
}

static inline void freep(void *p) {
        free(*(void **) p);
}
#define _cleanup_free_ _cleanup_(freep)

/* Close fd if it is valid; keeps errno intact. Always returns -EBADF. */
static inline int safe_close(int fd) {
        if (fd >= 0) {
                int saved = errno;
                close(fd);
                errno = saved;
        }
        return -EBADF;
}
static inline void closep(int *fd) {
        safe_close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

/* Define foo_freep(Foo **p) for a foo_free(Foo *) destructor. */
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func)                                                             \
        static inline void func##p(type *p) {                                                               \
                if (*p)                                                                                     \
                        func(*p);                                                                           \
        }                                                                                                   \
        struct __useless_struct_to_allow_trailing_semicolon__

static inline bool streq(const char *a, const char *b) {
        return strcmp(a, b) == 0;
}
static inline bool streq_ptr(const char *a, const char *b) {
        if (!a || !b)
                return a == b;
        return strcmp(a, b) == 0;
}
static inline bool isempty(const char *s) {
        return !s || !*s;
}

/* Wall-clock time in milliseconds since the epoch (what the database stores). */
int64_t now_ms(void);
/* Monotonic time in microseconds (for timeouts and measurements). */
uint64_t now_mono_us(void);

/* Format ms-since-epoch as RFC 3339 UTC with millisecond precision into buf
 * (at least 32 bytes). Returns buf. */
char *format_rfc3339(int64_t ms, char *buf, size_t size);

/* strdup that aborts on OOM is deliberately not offered: callers return -ENOMEM. */

/* Like asprintf, returning the string or NULL on OOM. */
char *strdup_printf(const char *fmt, ...) _printf_(1, 2);

/* Make room in the array *p (*cap elements of size elem) for element index n:
 * doubles *cap (from first) when n == *cap. 0, or -ENOMEM with *p unchanged. */
int grow_array(void **p, size_t *cap, size_t n, size_t elem, size_t first);
#define GROW_ARRAY(p, cap, n, first) grow_array((void **) &(p), &(cap), (n), sizeof *(p), (first))

/* The value of a hexadecimal digit (either case), or -1. */
int unhexchar(char c);

/* Read a whole small file (at most max bytes) into a NUL-terminated buffer. */
int read_full_file(const char *path, size_t max, char **ret, size_t *ret_size);

/* Write all of buf to fd, retrying on EINTR and short writes. */
int loop_write(int fd, const void *buf, size_t n);

/* mkdir -p with the given mode for each created component. */
int mkdir_p(const char *path, unsigned mode);

/* Remove a directory tree (no symlink following). Missing path is not an error. */
int rm_rf(const char *path);

/* Fill buf with n random bytes from getrandom(). */
int random_bytes(void *buf, size_t n);
