/* SPDX-License-Identifier: Apache-2.0 */
#include "config-check.h"

#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hv/hypervisor.h"

/* One problem: printed at once, counted. */
_printf_(3, 4) static int problem(FILE *out, unsigned *n, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        fputs("  problem: ", out);
        vfprintf(out, fmt, ap);
        fputc('\n', out);
        va_end(ap);
        (*n)++;
        return 0;
}

/* HOST:PORT or [V6]:PORT with a port number and a host getaddrinfo knows.
 * Binding is left to the real start (metald may be running on it now). */
static int check_listen(const char *address, FILE *out, unsigned *n) {
        _cleanup_free_ char *copy = strdup(address);
        if (!copy)
                return problem(out, n, "out of memory");
        char *port = strrchr(copy, ':'), *host = copy;
        if (!port || port == copy)
                return problem(out, n, "--listen \"%s\": expected HOST:PORT (e.g. 127.0.0.1:8080)", address);
        *port++ = 0;
        char *end;
        errno = 0;
        unsigned long p = strtoul(port, &end, 10);
        if (!*port || *end || errno || p > 65535)
                return problem(out, n, "--listen \"%s\": \"%s\" is not a port number (0-65535)", address,
                               port);
        size_t hl = strlen(host);
        if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
                host[hl - 1] = 0;
                host++;
        }
        struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
        struct addrinfo *ai = NULL;
        int g = getaddrinfo(host, port, &hints, &ai);
        if (g != 0)
                return problem(out, n, "--listen \"%s\": host \"%s\": %s", address, host, gai_strerror(g));
        freeaddrinfo(ai);
        return 0;
}

/* The data directory: an existing directory metald can write, or one it can
 * create (its nearest existing ancestor is a writable directory). */
static int check_data_dir(const char *dir, FILE *out, unsigned *n) {
        struct stat st;
        if (stat(dir, &st) == 0) {
                if (!S_ISDIR(st.st_mode))
                        return problem(out, n, "--data-dir %s: exists and is not a directory", dir);
                if (access(dir, R_OK | W_OK | X_OK) < 0)
                        return problem(out, n, "--data-dir %s: not writable by uid %u: %s", dir,
                                       (unsigned) geteuid(), strerror(errno));
                _cleanup_free_ char *db = strdup_printf("%s/metald.db", dir);
                if (db && access(db, F_OK) == 0 && access(db, R_OK | W_OK) < 0)
                        problem(out, n, "--data-dir %s: the database %s is not readable and writable: %s",
                                dir, db, strerror(errno));
                return 0;
        }
        if (errno != ENOENT && errno != ENOTDIR)
                return problem(out, n, "--data-dir %s: %s", dir, strerror(errno));
        /* Missing: metald creates it (and its parents); the nearest existing ancestor decides. */
        _cleanup_free_ char *parent = strdup(dir);
        if (!parent)
                return problem(out, n, "out of memory");
        for (;;) {
                char *slash = strrchr(parent, '/');
                if (!slash)
                        break;
                if (slash == parent)
                        slash[1] = 0;
                else
                        *slash = 0;
                if (stat(parent, &st) == 0) {
                        if (!S_ISDIR(st.st_mode))
                                return problem(out, n, "--data-dir %s: %s is not a directory", dir, parent);
                        if (access(parent, W_OK | X_OK) < 0)
                                return problem(out, n,
                                               "--data-dir %s: does not exist and %s is not writable: %s",
                                               dir, parent, strerror(errno));
                        return 0;
                }
                if (streq(parent, "/"))
                        break;
        }
        problem(out, n, "--data-dir %s: no existing parent directory", dir);
        return 0;
}

static int check_asset_root(const char *root, FILE *out, unsigned *n) {
        struct stat st;
        if (stat(root, &st) < 0)
                return problem(out, n, "--asset-root %s: %s", root, strerror(errno));
        if (!S_ISDIR(st.st_mode))
                return problem(out, n, "--asset-root %s: not a directory", root);
        if (access(root, R_OK | X_OK) < 0)
                problem(out, n, "--asset-root %s: not readable: %s", root, strerror(errno));
        return 0;
}

/* The executable that `name` means: itself when it holds a '/', else the
 * first executable of that name in PATH. NULL when there is none. */
static char *resolve_binary(const char *name) {
        if (strchr(name, '/'))
                return strdup(name);
        const char *path = getenv("PATH");
        _cleanup_free_ char *copy = strdup(path && *path ? path : "/usr/local/bin:/usr/bin:/bin");
        if (!copy)
                return NULL;
        char *save = NULL;
        for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
                char *p = strdup_printf("%s/%s", d, name);
                if (p && access(p, X_OK) == 0)
                        return p;
                free(p);
        }
        return NULL;
}

/* A backend's binary: required for the default backend, a note for the others
 * (a host may well run only one hypervisor). */
static int check_binary(const char *flag, const char *backend, const char *name, bool required, FILE *out,
                        unsigned *n) {
        _cleanup_free_ char *p = resolve_binary(name);
        struct stat st;
        const char *why = NULL;
        char buf[256];
        if (!p)
                why = "not found in PATH";
        else if (stat(p, &st) < 0) {
                snprintf(buf, sizeof buf, "%s", strerror(errno));
                why = buf;
        } else if (!S_ISREG(st.st_mode))
                why = "not a regular file";
        else if (access(p, X_OK) < 0)
                why = "not executable";
        if (!why) {
                fprintf(out, "  %s: %s\n", backend, p);
                return 0;
        }
        if (required)
                problem(out, n, "--%s %s: %s (the default backend %s needs it)", flag, name, why, backend);
        else
                fprintf(out, "  note: %s: --%s %s: %s; VMs on %s will fail to start\n", backend, flag, name,
                        why, backend);
        return 0;
}

unsigned config_check(const Options *o, FILE *out) {
        unsigned n = 0;
        fprintf(out, "checks:\n");
        check_listen(o->listen, out, &n);
        check_data_dir(o->data_dir, out, &n);
        for (size_t i = 0; i < o->n_asset_roots; i++)
                check_asset_root(o->asset_roots[i], out, &n);
        if (!backend_find(o->default_backend))
                problem(out, &n,
                        "--default-backend \"%s\": not a backend (firecracker, cloud-hypervisor, qemu)",
                        o->default_backend);
        static const struct {
                const char *backend, *flag;
                size_t offset;
        } binaries[] = {
                { "firecracker", "firecracker-binary", offsetof(Options, firecracker_binary) },
                { "cloud-hypervisor", "cloud-hypervisor-binary",
                  offsetof(Options, cloud_hypervisor_binary) },
                { "qemu", "qemu-binary", offsetof(Options, qemu_binary) },
        };
        for (size_t i = 0; i < ELEMENTSOF(binaries); i++)
                check_binary(binaries[i].flag, binaries[i].backend,
                             *(char *const *) ((const char *) o + binaries[i].offset),
                             streq(o->default_backend, binaries[i].backend), out, &n);
        /* Limits that are each in range but do not fit together. */
        if ((uint64_t) o->vmm_api_timeout_ms >= (uint64_t) o->request_timeout_s * 1000)
                problem(out, &n,
                        "--vmm-api-timeout %u ms is not shorter than --request-timeout %u s: a lifecycle "
                        "call "
                        "would give up before one VMM call does",
                        o->vmm_api_timeout_ms, o->request_timeout_s);
        if (o->metrics_interval_ms > 0 && o->metrics_retention_ms < (int64_t) o->metrics_interval_ms)
                problem(out, &n,
                        "--metrics-retention is shorter than one --metrics-interval: no sample would be "
                        "kept");
        if (access("/dev/kvm", R_OK | W_OK) < 0 && !streq(o->default_backend, "qemu"))
                fprintf(out,
                        "  note: /dev/kvm is not usable (%s): firecracker and cloud-hypervisor need it\n",
                        strerror(errno));
        return n;
}
