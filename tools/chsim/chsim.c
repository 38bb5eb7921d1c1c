/* SPDX-License-Identifier: Apache-2.0 */
/*
 * chsim: a Cloud Hypervisor simulator for machines without /dev/kvm.
 *
 * Same command line, API socket (with its lock file), wire format, routes,
 * validation, error chains, states, event monitor and log format as Cloud
 * Hypervisor v53 (see README.md for what is and is not simulated). main() is
 * the boot script of cloud-hypervisor/src/main.rs: parse the command line,
 * set up the logger, signals and event monitor, take the API socket, then
 * run the event loop until the VMM ends.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api.h"
#include "args.h"
#include "event.h"
#include "http.h"
#include "logger.h"
#include "vmm.h"

/* micro_http's default payload limit (Cloud Hypervisor does not change it). */
#define API_PAYLOAD_MAX 51200

/* Rust's io::ErrorKind for the Debug output of an io::Error. */
static const char *io_kind(int errnum) {
        switch (errnum) {
        case ENOENT:
                return "NotFound";
        case EACCES:
        case EPERM:
                return "PermissionDenied";
        case EADDRINUSE:
                return "AddrInUse";
        case EEXIST:
                return "AlreadyExists";
        case ENOTDIR:
                return "NotADirectory";
        case EISDIR:
                return "IsADirectory";
        case EINVAL:
                return "InvalidInput";
        case ENAMETOOLONG:
                return "InvalidFilename";
        case EROFS:
                return "ReadOnlyFilesystem";
        default:
                return "Uncategorized";
        }
}

static void io_debug(int errnum, char *buf, size_t size) {
        snprintf(buf, size, "Os { code: %d, kind: %s, message: \"%s\" }", errnum, io_kind(errnum),
                 strerror(errnum));
}

/* cloud_hypervisor::cli_print_error_chain(); returns the exit code 1. */
static int print_error_chain(const ChErr *e, const char *debug) {
        fprintf(stderr, "Error: Cloud Hypervisor exited with the following ");
        if (e->n == 1)
                fprintf(stderr, "error:\n  %s\n", e->msg[0]);
        else {
                fprintf(stderr, "chain of errors:\n");
                for (size_t i = 0; i < e->n; i++)
                        fprintf(stderr, "  %zu: %s\n", i, e->msg[i]);
        }
        fprintf(stderr, "\nDebug Info: %s\n", debug ? debug : e->msg[0]);
        char *joined = cherr_join(e, ": ");
        log_error("main", "cloud-hypervisor/src/main.rs", "Fatal error: %s", joined ? joined : "");
        free(joined);
        return 1;
}

static int fail_io(const char *top, const char *debug_variant, int errnum) {
        char dbg[512], full[700];
        io_debug(errnum, dbg, sizeof(dbg));
        snprintf(full, sizeof(full), "%s(%s)", debug_variant, dbg);
        ChErr *e = cherr_wrap(cherr_errno(errnum), "%s", top);
        int code = print_error_chain(e, full);
        cherr_free(e);
        return code;
}

/* Rust's u64 parse of a CHSIM_* knob: milliseconds, or def when unset. */
static long env_ms(const char *name, long def) {
        const char *s = getenv(name);
        if (!s || !*s)
                return def;
        char *end = NULL;
        errno = 0;
        long v = strtol(s, &end, 10);
        if (errno || *end || v < 0) {
                fprintf(stderr, "chsim: %s must be a number of milliseconds, not \"%s\"\n", name, s);
                exit(1);
        }
        return v;
}

static bool env_flag(const char *name) {
        const char *s = getenv(name);
        return s && strcmp(s, "1") == 0;
}

/* OptionParser for "path=...,fd=...": returns false on an unknown option. */
static bool option_get(const char *spec, const char *key, char *out, size_t size, bool *ret_found,
                       char *ret_bad, size_t bad_size) {
        *ret_found = false;
        char *copy = strdup(spec);
        if (!copy)
                return false;
        bool ok = true;
        for (char *save = NULL, *opt = strtok_r(copy, ",", &save); opt; opt = strtok_r(NULL, ",", &save)) {
                char *eq = strchr(opt, '=');
                size_t klen = eq ? (size_t) (eq - opt) : strlen(opt);
                if (!((klen == 4 && strncmp(opt, "path", 4) == 0) ||
                      (klen == 2 && strncmp(opt, "fd", 2) == 0))) {
                        snprintf(ret_bad, bad_size, "%.*s", (int) klen, opt);
                        ok = false;
                        break;
                }
                if (strlen(key) == klen && strncmp(opt, key, klen) == 0 && eq) {
                        snprintf(out, size, "%s", eq + 1);
                        *ret_found = true;
                }
        }
        free(copy);
        return ok;
}

/* Rust's RawFd (i32) parse. Returns false with the ParseIntError text. */
static bool parse_fd(const char *s, int *ret, const char **ret_err, const char **ret_kind) {
        const char *p = s;
        if (*p == '+' || *p == '-')
                p++;
        if (!*p) {
                *ret_err = "cannot parse integer from empty string";
                *ret_kind = "Empty";
                return false;
        }
        long long v = 0;
        for (const char *q = p; *q; q++) {
                if (*q < '0' || *q > '9') {
                        *ret_err = "invalid digit found in string";
                        *ret_kind = "InvalidDigit";
                        return false;
                }
                v = v * 10 + (*q - '0');
                if (v > 2147483648LL) {
                        *ret_err = s[0] == '-' ? "number too small to fit in target type"
                                               : "number too large to fit in target type";
                        *ret_kind = s[0] == '-' ? "NegOverflow" : "PosOverflow";
                        return false;
                }
        }
        if (s[0] != '-' && v > 2147483647LL) {
                *ret_err = "number too large to fit in target type";
                *ret_kind = "PosOverflow";
                return false;
        }
        *ret = (int) (s[0] == '-' ? -v : v);
        return true;
}

/* --event-monitor path=...|fd=... */
static int setup_event_monitor(const char *spec) {
        char value[4096] = "", bad[256] = "", dbg[600];
        bool found_fd = false, found_path = false;
        if (!option_get(spec, "fd", value, sizeof(value), &found_fd, bad, sizeof(bad))) {
                ChErr *e =
                        cherr_wrap(cherr_new(0, "unknown option: %s", bad), "Error parsing --event-monitor");
                snprintf(dbg, sizeof(dbg), "ParsingEventMonitor(UnknownOption(\"%s\"))", bad);
                int code = print_error_chain(e, dbg);
                cherr_free(e);
                return code;
        }
        if (found_fd) {
                int fd;
                const char *err, *kind;
                if (!parse_fd(value, &fd, &err, &kind)) {
                        ChErr *e = cherr_wrap(
                                cherr_wrap(cherr_new(0, "%s", err), "unable to convert fd for %s", value),
                                "Error parsing --event-monitor");
                        snprintf(dbg, sizeof(dbg), "ParsingEventMonitor(Conversion(\"fd\", \"%.400s\"))",
                                 value);
                        int code = print_error_chain(e, dbg);
                        cherr_free(e);
                        return code;
                }
                if (event_monitor_set(fd) < 0)
                        return fail_io("Error doing event monitor I/O", "EventMonitorIo", EBADF);
                return 0;
        }
        option_get(spec, "path", value, sizeof(value), &found_path, bad, sizeof(bad));
        if (!found_path) {
                ChErr *e = cherr_new(0, "Error parsing --event-monitor: path or fd required");
                int code = print_error_chain(e, "BareEventMonitor");
                cherr_free(e);
                return code;
        }
        int fd = open(value, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
        if (fd < 0)
                return fail_io("Error doing event monitor I/O", "EventMonitorIo", errno);
        if (event_monitor_set(fd) < 0) {
                close(fd);
                return fail_io("Error doing event monitor I/O", "EventMonitorIo", errno);
        }
        return 0;
}

/* acquire_api_socket_lock() + start_http_path_thread(): lock "<path>.lock"
 * (an OFD write lock, held for the life of the process), remove a stale
 * socket, bind. Returns 0 or the exit code after printing the error. */
static int take_api_socket(const char *path, Api *api, HttpServer **ret, int *ret_lock_fd) {
        char *lock_path = NULL, dbg[1200];
        if (asprintf(&lock_path, "%s.lock", path) < 0)
                return 1;
        int lock_fd = open(lock_path, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
        free(lock_path);
        if (lock_fd < 0) {
                int err = errno;
                char io[512];
                io_debug(err, io, sizeof(io));
                snprintf(dbg, sizeof(dbg), "StartVmmThread(CreateApiServerSocket(%s))", io);
                ChErr *e = cherr_wrap(cherr_wrap(cherr_errno(err), "Error creation API server's socket"),
                                      "Failed to start the VMM thread");
                int code = print_error_chain(e, dbg);
                cherr_free(e);
                return code;
        }
        struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
        if (fcntl(lock_fd, F_OFD_SETLK, &fl) < 0) {
                close(lock_fd);
                snprintf(dbg, sizeof(dbg), "StartVmmThread(ApiSocketInUse(\"%s\"))", path);
                ChErr *e = cherr_wrap(
                        cherr_new(0, "API socket \"%s\" is already in use by another running instance",
                                  path),
                        "Failed to start the VMM thread");
                int code = print_error_chain(e, dbg);
                cherr_free(e);
                return code;
        }
        /* We hold the lock: a socket file left at the path is stale. */
        (void) unlink(path);
        int r = http_server_new(path, API_PAYLOAD_MAX, api_handle, api, ret);
        if (r >= 0)
                http_server_set_name(*ret, "Cloud Hypervisor API");
        if (r < 0) {
                close(lock_fd);
                char io[512];
                io_debug(-r, io, sizeof(io));
                snprintf(dbg, sizeof(dbg), "StartVmmThread(CreateApiServerSocket(%s))", io);
                ChErr *e = cherr_wrap(cherr_wrap(cherr_errno(-r), "Error creation API server's socket"),
                                      "Failed to start the VMM thread");
                int code = print_error_chain(e, dbg);
                cherr_free(e);
                return code;
        }
        *ret_lock_fd = lock_fd;
        return 0;
}

int main(int argc, char **argv) {
        umask(077);
        Args args;
        args_parse(argc, argv, &args);

        if (args.present[ARG_VERSION]) {
                printf("cloud-hypervisor %s\n", CH_BUILD_VERSION);
                if (args.count[ARG_V] != 0)
                        printf("Enabled features: [\"io_uring\", \"kvm\"]\n");
                return 0;
        }

        logger_init();
        logger_set_verbosity(args.count[ARG_V]);
        const char *log_file = args_get(&args, ARG_LOG_FILE);
        if (log_file && logger_open(log_file) < 0)
                return fail_io("Error creating log file", "LogFileCreation", errno);

        /* --api-socket: path=, fd=, or the whole value as a path. */
        const char *api_spec = args_get(&args, ARG_API_SOCKET);
        char api_path[4096] = "", bad[256];
        int api_fd = -1;
        bool have_path = false;
        if (api_spec) {
                char value[4096] = "";
                bool found = false;
                bool parsed = option_get(api_spec, "fd", value, sizeof(value), &found, bad, sizeof(bad));
                if (parsed && found) {
                        const char *err, *kind;
                        if (!parse_fd(value, &api_fd, &err, &kind)) {
                                char dbg[128];
                                snprintf(dbg, sizeof(dbg), "ParsingApiSocket(ParseIntError { kind: %s })",
                                         kind);
                                ChErr *e = cherr_wrap(cherr_new(0, "%s", err), "Error parsing --api-socket");
                                int code = print_error_chain(e, dbg);
                                cherr_free(e);
                                return code;
                        }
                } else if (parsed &&
                           option_get(api_spec, "path", value, sizeof(value), &found, bad, sizeof(bad)) &&
                           found) {
                        snprintf(api_path, sizeof(api_path), "%s", value);
                        have_path = true;
                } else {
                        snprintf(api_path, sizeof(api_path), "%s", api_spec);
                        have_path = true;
                }
        }

        VmmSettings settings = {
                .no_shutdown = args.present[ARG_NO_SHUTDOWN],
                .sim =
                        {
                                .boot_delay_ms = env_ms("CHSIM_BOOT_DELAY_MS", 0),
                                .shutdown_delay_ms = env_ms("CHSIM_SHUTDOWN_DELAY_MS", 50),
                                .ignore_power_button = env_flag("CHSIM_IGNORE_POWER_BUTTON"),
                                .halt_after_ms = env_ms("CHSIM_GUEST_HALT_AFTER_MS", -1),
                                .reboot_after_ms = env_ms("CHSIM_GUEST_REBOOT_AFTER_MS", -1),
                                .heartbeat_ms = env_ms("CHSIM_HEARTBEAT_MS", 1000),
                                .vcpu_removal_ms = env_ms("CHSIM_VCPU_REMOVAL_MS", 100),
                        },
        };
        bool hang = env_flag("CHSIM_HANG");
        const char *hang_on = getenv("CHSIM_HANG_ON");
        if (hang_on && !*hang_on)
                hang_on = NULL;

        /* Cloud Hypervisor handles SIGTERM and SIGINT (graceful exit), ignores
         * SIGCHLD and (as every Rust program) SIGPIPE. SIGHUP keeps its
         * default action: it kills the process. */
        signal(SIGCHLD, SIG_IGN);
        signal(SIGPIPE, SIG_IGN);
        sigset_t mask;
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        int sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        if (sig_fd < 0)
                return fail_io("Cannot spawn a signal handler thread", "SignalHandlerSpawn", errno);

        const char *monitor = args_get(&args, ARG_EVENT_MONITOR);
        if (monitor) {
                int code = setup_event_monitor(monitor);
                if (code)
                        return code;
        }
        event_emit("vmm", "starting", NULL);

        if (args.present[ARG_KERNEL] || args.present[ARG_FIRMWARE] || args.present[ARG_RESTORE]) {
                fprintf(stderr,
                        "chsim: creating the VM from the command line (--kernel, --firmware, --restore) is "
                        "not simulated: use the API\n");
                return 1;
        }

        Vmm *vmm = NULL;
        if (vmm_new(&settings, &vmm) < 0)
                return 1;
        Api api = { .vmm = vmm, .hang_on = hang_on };
        HttpServer *server = NULL;
        int lock_fd = -1, exit_code = 0;
        ChErr *exit_error = NULL;
        if (have_path) {
                exit_code = take_api_socket(api_path, &api, &server, &lock_fd);
                if (exit_code) {
                        vmm_free(vmm);
                        return exit_code;
                }
        } else if (api_fd >= 0) {
                int r = http_server_new_from_fd(api_fd, API_PAYLOAD_MAX, api_handle, &api, &server);
                if (r >= 0)
                        http_server_set_name(server, "Cloud Hypervisor API");
                if (r < 0) {
                        vmm_free(vmm);
                        return fail_io("Failed to start the VMM thread", "StartVmmThread(CreateApiServer)",
                                       -r);
                }
        }
        log_info("main", "cloud-hypervisor/src/main.rs", "chsim: simulating Cloud Hypervisor %s, API %s",
                 CH_BUILD_VERSION,
                 have_path     ? api_path
                 : api_fd >= 0 ? "fd"
                               : "none");

        for (;;) {
                if (vmm_exited(vmm, &exit_code, &exit_error))
                        break;
                struct pollfd fds[1 + HTTP_MAX_FDS];
                size_t n = 0;
                fds[n++] = (struct pollfd){ .fd = sig_fd, .events = POLLIN };
                size_t http_start = n;
                if (server && !hang)
                        n += http_server_fill_pollfds(server, fds + n);
                /* A handler that hung (CHSIM_HANG_ON) is a stuck VMM thread:
                 * guest events and exit requests are no longer handled. */
                bool stuck = server && hang_on && !hang && n == http_start;
                int k = poll(fds, n, stuck ? -1 : vmm_next_timeout_ms(vmm));
                if (k < 0 && errno != EINTR)
                        break;
                if (k > 0 && fds[0].revents) {
                        struct signalfd_siginfo si;
                        while (read(sig_fd, &si, sizeof(si)) == (ssize_t) sizeof(si))
                                if (!stuck)
                                        vmm_request_exit(vmm);
                }
                if (k > 0 && server && n > http_start)
                        http_server_process(server, fds + http_start, n - http_start);
                if (!stuck)
                        vmm_tick(vmm);
        }
        if (server)
                http_server_drain(server, 500);
        http_server_free(server);
        if (exit_code == 0 && have_path)
                (void) unlink(api_path);
        if (exit_error) {
                char *dbg = cherr_join(exit_error, ": ");
                print_error_chain(exit_error, dbg);
                free(dbg);
                cherr_free(exit_error);
        } else if (exit_code == 0)
                log_info("main", "cloud-hypervisor/src/main.rs", "Cloud Hypervisor exited successfully");
        vmm_free(vmm);
        if (lock_fd >= 0)
                close(lock_fd);
        close(sig_fd);
        event_monitor_close();
        logger_close();
        return exit_code;
}
