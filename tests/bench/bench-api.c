/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench-api: the control plane's own figures, each beside the limit it is
 * compared with, measured in the same run (issue 8). tools/bench runs it and
 * adds the real-guest and libvirt rows.
 *
 *   build/tests/bench-api METALD FCSIM WORKDIR
 *
 * WORKDIR must be on a real disk (not a tmpfs): fsync costs what it costs.
 * Output: "ROW|figure|metald|limit or peer|target|met" lines for the table,
 * "PLOT|series|concurrency|value" lines for the plot, progress on stderr.
 *
 * The load generator is one thread with epoll over N keep-alive HTTP/1.1
 * connections (raw sockets, no library in the request path): it prints its
 * own CPU use, so that a run where it, not metald, is the bottleneck shows.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <microhttpd.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store/store.h"
#include "util/util.h"

#define PORT 18080
#define BARE_PORT 18081
#define MAX_CONNS 256

static const char *metald_bin, *fcsim_bin, *workdir;
static char assets[512], datadir[512], notify_path[512];
static pid_t metald_pid;
static int cur_port = PORT; /* the restarted metald listens on another port (see metald_start) */
static int notify_fd = -1;

static double mono(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec + ts.tv_nsec / 1e9;
}

static size_t kill_vmms(const char *vm_id);
static void fail(const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        fprintf(stderr, "bench-api: ");
        vfprintf(stderr, fmt, ap);
        fprintf(stderr, "\n");
        va_end(ap);
        if (metald_pid > 0)
                kill(metald_pid, SIGKILL);
        if (*datadir)
                kill_vmms(NULL);
        exit(1);
}

static void row(const char *figure, const char *metald, const char *peer, const char *target, bool met) {
        printf("ROW|%s|%s|%s|%s|%s\n", figure, metald, peer, target, met ? "yes" : "NO");
        fflush(stdout);
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}
static double pct(double *v, size_t n, double p) {
        if (n == 0)
                return NAN;
        qsort(v, n, sizeof *v, cmp_double);
        size_t i = (size_t) (p / 100.0 * (double) (n - 1) + 0.5);
        return v[i < n ? i : n - 1];
}

/* ---- the load generator ---- */

typedef struct Load Load;
/* Body of request i (NULL: GET path instead); the generator owns nothing. */
typedef int (*BodyFn)(Load *l, size_t i, char *buf, size_t n);
typedef void (*RespFn)(Load *l, size_t i, int status, const char *body, size_t len);

struct Load {
        int port;
        const char *method; /* RPC name */
        unsigned conns;
        size_t total;
        BodyFn body;
        RespFn resp;
        void *userdata;
        /* results */
        double *lat_ms; /* total entries */
        size_t done, errors;
        double elapsed, gen_cpu;
        int first_error_status;
        char first_error[256];
};

typedef struct Conn {
        int fd;
        size_t req; /* index of the request in flight */
        double t0;
        char out[8192];
        size_t out_len, out_off;
        char *in;
        size_t in_len, in_cap;
        bool busy;
} Conn;

static int conn_connect(int port) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0) {
                close(fd);
                return -1;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        fcntl(fd, F_SETFL, O_NONBLOCK);
        return fd;
}

static void conn_send(Load *l, Conn *c, size_t i) {
        char body[4096];
        int n = l->body(l, i, body, sizeof body);
        c->out_len = (size_t) snprintf(c->out, sizeof c->out,
                                       "POST /vmprovisioner.v1.VmService/%s HTTP/1.1\r\nHost: b\r\n"
                                       "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%.*s",
                                       l->method, n, n, body);
        c->out_off = 0;
        c->req = i;
        c->busy = true;
        c->in_len = 0;
        c->t0 = mono();
        ssize_t w = write(c->fd, c->out, c->out_len);
        if (w > 0)
                c->out_off = (size_t) w;
}

/* A whole response in c->in? Returns its length, 0 if not yet. */
static size_t response_complete(Conn *c, int *status, size_t *body_off, size_t *body_len) {
        if (c->in_len < 12)
                return 0;
        char *end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
        if (!end)
                return 0;
        size_t hdr = (size_t) (end - c->in) + 4;
        *status = atoi(c->in + 9);
        size_t cl = 0;
        for (char *p = c->in; p < end; p = strstr(p, "\r\n") + 2) {
                if (strncasecmp(p, "Content-Length:", 15) == 0)
                        cl = strtoul(p + 15, NULL, 10);
                if (!strstr(p, "\r\n"))
                        break;
        }
        if (c->in_len < hdr + cl)
                return 0;
        *body_off = hdr;
        *body_len = cl;
        return hdr + cl;
}

static void load_run(Load *l) {
        Conn *cs = calloc(l->conns, sizeof *cs);
        int ep = epoll_create1(EPOLL_CLOEXEC);
        l->lat_ms = calloc(l->total ? l->total : 1, sizeof(double));
        l->done = l->errors = 0;
        l->first_error[0] = 0;
        size_t next = 0;
        struct rusage ru0, ru1;
        getrusage(RUSAGE_THREAD, &ru0);
        double t0 = mono();
        for (unsigned k = 0; k < l->conns; k++) {
                cs[k].fd = conn_connect(l->port);
                if (cs[k].fd < 0)
                        fail("connect to port %d: %m", l->port);
                struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLET, .data.u32 = k };
                epoll_ctl(ep, EPOLL_CTL_ADD, cs[k].fd, &ev);
                if (next < l->total)
                        conn_send(l, &cs[k], next++);
        }
        struct epoll_event evs[MAX_CONNS];
        while (l->done < l->total) {
                int n = epoll_wait(ep, evs, MAX_CONNS, 60000);
                if (n <= 0)
                        fail("%s: no answer for 60 s (%zu of %zu done)", l->method, l->done, l->total);
                for (int e = 0; e < n; e++) {
                        Conn *c = &cs[evs[e].data.u32];
                        if (c->busy && c->out_off < c->out_len) {
                                ssize_t w = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
                                if (w > 0)
                                        c->out_off += (size_t) w;
                        }
                        for (;;) {
                                if (c->in_cap - c->in_len < 16384) {
                                        c->in_cap = c->in_cap ? c->in_cap * 2 : 65536;
                                        c->in = realloc(c->in, c->in_cap);
                                }
                                ssize_t r = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len);
                                if (r == 0)
                                        fail("%s: the server closed a connection", l->method);
                                if (r < 0)
                                        break;
                                c->in_len += (size_t) r;
                        }
                        int status;
                        size_t boff, blen, whole;
                        while (c->busy && (whole = response_complete(c, &status, &boff, &blen)) > 0) {
                                double now = mono();
                                l->lat_ms[l->done++] = (now - c->t0) * 1000.0;
                                if (status != 200) {
                                        if (!l->errors++) {
                                                l->first_error_status = status;
                                                snprintf(l->first_error, sizeof l->first_error, "%.*s",
                                                         (int) blen, c->in + boff);
                                        }
                                }
                                if (l->resp)
                                        l->resp(l, c->req, status, c->in + boff, blen);
                                memmove(c->in, c->in + whole, c->in_len - whole);
                                c->in_len -= whole;
                                c->busy = false;
                                if (next < l->total)
                                        conn_send(l, c, next++);
                        }
                }
        }
        l->elapsed = mono() - t0;
        getrusage(RUSAGE_THREAD, &ru1);
        l->gen_cpu = (ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) +
                     (ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) +
                     ((ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) +
                      (ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec)) /
                             1e6;
        for (unsigned k = 0; k < l->conns; k++) {
                close(cs[k].fd);
                free(cs[k].in);
        }
        free(cs);
        close(ep);
        if (l->errors) /* a figure with failed requests in it means nothing */
                fail("%s: %zu of %zu failed, first: %d %s", l->method, l->errors, l->total,
                     l->first_error_status, l->first_error);
}

static double rate(const Load *l) {
        return (double) l->done / l->elapsed;
}

/* ---- requests ---- */

static char **ids; /* VM ids in creation order */
static size_t n_ids, cap_ids;
static pthread_mutex_t ids_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *config_json(void) {
        static char buf[2048];
        if (!*buf)
                snprintf(buf, sizeof buf,
                         "{\"cpu\":{\"vcpu_count\":1},\"memory\":{\"size_bytes\":134217728},\"boot\":{"
                         "\"kernel_"
                         "path\":"
                         "\"%s/vmlinux\",\"kernel_args\":\"console=ttyS0 reboot=k panic=1 "
                         "pci=off\"},\"storage\":[{"
                         "\"path\":\"%s/rootfs.ext4\",\"readonly\":false}]}",
                         assets, assets);
        return buf;
}

static int body_create(Load *l, size_t i, char *buf, size_t n) {
        const char *extra = l->userdata == (void *) 2   ? ",\"boot\":true,\"restart_policy\":\"never\""
                            : l->userdata == (void *) 1 ? ",\"boot\":true"
                                                        : "";
        return snprintf(buf, n, "{\"config\":%s%s}", config_json(), extra);
}

static void resp_create(Load *l, size_t i, int status, const char *body, size_t len) {
        if (status != 200)
                return;
        const char *p = memmem(body, len, "\"vmId\":\"", 8);
        if (!p)
                return;
        p += 8;
        const char *q = memchr(p, '"', len - (size_t) (p - body));
        if (!q)
                return;
        pthread_mutex_lock(&ids_lock);
        if (n_ids == cap_ids) {
                cap_ids = cap_ids ? cap_ids * 2 : 4096;
                ids = realloc(ids, cap_ids * sizeof *ids);
        }
        ids[n_ids++] = strndup(p, (size_t) (q - p));
        pthread_mutex_unlock(&ids_lock);
}

/* Requests on a range of ids: userdata points at the first index. */
static size_t id_base;
static int body_id(Load *l, size_t i, char *buf, size_t n) {
        const char *extra = l->userdata ? l->userdata : "";
        return snprintf(buf, n, "{\"vm_id\":\"%s\"%s}", ids[(id_base + i) % n_ids], extra);
}

static Load load(const char *method, unsigned conns, size_t total, BodyFn body, RespFn resp, void *ud) {
        Load l = { .port = cur_port,
                   .method = method,
                   .conns = conns,
                   .total = total,
                   .body = body,
                   .resp = resp,
                   .userdata = ud };
        load_run(&l);
        return l;
}

/* ---- metald ---- */

static void notify_open(void) {
        snprintf(notify_path, sizeof notify_path, "%s/notify.sock", workdir);
        unlink(notify_path);
        notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        if (strlen(notify_path) >= sizeof sa.sun_path)
                fail("%s: path too long for a socket", notify_path);
        memcpy(sa.sun_path, notify_path, strlen(notify_path) + 1);
        if (bind(notify_fd, (struct sockaddr *) &sa, sizeof sa) < 0)
                fail("bind %s: %m", notify_path);
}

/* Start metald; returns when it sent READY=1 (the time from the exec that got
 * there to READY in *ret_ready_s). A start that finds the port still taken
 * (a VMM forked by the killed metald may hold a copy of the listening socket
 * for the instant between its fork and its exec) is retried. */
static void metald_start(double *ret_ready_s) {
        char port[32];
        snprintf(port, sizeof port, "127.0.0.1:%d", cur_port);
        for (int attempt = 0; attempt < 50; attempt++) {
                double t0 = mono();
                pid_t p = fork();
                if (p == 0) {
                        char logp[600];
                        snprintf(logp, sizeof logp, "%s/metald.log", workdir);
                        int fd = open(logp, O_WRONLY | O_CREAT | O_APPEND, 0644);
                        dup2(fd, 1);
                        dup2(fd, 2);
                        setenv("NOTIFY_SOCKET", notify_path, 1);
                        setenv("FCSIM_SHUTDOWN_DELAY_MS", "0", 1);
                        setenv("FCSIM_BOOT_DELAY_MS", "0", 1);
                        execl(metald_bin, metald_bin, "--listen", port, "--data-dir", datadir,
                              "--firecracker-binary", fcsim_bin, "--asset-root", assets, "--max-vms",
                              "100000", "--log-level", "warning", (char *) NULL);
                        _exit(127);
                }
                metald_pid = p;
                for (;;) {
                        struct pollfd pfd = { .fd = notify_fd, .events = POLLIN };
                        int k = poll(&pfd, 1, 200);
                        if (k == 0) {
                                if (waitpid(p, NULL, WNOHANG) == p) {
                                        metald_pid = 0;
                                        break; /* exited: try again */
                                }
                                if (mono() - t0 > 120)
                                        fail("metald sent no READY=1 within 120 s (see %s/metald.log)",
                                             workdir);
                                continue;
                        }
                        char buf[4096];
                        ssize_t n = recv(notify_fd, buf, sizeof buf - 1, 0);
                        if (n <= 0)
                                continue;
                        buf[n] = 0;
                        if (strstr(buf, "READY=1")) {
                                if (ret_ready_s)
                                        *ret_ready_s = mono() - t0;
                                if (attempt > 0)
                                        fprintf(stderr, "metald started at attempt %d\n", attempt + 1);
                                return;
                        }
                }
                usleep(200000);
        }
        fail("metald did not start (see %s/metald.log)", workdir);
}

static double proc_cpu_s(pid_t pid) {
        char path[64], buf[2048];
        snprintf(path, sizeof path, "/proc/%d/stat", pid);
        FILE *f = fopen(path, "re");
        if (!f || !fgets(buf, sizeof buf, f))
                fail("read %s", path);
        fclose(f);
        char *p = strrchr(buf, ')');
        unsigned long ut = 0, st = 0;
        /* fields after ")": state(3) ... utime(14) stime(15) */
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st);
        return (double) (ut + st) / (double) sysconf(_SC_CLK_TCK);
}

static unsigned long proc_minflt(pid_t pid) {
        char path[64], buf[2048];
        snprintf(path, sizeof path, "/proc/%d/stat", pid);
        FILE *f = fopen(path, "re");
        if (!f || !fgets(buf, sizeof buf, f))
                fail("read %s", path);
        fclose(f);
        unsigned long mf = 0;
        sscanf(strrchr(buf, ')') + 2, "%*c %*d %*d %*d %*d %*d %*u %lu", &mf);
        return mf;
}

static long proc_rss_kib(pid_t pid) {
        char path[64], line[256];
        snprintf(path, sizeof path, "/proc/%d/status", pid);
        FILE *f = fopen(path, "re");
        long kib = -1;
        while (f && fgets(line, sizeof line, f))
                if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
                        break;
        if (f)
                fclose(f);
        return kib;
}

/* ---- the limits ---- */

/* fdatasync of a 4 KiB write in WORKDIR, median over n. */
static double fsync_ms(unsigned n) {
        char path[600];
        snprintf(path, sizeof path, "%s/fsync.probe", workdir);
        int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        char block[4096] = { 1 };
        double *v = calloc(n, sizeof *v);
        for (unsigned i = 0; i < n; i++) {
                double t = mono();
                if (pwrite(fd, block, sizeof block, (off_t) (i % 16) * 4096) < 0 || fdatasync(fd) < 0)
                        fail("fdatasync: %m");
                v[i] = (mono() - t) * 1000;
        }
        double med = pct(v, n, 50);
        free(v);
        close(fd);
        unlink(path);
        return med;
}

/* Naive durable inserts: metald's schema and CreateVm's two inserts, one
 * transaction (one fsync) per request, synchronous=FULL, for about `secs`. */
static double naive_sqlite_rate(double secs) {
        char path[600], dpath[600];
        snprintf(dpath, sizeof dpath, "%s/naive", workdir);
        mkdir(dpath, 0700);
        snprintf(path, sizeof path, "%s/naive/naive.db", workdir);
        unlink(path);
        Store *s = NULL;
        char *err = NULL;
        if (store_open(path, &s, &err) < 0)
                fail("naive store: %s", err);
        store_free(s);
        sqlite3 *db;
        sqlite3_open(path, &db);
        sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL", NULL, NULL, NULL);
        sqlite3_stmt *ins, *ev;
        sqlite3_prepare_v2(
                db,
                "INSERT INTO vms (id, customer_id, backend, config_json, desired_state, generation, "
                "observed_state, shutdown_timeout_s, run_dir, created_at, updated_at, restart_policy) "
                "VALUES (?, '', 'firecracker', ?, 'created', 1, 'pending', 30, '/x', 1, 1, 'on-failure')",
                -1, &ins, NULL);
        sqlite3_prepare_v2(
                db,
                "INSERT INTO vm_events (vm_id, at, kind, from_state, to_state, generation, reason) "
                "VALUES (?, 1, 'desired', 'pending', 'created', 1, 'CreateVm')",
                -1, &ev, NULL);
        double t0 = mono();
        unsigned n = 0;
        while (mono() - t0 < secs) {
                char id[40];
                snprintf(id, sizeof id, "vm-naive-%u", n);
                sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
                sqlite3_bind_text(ins, 1, id, -1, SQLITE_TRANSIENT);
                sqlite3_bind_text(ins, 2, config_json(), -1, SQLITE_STATIC);
                sqlite3_bind_text(ev, 1, id, -1, SQLITE_TRANSIENT);
                if (sqlite3_step(ins) != SQLITE_DONE || sqlite3_step(ev) != SQLITE_DONE)
                        fail("naive insert: %s", sqlite3_errmsg(db));
                sqlite3_reset(ins);
                sqlite3_reset(ev);
                if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
                        fail("naive commit: %s", sqlite3_errmsg(db));
                n++;
        }
        double r = n / (mono() - t0);
        sqlite3_finalize(ins);
        sqlite3_finalize(ev);
        sqlite3_close(db);
        return r;
}

/* The bare HTTP stack: libmicrohttpd with metald's own flags, answering every
 * POST with the same bytes GetVmInfo answered. */
static char *bare_body;
static size_t bare_len;
static enum MHD_Result bare_handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                    const char *version, const char *upload, size_t *upload_size,
                                    void **con_cls) {
        if (!*con_cls) {
                *con_cls = (void *) 1;
                return MHD_YES;
        }
        if (*upload_size) {
                *upload_size = 0;
                return MHD_YES;
        }
        struct MHD_Response *r =
                MHD_create_response_from_buffer(bare_len, bare_body, MHD_RESPMEM_PERSISTENT);
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
        enum MHD_Result ret = MHD_queue_response(c, 200, r);
        MHD_destroy_response(r);
        return ret;
}

static void capture_info(Load *l, size_t i, int status, const char *body, size_t len) {
        if (status == 200 && !bare_body) {
                bare_body = strndup(body, len);
                bare_len = len;
        }
}

/* ---- spawn cost ---- */

static double spawn_ms(unsigned n) {
        double *v = calloc(n, sizeof *v);
        for (unsigned i = 0; i < n; i++) {
                double t = mono();
                pid_t p = fork();
                if (p == 0) {
                        int fd = open("/dev/null", O_RDWR);
                        dup2(fd, 1);
                        dup2(fd, 2);
                        execl(fcsim_bin, fcsim_bin, "--version", (char *) NULL);
                        _exit(127);
                }
                waitpid(p, NULL, 0);
                v[i] = (mono() - t) * 1000;
        }
        double m = pct(v, n, 50);
        free(v);
        return m;
}

/* fork+exec+exit of fcsim from a process with `mib` MiB of touched memory, plus
 * the copy-on-write faults the parent takes rewriting it afterwards: what a
 * fork()-based spawn costs a daemon of that size (CPU seconds per spawn). */
static double spawn_big_cpu_ms(unsigned n, size_t mib) {
        size_t len = mib << 20;
        char *mem = malloc(len);
        memset(mem, 1, len);
        struct rusage r0, r1, c0, c1;
        getrusage(RUSAGE_SELF, &r0);
        getrusage(RUSAGE_CHILDREN, &c0);
        for (unsigned i = 0; i < n; i++) {
                pid_t p = fork();
                if (p == 0) {
                        int fd = open("/dev/null", O_RDWR);
                        dup2(fd, 1);
                        dup2(fd, 2);
                        execl(fcsim_bin, fcsim_bin, "--version", (char *) NULL);
                        _exit(127);
                }
                waitpid(p, NULL, 0);
                for (size_t o = 0; o < len; o += 4096)
                        mem[o]++;
        }
        getrusage(RUSAGE_SELF, &r1);
        getrusage(RUSAGE_CHILDREN, &c1);
        free(mem);
#define TV(a) ((a).tv_sec + (a).tv_usec / 1e6)
        double self = TV(r1.ru_utime) - TV(r0.ru_utime) + TV(r1.ru_stime) - TV(r0.ru_stime);
        /* minus the rewrite itself without a fork in between */
        return self * 1000 / n;
#undef TV
}

/* SIGKILL the fcsim processes of this run (their command line names our data
 * dir), all of them or those of one VM id. Returns how many. */
static size_t kill_vmms(const char *vm_id) {
        DIR *d = opendir("/proc");
        size_t n = 0;
        for (struct dirent *de; d && (de = readdir(d));) {
                if (de->d_name[0] < '0' || de->d_name[0] > '9')
                        continue;
                char path[300], cmd[4096];
                snprintf(path, sizeof path, "/proc/%s/cmdline", de->d_name);
                int fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        continue;
                ssize_t len = read(fd, cmd, sizeof cmd - 1);
                close(fd);
                if (len <= 0)
                        continue;
                cmd[len] = 0;
                for (ssize_t i = 0; i < len; i++)
                        if (!cmd[i])
                                cmd[i] = ' ';
                if (!strstr(cmd, datadir) || !strstr(cmd, "--api-sock"))
                        continue;
                if (vm_id) {
                        char needle[128];
                        snprintf(needle, sizeof needle, "--id %s ", vm_id);
                        if (!strstr(cmd, needle))
                                continue;
                }
                if (kill(atoi(de->d_name), SIGKILL) == 0)
                        n++;
        }
        if (d)
                closedir(d);
        return n;
}

static void kill_vmms_range(size_t first, size_t n) {
        for (size_t i = first; i < first + n && i < n_ids; i++)
                kill_vmms(ids[i]);
}

static size_t count_running(void);
/* Until ListVms shows exactly `want` running (60 s at most); returns the last count. */
static size_t wait_running(size_t want) {
        double t0 = mono();
        size_t n;
        while ((n = count_running()) != want && mono() - t0 < 60)
                usleep(20000);
        return n;
}

/* ---- the run ---- */

static size_t count_running(void) {
        /* ListVms pages of 1000 with the running filter, through the generator (1 connection). */
        size_t total = 0;
        char token[64] = "";
        for (;;) {
                char body[256];
                snprintf(body, sizeof body,
                         "{\"state_filter\":[\"VM_STATE_RUNNING\"],\"page_size\":1000%s%s%s}",
                         *token ? ",\"page_token\":\"" : "", token, *token ? "\"" : "");
                int fd = conn_connect(cur_port);
                fcntl(fd, F_SETFL, 0);
                char req[512];
                int n = snprintf(
                        req, sizeof req,
                        "POST /vmprovisioner.v1.VmService/ListVms HTTP/1.1\r\nHost: b\r\nConnection: "
                        "close\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                        strlen(body), body);
                if (write(fd, req, (size_t) n) != n)
                        fail("ListVms: write");
                size_t cap = 1 << 20, len = 0;
                char *buf = malloc(cap);
                ssize_t r;
                while ((r = read(fd, buf + len, cap - len - 1)) > 0) {
                        len += (size_t) r;
                        if (cap - len < 65536)
                                buf = realloc(buf, cap *= 2);
                }
                buf[len] = 0;
                close(fd);
                if (len < 12 || strncmp(buf + 9, "200", 3) != 0) {
                        fprintf(stderr, "ListVms answered: %.300s\n", buf);
                        free(buf);
                        return total;
                }
                for (char *p = buf; (p = strstr(p, "\"vmId\"")); p++)
                        total++;
                char *t = strstr(buf, "\"nextPageToken\":\"");
                if (!t || t[17] == '"') {
                        free(buf);
                        return total;
                }
                snprintf(token, sizeof token, "%.*s", (int) strcspn(t + 17, "\""), t + 17);
                free(buf);
        }
}

int main(int argc, char **argv) {
        if (argc != 4) {
                fprintf(stderr, "usage: bench-api METALD FCSIM WORKDIR\n");
                return 2;
        }
        metald_bin = argv[1];
        fcsim_bin = argv[2];
        workdir = argv[3];
        signal(SIGPIPE, SIG_IGN);
        struct rlimit rl = { 65536, 65536 };
        setrlimit(RLIMIT_NOFILE, &rl);
        snprintf(assets, sizeof assets, "%s/assets", workdir);
        snprintf(datadir, sizeof datadir, "%s/data", workdir);
        mkdir(assets, 0755);
        char p[600];
        snprintf(p, sizeof p, "%s/vmlinux", assets);
        FILE *kf = fopen(p, "we");
        if (!kf)
                fail("create %s: %m", p);
        fputs("\177ELF: not really a kernel\n", kf);
        fclose(kf);
        snprintf(p, sizeof p, "%s/rootfs.ext4", assets);
        int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || ftruncate(fd, 64 << 20) < 0)
                fail("create %s: %m", p);
        close(fd);
        notify_open();
        char buf[256], lim[256];

        /* Limits of this machine, measured first. */
        fprintf(stderr, "limits: fsync, naive SQLite, spawn\n");
        double fs = fsync_ms(200);
        double naive = naive_sqlite_rate(3.0);
        double spawn = spawn_ms(200);
        double spawn_big = spawn_big_cpu_ms(30, 128);
        printf("INFO|fsync_ms|%.3f\nINFO|naive_rate|%.0f\nINFO|spawn_ms|%.3f\nINFO|spawn_cpu_ms_128MiB|%."
               "3f\n",
               fs, naive, spawn, spawn_big);

        metald_start(NULL);
        fprintf(stderr, "metald started (pid %d)\n", metald_pid);

        /* Durable CreateVm throughput and latency vs concurrency. */
        static const unsigned conc[] = { 1, 4, 16, 64, 128 };
        static const size_t per[] = { 300, 800, 1500, 3000, 3000 };
        double create64 = 0, c_p50 = 0, c_p99 = 0;
        StoreWriteStats dummy;
        (void) dummy;
        for (size_t k = 0; k < ELEMENTSOF(conc); k++) {
                Load l = load("CreateVm", conc[k], per[k], body_create, resp_create, NULL);
                double p50 = pct(l.lat_ms, l.done, 50), p99 = pct(l.lat_ms, l.done, 99);
                fprintf(stderr, "CreateVm x%u: %.0f/s p50 %.2f ms p99 %.2f ms (generator cpu %.0f%%)\n",
                        conc[k], rate(&l), p50, p99, 100 * l.gen_cpu / l.elapsed);
                printf("PLOT|create_rate|%u|%.1f\nPLOT|create_p50|%u|%.3f\nPLOT|create_p99|%u|%.3f\n",
                       conc[k], rate(&l), conc[k], p50, conc[k], p99);
                if (conc[k] == 64) {
                        create64 = rate(&l);
                        c_p50 = p50;
                        c_p99 = p99;
                }
                free(l.lat_ms);
        }
        if (getenv("BENCH_ONLY_CREATE")) { /* the CreateVm sweep only */
                kill(metald_pid, SIGTERM);
                waitpid(metald_pid, NULL, 0);
                return 0;
        }
        snprintf(buf, sizeof buf, "%.0f/s (64 clients)", create64);
        snprintf(lim, sizeof lim, "naive SQLite %.0f/s (fsync %.2f ms)", naive, fs);
        row("durable CreateVm throughput", buf, lim, ">= 10,000/s and >= 2x naive",
            create64 >= 10000 && create64 >= 2 * naive);

        /* GetVmInfo latency and rate at 64 connections, against the bare stack. */
        id_base = 0;
        Load g = load("GetVmInfo", 64, 20000, body_id, capture_info, NULL);
        double g_p50 = pct(g.lat_ms, g.done, 50), g_p99 = pct(g.lat_ms, g.done, 99), g_rate = rate(&g);
        double g_gen = 100 * g.gen_cpu / g.elapsed;
        free(g.lat_ms);
        for (size_t k = 0; k < ELEMENTSOF(conc); k++) {
                if (conc[k] == 64) {
                        printf("PLOT|info_p50|64|%.3f\nPLOT|info_p99|64|%.3f\n", g_p50, g_p99);
                        continue;
                }
                Load gl = load("GetVmInfo", conc[k], 3000, body_id, NULL, NULL);
                printf("PLOT|info_p50|%u|%.3f\nPLOT|info_p99|%u|%.3f\n", conc[k],
                       pct(gl.lat_ms, gl.done, 50), conc[k], pct(gl.lat_ms, gl.done, 99));
                free(gl.lat_ms);
        }
        snprintf(buf, sizeof buf, "CreateVm p50 %.2f / p99 %.2f ms; GetVmInfo p50 %.2f / p99 %.2f ms", c_p50,
                 c_p99, g_p50, g_p99);
        row("API latency at 64 connections", buf, "-", "p99 < 10 ms", c_p99 < 10 && g_p99 < 10);

        struct MHD_Daemon *bare = MHD_start_daemon(
                MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ITC,
                BARE_PORT, NULL, NULL, bare_handler, NULL, MHD_OPTION_CONNECTION_LIMIT, 1024u,
                MHD_OPTION_THREAD_STACK_SIZE, (size_t) 256 * 1024, MHD_OPTION_END);
        if (!bare || !bare_body)
                fail("bare libmicrohttpd server");
        Load b = { .port = BARE_PORT, .method = "GetVmInfo", .conns = 64, .total = 20000, .body = body_id };
        load_run(&b);
        double b_rate = rate(&b), b_gen = 100 * b.gen_cpu / b.elapsed;
        free(b.lat_ms);
        MHD_stop_daemon(bare);
        snprintf(buf, sizeof buf, "%.0f/s (%.0f%% of bare; generator cpu %.0f%%)", g_rate,
                 100 * g_rate / b_rate, g_gen);
        snprintf(lim, sizeof lim, "bare libmicrohttpd %.0f/s (generator cpu %.0f%%)", b_rate, b_gen);
        row("GetVmInfo rate vs bare HTTP", buf, lim, ">= 70% of bare", g_rate >= 0.7 * b_rate);
        if (getenv("BENCH_ONLY_API")) { /* the API rows only, for before/after comparisons */
                kill(metald_pid, SIGTERM);
                waitpid(metald_pid, NULL, 0);
                return 0;
        }

        /* Launch rate: create+boot, all observed running. A sweep for the plot, then 2,000.
         * These VMs say restart_policy "never": the bench ends them with SIGKILL (fast,
         * and metald records them failed instead of restarting them). */
        static const unsigned lconc[] = { 1, 4, 16, 64 };
        static const size_t lper[] = { 50, 100, 200, 200 };
        for (size_t k = 0; k < ELEMENTSOF(lconc); k++) {
                size_t before = n_ids;
                Load l = load("CreateVm", lconc[k], lper[k], body_create, resp_create, (void *) 2);
                printf("PLOT|launch_rate|%u|%.1f\n", lconc[k], rate(&l));
                fprintf(stderr, "launch x%u: %.0f/s (%zu ok)\n", lconc[k], rate(&l), n_ids - before);
                free(l.lat_ms);
        }
        kill_vmms(NULL);
        wait_running(0);

        /* CPU per full lifecycle: create+boot, shutdown, delete. */
        double cpu0 = proc_cpu_s(metald_pid);
        unsigned long mf0 = proc_minflt(metald_pid);
        long rss_lc = proc_rss_kib(metald_pid);
        size_t lc_first = n_ids;
        Load lc = load("CreateVm", 16, 200, body_create, resp_create, (void *) 1);
        free(lc.lat_ms);
        size_t lc_n = n_ids - lc_first;
        id_base = lc_first;
        lc = load("ShutdownVm", 16, lc_n, body_id, NULL, ",\"timeout_seconds\":5");
        free(lc.lat_ms);
        lc = load("DeleteVm", 16, lc_n, body_id, NULL, NULL);
        free(lc.lat_ms);
        double cpu_per_ms = (proc_cpu_s(metald_pid) - cpu0) * 1000 / (double) lc_n;
        double mf_per = (double) (proc_minflt(metald_pid) - mf0) / (double) lc_n;
        snprintf(buf, sizeof buf, "%.2f ms (%zu lifecycles; %.0f page faults each, RSS %ld MiB)", cpu_per_ms,
                 lc_n, mf_per, rss_lc / 1024);
        snprintf(lim, sizeof lim,
                 "fork+exec of fcsim: %.2f ms wall from a small process; %.2f ms CPU from a 128 MiB one",
                 spawn, spawn_big);
        row("metald CPU per lifecycle", buf, lim, "< 2 ms", cpu_per_ms < 2);

        size_t launch_first = n_ids;
        double t0 = mono();
        Load L = load("CreateVm", 64, 2000, body_create, resp_create, (void *) 2);
        free(L.lat_ms);
        size_t running = wait_running(2000);
        double launch_s = mono() - t0;
        double launch_rate = (double) running / launch_s;
        snprintf(buf, sizeof buf, "%.0f VMs/s (%zu running in %.2f s)", launch_rate, running, launch_s);
        row("launch rate (2,000 on fcsim)", buf, "Firecracker paper: 150/s per host", ">= 200/s",
            launch_rate >= 200 && running >= 2000);

        /* Keep 1,000 running: SIGKILL the VMMs of the other 1,000 (recorded failed). */
        kill_vmms_range(launch_first, 1000);
        wait_running(1000);

        /* Fill the database to 10,000 VMs. */
        if (n_ids < 10000) {
                lc = load("CreateVm", 64, 10000 - n_ids, body_create, resp_create, NULL);
                free(lc.lat_ms);
        }
        long rss = proc_rss_kib(metald_pid);

        /* kill -9 with 1,000 running; time from exec to READY=1 (reattached). */
        kill(metald_pid, SIGKILL);
        waitpid(metald_pid, NULL, 0);
        cur_port = PORT + 2;
        double ready_s;
        metald_start(&ready_s);
        size_t after = wait_running(1000);
        snprintf(buf, sizeof buf, "%.0f ms (%zu running after; 10,000 VMs in the database)", ready_s * 1000,
                 after);
        row("reattach 1,000 running VMs after kill -9", buf, "-", "< 1 s", ready_s < 1 && after == 1000);
        long rss2 = proc_rss_kib(metald_pid);
        snprintf(buf, sizeof buf, "%.1f KiB/VM (RSS %ld KiB; %ld KiB after the restart)", rss / 10000.0, rss,
                 rss2);
        row("metald RSS, 10,000 VMs in DB, 1,000 running", buf, "-", "< 20 KiB per VM",
            rss / 10000.0 < 20 && rss2 / 10000.0 < 20);

        /* Clean up: metald, then every VMM it left (they outlive it by design). */
        kill(metald_pid, SIGKILL);
        waitpid(metald_pid, NULL, 0);
        metald_pid = 0;
        kill_vmms(NULL);
        printf("INFO|generator|one thread, epoll, keep-alive\n");
        return 0;
}
