/* SPDX-License-Identifier: Apache-2.0 */
/*
 * metalctl: the command-line client of metald. Parses the global options,
 * finds the command in the table below, parses its options, connects the
 * client, runs the handler (commands.c) and exits with its status
 * (exit-status.h).
 */
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>

#include "args.h"
#include "commands.h"
#include "request.h"

#define OPT(field) offsetof(Args, field)

static const OptionSpec global_options[] = {
        { "url", 0, ARG_STRING, OPT(url), "URL",
          "metald's API: http://HOST:PORT or unix:/PATH (default $METALD_URL, else " METALCTL_DEFAULT_URL
          ")" },
        { "token-file", 0, ARG_STRING, OPT(token_file), "FILE",
          "send the token in FILE as \"Authorization: Bearer\" (default: $METALD_TOKEN)" },
        { "json", 0, ARG_OPTIONAL_STRING, OPT(json), "pretty|compact",
          "print metald's JSON answer instead of a table (pretty: indented, the default; compact: one "
          "line)" },
        { "request-timeout", 0, ARG_STRING, OPT(request_timeout), "SECONDS",
          "give up on an answer after SECONDS (default 60)" },
        { "help", 'h', ARG_FLAG, OPT(help), NULL, "show help (of a command, after its name)" },
        { "version", 0, ARG_FLAG, OPT(version), NULL, "show metalctl's version" },
};

static const OptionSpec create_options[] = {
        { "file", 'f', ARG_STRING, OPT(file), "FILE",
          "read a VmConfig or a whole CreateVmRequest (JSON) from FILE (- for stdin) instead of the flags "
          "below" },
        { "id", 0, ARG_STRING, OPT(id), "ID", "the VM's id (default: metald makes one, vm-...)" },
        { "vcpus", 0, ARG_STRING, OPT(vcpus), "N", "vCPUs at boot (required without -f)" },
        { "max-vcpus", 0, ARG_STRING, OPT(max_vcpus), "N", "vCPUs it may grow to (CPU hotplug)" },
        { "memory", 0, ARG_STRING, OPT(memory), "SIZE", "memory, e.g. 512M or 1G (required without -f)" },
        { "hotplug-memory", 0, ARG_STRING, OPT(hotplug_memory), "SIZE",
          "memory it may add later (hotplug)" },
        { "kernel", 0, ARG_STRING, OPT(kernel), "PATH",
          "the guest kernel, inside an asset root (required without -f)" },
        { "kernel-args", 0, ARG_STRING, OPT(kernel_args), "ARGS", "the kernel command line" },
        { "initrd", 0, ARG_STRING, OPT(initrd), "PATH", "an initrd" },
        { "disk", 0, ARG_LIST, OPT(disks), "PATH[,ro][,root][,id=NAME]",
          "a disk; repeatable, in order (the first is the root unless one says root)" },
        { "customer", 0, ARG_STRING, OPT(customer), "ID", "the customer it belongs to" },
        { "backend", 0, ARG_STRING, OPT(backend), "NAME",
          "firecracker, cloud-hypervisor, ... (default: metald's)" },
        { "restart-policy", 0, ARG_STRING, OPT(restart_policy), "POLICY",
          "never, on-failure (default) or always: what to do when its VMM exits on its own" },
        { "metadata", 0, ARG_LIST, OPT(metadata), "KEY=VALUE", "a metadata entry; repeatable" },
        { "boot", 0, ARG_FLAG, OPT(boot), NULL, "boot it too, and answer once it runs" },
};

static const OptionSpec force_options[] = {
        { "force", 0, ARG_FLAG, OPT(force), NULL, "kill the VMM instead of asking the guest" },
};

static const OptionSpec shutdown_options[] = {
        { "force", 0, ARG_FLAG, OPT(force), NULL, "kill the VMM instead of asking the guest to power off" },
        { "timeout", 0, ARG_STRING, OPT(timeout), "SECONDS",
          "how long the guest has to power off before it is killed (0-600; default 30)" },
};

static const OptionSpec list_options[] = {
        { "state", 0, ARG_LIST, OPT(states), "STATE",
          "only VMs in STATE (created, running, paused, shutdown, failed, deleted); repeatable or "
          "comma-separated" },
        { "customer", 0, ARG_STRING, OPT(customer), "ID", "only the VMs of this customer" },
        { "all", 'a', ARG_FLAG, OPT(all), NULL, "include deleted VMs" },
        { "limit", 0, ARG_STRING, OPT(limit), "N", "at most N VMs (default: all, page after page)" },
        { "page-size", 0, ARG_STRING, OPT(page_size), "N",
          "VMs per request (1-1000; default metald's, 100)" },
        { "page-token", 0, ARG_STRING, OPT(page_token), "TOKEN",
          "start where a --limit'ed --json list stopped" },
};

static const OptionSpec history_options[] = {
        { "page-size", 0, ARG_STRING, OPT(page_size), "N",
          "events per request (1-1000; default metald's, 100)" },
};

static const OptionSpec metrics_options[] = {
        { "from", 0, ARG_STRING, OPT(from), "TIME",
          "samples at or after TIME: RFC 3339 (2024-05-01T12:00:00Z) or ms since the epoch" },
        { "to", 0, ARG_STRING, OPT(to), "TIME", "samples before TIME" },
        { "limit", 0, ARG_STRING, OPT(limit), "N", "at most N samples, the oldest first (default: all)" },
        { "page-size", 0, ARG_STRING, OPT(page_size), "N",
          "samples per request (1-1000; default metald's, 100)" },
};

static const OptionSpec console_options[] = {
        { "follow", 'f', ARG_FLAG, OPT(follow), NULL,
          "keep printing new output until interrupted or the VM is deleted" },
        { "from-start", 0, ARG_FLAG, OPT(from_start), NULL, "start at the oldest output metald keeps" },
        { "tail", 0, ARG_STRING, OPT(tail), "SIZE",
          "start this far before the end, at a line start (default 64K; 0: only new output)" },
};

static const OptionSpec wait_options[] = {
        { "state", 0, ARG_LIST, OPT(states), "STATE",
          "the state to wait for (created, running, paused, shutdown, failed, deleted); repeatable: any of "
          "them" },
        { "timeout", 0, ARG_STRING, OPT(timeout), "SECONDS",
          "give up after SECONDS (default 60; 0: never)" },
};

#define OPTIONS(t) t, ELEMENTSOF(t)
#define NO_OPTIONS NULL, 0

static ExitStatus cmd_help(Ctx *ctx, const Command *cmd);

static const Command commands[] = {
        { "create", cmd_create, "CreateVm", OPTIONS(create_options), 0, 0,
          "[--id ID] --vcpus N --memory SIZE --kernel PATH [--disk SPEC]... [OPTIONS] | -f FILE [OPTIONS]",
          "create a VM (and boot it, with --boot)",
          "Prints the VM's id. SIZE: a whole number with an optional unit K, M, G or T (1K = 1024).\n"
          "With -f, the file holds a VmConfig or a whole CreateVmRequest; --id, --customer,\n"
          "--backend, --restart-policy, --metadata and --boot are laid over it." },
        { "boot", cmd_lifecycle, "BootVm", NO_OPTIONS, 1, 1, "VM", "boot a created or shut down VM",
          "Answers once the VM runs (or metald's wait, 30 s, ends)." },
        { "pause", cmd_lifecycle, "PauseVm", NO_OPTIONS, 1, 1, "VM", "pause a running VM's vCPUs", NULL },
        { "resume", cmd_lifecycle, "ResumeVm", NO_OPTIONS, 1, 1, "VM", "resume a paused VM", NULL },
        { "reboot", cmd_lifecycle, "RebootVm", OPTIONS(force_options), 1, 1, "[--force] VM", "reboot a VM",
          NULL },
        { "shutdown", cmd_lifecycle, "ShutdownVm", OPTIONS(shutdown_options), 1, 1,
          "[--force] [--timeout SECONDS] VM", "power a VM off",
          "Asks the guest to power off (Ctrl-Alt-Del) and kills it after --timeout." },
        { "delete", cmd_lifecycle, "DeleteVm", OPTIONS(force_options), 1, 1, "[--force] VM",
          "delete a VM (its history stays: metalctl history, list --all)", NULL },
        { "info", cmd_info, "GetVmInfo", NO_OPTIONS, 1, 1, "VM", "show a VM's config and state", NULL },
        { "list", cmd_list, "ListVms", OPTIONS(list_options), 0, 0,
          "[--state STATE]... [--customer ID] [--all] [--limit N]", "list VMs",
          "Follows the pages until every VM is listed, or --limit." },
        { "history", cmd_history, "GetVmHistory", OPTIONS(history_options), 1, 1, "VM",
          "show every desired change and observed transition of a VM (also a deleted one)", NULL },
        { "metrics", cmd_metrics, "GetVmMetrics", OPTIONS(metrics_options), 1, 1,
          "[--from TIME] [--to TIME] [--limit N] VM",
          "show a VM's usage samples (CPU, memory, disk, network)",
          "One row per sample, oldest first; the counters are what happened during the sample's\n"
          "interval. Needs a metald with the GetVmMetrics RPC: with an older one, exits 8." },
        { "console", cmd_console, "GetVmConsole", OPTIONS(console_options), 1, 1,
          "[-f] [--from-start | --tail SIZE] VM", "print a VM's serial console output",
          "Prints the last 64K of the console (whole lines), or all metald keeps with\n"
          "--from-start; with -f, then follows new output every 200 ms until interrupted\n"
          "(SIGINT or SIGTERM: exit 0) or the VM is deleted." },
        { "wait", cmd_wait, "GetVmInfo", OPTIONS(wait_options), 1, 1, "--state STATE [--timeout SECONDS] VM",
          "wait until a VM is in a state",
          "Polls every 200 ms. Exits 0 once the VM is in (one of) the states, 5 on timeout,\n"
          "6 when the VM failed instead, 3 when it does not exist (unless waiting for deleted)." },
        { "help", cmd_help, NULL, NO_OPTIONS, 0, 1, "[COMMAND]", "show help", NULL },
};

static const Command *command_find(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                if (streq(commands[i].name, name))
                        return &commands[i];
        return NULL;
}

static void help_main(FILE *f) {
        fprintf(f, "Usage: metalctl [GLOBAL OPTIONS] COMMAND [OPTIONS] [VM]\n\n"
                   "The command-line client of metald (the vmprovisioner.v1.VmService Connect API).\n\n"
                   "Commands:\n");
        for (size_t i = 0; i < ELEMENTSOF(commands); i++) {
                fprintf(f, "  %-10s", commands[i].name);
                args_print_wrapped(f, 13, 12, commands[i].summary);
        }
        fprintf(f, "\nGlobal options (anywhere on the line):\n");
        args_print_help(f, global_options, ELEMENTSOF(global_options));
        fprintf(f, "\nEnvironment:\n"
                   "  METALD_URL      metald's API, as --url\n"
                   "  METALD_TOKEN    the bearer token, unless --token-file\n"
                   "\nExit statuses:\n");
        for (int s = 0; s < _EXIT_STATUS_MAX; s++) {
                fprintf(f, "  %d", s);
                args_print_wrapped(f, 5, 3, exit_status_description((ExitStatus) s));
        }
        fprintf(f, "\n`metalctl COMMAND --help` shows a command's options; man metalctl says more.\n");
}

static void help_command(FILE *f, const Command *cmd) {
        fprintf(f, "Usage: metalctl %s %s\n\n%c%s.\n", cmd->name, cmd->usage, cmd->summary[0] - 'a' + 'A',
                cmd->summary + 1);
        if (cmd->help)
                fprintf(f, "\n%s\n", cmd->help);
        if (cmd->n_options > 0) {
                fprintf(f, "\nOptions:\n");
                args_print_help(f, cmd->options, cmd->n_options);
        }
        fprintf(f, "\nGlobal options: --url URL, --token-file FILE, --json[=compact], --request-timeout "
                   "SECONDS\n"
                   "(see metalctl --help).\n");
}

static ExitStatus cmd_help(Ctx *ctx, const Command *cmd) {
        (void) cmd;
        const Args *a = ctx->args;
        if (a->n_positional == 0) {
                help_main(stdout);
                return EXIT_OK;
        }
        const Command *c = command_find(a->positional[0]);
        if (!c)
                return usage_error("unknown command \"%s\" (see metalctl --help)", a->positional[0]);
        help_command(stdout, c);
        return EXIT_OK;
}

/* The token: --token-file's content (trailing whitespace dropped), else
 * $METALD_TOKEN, else none. */
static ExitStatus load_token(const Args *a, char **ret) {
        if (!a->token_file) {
                const char *env = getenv("METALD_TOKEN");
                *ret = isempty(env) ? NULL : strdup(env);
                return !isempty(env) && !*ret ? EXIT_LOCAL : EXIT_OK;
        }
        _cleanup_free_ char *text = NULL;
        size_t size;
        int r = read_full_file(a->token_file, 64 << 10, &text, &size);
        if (r < 0)
                return usage_error("--token-file %s: %s", a->token_file,
                                   r == -EFBIG ? "larger than 64 KiB: not a token" : strerror(-r));
        while (size > 0 && strchr(" \t\r\n", text[size - 1]))
                text[--size] = 0;
        if (strlen(text) != size || size == 0)
                return usage_error("--token-file %s: %s", a->token_file,
                                   size ? "holds a NUL byte" : "is empty");
        *ret = TAKE_PTR(text);
        return EXIT_OK;
}

static ExitStatus output_mode(const char *json, OutputMode *ret) {
        if (!json)
                *ret = OUTPUT_TABLE;
        else if (streq(json, "") || streq(json, "pretty"))
                *ret = OUTPUT_JSON_PRETTY;
        else if (streq(json, "compact"))
                *ret = OUTPUT_JSON_COMPACT;
        else
                return usage_error("--json=%s: use --json, --json=pretty or --json=compact", json);
        return EXIT_OK;
}

static ExitStatus run(int argc, char *argv[], Args *a) {
        _cleanup_free_ char *msg = NULL;
        const OptionSpec *tables[] = { global_options, NULL };
        size_t sizes[] = { ELEMENTSOF(global_options), 0 };

        int r = args_parse(tables, sizes, 1, argc, argv, true, a, &msg);
        if (r < 0)
                return r == -ENOMEM ? EXIT_LOCAL : usage_error("%s (see metalctl --help)", msg);
        if (a->version) {
                printf("metalctl %s\n", METALD_VERSION);
                return EXIT_OK;
        }
        if (a->n_positional == 0) {
                help_main(a->help ? stdout : stderr);
                return a->help ? EXIT_OK : EXIT_USAGE;
        }
        const Command *cmd = command_find(a->positional[0]);
        if (!cmd)
                return usage_error("unknown command \"%s\" (see metalctl --help)", a->positional[0]);

        tables[1] = cmd->options;
        sizes[1] = cmd->n_options;
        r = args_parse(tables, sizes, 2, (int) a->n_positional, a->positional, false, a, &msg);
        if (r < 0)
                return r == -ENOMEM
                               ? EXIT_LOCAL
                               : usage_error("%s: %s (see metalctl %s --help)", cmd->name, msg, cmd->name);
        /* Now a->positional holds what follows the command name. */
        if (a->help) {
                help_command(stdout, cmd);
                return EXIT_OK;
        }
        size_t n = a->n_positional;
        if (n < cmd->min_args || n > cmd->max_args)
                return usage_error("%s: %s (usage: metalctl %s %s)", cmd->name,
                                   n < cmd->min_args ? "which VM?" : "too many arguments", cmd->name,
                                   cmd->usage);

        Ctx ctx = { .args = a };
        ExitStatus s = output_mode(a->json, &ctx.output);
        if (s != EXIT_OK)
                return s;
        if (cmd->run == cmd_help)
                return cmd_help(&ctx, cmd);

        uint64_t timeout = METALCTL_DEFAULT_REQUEST_TIMEOUT_S;
        if (a->request_timeout &&
            uint_arg("request-timeout", a->request_timeout, 1, 86400, &timeout, &msg) < 0)
                return usage_error("%s", msg ? msg : "out of memory");
        _cleanup_free_ char *token = NULL;
        s = load_token(a, &token);
        if (s != EXIT_OK)
                return s;
        const char *url = a->url                           ? a->url
                          : !isempty(getenv("METALD_URL")) ? getenv("METALD_URL")
                                                           : METALCTL_DEFAULT_URL;

        r = client_new(url, token, (unsigned) timeout, &ctx.client, &msg);
        if (token)
                explicit_bzero(token, strlen(token));
        if (r < 0)
                return r == -ENOMEM ? EXIT_LOCAL : usage_error("%s", msg);
        s = cmd->run(&ctx, cmd);
        client_free(ctx.client);
        return s;
}

int main(int argc, char *argv[]) {
        /* A closed pipe (metalctl list | head) is a write error, not a death. */
        signal(SIGPIPE, SIG_IGN);
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
                fputs("metalctl: cannot initialize libcurl\n", stderr);
                return EXIT_LOCAL;
        }
        Args a = { 0 };
        ExitStatus s = run(argc, argv, &a);
        args_done(&a);
        curl_global_cleanup();
        if (fflush(stdout) != 0 || ferror(stdout)) {
                if (errno != EPIPE)
                        fprintf(stderr, "metalctl: cannot write the output: %s\n", strerror(errno));
                if (s == EXIT_OK)
                        s = EXIT_LOCAL;
        }
        return (int) s;
}
