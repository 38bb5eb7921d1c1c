/* SPDX-License-Identifier: Apache-2.0 */
/*
 * jailersim: Firecracker's jailer, simulated by doing what it does, for real,
 * on this machine (tools/jailersim/README.md). Same arguments, same checks in
 * the same order, same error texts and exit behaviour:
 *   - argument errors: "Failed to parse arguments: <why>" and
 *     "Error: ArgumentParsing(<Variant>(\"<arg>\"))" on stderr, exit 1;
 *   - every later error: a Rust panic ("Jailer error: <why>"), and as the
 *     jailer is built with panic = "abort", SIGABRT.
 * What it does: close inherited fds, clear the environment, validate, create
 * <base>/<exec_file_name>/<id>/root, copy the exec file in, join --netns,
 * set rlimits, create and join the cgroups (v1 or v2), pivot_root into the
 * jail in a new mount namespace, create /dev/net/tun, /dev/kvm,
 * /dev/urandom (and /dev/userfaultfd when the host has it) with mknod, owned
 * by --uid/--gid, optionally daemonize, then exec the copy as --uid/--gid,
 * in a new pid namespace with --new-pid-ns (the parent writes the child's
 * pid to /<exec_file_name>.pid and exits 0), with --id, --start-time-us,
 * --start-time-cpu-us, --parent-cpu-time-us and the arguments after "--".
 * Nothing is skipped: what cannot be done here fails the way the jailer
 * fails.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#define JAILER_VERSION "1.17.0-dev"
#define CGROUPS_MAX 64
#define EXTRA_MAX 256

/* ---- how the jailer fails ---- */

/* A Rust panic in main(), with panic = "abort". */
static _Noreturn void jailer_panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static _Noreturn void jailer_panic(const char *fmt, ...) {
        va_list ap;
        fprintf(stderr, "thread 'main' panicked at src/jailer/src/main.rs:334:6:\n");
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, "\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n");
        fflush(NULL);
        abort();
}

/* io::Error's Display: "<strerror> (os error N)". */
static const char *io_err(int e) {
        static char buf[256];
        snprintf(buf, sizeof buf, "%s (os error %d)", strerror(e), e);
        return buf;
}

#define FAIL(...) jailer_panic("Jailer error: " __VA_ARGS__)

/* snprintf into an array; a result that does not fit fails as a too long
 * path would (checked, so that nothing is silently cut). */
#define PATHF(buf, ...)                                                                                     \
        do {                                                                                                \
                int n_ = snprintf(buf, sizeof(buf), __VA_ARGS__);                                           \
                if (n_ < 0 || (size_t) n_ >= sizeof(buf))                                                   \
                        FAIL("Failed to create directory %s: %s", buf, io_err(ENAMETOOLONG));               \
        } while (0)

/* ---- the command line (utils::arg_parser) ---- */

typedef struct ArgDef {
        const char *name;
        bool takes_value;
        bool multiple;
        bool required;
        const char *default_value;
} ArgDef;

enum {
        A_ID,
        A_EXEC_FILE,
        A_UID,
        A_GID,
        A_CHROOT_BASE,
        A_NETNS,
        A_DAEMONIZE,
        A_NEW_PID_NS,
        A_CGROUP,
        A_RESOURCE_LIMIT,
        A_CGROUP_VERSION,
        A_PARENT_CGROUP,
        A_VERSION,
        A_MAX,
};

/* In the jailer's declaration order. */
static const ArgDef defs[A_MAX] = {
        [A_ID] = { "id", true, false, true, NULL },
        [A_EXEC_FILE] = { "exec-file", true, false, true, NULL },
        [A_UID] = { "uid", true, false, true, NULL },
        [A_GID] = { "gid", true, false, true, NULL },
        [A_CHROOT_BASE] = { "chroot-base-dir", true, false, false, "/srv/jailer" },
        [A_NETNS] = { "netns", true, false, false, NULL },
        [A_DAEMONIZE] = { "daemonize", false, false, false, NULL },
        [A_NEW_PID_NS] = { "new-pid-ns", false, false, false, NULL },
        [A_CGROUP] = { "cgroup", true, true, false, NULL },
        [A_RESOURCE_LIMIT] = { "resource-limit", true, true, false, NULL },
        [A_CGROUP_VERSION] = { "cgroup-version", true, false, false, "1" },
        [A_PARENT_CGROUP] = { "parent-cgroup", true, false, false, NULL },
        [A_VERSION] = { "version", false, false, false, NULL },
};

typedef struct Args {
        const char *value[A_MAX];
        bool present[A_MAX];
        const char *multi[A_MAX][CGROUPS_MAX];
        size_t n_multi[A_MAX];
        char **extra;
        int n_extra;
        bool help;
} Args;

static _Noreturn void parse_error(const char *variant, const char *arg) {
        char inner[512];
        if (strcmp(variant, "UnexpectedArgument") == 0)
                snprintf(inner, sizeof inner,
                         "Found argument '%s' which wasn't expected, or isn't valid in this context.", arg);
        else if (strcmp(variant, "MissingValue") == 0)
                snprintf(inner, sizeof inner, "The argument '%s' requires a value, but none was supplied.",
                         arg);
        else if (strcmp(variant, "DuplicateArgument") == 0)
                snprintf(inner, sizeof inner, "The argument '%s' was provided more than once.", arg);
        else
                snprintf(inner, sizeof inner, "Argument '%s' required, but not found.", arg);
        fprintf(stderr, "Failed to parse arguments: %s\n", inner);
        fprintf(stderr, "Error: ArgumentParsing(%s(\"%s\"))\n", variant, arg);
        exit(1);
}

static int find_arg(const char *name) {
        for (int i = 0; i < A_MAX; i++)
                if (strcmp(defs[i].name, name) == 0)
                        return i;
        return -1;
}

static void parse_args(int argc, char **argv, Args *a) {
        int end = argc;
        for (int i = 1; i < argc; i++)
                if (strcmp(argv[i], "--") == 0) {
                        end = i;
                        break;
                }
        a->extra = argv + (end < argc ? end + 1 : argc);
        a->n_extra = end < argc ? argc - end - 1 : 0;
        /* --help, then --version, anywhere before "--": nothing else is parsed. */
        for (int i = 1; i < end; i++)
                if (strcmp(argv[i], "--help") == 0) {
                        a->help = true;
                        return;
                }
        for (int i = 1; i < end; i++)
                if (strcmp(argv[i], "--version") == 0) {
                        a->present[A_VERSION] = true;
                        return;
                }
        for (int i = 1; i < end; i++) {
                const char *arg = argv[i];
                if (strncmp(arg, "--", 2) != 0)
                        parse_error("UnexpectedArgument", arg);
                int id = find_arg(arg + 2);
                if (id < 0)
                        parse_error("UnexpectedArgument", arg + 2);
                if (a->present[id] && !defs[id].multiple)
                        parse_error("DuplicateArgument", arg + 2);
                a->present[id] = true;
                if (!defs[id].takes_value)
                        continue;
                if (i + 1 >= end || strncmp(argv[i + 1], "--", 2) == 0)
                        parse_error("MissingValue", defs[id].name);
                a->value[id] = argv[++i];
                if (defs[id].multiple && a->n_multi[id] < CGROUPS_MAX)
                        a->multi[id][a->n_multi[id]++] = argv[i];
        }
        /* Requirements are checked in the parser's (sorted) map order. */
        static const int required_sorted[] = { A_EXEC_FILE, A_GID, A_ID, A_UID };
        for (size_t i = 0; i < sizeof required_sorted / sizeof *required_sorted; i++)
                if (!a->present[required_sorted[i]])
                        parse_error("MissingArgument", defs[required_sorted[i]].name);
}

static const char *arg_get(const Args *a, int id) {
        return a->value[id] ? a->value[id] : defs[id].default_value;
}

/* ---- small helpers ---- */

/* exit(0) once inside the jail: flush, but skip atexit handlers (a leak
 * checker's would need the /proc the jail does not have). */
static _Noreturn void exit_in_jail(void) {
        fflush(NULL);
        _exit(0);
}

/* "<a>/<b>" into buf; a path too long for PATH_MAX fails as the OS would. */
static void path_join(char *buf, size_t size, const char *a, const char *b) {
        int n = snprintf(buf, size, "%s/%s", a, b);
        if (n < 0 || (size_t) n >= size)
                FAIL("Failed to create directory %s/%s: %s", a, b, strerror(ENAMETOOLONG));
}

static uint64_t now_us(clockid_t clock) {
        struct timespec ts;
        clock_gettime(clock, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

/* create_dir_all: 0 or errno. */
static int mkdir_all(const char *path) {
        char p[PATH_MAX];
        PATHF(p, "%s", path);
        for (char *s = p + 1; *s; s++)
                if (*s == '/') {
                        *s = 0;
                        if (mkdir(p, 0777) < 0 && errno != EEXIST)
                                return errno;
                        *s = '/';
                }
        if (mkdir(p, 0777) < 0 && errno != EEXIST)
                return errno;
        struct stat st;
        if (stat(p, &st) < 0)
                return errno;
        return S_ISDIR(st.st_mode) ? 0 : EEXIST;
}

/* fs::write(path, "<value>\n"): 0 or errno. */
static int write_line(const char *path, const char *value) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
        if (fd < 0)
                return errno;
        char buf[4096];
        int n = snprintf(buf, sizeof buf, "%s\n", value);
        int e = write(fd, buf, (size_t) n) == n ? 0 : errno ? errno : EIO;
        close(fd);
        return e;
}

static char *read_text(const char *path) {
        FILE *f = fopen(path, "re");
        if (!f)
                return NULL;
        char *buf = calloc(1, 65536);
        size_t n = buf ? fread(buf, 1, 65535, f) : 0;
        fclose(f);
        if (buf)
                buf[n] = 0;
        return buf;
}

/* ---- cgroups (cgroup.rs) ---- */

typedef struct Cgroup {
        char file[256];
        char value[256];
        char location[PATH_MAX]; /* <hierarchy>/<parent>/<id> */
        char hierarchy[PATH_MAX]; /* v2: the mount, for subtree_control */
        char controller[64];
        unsigned version;
} Cgroup;

/* The mount point of the v1 hierarchy with controller, or of cgroup2. */
static bool find_mount(unsigned version, const char *controller, char *ret, size_t size) {
        FILE *f = fopen("/proc/mounts", "re");
        if (!f)
                FAIL("Failed to open file /proc/mounts: %s", io_err(errno));
        char line[4096];
        bool found = false;
        while (!found && fgets(line, sizeof line, f)) {
                char dev[256], dir[PATH_MAX], type[64], opts[1024];
                if (sscanf(line, "%255s %4095s %63s %1023s", dev, dir, type, opts) != 4)
                        continue;
                if (version == 2 && strcmp(type, "cgroup2") == 0) {
                        snprintf(ret, size, "%s", dir);
                        found = true;
                } else if (version == 1 && strcmp(type, "cgroup") == 0) {
                        for (char *save = NULL, *o = strtok_r(opts, ",", &save); o;
                             o = strtok_r(NULL, ",", &save))
                                if (strcmp(o, controller) == 0) {
                                        snprintf(ret, size, "%s", dir);
                                        found = true;
                                }
                }
        }
        fclose(f);
        return found;
}

/* A path component check: none may be ".", ".." or the root. */
static bool path_is_plain(const char *p) {
        if (p[0] == '/')
                return false;
        char buf[PATH_MAX];
        PATHF(buf, "%s", p);
        for (char *save = NULL, *c = strtok_r(buf, "/", &save); c; c = strtok_r(NULL, "/", &save))
                if (strcmp(c, ".") == 0 || strcmp(c, "..") == 0)
                        return false;
        return true;
}

static void cgroup_new(Cgroup *cg, unsigned version, const char *file, const char *value, const char *id,
                       const char *parent) {
        memset(cg, 0, sizeof *cg);
        cg->version = version;
        PATHF(cg->file, "%s", file);
        PATHF(cg->value, "%s", value);
        const char *dot = strchr(file, '.');
        if (!dot || dot == file)
                FAIL("Cgroup invalid file: %s", file);
        PATHF(cg->controller, "%.*s", (int) (dot - file), file);
        if (version == 1) {
                if (!find_mount(1, cg->controller, cg->hierarchy, sizeof cg->hierarchy))
                        FAIL("%s configurations not found in /proc/mounts", cg->controller);
        } else {
                if (!find_mount(2, NULL, cg->hierarchy, sizeof cg->hierarchy))
                        FAIL("Hierarchy not found: cgroup2");
                char path[PATH_MAX + 32];
                PATHF(path, "%s/cgroup.controllers", cg->hierarchy);
                char *ctl = read_text(path);
                if (!ctl)
                        FAIL("Failed to read file %s into a string: %s", path, io_err(errno));
                bool ok = false;
                for (char *save = NULL, *c = strtok_r(ctl, " \n", &save); c;
                     c = strtok_r(NULL, " \n", &save))
                        if (strcmp(c, cg->controller) == 0)
                                ok = true;
                free(ctl);
                if (!ok)
                        FAIL("Controller %s is unavailable", cg->controller);
        }
        PATHF(cg->location, "%s/%s/%s", cg->hierarchy, parent, id);
}

/* v1 cpuset files must be inherited from the parent before they take a value. */
static void inherit_from_parent(const char *location, const char *file) {
        char parent[PATH_MAX], grandparent[PATH_MAX], path[PATH_MAX + 300];
        PATHF(parent, "%s", location);
        *strrchr(parent, '/') = 0;
        PATHF(grandparent, "%s", parent);
        *strrchr(grandparent, '/') = 0;
        path_join(path, sizeof path, parent, file);
        char *line = read_text(path);
        if (line && (!*line || strcmp(line, "\n") == 0)) {
                char gp[PATH_MAX + 300];
                path_join(gp, sizeof gp, grandparent, file);
                char *l2 = read_text(gp);
                if (l2 && *l2 && strcmp(l2, "\n") != 0) {
                        l2[strcspn(l2, "\n")] = 0;
                        (void) write_line(path, l2);
                }
                free(l2);
                free(line);
                line = read_text(path);
        }
        if (!line)
                FAIL("Failed to read file %s into a string: %s", path, io_err(errno));
        line[strcspn(line, "\n")] = 0;
        if (!*line)
                FAIL("Failed to inherit cgroups configurations from file %s in path %s", file, location);
        path_join(path, sizeof path, location, file);
        int e = write_line(path, line);
        free(line);
        if (e)
                FAIL("Failed to write to %s: %s", path, io_err(e));
}

/* write_value().unwrap(): a failure panics with the Debug of the error. */
static _Noreturn void unwrap_failed(const char *what, const char *path, int e) {
        jailer_panic(
                "called `Result::unwrap()` on an `Err` value: %s(\"%s\", Os { code: %d, message: \"%s\" })",
                what, path, e, strerror(e));
}

static void cgroup_write_value(const Cgroup *cg) {
        char path[PATH_MAX + 300];
        int e = mkdir_all(cg->location);
        if (e)
                unwrap_failed("CreateDir", cg->location, e);
        if (cg->version == 1) {
                if (strcmp(cg->file, "cpuset.cpus") == 0 || strcmp(cg->file, "cpuset.mems") == 0)
                        inherit_from_parent(cg->location, cg->file);
        } else {
                /* Enable the controller in the subtree_control of every
                 * ancestor, from the mount down to the parent of <id>. */
                char dir[PATH_MAX], plus[80];
                PATHF(dir, "%s", cg->location);
                PATHF(plus, "+%s", cg->controller);
                char *last = strrchr(dir, '/');
                for (char *s = dir + strlen(cg->hierarchy); s && s <= last; s = strchr(s + 1, '/')) {
                        char saved = *s;
                        *s = 0;
                        PATHF(path, "%s/cgroup.subtree_control", dir);
                        e = write_line(path, plus);
                        *s = saved;
                        if (e)
                                unwrap_failed("Write", path, e);
                }
        }
        path_join(path, sizeof path, cg->location, cg->file);
        e = write_line(path, cg->value);
        if (e)
                unwrap_failed("Write", path, e);
}

static void cgroup_attach(const Cgroup *cg) {
        char path[PATH_MAX + 32], pid[32];
        PATHF(path, "%s/%s", cg->location, cg->version == 1 ? "tasks" : "cgroup.procs");
        PATHF(pid, "%d", (int) getpid());
        int e = write_line(path, pid);
        if (e)
                unwrap_failed("Write", path, e);
}

/* ---- the jail ---- */

static void copy_exec(const char *src, const char *dst) {
        struct stat st;
        int in = open(src, O_RDONLY | O_CLOEXEC);
        int e = 0;
        if (in < 0 || fstat(in, &st) < 0)
                e = errno;
        int out = e ? -1 : open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, st.st_mode & 07777);
        if (!e && out < 0)
                e = errno;
        char buf[65536];
        for (ssize_t n; !e && (n = read(in, buf, sizeof buf)) != 0;) {
                if (n < 0 || write(out, buf, (size_t) n) != n)
                        e = errno ? errno : EIO;
        }
        if (!e && fchmod(out, st.st_mode & 07777) < 0)
                e = errno;
        if (in >= 0)
                close(in);
        if (out >= 0)
                close(out);
        if (e)
                FAIL("Failed to copy %s to %s: %s", src, dst, io_err(e));
}

/* chroot.rs: a new mount namespace, the jail bind-mounted on itself, then
 * pivot_root into it and the old root detached. */
static void enter_jail(const char *root) {
        if (unshare(CLONE_NEWNS) < 0)
                FAIL("Failed to unshare into new mount namespace: %s", io_err(errno));
        if (mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL) < 0)
                FAIL("Failed to change the propagation type to slave: %s", io_err(errno));
        if (mount(root, root, NULL, MS_BIND | MS_REC, NULL) < 0)
                FAIL("Failed to bind mount the jail root directory: %s", io_err(errno));
        if (chdir(root) < 0)
                FAIL("Failed to chdir into chroot directory: %s", io_err(errno));
        if (mkdir("old_root", 0755) < 0)
                FAIL("Failed to create the jail root directory before pivoting root: %s", io_err(errno));
        if (syscall(SYS_pivot_root, ".", "old_root") < 0)
                FAIL("Failed to pivot root: %s", io_err(errno));
        if (chdir("/") < 0)
                FAIL("Failed to change current directory: %s", io_err(errno));
        if (umount2("old_root", MNT_DETACH) < 0)
                FAIL("Failed to unmount the old jail root: %s", io_err(errno));
        if (rmdir("old_root") < 0)
                FAIL("Failed to remove old jail root directory: %s", io_err(errno));
}

static void setup_folder(const char *path, uid_t uid, gid_t gid) {
        int e = mkdir_all(path);
        if (e)
                FAIL("Failed to create directory %s: %s", path, io_err(e));
        if (chmod(path, 0700) < 0)
                FAIL("Failed to change permissions on %s: %s", path, io_err(errno));
        if (chown(path, uid, gid) < 0)
                FAIL("Failed to change owner for %s: %s", path, io_err(errno));
}

/* mknod_and_own_dev: 0, or the error for the caller to report. */
static int mknod_own(const char *path, unsigned major, unsigned minor, uid_t uid, gid_t gid,
                     int *ret_errno) {
        if (mknod(path, S_IFCHR | S_IRUSR | S_IWUSR, makedev(major, minor)) < 0) {
                *ret_errno = errno;
                return -1;
        }
        if (chown(path, uid, gid) < 0)
                FAIL("Failed to change owner for %s: %s", path, io_err(errno));
        return 0;
}

static void make_dev(const char *path, unsigned major, unsigned minor, uid_t uid, gid_t gid) {
        int e;
        if (mknod_own(path, major, minor, uid, gid, &e) < 0)
                FAIL("Failed to create %s via mknod inside the jail: %s", path, io_err(e));
}

/* The minor of /dev/userfaultfd from /proc/misc, or -1. */
static int userfaultfd_minor(void) {
        char *misc = read_text("/proc/misc");
        int minor = -1;
        for (char *save = NULL, *l = misc ? strtok_r(misc, "\n", &save) : NULL; l;
             l = strtok_r(NULL, "\n", &save)) {
                unsigned m;
                char name[64];
                if (sscanf(l, " %u %63s", &m, name) == 2 && strcmp(name, "userfaultfd") == 0)
                        minor = (int) m;
        }
        free(misc);
        return minor;
}

static bool parse_u32(const char *s, uint32_t *ret) {
        char *end;
        if (!*s || *s == '-' || *s == '+' || *s == ' ')
                return false;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno || *end || v > UINT32_MAX)
                return false;
        *ret = (uint32_t) v;
        return true;
}

static void validate_id(const char *id) {
        size_t n = strlen(id);
        if (n < 1 || n > 64)
                FAIL("Invalid instance ID: Invalid len (%zu);  the length must be between 1 and 64", n);
        for (size_t i = 0; i < n; i++)
                if (!((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= 'A' && id[i] <= 'Z') ||
                      (id[i] >= '0' && id[i] <= '9') || id[i] == '-'))
                        FAIL("Invalid instance ID: Invalid char (%c) at position %zu", id[i], i);
}

int main(int argc, char **argv) {
        uint64_t start_us = now_us(CLOCK_MONOTONIC), start_cpu_us = now_us(CLOCK_PROCESS_CPUTIME_ID);

        /* sanitize_process: no inherited fd but stdio, no environment. */
        if (syscall(SYS_close_range, 3u, ~0u, 4u /* CLOSE_RANGE_UNSHARE */) < 0)
                jailer_panic("Failed to sanitize the Jailer process: Failed to call close range syscall: %s",
                             io_err(errno));
        clearenv();

        Args a = { 0 };
        parse_args(argc, argv, &a);
        if (a.help) {
                printf("Jailer v%s\n\n", JAILER_VERSION);
                for (int i = 0; i < A_MAX; i++)
                        printf("--%s%s%s\n", defs[i].name, defs[i].takes_value ? " <" : "",
                               defs[i].takes_value ? "value>" : "");
                printf("\nAny arguments after the -- separator will be supplied to the jailed binary.\n\n");
                return 0;
        }
        if (a.present[A_VERSION]) {
                printf("Jailer v%s\n\n", JAILER_VERSION);
                return 0;
        }

        /* Env::new, in its order. */
        const char *id = arg_get(&a, A_ID);
        validate_id(id);
        const char *exec_file = arg_get(&a, A_EXEC_FILE);
        char exec_path[PATH_MAX];
        if (!realpath(exec_file, exec_path))
                FAIL("Failed to canonicalize path %s: %s", exec_file, io_err(errno));
        struct stat st;
        if (stat(exec_path, &st) < 0 || !S_ISREG(st.st_mode))
                FAIL("%s is not a file", exec_path);
        const char *exec_name = strrchr(exec_path, '/') + 1;
        if (!strstr(exec_name, "firecracker"))
                FAIL("Invalid filename. The filename of `--exec-file` option must contain \"firecracker\": "
                     "%s",
                     exec_name);
        const char *base = arg_get(&a, A_CHROOT_BASE);
        char base_path[PATH_MAX];
        if (!realpath(base, base_path))
                FAIL("Failed to canonicalize path %s: %s", base, io_err(errno));
        if (stat(base_path, &st) < 0 || !S_ISDIR(st.st_mode))
                FAIL("%s is not a directory", base_path);
        char root[PATH_MAX];
        PATHF(root, "%s/%s/%s/root", base_path, exec_name, id);
        uint32_t uid, gid;
        if (!parse_u32(arg_get(&a, A_UID), &uid))
                FAIL("Invalid uid: %s", arg_get(&a, A_UID));
        if (!parse_u32(arg_get(&a, A_GID), &gid))
                FAIL("Invalid gid: %s", arg_get(&a, A_GID));
        const char *netns = arg_get(&a, A_NETNS);
        bool daemonize = a.present[A_DAEMONIZE], new_pid_ns = a.present[A_NEW_PID_NS];

        const char *parent = a.value[A_PARENT_CGROUP] ? a.value[A_PARENT_CGROUP] : exec_name;
        if (!path_is_plain(parent))
                FAIL("Parent cgroup path is invalid. Path should not be absolute or contain '..' or '.'");
        const char *ver_s = arg_get(&a, A_CGROUP_VERSION);
        uint32_t ver32;
        if (!parse_u32(ver_s, &ver32) || ver32 > 255)
                FAIL("%s is an invalid cgroup version specifier", ver_s);
        unsigned ver = ver32;
        if (a.n_multi[A_CGROUP] > 0 && ver != 1 && ver != 2)
                FAIL("%s is an invalid cgroup version specifier", ver_s);
        if (a.n_multi[A_CGROUP] == 0 && ver == 2) {
                /* --parent-cgroup alone: move into it if it exists. */
                char mnt[PATH_MAX], procs[PATH_MAX * 2];
                if (!find_mount(2, NULL, mnt, sizeof mnt))
                        FAIL("Hierarchy not found: cgroup2");
                PATHF(procs, "%s/%s", mnt, parent);
                if (access(procs, F_OK) == 0) {
                        char pid[32];
                        PATHF(procs, "%s/%s/cgroup.procs", mnt, parent);
                        PATHF(pid, "%d", (int) getpid());
                        int e = write_line(procs, pid);
                        if (e)
                                FAIL("Failed to write to cgroups file: %s", io_err(e));
                }
        }
        static Cgroup cgroups[CGROUPS_MAX];
        size_t n_cgroups = 0;
        for (size_t i = 0; i < a.n_multi[A_CGROUP]; i++) {
                const char *cg = a.multi[A_CGROUP][i];
                const char *eq = strchr(cg, '=');
                if (!eq || strchr(eq + 1, '=') || !eq[1])
                        FAIL("Invalid format for cgroups: %s", cg);
                char file[256];
                PATHF(file, "%.*s", (int) (eq - cg), cg);
                if (!path_is_plain(file))
                        FAIL("Cgroup invalid file: %s", cg);
                cgroup_new(&cgroups[n_cgroups++], ver, file, eq + 1, id, parent);
        }
        uint64_t no_file = 2048, fsize = 0;
        bool have_fsize = false;
        for (size_t i = 0; i < a.n_multi[A_RESOURCE_LIMIT]; i++) {
                const char *rl = a.multi[A_RESOURCE_LIMIT][i];
                const char *eq = strchr(rl, '=');
                if (!eq)
                        FAIL("Invalid format for resources limits: %s", rl);
                char *end;
                errno = 0;
                unsigned long long v = strtoull(eq + 1, &end, 10);
                if (!eq[1])
                        FAIL("Invalid limit value for resource: %s: cannot parse integer from empty string",
                             eq + 1);
                if (errno || *end || eq[1] == '-' || eq[1] == '+')
                        FAIL("Invalid limit value for resource: %s: %s", eq + 1,
                             errno == ERANGE ? "number too large to fit in target type"
                                             : "invalid digit found in string");
                if ((size_t) (eq - rl) == 5 && strncmp(rl, "fsize", 5) == 0) {
                        fsize = v;
                        have_fsize = true;
                } else if ((size_t) (eq - rl) == 7 && strncmp(rl, "no-file", 7) == 0)
                        no_file = v;
                else
                        FAIL("Invalid resource argument: %.*s", (int) (eq - rl), rl);
        }
        int uffd_minor = userfaultfd_minor();

        /* main: the jail directory; Env::run. */
        int e = mkdir_all(root);
        if (e)
                FAIL("Failed to create directory %s: %s", root, io_err(e));
        char jailed_exec[PATH_MAX + 64];
        PATHF(jailed_exec, "%s/%s", root, exec_name);
        copy_exec(exec_path, jailed_exec);

        if (netns) {
                int fd = open(netns, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        FAIL("Failed to open file %s: %s", netns, io_err(errno));
                if (setns(fd, CLONE_NEWNET) < 0)
                        FAIL("Failed to join network namespace: netns: %s", io_err(errno));
                close(fd);
        }
        struct rlimit rl = { no_file, no_file };
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
                FAIL("Failed to set limit for resource: %s", io_err(errno));
        if (have_fsize) {
                rl = (struct rlimit){ fsize, fsize };
                if (setrlimit(RLIMIT_FSIZE, &rl) < 0)
                        FAIL("Failed to set limit for resource: %s", io_err(errno));
        }
        for (size_t i = 0; i < n_cgroups; i++)
                cgroup_write_value(&cgroups[i]);
        for (size_t i = 0; i < n_cgroups; i++)
                cgroup_attach(&cgroups[i]);

        int dev_null = -1;
        if (daemonize && (dev_null = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0)
                FAIL("Failed to open /dev/null: %s", io_err(errno));

        enter_jail(root);
        static const char *const folders[] = { "/", "/dev", "/dev/net", "/run" };
        for (size_t i = 0; i < sizeof folders / sizeof *folders; i++)
                setup_folder(folders[i], uid, gid);
        make_dev("/dev/net/tun", 10, 200, uid, gid);
        make_dev("/dev/kvm", 10, 232, uid, gid);
        if (mknod_own("/dev/urandom", 1, 9, uid, gid, &e) < 0) {
                printf("Warning! Could not create /dev/urandom device inside jailer: Failed to create "
                       "/dev/urandom via mknod inside the jail: %s.\n",
                       io_err(e));
                printf("MMDS version 2 will not be available to use.\n");
        }
        if (uffd_minor >= 0)
                make_dev("/dev/userfaultfd", 10, (unsigned) uffd_minor, uid, gid);

        uint64_t jailer_cpu_us = 0;
        if (daemonize) {
                jailer_cpu_us = now_us(CLOCK_PROCESS_CPUTIME_ID);
                pid_t child = fork();
                if (child < 0)
                        FAIL("Failed to daemonize: %s", io_err(errno));
                if (child > 0)
                        exit_in_jail();
                if (setsid() < 0)
                        FAIL("Failed to daemonize: setsid: %s", io_err(errno));
                jailer_cpu_us += now_us(CLOCK_PROCESS_CPUTIME_ID);
                pid_t grandchild = fork();
                if (grandchild < 0)
                        FAIL("Failed to daemonize: %s", io_err(errno));
                if (grandchild > 0)
                        exit_in_jail();
                if (dup2(dev_null, 0) < 0 || dup2(dev_null, 1) < 0 || dup2(dev_null, 2) < 0)
                        FAIL("Failed to duplicate fd: %s", io_err(errno));
        }
        jailer_cpu_us += now_us(CLOCK_PROCESS_CPUTIME_ID) - start_cpu_us;

        /* The exec file's arguments: the jailer's four, then the caller's. */
        char chroot_exec[PATH_MAX], pid_file[PATH_MAX + 8];
        PATHF(chroot_exec, "/%s", exec_name);
        PATHF(pid_file, "%s.pid", chroot_exec);
        char s_start[32], s_cpu[32];
        PATHF(s_start, "%" PRIu64, start_us);
        PATHF(s_cpu, "%" PRIu64, jailer_cpu_us);
        char *args[EXTRA_MAX + 16];
        int n = 0;
        args[n++] = chroot_exec;
        args[n++] = "--id";
        args[n++] = (char *) id;
        args[n++] = "--start-time-us";
        args[n++] = s_start;
        args[n++] = "--start-time-cpu-us";
        args[n++] = "0";
        args[n++] = "--parent-cpu-time-us";
        args[n++] = s_cpu;
        for (int i = 0; i < a.n_extra && n < EXTRA_MAX + 15; i++)
                args[n++] = a.extra[i];
        args[n] = NULL;

        pid_t exec_pid = getpid();
        if (new_pid_ns) {
                /* As the jailer: clone(2) with only CLONE_NEWPID, no stack (fork-like). */
                long child = syscall(SYS_clone, CLONE_NEWPID, NULL, NULL, NULL, 0);
                if (child < 0)
                        FAIL("Failed cloning into a new child process: %s", io_err(errno));
                if (child > 0) {
                        int fd = open(pid_file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
                        if (fd < 0)
                                FAIL("Failed to open file %s: %s", pid_file, io_err(errno));
                        char buf[32];
                        int len = snprintf(buf, sizeof buf, "%ld", child);
                        if (write(fd, buf, (size_t) len) != len)
                                FAIL("Failed to write to %s: %s", pid_file, io_err(errno));
                        close(fd);
                        exit_in_jail();
                }
        } else {
                int fd = open(pid_file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
                if (fd < 0)
                        FAIL("Failed to open file %s: %s", pid_file, io_err(errno));
                dprintf(fd, "%d", (int) exec_pid);
                close(fd);
        }

        /* Command::uid/gid: groups cleared (we are root), gid, then uid. */
        if (getuid() == 0 && setgroups(0, NULL) < 0)
                FAIL("Failed to exec into Firecracker: %s", io_err(errno));
        if (setgid(gid) < 0 || setuid(uid) < 0)
                FAIL("Failed to exec into Firecracker: %s", io_err(errno));
        execv(chroot_exec, args);
        FAIL("Failed to exec into Firecracker: %s", io_err(errno));
}
