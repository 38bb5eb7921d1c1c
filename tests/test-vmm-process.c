/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests for hv/vmm-process.c with real processes (/bin/sleep, /bin/sh):
 * detached spawn (session, stdio, fds, signals, cwd), identification by start
 * time and cmdline, kill, wait with timeout and cancel, exec failures, and
 * zombies counting as gone (this test does not reap until it has checked).
 */
#include <assert.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "hv/vmm-process.h"
#include "sys/vmm-user.h"
#include "test-helpers.h"
#include "test.h"

static char tmpdir[] = "/tmp/test-vmm-process-XXXXXX";

/* The state letter of /proc/<pid>/stat, or 0 if there is no such process. */
static char proc_state(pid_t pid) {
        char path[64];
        _cleanup_free_ char *buf = NULL;
        snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
        if (read_full_file(path, 65536, &buf, NULL) < 0)
                return 0;
        const char *p = strrchr(buf, ')');
        return p && p[1] == ' ' ? p[2] : 0;
}

/* readlink /proc/<pid>/<what> into buf (NUL-terminated), "" on error. */
static const char *proc_link(pid_t pid, const char *what, char *buf, size_t size) {
        char path[96];
        snprintf(path, sizeof path, "/proc/%d/%s", (int) pid, what);
        ssize_t n = readlink(path, buf, size - 1);
        buf[n < 0 ? 0 : n] = 0;
        return buf;
}

/* The value of a "Key:\t..." line of /proc/<pid>/status, "" if missing. */
static const char *proc_status_field(pid_t pid, const char *key, char *buf, size_t size) {
        char path[64];
        _cleanup_free_ char *text = NULL;
        snprintf(path, sizeof path, "/proc/%d/status", (int) pid);
        buf[0] = 0;
        if (read_full_file(path, 65536, &text, NULL) < 0)
                return buf;
        for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
                if (strncmp(line, key, strlen(key)) == 0 && line[strlen(key)] == ':') {
                        const char *v = line + strlen(key) + 1;
                        snprintf(buf, size, "%s", v + strspn(v, " \t"));
                        break;
                }
        return buf;
}

/* The open fd numbers of pid as a string like "0,1,2". */
static void proc_fd_list(pid_t pid, char *buf, size_t size) {
        char path[64];
        int nums[256];
        size_t n = 0;

        snprintf(path, sizeof path, "/proc/%d/fd", (int) pid);
        buf[0] = 0;
        DIR *d = opendir(path);
        if (!d)
                return;
        for (struct dirent *de; (de = readdir(d)) && n < ELEMENTSOF(nums);)
                if (de->d_name[0] != '.')
                        nums[n++] = atoi(de->d_name);
        closedir(d);
        for (size_t i = 0; i < n; i++) /* tiny insertion sort */
                for (size_t j = i; j > 0 && nums[j - 1] > nums[j]; j--) {
                        int t = nums[j];
                        nums[j] = nums[j - 1];
                        nums[j - 1] = t;
                }
        size_t len = 0;
        for (size_t i = 0; i < n && len < size; i++)
                len += (size_t) snprintf(buf + len, size - len, "%s%d", i ? "," : "", nums[i]);
}

static bool no_children_left(void) {
        return waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD;
}

/* A detached /bin/sleep: session, stdio, fds, signals, cwd, identification,
 * wait timeout and cancel, kill, and the zombie it leaves behind. */
static void test_spawn_detached(void) {
        char unique[64], out[PATH_MAX], buf[PATH_MAX], real_out[PATH_MAX], real_tmp[PATH_MAX];
        pid_t pid = 0, found = 0;
        uint64_t st = 0, t = 0, t0;
        sigset_t block, old_mask;
        struct sigaction ign = { .sa_handler = SIG_IGN }, old_usr2;
        struct stat sb;
        int status;

        /* A unique argument to find it by; GNU sleep takes fractions. */
        snprintf(unique, sizeof unique, "30.%06d", (int) (getpid() % 1000000));
        snprintf(out, sizeof out, "%s/out.log", tmpdir);
        char *const argv[] = { "/bin/sleep", unique, NULL };

        /* Things that must not reach the child: an inheritable fd, a blocked
         * and an ignored signal. */
        int leak = open("/dev/null", O_RDONLY);
        CHECK(leak >= 3);
        sigemptyset(&block);
        sigaddset(&block, SIGUSR1);
        sigprocmask(SIG_BLOCK, &block, &old_mask);
        sigaction(SIGUSR2, &ign, &old_usr2);

        int r = vmm_spawn(argv, tmpdir, out, &pid, &st);

        sigprocmask(SIG_SETMASK, &old_mask, NULL);
        sigaction(SIGUSR2, &old_usr2, NULL);
        safe_close(leak);
        REQUIRE(r == 0);
        REQUIRE(pid > 0);

        CHECK(getsid(pid) == pid);
        CHECK(getpgid(pid) == pid);
        /* The spawn returns as soon as the exec is done, possibly while the
         * dynamic loader still holds the fd of a library it maps: a leaked
         * fd stays, the loader's goes. */
        proc_fd_list(pid, buf, sizeof buf);
        for (int i = 0; i < 100 && !streq(buf, "0,1,2"); i++) {
                usleep(10000);
                proc_fd_list(pid, buf, sizeof buf);
        }
        CHECK(streq(buf, "0,1,2"));
        if (!streq(buf, "0,1,2"))
                fprintf(stderr, "  fds of child: %s\n", buf);
        CHECK(realpath(out, real_out) != NULL);
        CHECK(realpath(tmpdir, real_tmp) != NULL);
        CHECK(streq(proc_link(pid, "fd/0", buf, sizeof buf), "/dev/null"));
        CHECK(streq(proc_link(pid, "fd/1", buf, sizeof buf), real_out));
        CHECK(streq(proc_link(pid, "fd/2", buf, sizeof buf), real_out));
        CHECK(streq(proc_link(pid, "cwd", buf, sizeof buf), real_tmp));
        CHECK(streq(proc_status_field(pid, "SigBlk", buf, sizeof buf), "0000000000000000"));
        CHECK(streq(proc_status_field(pid, "SigIgn", buf, sizeof buf), "0000000000000000"));
        CHECK(stat(out, &sb) == 0 && (sb.st_mode & 0777) == 0600);

        /* Identification. */
        CHECK(st > 0);
        CHECK(vmm_pid_start_time(pid, &t) == 0 && t == st);
        CHECK(vmm_pid_start_time(pid, &t) == 0 && t == st);
        CHECK(vmm_is_alive(pid, st, unique));
        CHECK(vmm_is_alive(pid, st, "/bin/sleep"));
        CHECK(vmm_is_alive(pid, st, NULL));
        CHECK(!vmm_is_alive(pid, st + 1, unique));
        CHECK(!vmm_is_alive(pid, st - 1, NULL));
        CHECK(!vmm_is_alive(pid, st, "no-such-argument"));
        CHECK(!vmm_is_alive(pid, st, "/bin/sle")); /* whole arguments only */
        CHECK(!vmm_is_alive(pid, st, "30"));
        CHECK(vmm_find_by_cmdline(unique, &found) == 0 && found == pid);

        /* Waiting: timeout, cancel, and a start time that is not this process. */
        t0 = now_mono_us();
        CHECK(vmm_wait_exit(pid, st, 300, NULL) == -ETIMEDOUT);
        CHECK(elapsed_ms(t0) >= 290 && elapsed_ms(t0) < 2000);
        t0 = now_mono_us();
        CHECK(vmm_wait_exit(pid, st, 0, NULL) == -ETIMEDOUT);
        CHECK(elapsed_ms(t0) < 1000);
        volatile bool cancel = true;
        t0 = now_mono_us();
        CHECK(vmm_wait_exit(pid, st, 5000, &cancel) == -EINTR);
        CHECK(elapsed_ms(t0) < 1000);
        CHECK(vmm_wait_exit(pid, st + 1, 5000, NULL) == 0);

        /* vmm_kill leaves alone what is not the process described. */
        CHECK(vmm_kill(pid, st, "no-such-argument", 1000) == 0);
        CHECK(vmm_kill(pid, st + 1, unique, 1000) == 0);
        CHECK(vmm_is_alive(pid, st, unique));

        t0 = now_mono_us();
        CHECK(vmm_kill(pid, st, unique, 2000) == 0);
        CHECK(elapsed_ms(t0) < 3000);

        /* Not reaped: a zombie, which counts as gone everywhere. */
        CHECK(proc_state(pid) == 'Z');
        CHECK(!vmm_is_alive(pid, st, unique));
        CHECK(!vmm_is_alive(pid, st, NULL));
        CHECK(vmm_pid_start_time(pid, &t) == -ESRCH);
        CHECK(vmm_find_by_cmdline(unique, &found) == -ESRCH);
        t0 = now_mono_us();
        CHECK(vmm_wait_exit(pid, st, 5000, NULL) == 0);
        CHECK(elapsed_ms(t0) < 1000);
        CHECK(vmm_kill(pid, st, NULL, 1000) == 0);

        CHECK(waitpid(pid, &status, 0) == pid);
        CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        CHECK(vmm_pid_start_time(pid, &t) == -ESRCH);
        CHECK(!vmm_is_alive(pid, st, NULL));
        CHECK(vmm_wait_exit(pid, st, 1000, NULL) == 0);
        CHECK(vmm_kill(pid, st, NULL, 1000) == 0);
}

/* stdout and stderr are appended to the file, stdin is /dev/null; a process
 * that exits is seen by vmm_wait_exit and, as a zombie, is gone. */
static void test_stdio_and_exit(void) {
        char out[PATH_MAX];
        _cleanup_free_ char *text = NULL;
        pid_t pid = 0;
        uint64_t st = 0, t;
        int status;

        snprintf(out, sizeof out, "%s/stdio.log", tmpdir);
        REQUIRE(write_file(out, "previous\n", 0600) == 0);
        char *const argv[] = { "/bin/sh", "-c",
                               "echo out; echo err >&2; sleep 0.3; read x; echo \"stdin=[$x]\"", NULL };

        REQUIRE(vmm_spawn(argv, tmpdir, out, &pid, &st) == 0);
        uint64_t t0 = now_mono_us();
        CHECK(vmm_wait_exit(pid, st, 5000, NULL) == 0);
        CHECK(elapsed_ms(t0) >= 250 && elapsed_ms(t0) < 3000);

        CHECK(read_full_file(out, 65536, &text, NULL) == 0);
        CHECK(text && streq(text, "previous\nout\nerr\nstdin=[]\n"));
        if (text && !streq(text, "previous\nout\nerr\nstdin=[]\n"))
                fprintf(stderr, "  stdio.log: \"%s\"\n", text);

        CHECK(proc_state(pid) == 'Z');
        CHECK(vmm_pid_start_time(pid, &t) == -ESRCH);
        CHECK(!vmm_is_alive(pid, st, NULL));
        CHECK(vmm_wait_exit(pid, st, 1000, NULL) == 0);
        CHECK(waitpid(pid, &status, 0) == pid);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* comm may hold spaces and parentheses: fields are counted from the last ')'. */
static void test_odd_comm(void) {
        char odd[PATH_MAX], out[PATH_MAX];
        pid_t pid = 0, found = 0;
        uint64_t st = 0, t = 0, self = 0;
        int status;

        snprintf(odd, sizeof odd, "%s/a) b (c", tmpdir);
        snprintf(out, sizeof out, "%s/odd.log", tmpdir);
        REQUIRE(link("/bin/sleep", odd) == 0 || symlink("/bin/sleep", odd) == 0);
        char *const argv[] = { odd, "30", NULL };

        REQUIRE(vmm_spawn(argv, tmpdir, out, &pid, &st) == 0);
        CHECK(vmm_pid_start_time(getpid(), &self) == 0);
        CHECK(st >= self);
        CHECK(vmm_pid_start_time(pid, &t) == 0 && t == st);
        CHECK(vmm_is_alive(pid, st, odd));
        CHECK(vmm_find_by_cmdline(odd, &found) == 0 && found == pid);
        CHECK(vmm_kill(pid, st, odd, 2000) == 0);
        CHECK(waitpid(pid, &status, 0) == pid);
        unlink(odd);
}

/* A socket path given as an option item ("path=<sock>", Cloud Hypervisor's
 * --api-socket, QEMU's -chardev) identifies the process too; an item is
 * compared whole, like an argument. */
static void test_option_items(void) {
        char sock[PATH_MAX], qmp[PATH_MAX], api_arg[PATH_MAX + 8], chardev[PATH_MAX + 64], out[PATH_MAX];
        char longer[PATH_MAX + 8], other[PATH_MAX];
        pid_t pid = 0, found = 0;
        uint64_t st = 0;
        int status;

        snprintf(sock, sizeof sock, "%s/vm/api.sock", tmpdir);
        snprintf(qmp, sizeof qmp, "%s/vm/qmp.sock", tmpdir);
        snprintf(api_arg, sizeof api_arg, "path=%s", sock);
        snprintf(chardev, sizeof chardev, "socket,id=mon,path=%s,server=on,wait=off", qmp);
        snprintf(out, sizeof out, "%s/items.log", tmpdir);
        /* The shell stops itself: alive, and never outlives the test. */
        char *const argv[] = { "/bin/sh", "-c",       "kill -STOP $$", "sh", "--api-socket",
                               api_arg,   "-chardev", chardev,         NULL };

        REQUIRE(vmm_spawn(argv, tmpdir, out, &pid, &st) == 0);
        CHECK(vmm_is_alive(pid, st, sock));
        CHECK(vmm_is_alive(pid, st, qmp));
        CHECK(vmm_is_alive(pid, st, api_arg)); /* the whole argument, as before */
        CHECK(vmm_find_by_cmdline(sock, &found) == 0 && found == pid);
        CHECK(vmm_find_by_cmdline(qmp, &found) == 0 && found == pid);

        /* Items are compared whole, and only "<key>=" may precede the path. */
        snprintf(longer, sizeof longer, "%s/vm/api.sock.x", tmpdir);
        snprintf(other, sizeof other, "%s/api.sock", tmpdir);
        CHECK(!vmm_is_alive(pid, st, longer));
        CHECK(!vmm_is_alive(pid, st, sock + 1));
        CHECK(!vmm_is_alive(pid, st, other));
        CHECK(vmm_is_alive(pid, st, "mon")); /* any item's value, compared whole */
        CHECK(!vmm_is_alive(pid, st, "mo"));
        CHECK(!vmm_is_alive(pid, st, "n"));
        CHECK(!vmm_is_alive(pid, st, "socket")); /* an item without "<key>=" does not count */
        CHECK(!vmm_is_alive(pid, st, "server=on")); /* the needle is the value, never the item */

        CHECK(vmm_kill(pid, st, sock, 2000) == 0);
        CHECK(waitpid(pid, &status, 0) == pid);
        CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

/* Failures before or at exec come back from vmm_spawn, the child reaped. */
static void test_exec_failures(void) {
        char out[PATH_MAX], noexec[PATH_MAX], missing_dir_out[PATH_MAX];
        pid_t pid = 0;
        uint64_t st = 0;

        snprintf(out, sizeof out, "%s/fail.log", tmpdir);
        snprintf(noexec, sizeof noexec, "%s/noexec", tmpdir);
        snprintf(missing_dir_out, sizeof missing_dir_out, "%s/no/such/dir.log", tmpdir);
        REQUIRE(write_file(noexec, "#!/bin/sh\nexit 0\n", 0644) == 0);

        char *const missing[] = { "/nonexistent/firecracker", "--api-sock", "/x", NULL };
        CHECK(vmm_spawn(missing, tmpdir, out, &pid, &st) == -ENOENT);
        CHECK(no_children_left());

        char *const not_exec[] = { noexec, NULL };
        CHECK(vmm_spawn(not_exec, tmpdir, out, &pid, &st) == -EACCES);
        CHECK(no_children_left());

        char *const ok[] = { "/bin/true", NULL };
        CHECK(vmm_spawn(ok, "/nonexistent-dir", out, &pid, &st) == -ENOENT);
        CHECK(no_children_left());
        CHECK(vmm_spawn(ok, tmpdir, missing_dir_out, &pid, &st) == -ENOENT);
        CHECK(no_children_left());
        CHECK(pid == 0 && st == 0); /* out-parameters untouched on failure */
}

static long minor_faults(void) {
        struct rusage ru;
        return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_minflt : -1;
}

/*
 * The spawn is vfork-like: the child shares our memory until exec instead of
 * a copy of our page tables. After a fork() every private page of the parent
 * is write-protected (copy-on-write), so rewriting a 64 MiB heap afterwards
 * costs one page fault per 4 KiB page (16,384); after a vfork-style clone it
 * costs none. Same for vmm_user_access's child. Our signal mask is as before.
 */
static void test_spawn_is_vfork_like(void) {
        const size_t size = 64u << 20, pages = size / 4096u;
        char out[PATH_MAX];
        pid_t pid;
        uint64_t st;
        sigset_t before, after;
        VmmUser u;
        _cleanup_free_ char *err = NULL;

        snprintf(out, sizeof out, "%s/vfork.log", tmpdir);
        char *heap = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        REQUIRE(heap != MAP_FAILED);
        (void) madvise(heap, size, MADV_NOHUGEPAGE); /* 4 KiB pages: one fault each */
        memset(heap, 1, size);

        memset(&before, 0, sizeof before); /* glibc fills only the kernel's 64 bits */
        memset(&after, 0, sizeof after);
        REQUIRE(sigprocmask(SIG_SETMASK, NULL, &before) == 0);
        char *const argv[] = { "/bin/true", NULL };
        long f0 = minor_faults();
        REQUIRE(vmm_spawn(argv, tmpdir, out, &pid, &st) == 0);
        memset(heap, 2, size);
        long f1 = minor_faults();
        fprintf(stderr, "spawn: %ld minor faults rewriting %zu pages after it\n", f1 - f0, pages);
        CHECK(f0 >= 0 && f1 - f0 < (long) pages / 8);
        CHECK(waitpid(pid, NULL, 0) == pid);
        REQUIRE(sigprocmask(SIG_SETMASK, NULL, &after) == 0);
        CHECK(memcmp(&before, &after, sizeof before) == 0);

        if (vmm_user_resolve(VMM_USER_DEFAULT, &u, &err) == 0 && u.uid != 0) {
                f0 = minor_faults();
                CHECK(vmm_user_access(&u, "/bin/sh", X_OK) == 0);
                memset(heap, 3, size);
                f1 = minor_faults();
                fprintf(stderr, "vmm_user_access: %ld minor faults after it\n", f1 - f0);
                CHECK(f1 - f0 < (long) pages / 8);
        }
        CHECK(no_children_left());
        (void) munmap(heap, size);
}

/* A failing step of the child comes back with its errno and the step. */
static void test_spawn_failure_steps(void) {
        char out[PATH_MAX], missing_dir_out[PATH_MAX];
        pid_t pid = 0;
        uint64_t st = 0;
        VmmSpawnStep step = VMM_SPAWN_STEP_NONE;
        char *const ok[] = { "/bin/true", NULL };
        char *const missing[] = { "/nonexistent/firecracker", NULL };

        snprintf(out, sizeof out, "%s/steps.log", tmpdir);
        snprintf(missing_dir_out, sizeof missing_dir_out, "%s/no/such/dir.log", tmpdir);

        CHECK(vmm_spawn_full(missing, tmpdir, out, NULL, &pid, &st, &step) == -ENOENT);
        CHECK(step == VMM_SPAWN_STEP_EXEC && streq(vmm_spawn_step_to_string(step), "exec"));
        CHECK(vmm_spawn_full(ok, "/nonexistent-dir", out, NULL, &pid, &st, &step) == -ENOENT);
        CHECK(step == VMM_SPAWN_STEP_CHDIR && streq(vmm_spawn_step_to_string(step), "chdir"));
        /* The console file is the parent's to open: no child step. */
        CHECK(vmm_spawn_full(ok, tmpdir, missing_dir_out, NULL, &pid, &st, &step) == -ENOENT);
        CHECK(step == VMM_SPAWN_STEP_NONE);

        /* setgroups with more groups than the kernel allows: EINVAL. */
        VmmUser bad = { .name = "bad", .uid = 1, .gid = 1, .n_groups = 65537 };
        CHECK(vmm_spawn_full(ok, tmpdir, out, &bad, &pid, &st, &step) == -EINVAL);
        CHECK(step == VMM_SPAWN_STEP_CREDENTIALS && streq(vmm_spawn_step_to_string(step), "credentials"));
        /* uid -1 changes nothing (setresuid's "keep"): still root, so the
         * check that root cannot be regained must refuse it. */
        VmmUser keep = { .name = "keep", .uid = (uid_t) -1, .gid = (gid_t) -1, .n_groups = 0 };
        CHECK(vmm_spawn_full(ok, tmpdir, out, &keep, &pid, &st, &step) == -EPERM);
        CHECK(step == VMM_SPAWN_STEP_CREDENTIALS);
        CHECK(vmm_user_access(&keep, "/bin/sh", X_OK) == -EPERM);

        CHECK(pid == 0 && st == 0);
        CHECK(no_children_left());
        /* Success reports no step. */
        step = VMM_SPAWN_STEP_EXEC;
        REQUIRE(vmm_spawn_full(ok, tmpdir, out, NULL, &pid, &st, &step) == 0);
        CHECK(step == VMM_SPAWN_STEP_NONE);
        CHECK(waitpid(pid, NULL, 0) == pid);
}

/* With fds 0..2 closed in the spawner (a daemon with no stdio), the files it
 * opens land on 0..2: the child must still get the right stdio. Runs in a
 * forked helper so the test keeps its own stdio. */
static void test_spawn_without_stdio(void) {
        char out[PATH_MAX], real_out[PATH_MAX];
        pid_t helper;
        int status;

        snprintf(out, sizeof out, "%s/nostdio.log", tmpdir);
        REQUIRE(write_file(out, "", 0600) == 0);
        REQUIRE(realpath(out, real_out) != NULL);

        helper = fork();
        REQUIRE(helper >= 0);
        if (helper == 0) {
                char buf[PATH_MAX], fds[256];
                pid_t pid;
                uint64_t st;
                char *const argv[] = { "/bin/sleep", "30", NULL };
                int bad = 0;

                close(0);
                close(1);
                close(2);
                if (vmm_spawn(argv, tmpdir, out, &pid, &st) < 0)
                        _exit(10);
                /* As in test_spawn: the loader's own fd goes, a leaked one stays. */
                proc_fd_list(pid, fds, sizeof fds);
                for (int i = 0; i < 100 && !streq(fds, "0,1,2"); i++) {
                        usleep(10000);
                        proc_fd_list(pid, fds, sizeof fds);
                }
                bad |= !streq(fds, "0,1,2");
                bad |= !streq(proc_link(pid, "fd/0", buf, sizeof buf), "/dev/null") << 1;
                bad |= !streq(proc_link(pid, "fd/1", buf, sizeof buf), real_out) << 2;
                bad |= !streq(proc_link(pid, "fd/2", buf, sizeof buf), real_out) << 3;
                bad |= (vmm_kill(pid, st, NULL, 2000) != 0) << 4;
                (void) waitpid(pid, NULL, 0);
                _exit(bad);
        }
        CHECK(waitpid(helper, &status, 0) == helper);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
                fprintf(stderr, "  helper exit status %d\n", WEXITSTATUS(status));
}

/*
 * vmm_spawn_as: the child runs as the VMM user (every uid and gid, its
 * supplementary groups and no other), with stdio that root opened (a 0600
 * root file it could not open itself), and can never become root again.
 * vmm_user_access answers as that user: ACLs and directories count.
 */
static void test_spawn_as_user(void) {
        _cleanup_free_ char *err = NULL;
        VmmUser u;
        char out[PATH_MAX], secret[PATH_MAX], buf[256], want[256], dir[PATH_MAX];
        pid_t pid;
        uint64_t st;

        REQUIRE(vmm_user_resolve(VMM_USER_DEFAULT, &u, &err) == 0); /* tools/install-deps creates it */
        REQUIRE(u.uid != 0);
        REQUIRE(chmod(tmpdir, 0711) == 0);
        snprintf(out, sizeof out, "%s/as-user.log", tmpdir);
        snprintf(secret, sizeof secret, "%s/secret", tmpdir);
        REQUIRE(write_file(secret, "root only\n", 0600) == 0);

        char *const argv[] = { "/bin/sh", "-c", "cat \"$0\" 2>&1; exec sleep 30", secret, NULL };
        REQUIRE(vmm_spawn_as(argv, tmpdir, out, &u, &pid, &st) == 0);
        snprintf(want, sizeof want, "%u\t%u\t%u\t%u", (unsigned) u.uid, (unsigned) u.uid, (unsigned) u.uid,
                 (unsigned) u.uid);
        CHECK(streq(proc_status_field(pid, "Uid", buf, sizeof buf), want));
        snprintf(want, sizeof want, "%u\t%u\t%u\t%u", (unsigned) u.gid, (unsigned) u.gid, (unsigned) u.gid,
                 (unsigned) u.gid);
        CHECK(streq(proc_status_field(pid, "Gid", buf, sizeof buf), want));
        /* Exactly the user's groups (getgrouplist lists the primary one too). */
        proc_status_field(pid, "Groups", buf, sizeof buf);
        size_t n = 0;
        for (char *t = strtok(buf, " "); t; t = strtok(NULL, " "), n++) {
                bool found = false;
                for (size_t i = 0; i < u.n_groups; i++)
                        found |= (unsigned) atoi(t) == (unsigned) u.groups[i];
                CHECK(found && atoi(t) != 0);
        }
        CHECK(n == u.n_groups);
        CHECK(streq(proc_link(pid, "fd/1", buf, sizeof buf), out)); /* root's file, opened for it */
        for (int i = 0; i < 100 && !strstr(buf, "Permission denied"); i++) {
                _cleanup_free_ char *text = NULL;
                usleep(20000);
                if (read_full_file(out, 4096, &text, NULL) >= 0)
                        snprintf(buf, sizeof buf, "%s", text);
        }
        CHECK(strstr(buf, "Permission denied")); /* the VMM user cannot read root's 0600 file */
        CHECK(vmm_kill(pid, st, NULL, 2000) == 0);
        (void) waitpid(pid, NULL, 0);

        /* vmm_user_access: as the user, not as us. */
        CHECK(vmm_user_access(&u, secret, R_OK) == -EACCES);
        CHECK(vmm_user_access(NULL, secret, R_OK) == 0);
        CHECK(vmm_user_access(&u, "/bin/sh", X_OK) == 0);
        snprintf(dir, sizeof dir, "%s/closed", tmpdir);
        REQUIRE(mkdir(dir, 0700) == 0);
        snprintf(out, sizeof out, "%s/closed/open-file", tmpdir);
        REQUIRE(write_file(out, "x", 0644) == 0);
        CHECK(vmm_user_access(&u, out, R_OK) == -EACCES); /* a directory on the way */
        CHECK(vmm_user_access(&u, "/nonexistent/file", R_OK) == -ENOENT);
        CHECK(no_children_left());

        /* A user that does not exist: refused, with how to create it. */
        err = mfree(err);
        CHECK(vmm_user_resolve("no-such-vmm-user", &u, &err) < 0);
        CHECK(err && strstr(err, "does not exist") && strstr(err, "useradd --system"));
}

static void test_no_such_process(const char *argv0) {
        uint64_t t = 0;
        pid_t found = 0;

        CHECK(vmm_pid_start_time(0, &t) == -ESRCH);
        CHECK(vmm_pid_start_time(INT_MAX, &t) == -ESRCH);
        CHECK(!vmm_is_alive(INT_MAX, 1, NULL));
        CHECK(!vmm_is_alive(0, 1, NULL));
        CHECK(vmm_wait_exit(INT_MAX, 1, 1000, NULL) == 0);
        CHECK(vmm_kill(INT_MAX, 1, NULL, 1000) == 0);
        CHECK(vmm_find_by_cmdline("/no/such/argument/anywhere", &found) == -ESRCH);
        /* Our own cmdline holds argv0, but we never find ourselves. */
        CHECK(vmm_pid_start_time(getpid(), &t) == 0);
        int r = vmm_find_by_cmdline(argv0, &found);
        CHECK(r == -ESRCH || (r == 0 && found != getpid()));
}

int main(int argc, char **argv) {
        (void) argc;

        if (!mkdtemp(tmpdir)) {
                perror("mkdtemp");
                return EXIT_FAILURE;
        }

        test_no_such_process(argv[0]);
        test_spawn_detached();
        test_stdio_and_exit();
        test_odd_comm();
        test_option_items();
        test_exec_failures();
        test_spawn_is_vfork_like();
        test_spawn_failure_steps();
        test_spawn_without_stdio();
        test_spawn_as_user();

        CHECK(no_children_left());
        (void) rm_rf(tmpdir);
        if (test_failures) {
                fprintf(stderr, "test-vmm-process: %d check(s) failed\n", test_failures);
                return EXIT_FAILURE;
        }
        printf("test-vmm-process: all checks passed\n");
        return EXIT_SUCCESS;
}
