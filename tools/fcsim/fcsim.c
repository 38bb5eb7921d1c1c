/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fcsim: a Firecracker simulator for machines without /dev/kvm.
 *
 * Same command line, API socket, wire format, validation, error texts, exit
 * codes, logs and metrics as Firecracker (see README.md for what is and is not
 * simulated). main() is the boot script: parse the command line as Firecracker
 * does, set up logger, signals and metrics, bind the API socket, then run the
 * event loop until the simulated guest is gone.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/time.h>
#include <unistd.h>

#include "api.h"
#include "args.h"
#include "decode.h"
#include "http.h"
#include "logger.h"
#include "metrics.h"
#include "schema.h"
#include "vmm.h"

/* Firecracker's FcExitCode values. */
enum {
        EXIT_GENERIC = 1,
        EXIT_SIGXFSZ = 151,
        EXIT_BAD_CONFIGURATION = 152,
        EXIT_ARG_PARSING = 153,
        EXIT_SIGXCPU = 154,
        EXIT_SIGHUP = 156,
};

/* A Rust panic: Firecracker is built with panic = "abort". */
static _Noreturn void panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static _Noreturn void panic(const char *fmt, ...) {
        char *msg = NULL;
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        log_error("main", "Firecracker panicked at src/firecracker/src/main.rs:\n%s", msg ? msg : "");
        fprintf(stderr, "thread 'main' panicked at src/firecracker/src/main.rs:\n%s\n", msg ? msg : "");
        abort();
}

/* The error path of Firecracker's main(): log, print the Debug form, exit. */
static int fail(int code, const char *display, const char *debug) {
        log_error("main", "%s", display);
        fprintf(stderr, "Error: %s\n", debug);
        log_error("main", "Firecracker exiting with error. exit_code=%d", code);
        return code;
}

/* Rust's str::parse::<u64>(): an optional '+', then decimal digits. */
static bool parse_u64(const char *s, uint64_t *ret) {
        uint64_t v = 0;
        if (*s == '+')
                s++;
        if (!*s)
                return false;
        for (; *s; s++) {
                if (*s < '0' || *s > '9' || v > (UINT64_MAX - (uint64_t) (*s - '0')) / 10)
                        return false;
                v = v * 10 + (uint64_t) (*s - '0');
        }
        *ret = v;
        return true;
}

static uint64_t u64_arg(const Args *a, ArgId id, const char *name, const char *type, uint64_t def) {
        const char *s = args_get(a, id);
        uint64_t v;
        if (!s)
                return def;
        if (!parse_u64(s, &v))
                panic("'%s' parameter expected to be of '%s' type.: ParseIntError { kind: InvalidDigit }",
                      name, type);
        return v;
}

/* The FCSIM_* knobs: milliseconds, or def when unset. Exits on garbage. */
static long env_ms(const char *name, long def) {
        const char *s = getenv(name);
        uint64_t v;
        if (!s || !*s)
                return def;
        if (!parse_u64(s, &v) || v > 24ull * 3600 * 1000 * 365) {
                fprintf(stderr, "fcsim: %s must be a number of milliseconds, not \"%s\"\n", name, s);
                exit(EXIT_GENERIC);
        }
        return (long) v;
}

static bool instance_id_valid(const char *id, char *ret_reason, size_t size) {
        size_t n = strlen(id);
        if (n < 1 || n > 64) {
                snprintf(ret_reason, size, "InvalidLen(%zu, 1, 64)", n);
                return false;
        }
        for (size_t i = 0; i < n; i++)
                if (!((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= 'A' && id[i] <= 'Z') ||
                      (id[i] >= '0' && id[i] <= '9') || id[i] == '-')) {
                        snprintf(ret_reason, size, "InvalidChar('%c', %zu)", id[i], i);
                        return false;
                }
        return true;
}

static char *read_file(const char *path, size_t *ret_len) {
        FILE *f = fopen(path, "re");
        if (!f)
                return NULL;
        char *buf = NULL;
        size_t len = 0, cap = 0;
        for (;;) {
                if (len + 4096 + 1 > cap) {
                        cap = cap ? cap * 2 : 8192;
                        char *p = realloc(buf, cap);
                        if (!p) {
                                free(buf);
                                fclose(f);
                                return NULL;
                        }
                        buf = p;
                }
                size_t n = fread(buf + len, 1, 4096, f);
                len += n;
                if (n < 4096)
                        break;
        }
        bool err = ferror(f);
        fclose(f);
        if (err) {
                free(buf);
                return NULL;
        }
        buf[len] = 0;
        *ret_len = len;
        return buf;
}

static uint64_t realtime_us(void) {
        struct timeval tv;
        gettimeofday(&tv, NULL);
        return (uint64_t) tv.tv_sec * 1000000 + (uint64_t) tv.tv_usec;
}

/* Firecracker's handlers for SIGHUP, SIGXFSZ and SIGXCPU: count, log, write
 * the metrics, _exit. SIGPIPE is counted and survived. */
static void handle_signal(Vmm *v, const struct signalfd_siginfo *si) {
        int code = 0;
        const char *name = NULL;
        switch (si->ssi_signo) {
        case SIGHUP:
                code = EXIT_SIGHUP, name = "sighup";
                break;
        case SIGXFSZ:
                code = EXIT_SIGXFSZ, name = "sigxfsz";
                break;
        case SIGXCPU:
                code = EXIT_SIGXCPU, name = "sigxcpu";
                break;
        case SIGPIPE:
                vmm_count_signal(v, "sigpipe");
                log_error("main", "Received signal %u, code %d.", si->ssi_signo, si->ssi_code);
                return;
        default:
                return;
        }
        vmm_count_signal(v, name);
        log_error("main", "Shutting down VM after intercepting signal %u, code %d.", si->ssi_signo,
                  si->ssi_code);
        vmm_flush_metrics(v);
        _exit(code);
}

int main(int argc, char **argv) {
        uint64_t start_us = realtime_us();
        Args args;
        char *display = NULL, *debug = NULL;
        int r, exit_code = 0;

        logger_init("anonymous-instance");
        if (args_parse(argc, argv, &args, &display, &debug) < 0) {
                int code = fail(EXIT_ARG_PARSING, display ? display : "out of memory", debug ? debug : "");
                free(display);
                free(debug);
                return code;
        }
        if (args.help) {
                printf("Firecracker v%s\n\n", FC_VERSION);
                args_print_help(stdout);
                printf("\n");
                return 0;
        }
        if (args_flag(&args, ARG_VERSION)) {
                printf("Firecracker v%s\n\n", FC_VERSION);
                return 0;
        }
        if (args_flag(&args, ARG_SNAPSHOT_VERSION)) {
                printf("v8.0.0\n");
                return 0;
        }
        if (args_flag(&args, ARG_DESCRIBE_SNAPSHOT))
                return fail(EXIT_GENERIC,
                            "When printing Snapshot Data format: fcsim does not simulate snapshots",
                            "PrintSnapshotDataFormat(NotSimulated)");

        const char *id = args_get(&args, ARG_ID);
        char reason[64];
        if (!instance_id_valid(id, reason, sizeof(reason)))
                panic("Invalid instance ID: %s", reason);
        logger_init(id);

        LogLevel level = LOG_LVL_INFO;
        const char *level_arg = args_get(&args, ARG_LEVEL);
        if (level_arg && logger_level_from_str(level_arg, &level) < 0) {
                char *d = NULL, *g = NULL;
                if (asprintf(&d,
                             "Invalid value for logger level: Failed to parse string to level filter: "
                             "%s.Possible values: [Error, Warning, Info, Debug]",
                             level_arg) < 0 ||
                    asprintf(&g, "InvalidLogLevel(LevelFilterFromStrError(\"%s\"))", level_arg) < 0)
                        return EXIT_BAD_CONFIGURATION;
                int code = fail(EXIT_BAD_CONFIGURATION, d, g);
                free(d);
                free(g);
                return code;
        }
        logger_set_level(level);
        logger_set_show_level(args_flag(&args, ARG_SHOW_LEVEL));
        logger_set_show_origin(args_flag(&args, ARG_SHOW_LOG_ORIGIN));
        const char *log_path = args_get(&args, ARG_LOG_PATH);
        if (log_path && (r = logger_open(log_path)) < 0) {
                char d[512];
                snprintf(d, sizeof(d),
                         "Could not initialize logger: Failed to open target file: %s (os error %d)",
                         strerror(-r), -r);
                return fail(EXIT_GENERIC, d, "LoggerInitialization(OpenTarget)");
        }
        log_info("main", "Running Firecracker v%s", FC_VERSION);

        /* Signals Firecracker handles; the others (SIGTERM, SIGINT ...) keep
         * their default action and kill the process outright. */
        sigset_t mask;
        sigemptyset(&mask);
        sigaddset(&mask, SIGHUP);
        sigaddset(&mask, SIGPIPE);
        sigaddset(&mask, SIGXFSZ);
        sigaddset(&mask, SIGXCPU);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        int sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        if (sig_fd < 0)
                return fail(EXIT_GENERIC, "Failed to register signal handlers", "RegisterSignalHandlers");

        Metrics *metrics = NULL;
        if (metrics_new(&metrics) < 0)
                return fail(EXIT_GENERIC, "out of memory", "OutOfMemory");
        const char *metrics_path_arg = args_get(&args, ARG_METRICS_PATH);
        if (metrics_path_arg && (r = metrics_open(metrics, metrics_path_arg)) < 0) {
                char d[512];
                snprintf(d, sizeof(d), "Could not initialize metrics: %s (os error %d)", strerror(-r), -r);
                metrics_free(metrics);
                return fail(EXIT_GENERIC, d, "MetricsInitialization(InitializationFailure)");
        }

        const char *seccomp = args_get(&args, ARG_SECCOMP_FILTER);
        if (seccomp && access(seccomp, R_OK) < 0) {
                char d[512];
                snprintf(d, sizeof(d), "Seccomp error: Filter file open error: %s (os error %d)",
                         strerror(errno), errno);
                metrics_free(metrics);
                return fail(EXIT_GENERIC, d, "SeccompFilter(FileOpen)");
        }

        size_t config_len = 0, metadata_len = 0;
        char *config_json = NULL, *metadata_json = NULL;
        if (args_get(&args, ARG_CONFIG_FILE) &&
            !(config_json = read_file(args_get(&args, ARG_CONFIG_FILE), &config_len)))
                panic("Unable to open or read from the configuration file: %s", strerror(errno));
        if (args_get(&args, ARG_METADATA) &&
            !(metadata_json = read_file(args_get(&args, ARG_METADATA), &metadata_len)))
                panic("Unable to open or read from the mmds content file: %s", strerror(errno));

        uint64_t payload_max =
                u64_arg(&args, ARG_HTTP_API_MAX_PAYLOAD_SIZE, "http-api-max-payload-size", "usize", 51200);
        VmmSettings settings = {
                .id = id,
                .boot_timer = args_flag(&args, ARG_BOOT_TIMER),
                .enable_pci = args_flag(&args, ARG_ENABLE_PCI),
                .mmds_size_limit =
                        u64_arg(&args, ARG_MMDS_SIZE_LIMIT, "mmds-size-limit", "usize", payload_max),
                .boot_delay_ms = env_ms("FCSIM_BOOT_DELAY_MS", 0),
                .shutdown_delay_ms = env_ms("FCSIM_SHUTDOWN_DELAY_MS", 50),
                .ignore_ctrl_alt_del = getenv("FCSIM_IGNORE_CTRL_ALT_DEL") &&
                                       strcmp(getenv("FCSIM_IGNORE_CTRL_ALT_DEL"), "1") == 0,
                .halt_after_ms = env_ms("FCSIM_GUEST_HALT_AFTER_MS", -1),
                .reboot_after_ms = env_ms("FCSIM_GUEST_REBOOT_AFTER_MS", -1),
                .metrics_period_ms = env_ms("FCSIM_METRICS_PERIOD_MS", 60000),
                .start_time_us = u64_arg(&args, ARG_START_TIME_US, "start-time-us", "u64", start_us),
        };
        (void) u64_arg(&args, ARG_START_TIME_CPU_US, "start-time-cpu-us", "u64", 0);
        (void) u64_arg(&args, ARG_PARENT_CPU_TIME_US, "parent-cpu-time-us", "u64", 0);

        Vmm *vmm = NULL;
        if (vmm_new(&settings, metrics, &vmm) < 0)
                return fail(EXIT_GENERIC, "out of memory", "OutOfMemory");
        Api api = { .vmm = vmm, .metrics = metrics };

        if (metadata_json) {
                json_t *data = NULL;
                char *err = NULL;
                if (de_decode(&schema_any, metadata_json, metadata_len, &data, &err) < 0)
                        panic("MMDS error: metadata provided not valid json: %s", err ? err : "");
                Reply rep = vmm_put_mmds(vmm, data);
                json_decref(data);
                if (reply_is_error(&rep))
                        panic("MMDS error: metadata provided is too large");
                reply_done(&rep);
                free(metadata_json);
                log_info("main", "Successfully added metadata to mmds from file");
        }

        HttpServer *server = NULL;
        if (!args_flag(&args, ARG_NO_API)) {
                const char *sock = args_get(&args, ARG_API_SOCK);
                r = http_server_new(sock, payload_max, api_handle, &api, &server);
                if (r >= 0)
                        http_server_enable_stall_file(server);
                if (r < 0) {
                        char d[4200], g[4200];
                        snprintf(d, sizeof(d),
                                 "RunWithApi error: Failed to open the API socket at: %s. Check that it is "
                                 "not "
                                 "already used.",
                                 sock);
                        snprintf(g, sizeof(g), "RunWithApi(FailedToBindSocket(\"%s\"))", sock);
                        exit_code = fail(EXIT_GENERIC, d, g);
                        goto out;
                }
                log_info("fc_api", "API server started.");
        }

        if (config_json) {
                json_t *cfg = NULL;
                char *err = NULL;
                r = de_decode(&schema_vmm_config, config_json, config_len, &cfg, &err);
                if (r == 0)
                        r = vmm_boot_from_json(vmm, cfg, &err);
                json_decref(cfg);
                if (r < 0) {
                        char *d = NULL;
                        if (asprintf(&d, "Configuration for VMM from one single json failed: %s",
                                     err ? err : "?") < 0)
                                d = NULL;
                        exit_code = fail(EXIT_GENERIC, d ? d : "out of memory", "BuildMicroVMFromJson");
                        free(d);
                        free(err);
                        goto out;
                }
        }

        for (;;) {
                if (vmm_exited(vmm, &exit_code))
                        break;
                struct pollfd fds[1 + HTTP_MAX_FDS];
                size_t n = 0;
                fds[n++] = (struct pollfd){ .fd = sig_fd, .events = POLLIN };
                size_t http_start = n;
                if (server)
                        n += http_server_fill_pollfds(server, fds + n);
                int k = poll(fds, n, vmm_next_timeout_ms(vmm));
                if (k < 0 && errno != EINTR)
                        break;
                if (k > 0 && fds[0].revents) {
                        struct signalfd_siginfo si;
                        while (read(sig_fd, &si, sizeof(si)) == sizeof(si))
                                handle_signal(vmm, &si);
                }
                if (k > 0 && server)
                        http_server_process(server, fds + http_start, n - http_start);
                vmm_tick(vmm);
        }
        if (server)
                http_server_drain(server, 200);
        if (exit_code == 0)
                log_info("main", "Firecracker exiting successfully. exit_code=0");
        else
                log_error("main", "Firecracker exiting with error. exit_code=%d", exit_code);

out:
        free(config_json);
        http_server_free(server);
        vmm_free(vmm);
        metrics_free(metrics);
        close(sig_fd);
        logger_close();
        return exit_code;
}
