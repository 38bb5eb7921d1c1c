/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The backend contract (hypervisor.h), written once and run against every
 * backend in contract_rows[] with its simulator: what the reconciler relies
 * on, whichever VMM is behind the table.
 *
 *   spawn -> query NOT_STARTED -> boot -> query RUNNING -> boot again is a
 *   no-op -> pause -> query PAUSED -> pause again -> resume -> query RUNNING
 *   -> request_shutdown -> the process exits -> query GONE / -ESRCH;
 *   a missing kernel at boot is -EBADMSG with a message; spawning again
 *   leaves exactly one VMM; every handle field is filled; every error message
 *   starts with the backend's name.
 *
 * A new backend adds a row (name, the environment variable naming its
 * simulator, the BackendOptions field for its binary). A row whose variable
 * is unset is skipped; exit 77 when every row was. A backend without a
 * simulator (qemu) runs the real VMM with a real guest: its row names the
 * binary to use when the variable is unset, and the variable naming the
 * asset directory (vmlinux, rootfs.ext4 from tools/mkassets), which decides
 * whether the row runs; its guest writes to a copy of rootfs.ext4.
 */
#include <curl/curl.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "hv/hypervisor.h"
#include "hv/vmm-process.h"
#include "sys/vmm-user.h"
#include "test-helpers.h"

typedef struct ContractRow {
        const char *backend; /* backend_find() name */
        const char *sim_env; /* environment variable with the simulator's path */
        size_t binary_field; /* offsetof(BackendOptions, <its binary>) */
        /* Real VMMs only (NULL for simulators): the binary when sim_env is
         * unset; the variable naming the assets (unset: the row is skipped);
         * what the guest's console shows once it handles the power button
         * (a power button pressed earlier is lost with a real guest). */
        const char *default_binary;
        const char *assets_env;
        const char *ready_text;
} ContractRow;

static const ContractRow contract_rows[] = {
        { "firecracker", "FCSIM", offsetof(BackendOptions, firecracker_binary), NULL, NULL, NULL },
        { "cloud-hypervisor", "CHSIM", offsetof(BackendOptions, cloud_hypervisor_binary), NULL, NULL, NULL },
        /* The guest's init starts acpid before its heartbeat: "alive 2" is a second after that. */
        { "qemu", "QEMU", offsetof(BackendOptions, qemu_binary), "qemu-system-x86_64", "ASSETS",
          "metald-guest: alive 2" },
};

static int failures;
static const char *current = "?"; /* the backend under test, for messages */
/* Every VMM runs as the VMM user, as under metald (tools/install-deps creates it). */
static VmmUser vmm_user;

#define CHECK(cond)                                                                                         \
        do {                                                                                                \
                if (!(cond)) {                                                                              \
                        fprintf(stderr, "%s:%d: [%s] CHECK failed: %s\n", __FILE__, __LINE__, current,      \
                                #cond);                                                                     \
                        failures++;                                                                         \
                }                                                                                           \
        } while (0)

#define REQUIRE(cond)                                                                                       \
        do {                                                                                                \
                if (!(cond)) {                                                                              \
                        fprintf(stderr, "%s:%d: [%s] REQUIRE failed: %s\n", __FILE__, __LINE__, current,    \
                                #cond);                                                                     \
                        failures++;                                                                         \
                        return;                                                                             \
                }                                                                                           \
        } while (0)

/* A call that must succeed: 0, and no message. */
#define CHECK_OK(call, err)                                                                                 \
        do {                                                                                                \
                int r_ = (call);                                                                            \
                if (r_ < 0)                                                                                 \
                        fprintf(stderr, "  [%s] %s: %s\n", current, #call, (err) ? (err) : strerror(-r_));  \
                CHECK(r_ == 0);                                                                             \
                (err) = mfree(err);                                                                         \
        } while (0)

/* A failed call's message: there, and "<backend>: " plus something. */
#define CHECK_NAMED(err, name)                                                                              \
        do {                                                                                                \
                CHECK((err) != NULL);                                                                       \
                if (err) {                                                                                  \
                        CHECK(strncmp((err), (name), strlen(name)) == 0 &&                                  \
                              strncmp((err) + strlen(name), ": ", 2) == 0 &&                                \
                              strlen(err) > strlen(name) + 2);                                              \
                        printf("  [%s] message: %s\n", current, (err));                                     \
                }                                                                                           \
        } while (0)

static char tmpdir[] = "/tmp/tbc-XXXXXX"; /* short: socket paths must fit 108 bytes */

/* Every field of a handle filled in, describing a live VMM in run_dir. */
static void check_handle(const VmmHandle *h, const char *run_dir) {
        char want[PATH_MAX];
        snprintf(want, sizeof want, "%s/", run_dir);
        CHECK(h->pid > 0);
        CHECK(h->start_time > 0);
        CHECK(h->socket_path[0] == '/');
        CHECK(strncmp(h->socket_path, want, strlen(want)) == 0); /* inside its run_dir */
        CHECK(vmm_is_alive(h->pid, h->start_time, h->socket_path));
        CHECK(getsid(h->pid) == h->pid); /* its own session */
        /* Never root: the VMM user, real, effective, saved and fs uid alike. */
        char path[64], want_uid[64];
        _cleanup_free_ char *status = NULL;
        snprintf(path, sizeof path, "/proc/%d/status", (int) h->pid);
        snprintf(want_uid, sizeof want_uid, "\nUid:\t%u\t%u\t%u\t%u\n", (unsigned) vmm_user.uid,
                 (unsigned) vmm_user.uid, (unsigned) vmm_user.uid, (unsigned) vmm_user.uid);
        CHECK(read_full_file(path, 65536, &status, NULL) >= 0 && strstr(status, want_uid));
        CHECK(vmm_user.uid != 0);
}

/* Copy src to dst (a real guest's disk, which it writes to). 0 or -errno. */
static int copy_file(const char *src, const char *dst) {
        char buf[65536];
        int in = open(src, O_RDONLY | O_CLOEXEC), out = -EBADF, r = 0;
        if (in < 0)
                return -errno;
        out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (out < 0)
                r = -errno;
        for (ssize_t n; r == 0 && (n = read(in, buf, sizeof buf)) != 0;)
                r = n < 0 ? -errno : loop_write(out, buf, (size_t) n);
        safe_close(in);
        safe_close(out);
        return r;
}

/* Wait up to timeout_ms for text to appear in run_dir/console.log. */
static bool wait_console(const char *run_dir, const char *text, unsigned timeout_ms) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/console.log", run_dir);
        for (uint64_t end = now_mono_us() + timeout_ms * 1000ull; now_mono_us() < end; usleep(50000)) {
                _cleanup_free_ char *log = NULL;
                if (read_full_file(path, 16u << 20, &log, NULL) >= 0 && strstr(log, text))
                        return true;
        }
        fprintf(stderr, "  [%s] \"%s\" did not appear in %s within %u ms\n", current, text, path,
                timeout_ms);
        return false;
}

static void run_contract(const ContractRow *row, const char *sim) {
        const Backend *b = backend_find(row->backend);
        char run_dir[256], kernel[PATH_MAX], rootfs[PATH_MAX], missing[PATH_MAX];
        _cleanup_free_ char *err = NULL;
        VmmHandle h = { 0 }, h2 = { 0 };
        VmmState state;
        int r, status;

        current = row->backend;
        REQUIRE(b);
        CHECK(streq(b->name, row->backend));
        REQUIRE(b->check_available && b->spawn && b->boot && b->pause && b->resume && b->request_shutdown &&
                b->query);

        snprintf(run_dir, sizeof run_dir, "%s/%s", tmpdir, row->backend);
        snprintf(kernel, sizeof kernel, "%s/vmlinux", tmpdir);
        snprintf(rootfs, sizeof rootfs, "%s/rootfs.ext4", tmpdir);
        snprintf(missing, sizeof missing, "%s/no-such-vmlinux", tmpdir);
        REQUIRE(mkdir(run_dir, 0700) == 0);
        if (row->assets_env) { /* a real guest, on a disk of its own */
                const char *assets = getenv(row->assets_env);
                snprintf(kernel, sizeof kernel, "%s/vmlinux", assets);
                snprintf(rootfs, sizeof rootfs, "%s/rootfs-%s.ext4", tmpdir, row->backend);
                char src[PATH_MAX];
                snprintf(src, sizeof src, "%s/rootfs.ext4", assets);
                r = copy_file(src, rootfs);
                if (r < 0 || access(kernel, R_OK) < 0)
                        fprintf(stderr,
                                "  [%s] %s=%s must hold vmlinux and rootfs.ext4 (tools/mkassets --out %s)\n",
                                current, row->assets_env, assets, assets);
                REQUIRE(r == 0 && access(kernel, R_OK) == 0);
        }
        VmDisk disk = { .id = "rootfs", .path = rootfs, .is_root_device = true };
        VmConfig config = { .vcpu_count = 1,
                            .memory_bytes = 128ull << 20,
                            .kernel_path = kernel,
                            .kernel_args = "console=ttyS0 reboot=k panic=1",
                            .disks = &disk,
                            .n_disks = 1 };
        VmmSpec spec = { .vm_id = "vm-contract-1", .run_dir = run_dir, .config = &config };
        BackendOptions o = { .api_timeout_ms = 5000, .vmm_user = &vmm_user };
        *(const char **) ((char *) &o + row->binary_field) = sim;

        /* The binary: found, or refused by name. */
        CHECK_OK(b->check_available(&o, &err), err);
        BackendOptions none = o;
        *(const char **) ((char *) &none + row->binary_field) = "/nonexistent/vmm-binary";
        CHECK(b->check_available(&none, &err) == -ENOENT);
        CHECK_NAMED(err, b->name);
        err = mfree(err);

        /* A missing kernel: -EBADMSG at boot (or, for a backend that takes
         * the kernel at spawn, already there), with the VMM's reason. */
        config.kernel_path = missing;
        r = b->spawn(&o, &spec, &h, &err);
        if (r == 0) {
                check_handle(&h, run_dir);
                r = b->boot(&o, &spec, &h, &err);
                (void) vmm_kill(h.pid, h.start_time, h.socket_path, 5000);
                CHECK(reap(h.pid) != -1);
        } else {
                /* A VMM refused at spawn is gone but not reaped (and may
                 * still be finishing its exit: its other threads). */
                for (int i = 0; i < 100 && waitpid(-1, NULL, WNOHANG) >= 0; i++)
                        usleep(20000);
        }
        CHECK(r == -EBADMSG);
        CHECK_NAMED(err, b->name);
        err = mfree(err);
        config.kernel_path = kernel;

        /* Spawn: a live VMM, every handle field filled, the guest not booted. */
        r = b->spawn(&o, &spec, &h, &err);
        if (r < 0)
                fprintf(stderr, "  [%s] spawn: %s\n", current, err ? err : strerror(-r));
        REQUIRE(r == 0);
        CHECK(err == NULL);
        check_handle(&h, run_dir);
        CHECK_OK(b->query(&o, &h, &state, &err), err);
        CHECK(state == VMM_STATE_NOT_STARTED);

        /* Spawning again kills the first: exactly one VMM per VM. */
        r = b->spawn(&o, &spec, &h2, &err);
        if (r < 0)
                fprintf(stderr, "  [%s] spawn again: %s\n", current, err ? err : strerror(-r));
        REQUIRE(r == 0);
        check_handle(&h2, run_dir);
        CHECK(h2.pid != h.pid);
        CHECK(!vmm_is_alive(h.pid, h.start_time, h.socket_path));
        CHECK(count_socket_owners(h2.socket_path) == 1);
        status = reap(h.pid);
        CHECK(status != -1 && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        CHECK(b->query(&o, &h, &state, &err) == -ESRCH && state == VMM_STATE_GONE);
        CHECK_NAMED(err, b->name);
        err = mfree(err);
        h = h2;

        /* Boot; booting a booted VM is a no-op. */
        CHECK_OK(b->boot(&o, &spec, &h, &err), err);
        CHECK_OK(b->query(&o, &h, &state, &err), err);
        CHECK(state == VMM_STATE_RUNNING);
        CHECK_OK(b->boot(&o, &spec, &h, &err), err);
        CHECK_OK(b->query(&o, &h, &state, &err), err);
        CHECK(state == VMM_STATE_RUNNING);

        /* Pause, twice (a step re-run after a crash), resume. */
        CHECK_OK(b->pause(&o, &h, &err), err);
        CHECK_OK(b->query(&o, &h, &state, &err), err);
        CHECK(state == VMM_STATE_PAUSED);
        CHECK_OK(b->pause(&o, &h, &err), err);
        CHECK_OK(b->query(&o, &h, &state, &err), err);
        CHECK(state == VMM_STATE_PAUSED);
        CHECK_OK(b->boot(&o, &spec, &h, &err), err); /* paused counts as booted */
        CHECK_OK(b->resume(&o, &h, &err), err);
        CHECK_OK(b->query(&o, &h, &state, &err), err);
        CHECK(state == VMM_STATE_RUNNING);

        /* The guest powers off and the VMM exits by itself (cleanly). */
        if (row->ready_text)
                CHECK(wait_console(run_dir, row->ready_text, 60000));
        CHECK_OK(b->request_shutdown(&o, &h, &err), err);
        CHECK(vmm_wait_exit(h.pid, h.start_time, 10000, NULL) == 0);
        state = VMM_STATE_RUNNING;
        CHECK(b->query(&o, &h, &state, &err) == -ESRCH);
        CHECK(state == VMM_STATE_GONE);
        CHECK_NAMED(err, b->name);
        err = mfree(err);
        CHECK(b->pause(&o, &h, &err) == -ESRCH);
        CHECK_NAMED(err, b->name);
        err = mfree(err);
        status = reap(h.pid);
        CHECK(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
        CHECK(count_socket_owners(h.socket_path) == 0);
}

int main(void) {
        char kernel[PATH_MAX], rootfs[PATH_MAX];
        unsigned ran = 0;

        if (!mkdtemp(tmpdir)) {
                perror("mkdtemp");
                return EXIT_FAILURE;
        }
        _cleanup_free_ char *user_error = NULL;
        if (vmm_user_resolve(VMM_USER_DEFAULT, &vmm_user, &user_error) < 0) {
                fprintf(stderr, "test-backend-contract: %s\n", user_error);
                return EXIT_FAILURE;
        }
        /* The VMM user passes through to its run dirs and the assets. */
        (void) chmod(tmpdir, 0711);
        signal(SIGPIPE, SIG_IGN);
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
                fprintf(stderr, "curl_global_init failed\n");
                return EXIT_FAILURE;
        }
        snprintf(kernel, sizeof kernel, "%s/vmlinux", tmpdir);
        snprintf(rootfs, sizeof rootfs, "%s/rootfs.ext4", tmpdir);
        if (write_file(kernel, "\177ELF fake kernel", 0644) < 0 ||
            write_file(rootfs, "fake rootfs", 0644) < 0) {
                perror("assets");
                return EXIT_FAILURE;
        }

        for (size_t i = 0; i < ELEMENTSOF(contract_rows); i++) {
                const char *sim = getenv(contract_rows[i].sim_env);
                const char *assets_env = contract_rows[i].assets_env;
                if (assets_env && isempty(getenv(assets_env))) {
                        printf("test-backend-contract: %s is not set: skipping %s (a real guest: "
                               "tools/mkassets --out DIR builds one; ASSETS=DIR)\n",
                               assets_env, contract_rows[i].backend);
                        continue;
                }
                if (isempty(sim))
                        sim = contract_rows[i].default_binary;
                if (isempty(sim)) {
                        printf("test-backend-contract: %s is not set: skipping %s\n",
                               contract_rows[i].sim_env, contract_rows[i].backend);
                        continue;
                }
                printf("test-backend-contract: %s with %s\n", contract_rows[i].backend, sim);
                run_contract(&contract_rows[i], sim);
                ran++;
        }
        current = "all";
        /* Every compiled-in backend has a row: a new one cannot skip the contract. */
        for (const Backend *const *b = backend_table; *b; b++) {
                bool has_row = false;
                for (size_t i = 0; i < ELEMENTSOF(contract_rows); i++)
                        has_row = has_row || streq(contract_rows[i].backend, (*b)->name);
                if (!has_row)
                        fprintf(stderr, "test-backend-contract: backend %s has no contract row\n",
                                (*b)->name);
                CHECK(has_row);
        }

        CHECK(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD); /* nothing left behind */
        (void) rm_rf(tmpdir);
        curl_global_cleanup();
        if (failures) {
                fprintf(stderr, "test-backend-contract: %d check(s) failed\n", failures);
                return EXIT_FAILURE;
        }
        if (ran == 0)
                return 77;
        printf("test-backend-contract: all checks passed for %u backend(s)\n", ran);
        return EXIT_SUCCESS;
}
