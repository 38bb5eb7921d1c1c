/* SPDX-License-Identifier: Apache-2.0 */
#include "commands.h"

#include <assert.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "format.h"
#include "request.h"

#define _cleanup_json_ _cleanup_(json_decrefp)
#define _cleanup_rpc_error_ _cleanup_(rpc_error_done)

/* How often wait and console -f ask again. */
#define POLL_INTERVAL_MS 200
/* wait's default --timeout. */
#define WAIT_DEFAULT_TIMEOUT_S 60
/* console's default tail: how much old output to show before the end. */
#define CONSOLE_DEFAULT_TAIL (64u << 10)
/* The most a GetVmConsole call may ask for (metald's CONSOLE_READ_MAX). */
#define CONSOLE_CHUNK_MAX (1u << 20)
/* Pages of list/history: a server that never stops paging is a bug, not a
 * reason to loop forever. */
#define MAX_PAGES 100000

/* Set by SIGINT/SIGTERM while following the console. A signal handler can
 * only reach a global: this is the one. */
static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig) {
        (void) sig;
        stop_requested = 1;
}

static void commands_install_signal_handlers(void) {
        /* No SA_RESTART: a sleep or a poll returns at once with EINTR. */
        struct sigaction sa = { .sa_handler = on_stop_signal };
        sigemptyset(&sa.sa_mask);
        (void) sigaction(SIGINT, &sa, NULL);
        (void) sigaction(SIGTERM, &sa, NULL);
}

static void sleep_ms(unsigned ms) {
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long) (ms % 1000) * 1000000L };
        (void) nanosleep(&ts, NULL); /* EINTR: a stop request, seen by the caller */
}

ExitStatus usage_error(const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        fputs("metalctl: ", stderr);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
        return EXIT_USAGE;
}

/* Report a message built by request.h (NULL: out of memory). */
static ExitStatus report_arg_error(int r, const char *message) {
        if (r == -ENOMEM || !message) {
                fputs("metalctl: out of memory\n", stderr);
                return EXIT_LOCAL;
        }
        return usage_error("%s", message);
}

/* The outermost layer: print what went wrong, once. */
static ExitStatus report_rpc_error(const RpcError *e) {
        if (e->code)
                fprintf(stderr, "metalctl: %s: %s\n", e->code, e->message ? e->message : "");
        else
                fprintf(stderr, "metalctl: %s\n", e->message ? e->message : "out of memory");
        return e->status ? e->status : EXIT_SERVER;
}

/* Call method with req (taken; NULL means out of memory). On success *ret
 * is the answer and EXIT_OK is returned; otherwise the error is printed and
 * its exit status returned. */
static ExitStatus call(Ctx *ctx, const char *method, json_t *req, json_t **ret) {
        _cleanup_json_ json_t *request = req;
        _cleanup_rpc_error_ RpcError err = { 0 };
        if (!request) {
                fputs("metalctl: out of memory\n", stderr);
                return EXIT_LOCAL;
        }
        if (client_call(ctx->client, method, request, ret, &err) < 0)
                return report_rpc_error(&err);
        return EXIT_OK;
}

static ExitStatus print_json(Ctx *ctx, const json_t *answer) {
        size_t flags = ctx->output == OUTPUT_JSON_COMPACT ? JSON_COMPACT : JSON_INDENT(2);
        if (json_dumpf(answer, stdout, flags) < 0 || fputc('\n', stdout) == EOF)
                return EXIT_LOCAL;
        return EXIT_OK;
}

static ExitStatus print_text(int r, const char *text) {
        if (r < 0) {
                fputs("metalctl: out of memory\n", stderr);
                return EXIT_LOCAL;
        }
        return fputs(text, stdout) == EOF ? EXIT_LOCAL : EXIT_OK;
}

static const char *vm_arg(const Ctx *ctx) {
        return ctx->args->positional[0];
}

/* --NAME as a whole number in [min, max], or def when not given. */
static int number_option(const char *name, const char *v, uint64_t def, uint64_t min, uint64_t max,
                         uint64_t *ret, ExitStatus *ret_status) {
        if (!v) {
                *ret = def;
                return 0;
        }
        _cleanup_free_ char *msg = NULL;
        int r = uint_arg(name, v, min, max, ret, &msg);
        if (r < 0)
                *ret_status = report_arg_error(r, msg);
        return r;
}

/* The VmState names of every --state (each may be a comma-separated list). */
static int parse_states(const StrList *l, const char ***ret, size_t *ret_n, ExitStatus *ret_status) {
        _cleanup_free_ const char **states = NULL;
        size_t n = 0;
        for (size_t i = 0; i < l->n; i++) {
                _cleanup_free_ char *copy = strdup(l->items[i]);
                if (!copy) {
                        *ret_status = report_arg_error(-ENOMEM, NULL);
                        return -ENOMEM;
                }
                char *save = NULL;
                for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                        const char *s;
                        if (state_from_name(t, &s) < 0) {
                                *ret_status = usage_error("--state: \"%s\" is not a state (use %s)", t,
                                                          state_names_help());
                                return -EINVAL;
                        }
                        const char **a = reallocarray(states, n + 1, sizeof *a);
                        if (!a) {
                                *ret_status = report_arg_error(-ENOMEM, NULL);
                                return -ENOMEM;
                        }
                        states = a;
                        states[n++] = s;
                }
        }
        *ret = TAKE_PTR(states);
        *ret_n = n;
        return 0;
}

/* ---- create ---------------------------------------------------------------- */

ExitStatus cmd_create(Ctx *ctx, const Command *cmd) {
        const Args *a = ctx->args;
        CreateArgs ca = {
                .id = a->id,
                .vcpus = a->vcpus,
                .max_vcpus = a->max_vcpus,
                .memory = a->memory,
                .hotplug_memory = a->hotplug_memory,
                .kernel = a->kernel,
                .kernel_args = a->kernel_args,
                .initrd = a->initrd,
                .disks = a->disks.items,
                .n_disks = a->disks.n,
                .customer = a->customer,
                .backend = a->backend,
                .restart_policy = a->restart_policy,
                .metadata = a->metadata.items,
                .n_metadata = a->metadata.n,
                .boot = a->boot,
        };
        _cleanup_free_ char *msg = NULL;
        json_t *req = NULL;
        int r;
        if (a->file) {
                const char *path = streq(a->file, "-") ? "/dev/stdin" : a->file;
                _cleanup_free_ char *text = NULL;
                size_t size;
                r = read_full_file(path, 1u << 20, &text, &size);
                if (r < 0)
                        return usage_error("-f %s: %s", a->file,
                                           r == -EFBIG ? "larger than 1 MiB" : strerror(-r));
                json_error_t jerr;
                _cleanup_json_ json_t *doc = json_loadb(text, size, 0, &jerr);
                if (!doc)
                        return usage_error("-f %s:%d:%d: %s", a->file, jerr.line, jerr.column, jerr.text);
                r = create_request_from_json(doc, &ca, &req, &msg);
        } else
                r = create_request_from_flags(&ca, &req, &msg);
        if (r < 0)
                return report_arg_error(r, msg);

        _cleanup_json_ json_t *ans = NULL;
        ExitStatus s = call(ctx, cmd->method, req, &ans);
        if (s != EXIT_OK)
                return s;
        if (ctx->output != OUTPUT_TABLE)
                return print_json(ctx, ans);
        /* Only the id, so that `id=$(metalctl create ...)` works. */
        const char *id = json_string_value(json_object_get(ans, "vmId"));
        return printf("%s\n", id ? id : "") < 0 ? EXIT_LOCAL : EXIT_OK;
}

/* ---- boot, pause, resume, reboot, shutdown, delete ------------------------- */

ExitStatus cmd_lifecycle(Ctx *ctx, const Command *cmd) {
        const char *id = vm_arg(ctx);
        ExitStatus s = EXIT_OK;
        uint64_t timeout;
        /* metald takes 0..600 s (0: its default, 30 s). */
        if (number_option("timeout", ctx->args->timeout, 0, 0, 600, &timeout, &s) < 0)
                return s;
        if (timeout > 0)
                client_extend_timeout(ctx->client, (unsigned) timeout + 30);

        _cleanup_json_ json_t *ans = NULL;
        s = call(ctx, cmd->method, vm_request(id, ctx->args->force, (unsigned) timeout), &ans);
        if (s != EXIT_OK)
                return s;
        if (ctx->output != OUTPUT_TABLE)
                return print_json(ctx, ans);
        const char *state = json_string_value(json_object_get(ans, "state"));
        /* DeleteVm answers {"success": true} only. */
        return printf("%s: %s\n", id, state ? state_label(state) : "deleted") < 0 ? EXIT_LOCAL : EXIT_OK;
}

/* ---- info ----------------------------------------------------------------------- */

ExitStatus cmd_info(Ctx *ctx, const Command *cmd) {
        _cleanup_json_ json_t *ans = NULL;
        ExitStatus s = call(ctx, cmd->method, vm_request(vm_arg(ctx), false, 0), &ans);
        if (s != EXIT_OK)
                return s;
        if (ctx->output != OUTPUT_TABLE)
                return print_json(ctx, ans);
        _cleanup_free_ char *text = NULL;
        int r = vm_info_text(ans, &text);
        return print_text(r, text);
}

/* ---- list, history, metrics: every page ------------------------------------------ */

/* The request for one page (page_size 0: metald's default); NULL on OOM. */
typedef json_t *(*PageRequestFn)(const Ctx *ctx, unsigned page_size, const char *page_token);

typedef struct Pages {
        json_t *items; /* every item of every page, in order */
        char *next_token; /* where a --limit'ed listing stopped, or NULL */
} Pages;

static void pages_done(Pages *p) {
        json_decref(p->items);
        free(p->next_token);
        *p = (Pages){ 0 };
}

/* Call method page after page, following next_page_token, until the last
 * page or until limit (0: none) items; page_size 0 leaves it to metald.
 * Returns 0, or a negative errno with *err filled (not printed). */
static int fetch_pages(Ctx *ctx, const char *method, const char *key, PageRequestFn build, uint64_t limit,
                       uint64_t page_size, const char *first_token, Pages *ret, RpcError *err) {
        _cleanup_json_ json_t *items = json_array();
        _cleanup_free_ char *token = first_token ? strdup(first_token) : NULL;
        if (!items || (first_token && !token))
                goto oom;
        for (unsigned pages = 0;; pages++) {
                uint64_t want = page_size;
                if (limit > 0) { /* never more than asked for, so the token resumes exactly there */
                        uint64_t left = limit - json_array_size(items), cap = want ? want : 1000;
                        want = left < cap ? left : cap;
                }
                _cleanup_json_ json_t *req = build(ctx, (unsigned) want, token);
                _cleanup_json_ json_t *page = NULL;
                if (!req)
                        goto oom;
                int r = client_call(ctx->client, method, req, &page, err);
                if (r < 0)
                        return r;
                json_t *got = json_object_get(page, key);
                if (got && !json_is_array(got)) {
                        *err = (RpcError){ .message = strdup_printf("%s answered without a list of %s",
                                                                    method, key),
                                           .status = EXIT_UNREACHABLE };
                        return -EBADMSG;
                }
                if (got && json_array_extend(items, got) < 0)
                        goto oom;
                const char *next = json_string_value(json_object_get(page, "nextPageToken"));
                if (!isempty(next) && (streq_ptr(next, token) || pages >= MAX_PAGES)) {
                        *err = (RpcError){ .message = strdup_printf("%s keeps answering page token \"%s\"; "
                                                                    "stopping",
                                                                    method, next),
                                           .status = EXIT_SERVER };
                        return -ELOOP;
                }
                free(token);
                token = isempty(next) ? NULL : strdup(next);
                if (!isempty(next) && !token)
                        goto oom;
                if (!token || (limit > 0 && json_array_size(items) >= limit))
                        break;
        }
        *ret = (Pages){ .items = TAKE_PTR(items), .next_token = TAKE_PTR(token) };
        return 0;
oom:
        *err = (RpcError){ .message = strdup("out of memory"), .status = EXIT_LOCAL };
        return -ENOMEM;
}

/* Print pages as one answer, {"<key>": [...], "nextPageToken": "..."}
 * (plus "vmId" when given), or as the table of table_fn. */
static ExitStatus print_pages(Ctx *ctx, const Pages *p, const char *key, const char *vm_id,
                              int (*table_fn)(const json_t *items, char **ret)) {
        if (ctx->output != OUTPUT_TABLE) {
                _cleanup_json_ json_t *ans = json_object();
                if (!ans || (vm_id && json_object_set_new(ans, "vmId", json_string(vm_id)) < 0) ||
                    json_object_set(ans, key, p->items) < 0 ||
                    json_object_set_new(ans, "nextPageToken",
                                        json_string(p->next_token ? p->next_token : "")) < 0)
                        return report_arg_error(-ENOMEM, NULL);
                return print_json(ctx, ans);
        }
        _cleanup_free_ char *text = NULL;
        int r = table_fn(p->items, &text);
        return print_text(r, text);
}

static json_t *list_page(const Ctx *ctx, unsigned page_size, const char *token) {
        const Args *a = ctx->args;
        /* The states were checked and converted by cmd_list (ctx->states). */
        return list_request(ctx->states, ctx->n_states, a->customer, a->all, page_size, token);
}

ExitStatus cmd_list(Ctx *ctx, const Command *cmd) {
        const Args *a = ctx->args;
        ExitStatus s = EXIT_OK;
        uint64_t limit, page_size;
        _cleanup_free_ const char **states = NULL;
        _cleanup_(pages_done) Pages p = { 0 };
        _cleanup_rpc_error_ RpcError err = { 0 };
        if (number_option("limit", a->limit, 0, 1, INT32_MAX, &limit, &s) < 0 ||
            number_option("page-size", a->page_size, 0, 1, 1000, &page_size, &s) < 0 ||
            parse_states(&a->states, &states, &ctx->n_states, &s) < 0)
                return s;
        ctx->states = states;
        if (fetch_pages(ctx, cmd->method, "vms", list_page, limit, page_size, a->page_token, &p, &err) < 0)
                return report_rpc_error(&err);
        return print_pages(ctx, &p, "vms", NULL, vm_list_table);
}

static json_t *history_page(const Ctx *ctx, unsigned page_size, const char *token) {
        return history_request(vm_arg(ctx), page_size, token);
}

ExitStatus cmd_history(Ctx *ctx, const Command *cmd) {
        ExitStatus s = EXIT_OK;
        uint64_t page_size;
        _cleanup_(pages_done) Pages p = { 0 };
        _cleanup_rpc_error_ RpcError err = { 0 };
        if (number_option("page-size", ctx->args->page_size, 0, 1, 1000, &page_size, &s) < 0)
                return s;
        if (fetch_pages(ctx, cmd->method, "events", history_page, 0, page_size, NULL, &p, &err) < 0)
                return report_rpc_error(&err);
        return print_pages(ctx, &p, "events", NULL, history_table);
}

static json_t *metrics_page(const Ctx *ctx, unsigned page_size, const char *token) {
        return metrics_request(vm_arg(ctx), ctx->args->from, ctx->args->to, page_size, token);
}

ExitStatus cmd_metrics(Ctx *ctx, const Command *cmd) {
        const Args *a = ctx->args;
        ExitStatus s = EXIT_OK;
        uint64_t limit, page_size;
        _cleanup_(pages_done) Pages p = { 0 };
        _cleanup_rpc_error_ RpcError err = { 0 };
        if (number_option("limit", a->limit, 0, 1, INT32_MAX, &limit, &s) < 0 ||
            number_option("page-size", a->page_size, 0, 1, 1000, &page_size, &s) < 0)
                return s;
        if (fetch_pages(ctx, cmd->method, "samples", metrics_page, limit, page_size, NULL, &p, &err) < 0) {
                /* An older metald: say so, and show nothing rather than guess. */
                if (streq_ptr(err.code, "unimplemented")) {
                        fprintf(stderr, "metalctl: not supported by this metald (no GetVmMetrics): upgrade "
                                        "metald for VM metrics\n");
                        return EXIT_UNSUPPORTED;
                }
                return report_rpc_error(&err);
        }
        return print_pages(ctx, &p, "samples", vm_arg(ctx), metrics_table);
}

/* ---- console ------------------------------------------------------------------ */

/* One GetVmConsole answer, decoded. */
typedef struct ConsoleChunk {
        json_t *answer;
        const char *data;
        size_t size;
        uint64_t offset, next;
        bool skipped;
} ConsoleChunk;

static void console_chunk_done(ConsoleChunk *c) {
        json_decref(c->answer);
        *c = (ConsoleChunk){ 0 };
}

/* Read up to max bytes from offset. On failure *err is filled (not printed). */
static int console_read(Ctx *ctx, const char *method, const char *id, uint64_t offset, unsigned max,
                        ConsoleChunk *ret, RpcError *err) {
        _cleanup_json_ json_t *req = console_request(id, offset, max);
        _cleanup_json_ json_t *ans = NULL;
        if (!req) {
                *err = (RpcError){ .message = strdup("out of memory"), .status = EXIT_LOCAL };
                return -ENOMEM;
        }
        int r = client_call(ctx->client, method, req, &ans, err);
        if (r < 0)
                return r;
        int64_t off, next;
        const json_t *data = json_object_get(ans, "data");
        if (!json_is_string(data) || json_int64(json_object_get(ans, "offset"), &off) < 0 ||
            json_int64(json_object_get(ans, "nextOffset"), &next) < 0 || off < 0 || next < off) {
                *err = (RpcError){ .message = strdup("GetVmConsole answered without data and offsets"),
                                   .status = EXIT_UNREACHABLE };
                return -EBADMSG;
        }
        *ret = (ConsoleChunk){
                .data = json_string_value(data),
                .size = json_string_length(data),
                .offset = (uint64_t) off,
                .next = (uint64_t) next,
                .skipped = json_is_true(json_object_get(ans, "skipped")),
        };
        ret->answer = TAKE_PTR(ans);
        return 0;
}

/* Where the console log starts (the first byte metald still has) and ends.
 * One read when the log is under 1 MiB; otherwise the end is searched for
 * with 1-byte reads (galloping, then bisecting), since metald may keep up
 * to 4 GiB and reading it all to find its end would be absurd. */
static int console_bounds(Ctx *ctx, const char *method, const char *id, uint64_t *ret_start,
                          uint64_t *ret_end, RpcError *err) {
        ConsoleChunk c = { 0 };
        int r = console_read(ctx, method, id, 0, CONSOLE_CHUNK_MAX, &c, err);
        if (r < 0)
                return r;
        uint64_t start = c.offset, lo = c.next;
        bool full = c.next - c.offset >= CONSOLE_CHUNK_MAX;
        console_chunk_done(&c);
        if (!full) {
                *ret_start = start;
                *ret_end = lo;
                return 0;
        }
        /* has(o): some byte at or after o exists. Known: has(lo - 1). */
        uint64_t step = CONSOLE_CHUNK_MAX, hi;
        for (;;) {
                hi = lo + step;
                r = console_read(ctx, method, id, hi, 1, &c, err);
                if (r < 0)
                        return r;
                bool has = c.next > c.offset;
                console_chunk_done(&c);
                if (!has)
                        break;
                lo = hi + 1;
                if (step > (UINT64_C(1) << 50)) /* beyond any log metald keeps */
                        break;
                step *= 2;
        }
        while (lo < hi) { /* the end is in [lo, hi] */
                uint64_t mid = lo + (hi - lo) / 2;
                r = console_read(ctx, method, id, mid, 1, &c, err);
                if (r < 0)
                        return r;
                bool has = c.next > c.offset;
                console_chunk_done(&c);
                if (has)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        *ret_start = start;
        *ret_end = lo;
        return 0;
}

static ExitStatus console_print(Ctx *ctx, const ConsoleChunk *c, size_t skip) {
        if (ctx->output != OUTPUT_TABLE)
                return print_json(ctx, c->answer);
        if (c->size > skip && fwrite(c->data + skip, 1, c->size - skip, stdout) != c->size - skip)
                return EXIT_LOCAL;
        return fflush(stdout) == 0 ? EXIT_OK : EXIT_LOCAL;
}

ExitStatus cmd_console(Ctx *ctx, const Command *cmd) {
        const Args *a = ctx->args;
        const char *id = vm_arg(ctx);
        uint64_t tail = CONSOLE_DEFAULT_TAIL, offset = 0, start = 0, end = 0;
        _cleanup_rpc_error_ RpcError err = { 0 };
        if (a->tail) {
                _cleanup_free_ char *msg = NULL;
                int r = size_arg("tail", a->tail, &tail, &msg);
                if (r < 0)
                        return report_arg_error(r, msg);
        }
        if (a->from_start && a->tail)
                return usage_error("--from-start and --tail cannot be combined");

        bool trim = false;
        if (!a->from_start) {
                if (console_bounds(ctx, cmd->method, id, &start, &end, &err) < 0)
                        return report_rpc_error(&err);
                offset = end - start > tail ? end - tail : start;
                trim = offset > start; /* starts inside a line: show whole lines only */
        }

        /* What is there now, up to its end. */
        for (bool first = true;; first = false) {
                ConsoleChunk c = { 0 };
                if (console_read(ctx, cmd->method, id, offset, CONSOLE_CHUNK_MAX, &c, &err) < 0)
                        return report_rpc_error(&err);
                if (!first && c.skipped)
                        fprintf(stderr,
                                "metalctl: console output %" PRIu64 "-%" PRIu64
                                " was cut before it could be read\n",
                                offset, c.offset);
                size_t skip = first && trim ? console_skip_partial_line(c.data, c.size) : 0;
                ExitStatus s = c.next > c.offset ? console_print(ctx, &c, skip) : EXIT_OK;
                bool more = c.next - c.offset >= CONSOLE_CHUNK_MAX;
                offset = c.next;
                console_chunk_done(&c);
                if (s != EXIT_OK)
                        return s;
                if (!more)
                        break;
        }
        if (!a->follow)
                return EXIT_OK;
        commands_install_signal_handlers();

        /* Follow: what comes next, until interrupted or the VM is gone. */
        bool unreachable = false, more = false;
        while (!stop_requested) {
                if (!more) /* a full chunk: the rest is read at once */
                        sleep_ms(POLL_INTERVAL_MS);
                more = false;
                if (stop_requested)
                        break;
                ConsoleChunk c = { 0 };
                rpc_error_done(&err);
                if (console_read(ctx, cmd->method, id, offset, CONSOLE_CHUNK_MAX, &c, &err) < 0) {
                        if (streq_ptr(err.code, "not_found")) {
                                fprintf(stderr, "metalctl: vm \"%s\" is gone (deleted)\n", id);
                                return EXIT_OK;
                        }
                        if (err.code || err.status == EXIT_LOCAL)
                                return report_rpc_error(&err);
                        /* metald restarting: keep trying, say so once. */
                        if (!unreachable)
                                fprintf(stderr, "metalctl: %s; still trying\n", err.message);
                        unreachable = true;
                        continue;
                }
                if (unreachable)
                        fprintf(stderr, "metalctl: metald answers again\n");
                unreachable = false;
                if (c.skipped)
                        fprintf(stderr,
                                "metalctl: console output %" PRIu64 "-%" PRIu64
                                " was cut before it could be read\n",
                                offset, c.offset);
                ExitStatus s = c.next > c.offset ? console_print(ctx, &c, 0) : EXIT_OK;
                more = c.next - c.offset >= CONSOLE_CHUNK_MAX;
                offset = c.next;
                console_chunk_done(&c);
                if (s != EXIT_OK)
                        return s;
        }
        return EXIT_OK;
}

/* ---- wait ------------------------------------------------------------------------ */

static bool state_in(const char *state, const char *const *states, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (streq_ptr(state, states[i]))
                        return true;
        return false;
}

static ExitStatus wait_reached(Ctx *ctx, const char *id, const json_t *info, const char *state) {
        if (ctx->output != OUTPUT_TABLE && info)
                return print_json(ctx, info);
        if (ctx->output != OUTPUT_TABLE) { /* deleted: metald's answer was not_found */
                _cleanup_json_ json_t *gone = json_pack("{s:s, s:s}", "vmId", id, "state", state);
                return gone ? print_json(ctx, gone) : report_arg_error(-ENOMEM, NULL);
        }
        return printf("%s: %s\n", id, state_label(state)) < 0 ? EXIT_LOCAL : EXIT_OK;
}

ExitStatus cmd_wait(Ctx *ctx, const Command *cmd) {
        const Args *a = ctx->args;
        const char *id = vm_arg(ctx);
        ExitStatus s = EXIT_OK;
        uint64_t timeout;
        _cleanup_free_ const char **states = NULL;
        size_t n_states = 0;
        if (number_option("timeout", a->timeout, WAIT_DEFAULT_TIMEOUT_S, 0, 7 * 24 * 3600, &timeout, &s) <
                    0 ||
            parse_states(&a->states, &states, &n_states, &s) < 0)
                return s;
        if (n_states == 0)
                return usage_error("wait: say which state with --state (%s)", state_names_help());

        uint64_t deadline = now_mono_us() + timeout * 1000000;
        const char *last = NULL; /* the state last seen, for the timeout message */
        _cleanup_json_ json_t *info = NULL;
        for (bool first = true;; first = false) {
                _cleanup_json_ json_t *req = vm_request(id, false, 0);
                _cleanup_rpc_error_ RpcError err = { 0 };
                if (!req)
                        return report_arg_error(-ENOMEM, NULL);
                json_decref(info);
                info = NULL;
                if (client_call(ctx->client, cmd->method, req, &info, &err) < 0) {
                        if (streq_ptr(err.code, "not_found") &&
                            state_in("VM_STATE_DELETED", states, n_states))
                                return wait_reached(ctx, id, NULL, "VM_STATE_DELETED");
                        /* metald away for a moment (restarting) is waited out; at the start it is an error. */
                        if (err.code || first || err.status == EXIT_LOCAL)
                                return report_rpc_error(&err);
                        last = "not reachable";
                } else {
                        const char *state = json_string_value(json_object_get(info, "state"));
                        last = state_label(state);
                        if (state_in(state, states, n_states))
                                return wait_reached(ctx, id, info, state);
                        if (streq_ptr(state, "VM_STATE_FAILED") &&
                            !json_is_true(json_object_get(info, "transitioning"))) {
                                const char *why = json_string_value(json_object_get(info, "lastError"));
                                fprintf(stderr, "metalctl: vm \"%s\" failed: %s\n", id,
                                        isempty(why) ? "(no error recorded)" : why);
                                return EXIT_VM_FAILED;
                        }
                }
                if (timeout > 0 && now_mono_us() >= deadline) {
                        _cleanup_free_ char *want = NULL;
                        for (size_t i = 0; i < n_states; i++) {
                                char *w = strdup_printf("%s%s%s", want ? want : "", want ? " or " : "",
                                                        state_label(states[i]));
                                free(want);
                                want = w;
                                if (!want)
                                        return report_arg_error(-ENOMEM, NULL);
                        }
                        fprintf(stderr,
                                "metalctl: timed out after %" PRIu64
                                " s waiting for vm \"%s\" to be %s (it is %s)\n",
                                timeout, id, want, last ? last : "unknown");
                        return EXIT_TIMEOUT;
                }
                sleep_ms(POLL_INTERVAL_MS);
        }
}
