/* SPDX-License-Identifier: Apache-2.0 */
/* metald: parse options, build the manager, serve until told to stop. */
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>

#include "config-check.h"
#include "manager.h"
#include "util/log.h"

/* --hash-token: the token on stdin (one line) to the hash a --tokens line
 * starts with. The token itself is never written anywhere. */
static int hash_token(void) {
        char buf[4097];
        size_t n = fread(buf, 1, sizeof buf - 1, stdin);
        buf[n] = 0;
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
                buf[--n] = 0;
        int rc = 0;
        if (n == sizeof buf - 1 || strlen(buf) != n)
                rc = fprintf(stderr,
                             "metald: --hash-token: the token must be one line of at most 4095 bytes\n");
        else if (n < TOKEN_MIN_LENGTH)
                rc = fprintf(stderr,
                             "metald: --hash-token: a token needs at least %d characters (use e.g. "
                             "head -c 32 /dev/urandom | base64)\n",
                             TOKEN_MIN_LENGTH);
        else if (strpbrk(buf, " \t\n"))
                rc = fprintf(stderr, "metald: --hash-token: a token must not contain blanks\n");
        char text[TOKEN_HASH_TEXT_SIZE];
        if (rc == 0 && token_hash_text(buf, n, text, sizeof text) < 0)
                rc = fprintf(stderr, "metald: --hash-token: hashing failed\n");
        explicit_bzero(buf, sizeof buf);
        if (rc != 0)
                return 2;
        printf("%s\n", text);
        return 0;
}

int main(int argc, char *argv[]) {
        Options o = { 0 };
        _cleanup_free_ char *err = NULL;
        int r = options_parse(argc, argv, &o, &err);
        if (r < 0) {
                /* One line per usage error, each naming its option. */
                const char *line = err ? err : strerror(-r);
                for (const char *nl; (nl = strchr(line, '\n')); line = nl + 1)
                        fprintf(stderr, "metald: %.*s\n", (int) (nl - line), line);
                fprintf(stderr, "metald: %s\n", line);
                options_done(&o);
                return 2;
        }
        if (o.check_config) {
                printf("metald %s: effective settings\n", METALD_VERSION);
                options_dump(&o, stdout);
                unsigned problems = config_check(&o, stdout);
                if (problems)
                        printf("configuration is invalid: %u problem(s)\n", problems);
                else
                        printf("configuration is valid\n");
                options_done(&o);
                return problems ? 1 : 0;
        }
        if (o.hash_token) {
                options_done(&o);
                return hash_token();
        }
        if (o.help || o.version) {
                if (o.help)
                        options_help(argv[0]);
                else
                        printf("metald %s\n", METALD_VERSION);
                options_done(&o);
                return 0;
        }
        log_max_level = o.log_level;
        log_open();

        /* Signals the event loop handles are blocked before any thread starts, so
         * they reach only its signalfd. VMMs get a clean mask (vmm_spawn). */
        sigset_t ss;
        sigemptyset(&ss);
        sigaddset(&ss, SIGTERM);
        sigaddset(&ss, SIGINT);
        sigaddset(&ss, SIGCHLD);
        sigaddset(&ss, SIGHUP);
        pthread_sigmask(SIG_BLOCK, &ss, NULL);
        signal(SIGPIPE, SIG_IGN);
        curl_global_init(CURL_GLOBAL_DEFAULT);

        Manager *m = NULL;
        r = manager_new(&o, &m, &err);
        if (r >= 0)
                r = manager_startup(m, &err);
        if (r < 0) {
                log_error("cannot start: %s", err ? err : strerror(-r));
                manager_free(m);
                options_done(&o);
                curl_global_cleanup();
                return 1;
        }
        r = manager_run(m);
        manager_free(m);
        options_done(&o);
        curl_global_cleanup();
        if (r < 0) {
                log_error("event loop failed: %s", strerror(-r));
                return 1;
        }
        log_info("stopped");
        return 0;
}
