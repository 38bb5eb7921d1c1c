/* SPDX-License-Identifier: Apache-2.0 */
#include "hv/vmm-process.h"

#include <assert.h>
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sched.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

/* Processes whose cmdline is larger than this are not ours (a VMM's is short). */
#define CMDLINE_MAX (256u * 1024u)
/* Slice for polling a pidfd, so *cancel and /proc are checked regularly. */
#define WAIT_SLICE_MS 100u

static inline void closedirp(DIR **d) {
        if (*d)
                closedir(*d);
}

/* pidfd_open(2) through syscall(2), as glibc wrappers are recent. The fd is
 * always close-on-exec. Returns the fd or negative errno (-ESRCH: no such
 * process). */
static int pidfd_open_(pid_t pid) {
        long fd = syscall(SYS_pidfd_open, pid, 0u);
        return fd < 0 ? -errno : (int) fd;
}

/* pidfd_send_signal(2); 0 or negative errno (-ESRCH once the process has
 * been reaped; a zombie still accepts signals and ignores them). */
static int pidfd_send_signal_(int pidfd, int sig) {
        return syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0u) < 0 ? -errno : 0;
}

/*
 * Parse /proc/<pid>/stat: the state letter (field 3) and the start time
 * (field 22). comm (field 2) may hold spaces and parentheses, so fields are
 * counted from the last ')'. Zombies are reported as they are; the caller
 * decides. -ESRCH if there is no such process, -EIO if the file is garbled.
 * Only open/read/close: no allocation.
 */
static int proc_stat_read(pid_t pid, char *ret_state, uint64_t *ret_start_time) {
        char path[64], buf[4096];
        size_t n = 0;

        assert(pid > 0);

        snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return errno == ENOENT ? -ESRCH : -errno;
        while (n < sizeof buf - 1) {
                ssize_t k = read(fd, buf + n, sizeof buf - 1 - n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return errno == ESRCH ? -ESRCH : -errno;
                }
                if (k == 0)
                        break;
                n += (size_t) k;
        }
        buf[n] = 0;

        const char *p = strrchr(buf, ')');
        if (!p)
                return -EIO;
        p++;
        /* After ')' come fields 3, 4, ... each preceded by one space. */
        char state = 0;
        for (unsigned field = 3; field <= 22; field++) {
                if (*p != ' ')
                        return -EIO;
                p++;
                if (field == 3)
                        state = *p;
                if (field == 22) {
                        char *end;
                        errno = 0;
                        unsigned long long v = strtoull(p, &end, 10);
                        if (errno != 0 || end == p || (*end != ' ' && *end != '\n' && *end))
                                return -EIO;
                        if (ret_state)
                                *ret_state = state;
                        if (ret_start_time)
                                *ret_start_time = (uint64_t) v;
                        return 0;
                }
                p += strcspn(p, " ");
        }
        return -EIO; /* not reached */
}

int vmm_pid_start_time(pid_t pid, uint64_t *ret) {
        char state;
        uint64_t t;

        assert(ret);
        if (pid <= 0)
                return -ESRCH;
        int r = proc_stat_read(pid, &state, &t);
        if (r < 0)
                return r;
        /* Z: exited, waiting for a parent that may never come (pid 1 on some
         * hosts does not reap); X: being torn down. Both are gone for us. */
        if (state == 'Z' || state == 'X' || state == 'x')
                return -ESRCH;
        *ret = t;
        return 0;
}

/*
 * Does the argument arg (len bytes) name needle? It does if it equals needle,
 * or if it is a comma-separated option list with an item "<key>=<needle>",
 * key made of [A-Za-z0-9_-] (Cloud Hypervisor's "--api-socket path=<sock>",
 * QEMU's "-chardev socket,id=m,path=<sock>,server=on"). Items are compared
 * whole: "path=/x/run/a/api.sock" does not name "/run/a/api.sock".
 */
static bool arg_names(const char *arg, size_t len, const char *needle) {
        size_t n = strlen(needle);

        if (len == n && memcmp(arg, needle, n) == 0)
                return true;
        for (size_t i = 0; i < len;) {
                size_t item = i, end = i;
                while (end < len && arg[end] != ',')
                        end++;
                size_t key = item;
                while (key < end &&
                       (arg[key] == '_' || arg[key] == '-' || (arg[key] >= 'a' && arg[key] <= 'z') ||
                        (arg[key] >= 'A' && arg[key] <= 'Z') || (arg[key] >= '0' && arg[key] <= '9')))
                        key++;
                if (key > item && key < end && arg[key] == '=' && end - key - 1 == n &&
                    memcmp(arg + key + 1, needle, n) == 0)
                        return true;
                i = end + 1;
        }
        return false;
}

/*
 * True if one of the NUL-separated arguments in /proc/<pid>/cmdline names
 * needle (arg_names). Whole arguments or option items, not substrings:
 * "/run/a/api.sock" must not match a process started with
 * "/x/run/a/api.sock". False on any read error.
 */
static bool cmdline_has_arg(pid_t pid, const char *needle) {
        char path[64];
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;

        snprintf(path, sizeof path, "/proc/%d/cmdline", (int) pid);
        if (read_full_file(path, CMDLINE_MAX, &buf, &size) < 0)
                return false;
        for (size_t i = 0; i < size;) {
                const char *arg = buf + i;
                size_t len = strnlen(arg, size - i);
                if (arg_names(arg, len, needle))
                        return true;
                i += len + 1;
        }
        return false;
}

bool vmm_is_alive(pid_t pid, uint64_t start_time, const char *needle) {
        uint64_t t;

        if (pid <= 0)
                return false;
        if (vmm_pid_start_time(pid, &t) < 0 || t != start_time)
                return false;
        if (!needle)
                return true;
        if (!cmdline_has_arg(pid, needle))
                return false;
        /* The pid may have been reused while we read cmdline: check again. */
        return vmm_pid_start_time(pid, &t) >= 0 && t == start_time;
}

int vmm_find_by_cmdline(const char *needle, pid_t *ret_pid) {
        _cleanup_(closedirp) DIR *d = NULL;
        pid_t self = getpid();

        assert(!isempty(needle));
        assert(ret_pid);

        d = opendir("/proc");
        if (!d)
                return -errno;
        for (;;) {
                errno = 0;
                struct dirent *de = readdir(d);
                if (!de)
                        return errno != 0 ? -errno : -ESRCH;

                char *end;
                unsigned long v = strtoul(de->d_name, &end, 10);
                if (*de->d_name < '1' || *de->d_name > '9' || *end || v > INT32_MAX)
                        continue;
                pid_t pid = (pid_t) v;
                uint64_t t;
                if (pid == self || !cmdline_has_arg(pid, needle))
                        continue;
                if (vmm_pid_start_time(pid, &t) < 0)
                        continue; /* zombie or gone meanwhile */
                *ret_pid = pid;
                return 0;
        }
}

/*
 * Open a pidfd that provably refers to the process described by (pid,
 * start_time, needle; needle may be NULL). Order matters: open first, verify
 * the pid's identity in /proc, then check that the pidfd's process still has
 * not been reaped. A pid is unique among unreaped processes, so the pidfd's
 * process held the pid throughout and is the one we verified.
 * Returns the fd, -ESRCH if that process is gone (zombies included), or
 * another negative errno.
 */
static int pidfd_open_verified(pid_t pid, uint64_t start_time, const char *needle) {
        _cleanup_close_ int fd = pidfd_open_(pid);
        if (fd < 0)
                return fd;
        if (!vmm_is_alive(pid, start_time, needle))
                return -ESRCH;
        int r = pidfd_send_signal_(fd, 0);
        if (r < 0)
                return r;
        return TAKE_FD(fd);
}

/*
 * Wait until the process behind pidfd has exited (a zombie counts), at most
 * timeout_ms, in slices of WAIT_SLICE_MS: each slice also checks *cancel
 * (may be NULL) and double-checks /proc. 0, -ETIMEDOUT, -EINTR (cancelled) or
 * a poll(2) error.
 */
static int pidfd_wait(int pidfd, pid_t pid, unsigned timeout_ms, const volatile bool *cancel) {
        uint64_t deadline = now_mono_us() + (uint64_t) timeout_ms * 1000u;

        assert(pidfd >= 0);
        for (;;) {
                if (cancel && *cancel)
                        return -EINTR;
                uint64_t now = now_mono_us();
                uint64_t left_ms = now < deadline ? (deadline - now + 999u) / 1000u : 0;
                struct pollfd pfd = { .fd = pidfd, .events = POLLIN };
                int n = poll(&pfd, 1, (int) (left_ms < WAIT_SLICE_MS ? left_ms : WAIT_SLICE_MS));
                if (n < 0 && errno != EINTR)
                        return -errno;
                if (n > 0)
                        return 0; /* POLLIN: exited; POLLHUP/POLLERR: reaped */
                uint64_t t;
                if (vmm_pid_start_time(pid, &t) == -ESRCH)
                        return 0;
                if (now_mono_us() >= deadline)
                        return -ETIMEDOUT;
        }
}

int vmm_kill(pid_t pid, uint64_t start_time, const char *needle, unsigned timeout_ms) {
        assert(pid > 0);

        _cleanup_close_ int fd = pidfd_open_verified(pid, start_time, needle);
        if (fd == -ESRCH)
                return 0;
        if (fd < 0)
                return fd;
        int r = pidfd_send_signal_(fd, SIGKILL);
        if (r == -ESRCH)
                return 0;
        if (r < 0)
                return r;
        return pidfd_wait(fd, pid, timeout_ms, NULL);
}

int vmm_wait_exit(pid_t pid, uint64_t start_time, unsigned timeout_ms, const volatile bool *cancel) {
        assert(pid > 0);

        _cleanup_close_ int fd = pidfd_open_verified(pid, start_time, NULL);
        if (fd == -ESRCH)
                return 0;
        if (fd < 0)
                return fd;
        return pidfd_wait(fd, pid, timeout_ms, cancel);
}

/* Make sure fd is not 0, 1 or 2 (possible when the daemon runs with stdio
 * closed), so the child's dup2() onto 0..2 cannot clobber it. Takes fd. */
static int fd_move_above_stdio(int fd) {
        if (fd < 0 || fd > STDERR_FILENO)
                return fd;
        int n = fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
        int e = errno;
        safe_close(fd);
        return n < 0 ? -e : n;
}

/*
 * Children are cloned vfork-style: CLONE_VM | CLONE_VFORK on a small stack of
 * their own. They share the daemon's memory until they exec or exit (no copy
 * of its page tables, which is what made fork() of a ~100 MiB daemon cost
 * ~30 ms of CPU), and the calling thread sleeps until then. Other threads of
 * the daemon keep running in that shared memory, so a child touches nothing
 * but its own stack and the read-only arguments prepared for it: raw
 * syscalls only (no locks, no malloc, no glibc wrapper that keeps state or
 * acts on other threads, such as setresuid's broadcast to all of them).
 * CHILD_FN: not instrumented by ASan/UBSan, whose runtime keeps per-thread
 * state that a child on a foreign stack must not touch.
 */
#define CHILD_STACK_SIZE (64u * 1024u)
#define CHILD_FN __attribute__((no_sanitize("address", "undefined"), noinline))

/* A raw syscall's result as 0 or a positive errno. (A child shares the
 * calling thread's TLS, errno included; that thread sleeps until the child
 * has exec'd or exited, so reading errno right after the syscall is safe.) */
#define SYSCALL_ERR(...) (syscall(__VA_ARGS__) < 0 ? (errno > 0 ? errno : EIO) : 0)

/* Map a stack for a vfork-style child; the lowest page is a guard. Returns
 * the base (for child_stack_free) or NULL with errno. */
static void *child_stack_new(void) {
        void *p = mmap(NULL, CHILD_STACK_SIZE, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
        if (p == MAP_FAILED)
                return NULL;
        if (mprotect(p, (size_t) sysconf(_SC_PAGESIZE), PROT_NONE) < 0) {
                int e = errno;
                (void) munmap(p, CHILD_STACK_SIZE);
                errno = e;
                return NULL;
        }
        return p;
}

static void child_stack_free(void *p) {
        if (p)
                (void) munmap(p, CHILD_STACK_SIZE);
}

/*
 * clone(2) fn on a fresh stack, vfork-style. All signals must be blocked in
 * the calling thread (so no handler of the daemon runs in the child before it
 * has reset them). exit_signal: SIGCHLD, or 0 for a child that the daemon's
 * reaper (waitpid(-1) without __WALL) must not see. Returns the pid or -errno.
 */
static pid_t clone_vfork(int (*fn)(void *), void *arg, int exit_signal) {
        void *stack = child_stack_new();
        if (!stack)
                return -errno;
        pid_t pid = clone(fn, (char *) stack + CHILD_STACK_SIZE, CLONE_VM | CLONE_VFORK | exit_signal, arg);
        int e = errno;
        child_stack_free(stack); /* the child has exec'd or exited: its stack is ours again */
        return pid < 0 ? -e : pid;
}

/* Block every signal in the calling thread (raw: glibc's sigprocmask keeps
 * its internal ones unblocked), saving the old mask in *old. */
static int block_all_signals(uint64_t *old) {
        uint64_t all = ~UINT64_C(0);
        return syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, old, sizeof all) < 0 ? -errno : 0;
}

static void restore_signals(const uint64_t *old) {
        (void) syscall(SYS_rt_sigprocmask, SIG_SETMASK, old, NULL, sizeof *old);
}

/* Close every fd >= 3 except keep (close_range(2); on kernels without it,
 * one close(2) per possible fd up to max_fd). */
CHILD_FN static void close_all_fds_but(int keep, long max_fd) {
        if ((keep <= 3 || syscall(SYS_close_range, 3u, (unsigned) keep - 1, 0u) == 0) &&
            syscall(SYS_close_range, (unsigned) keep + 1, ~0u, 0u) == 0)
                return;
        for (long fd = 3; fd < max_fd; fd++)
                if (fd != keep)
                        (void) syscall(SYS_close, (int) fd);
}

/*
 * Become user (when not NULL and not root) for good: no_new_privs,
 * supplementary groups, then gid, then uid, real, effective and saved alike.
 * Raw syscalls: they act on the calling task only (glibc's wrappers would
 * broadcast to every thread of the daemon, whose memory a vfork-style child
 * shares). 0 or a positive errno.
 */
CHILD_FN static int drop_to_user(const VmmUser *user) {
        int e;

        if (!user || user->uid == 0)
                return 0;
        /* No exec after this may gain privileges (setuid files, file caps). */
        if ((e = SYSCALL_ERR(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1L, 0L, 0L, 0L)) ||
            (e = SYSCALL_ERR(SYS_setgroups, user->n_groups, user->groups)) ||
            (e = SYSCALL_ERR(SYS_setresgid, user->gid, user->gid, user->gid)) ||
            (e = SYSCALL_ERR(SYS_setresuid, user->uid, user->uid, user->uid)))
                return e;
        /* Paranoia: regaining root must now be impossible. */
        if (syscall(SYS_setresuid, 0, 0, 0) == 0)
                return EPERM;
        return 0;
}

/* What the spawned child reports when it fails: the step and its errno. */
typedef struct SpawnFailure {
        int step; /* VmmSpawnStep */
        int err;
} SpawnFailure;

typedef struct SpawnArgs {
        char *const *argv;
        char *const *envp;
        const char *dir;
        const VmmUser *user;
        int nullfd, outfd, errfd;
        long max_fd;
} SpawnArgs;

/*
 * The spawned child, up to exec (see "vfork-style" above). Everything it needs
 * from root (its stdio, its cwd) is taken before it drops to user. On failure
 * writes the step and errno to errfd (close-on-exec, so EOF in the parent
 * means exec succeeded) and exits 127.
 */
CHILD_FN static int spawn_child(void *userdata) {
        const SpawnArgs *a = userdata;
        struct {
                void *handler;
                unsigned long flags;
                void *restorer;
                uint64_t mask;
        } dfl = { .handler = NULL }; /* SIG_DFL */
        uint64_t none = 0;
        SpawnFailure f = { VMM_SPAWN_STEP_SETSID, 0 };

        /* Own session: no controlling terminal, immune to our SIGHUP. */
        if ((f.err = SYSCALL_ERR(SYS_setsid)))
                goto fail;
        /* Default dispositions (this child's copy of the table), then an empty
         * mask: only now may signals reach it. EINVAL for KILL/STOP: fine. */
        f.step = VMM_SPAWN_STEP_SIGNALS;
        for (int sig = 1; sig <= 64; sig++)
                if (sig != SIGKILL && sig != SIGSTOP)
                        (void) syscall(SYS_rt_sigaction, sig, &dfl, NULL, sizeof dfl.mask);
        if ((f.err = SYSCALL_ERR(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, sizeof none)))
                goto fail;
        f.step = VMM_SPAWN_STEP_CHDIR;
        if ((f.err = SYSCALL_ERR(SYS_chdir, a->dir)))
                goto fail;
        /* dup2 clears close-on-exec on the new fds, so 0..2 survive exec. */
        f.step = VMM_SPAWN_STEP_STDIO;
        if ((f.err = SYSCALL_ERR(SYS_dup2, a->nullfd, STDIN_FILENO)) ||
            (f.err = SYSCALL_ERR(SYS_dup2, a->outfd, STDOUT_FILENO)) ||
            (f.err = SYSCALL_ERR(SYS_dup2, a->outfd, STDERR_FILENO)))
                goto fail;
        close_all_fds_but(a->errfd, a->max_fd);
        f.step = VMM_SPAWN_STEP_CREDENTIALS;
        if ((f.err = drop_to_user(a->user)))
                goto fail;
        f.step = VMM_SPAWN_STEP_EXEC;
        f.err = SYSCALL_ERR(SYS_execve, a->argv[0], a->argv, a->envp);
fail:
        (void) syscall(SYS_write, a->errfd, &f, sizeof f);
        syscall(SYS_exit_group, 127);
        return 127;
}

typedef struct AccessArgs {
        const VmmUser *user;
        const char *path;
        int amode;
        int wfd;
} AccessArgs;

/* vmm_user_access's child: drop to the user, faccessat, report errno. */
CHILD_FN static int access_child(void *userdata) {
        const AccessArgs *a = userdata;
        int e = drop_to_user(a->user);
        if (e == 0)
                e = SYSCALL_ERR(SYS_faccessat, AT_FDCWD, a->path, a->amode);
        (void) syscall(SYS_write, a->wfd, &e, sizeof e);
        syscall(SYS_exit_group, 0);
        return 0;
}

/*
 * The vfork-style parent resumes when the child's exec has replaced its
 * memory, and reads EOF on the error pipe when exec closes close-on-exec fds;
 * both happen before the kernel has set up the new program's arguments, so
 * /proc/<pid>/cmdline may still read empty. Callers identify VMMs by their
 * cmdline (vmm_is_alive) right away: wait (briefly: microseconds) until it
 * is in place or the process is gone.
 */
static void exec_wait_args(pid_t pid) {
        char path[64], c;

        snprintf(path, sizeof path, "/proc/%d/cmdline", (int) pid);
        for (unsigned i = 0; i < 20000; i++) {
                _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                if (fd < 0 || read(fd, &c, 1) != 0)
                        return; /* gone, or arguments there */
                char state = 0;
                if (proc_stat_read(pid, &state, NULL) < 0 || state == 'Z' || state == 'X')
                        return; /* exited already (a zombie's cmdline is empty) */
                if (i > 100)
                        usleep(50);
                else
                        sched_yield();
        }
}

const char *vmm_spawn_step_to_string(VmmSpawnStep step) {
        static const char *const names[] = {
                [VMM_SPAWN_STEP_NONE] = "none",       [VMM_SPAWN_STEP_SETSID] = "setsid",
                [VMM_SPAWN_STEP_SIGNALS] = "signals", [VMM_SPAWN_STEP_CHDIR] = "chdir",
                [VMM_SPAWN_STEP_STDIO] = "stdio",     [VMM_SPAWN_STEP_CREDENTIALS] = "credentials",
                [VMM_SPAWN_STEP_EXEC] = "exec",
        };
        return (unsigned) step < sizeof names / sizeof names[0] ? names[step] : "unknown";
}

int vmm_user_access(const VmmUser *user, const char *path, int amode) {
        int pipefd[2];
        uint64_t oldmask;

        assert(path);
        if (!user || user->uid == 0)
                return access(path, amode) < 0 ? -errno : 0;

        /* The answer comes through a pipe. The child is cloned without an exit
         * signal: the daemon's SIGCHLD reaper (waitpid(-1) without __WALL)
         * neither sees nor records it, and we reap it with __WALL. */
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return -errno;
        _cleanup_close_ int rfd = pipefd[0], wfd = pipefd[1];
        AccessArgs a = { .user = user, .path = path, .amode = amode, .wfd = wfd };
        int r = block_all_signals(&oldmask);
        if (r < 0)
                return r;
        pid_t pid = clone_vfork(access_child, &a, 0);
        restore_signals(&oldmask);
        if (pid < 0)
                return pid;
        wfd = safe_close(wfd);
        int e = 0;
        ssize_t n;
        do
                n = read(rfd, &e, sizeof e);
        while (n < 0 && errno == EINTR);
        while (waitpid(pid, NULL, __WALL) < 0 && errno == EINTR)
                ;
        if (n != (ssize_t) sizeof e)
                return -EIO;
        return -e;
}

int vmm_spawn(char *const argv[], const char *dir, const char *stdout_path, pid_t *ret_pid,
              uint64_t *ret_start_time) {
        return vmm_spawn_as(argv, dir, stdout_path, NULL, ret_pid, ret_start_time);
}

int vmm_spawn_as(char *const argv[], const char *dir, const char *stdout_path, const VmmUser *user,
                 pid_t *ret_pid, uint64_t *ret_start_time) {
        return vmm_spawn_full(argv, dir, stdout_path, user, ret_pid, ret_start_time, NULL);
}

int vmm_spawn_full(char *const argv[], const char *dir, const char *stdout_path, const VmmUser *user,
                   pid_t *ret_pid, uint64_t *ret_start_time, VmmSpawnStep *ret_step) {
        _cleanup_close_ int nullfd = -EBADF, outfd = -EBADF, err_r = -EBADF, err_w = -EBADF;
        int pipefd[2];
        uint64_t start_time = 0, oldmask;
        char state;

        assert(argv && argv[0]);
        assert(dir);
        assert(stdout_path);
        assert(ret_pid);

        if (ret_step)
                *ret_step = VMM_SPAWN_STEP_NONE;
        /* Open everything the child needs here, where errors are easy to report. */
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        nullfd = fd_move_above_stdio(fd);
        if (nullfd < 0)
                return nullfd;
        /* O_NOFOLLOW: the run dir belongs to the VMM user, who must not be able
         * to point our root-opened console file elsewhere. */
        fd = open(stdout_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        outfd = fd_move_above_stdio(fd);
        if (outfd < 0)
                return outfd;
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return -errno;
        err_w = fd_move_above_stdio(pipefd[1]);
        err_r = fd_move_above_stdio(pipefd[0]);
        if (err_r < 0)
                return err_r;
        if (err_w < 0)
                return err_w;

        long max_fd = sysconf(_SC_OPEN_MAX);
        SpawnArgs a = {
                .argv = argv,
                .envp = environ,
                .dir = dir,
                .user = user,
                .nullfd = nullfd,
                .outfd = outfd,
                .errfd = err_w,
                .max_fd = max_fd > 0 ? max_fd : 65536,
        };
        int r = block_all_signals(&oldmask);
        if (r < 0)
                return r;
        pid_t pid = clone_vfork(spawn_child, &a, SIGCHLD);
        restore_signals(&oldmask);
        if (pid < 0)
                return pid;

        err_w = safe_close(err_w);
        /* Start time now, while the child cannot have been reaped by anyone
         * (it is fixed at clone, so reading it after exec is fine). */
        int r_stat = proc_stat_read(pid, &state, &start_time);

        SpawnFailure f = { 0, 0 };
        ssize_t n;
        do
                n = read(err_r, &f, sizeof f);
        while (n < 0 && errno == EINTR);
        if (n != 0) {
                /* The child failed before or at exec and exits 127: reap it here,
                 * the daemon's reaper has no use for it (ECHILD if it was faster). */
                while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                        ;
                if (n == (ssize_t) sizeof f && f.err > 0) {
                        if (ret_step)
                                *ret_step = (VmmSpawnStep) f.step;
                        return -f.err;
                }
                return -EIO;
        }
        if (r_stat < 0)
                return r_stat;
        exec_wait_args(pid);

        *ret_pid = pid;
        if (ret_start_time)
                *ret_start_time = start_time;
        return 0;
}
