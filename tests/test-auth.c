/* SPDX-License-Identifier: Apache-2.0 */
/* Token files, token matching, role/tenant rules, quota and size parsing, and
 * who auth_authenticate makes each kind of caller. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/auth.h"
#include "options.h"
#include "test.h"

/* sha256("tenant-a-secret-token-0001") etc., computed by token_hash_text. */
static char *hash_of(const char *token) {
        static char buf[4][TOKEN_HASH_TEXT_SIZE];
        static int i;
        char *b = buf[i++ % 4];
        CHECK(token_hash_text(token, strlen(token), b, TOKEN_HASH_TEXT_SIZE) == 0);
        return b;
}

static void test_hash_text(void) {
        char b[TOKEN_HASH_TEXT_SIZE];
        CHECK(token_hash_text("abc", 3, b, sizeof b) == 0);
        /* The SHA-256 test vector of "abc" (FIPS 180-2). */
        CHECK_STREQ(b, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        CHECK(token_hash_text("abc", 3, b, 10) == -ENOBUFS);
}

/* Parse text; on failure return the error message (static), on success NULL and *ret. */
static char *parse_error(const char *text) {
        static char msg[512];
        TokenTable *t = NULL;
        char *err = NULL;
        int r = token_table_parse(text, "tokens", &t, &err);
        token_table_free(t);
        if (r >= 0) {
                free(err);
                return NULL;
        }
        snprintf(msg, sizeof msg, "%s", err ? err : "(no message)");
        free(err);
        return msg;
}

static void test_parse_good(void) {
        char text[2048];
        snprintf(text, sizeof text,
                 "# metald tokens\n"
                 "\n"
                 "%s * admin   # the operator\n"
                 "   %s\tacme\ttenant\n"
                 "%s globex read-only\r\n"
                 "%s * read-only\n",
                 hash_of("admin-secret-token-000001"), hash_of("tenant-acme-token-000001"),
                 hash_of("reader-globex-token-00001"), hash_of("host-reader-token-000001"));
        TokenTable *t = NULL;
        char *err = NULL;
        CHECK(token_table_parse(text, "tokens", &t, &err) == 0);
        CHECK(err == NULL);
        CHECK(t && t->n == 4);
        RpcCaller c;
        CHECK(token_table_match(t, "admin-secret-token-000001", 25, &c));
        CHECK(c.role == CALLER_ADMIN && c.tenant[0] == 0);
        CHECK(token_table_match(t, "tenant-acme-token-000001", 24, &c));
        CHECK(c.role == CALLER_TENANT);
        CHECK_STREQ(c.tenant, "acme");
        CHECK(token_table_match(t, "reader-globex-token-00001", 25, &c));
        CHECK(c.role == CALLER_READ_ONLY);
        CHECK_STREQ(c.tenant, "globex");
        CHECK(token_table_match(t, "host-reader-token-000001", 24, &c));
        CHECK(c.role == CALLER_READ_ONLY && c.tenant[0] == 0);
        /* Near misses: a prefix, one more byte, one byte changed, empty. */
        CHECK(!token_table_match(t, "admin-secret-token-00000", 24, &c));
        CHECK(!token_table_match(t, "admin-secret-token-0000011", 26, &c));
        CHECK(!token_table_match(t, "admin-secret-token-000002", 25, &c));
        CHECK(!token_table_match(t, "", 0, &c));
        /* The hash text itself is not a token. */
        CHECK(!token_table_match(t, hash_of("admin-secret-token-000001"), TOKEN_HASH_TEXT_SIZE - 1, &c));
        CHECK(!token_table_match(NULL, "x", 1, &c));
        token_table_free(t);

        /* An empty file and a comments-only file are valid: no token matches. */
        CHECK(parse_error("") == NULL);
        CHECK(parse_error("# nothing yet\n\n   \n") == NULL);
}

static void test_parse_bad(void) {
        char line[512];
        const char *h = hash_of("some-token-value-000001");
        struct {
                const char *fmt;
                const char *want; /* substring of the error */
        } cases[] = {
                { "plaintext-token acme tenant\n", "tokens:1: the hash must start with \"sha256:\"" },
                { "%s acme\n", "tokens:1: expected" },
                { "%s\n", "tokens:1: expected" },
                { "\n\n%s acme owner\n", "tokens:3: the role must be admin, tenant or read-only" },
                { "%s acme tenant extra\n", "tokens:1: unexpected text" },
                { "%s * tenant\n", "tokens:1: role tenant needs a tenant name" },
                { "%s acme admin\n", "tokens:1: role admin takes no tenant" },
                { "%s ac/me tenant\n", "tokens:1: the tenant must be" },
                { "sha256:abcd acme tenant\n", "tokens:1: the sha256 hash must be 64 hex digits" },
                { "sha256:zz7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad acme tenant\n",
                  "64 hex digits" },
                { "sha512:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad acme tenant\n",
                  "must start with \"sha256:\"" },
                { "%s acme tenant\n# ok\n%s globex tenant\n", "tokens:3: the same token hash as line 1" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                /* Each "%s" in the case stands for the hash h. */
                size_t j = 0;
                for (const char *f = cases[i].fmt; *f && j + 80 < sizeof line;)
                        if (f[0] == '%' && f[1] == 's') {
                                j += (size_t) snprintf(line + j, sizeof line - j, "%s", h);
                                f += 2;
                        } else
                                line[j++] = *f++;
                line[j] = 0;
                char *err = parse_error(line);
                CHECK(err != NULL);
                if (err && !strstr(err, cases[i].want)) {
                        fprintf(stderr, "case %zu: \"%s\" does not contain \"%s\"\n", i, err, cases[i].want);
                        CHECK(false);
                }
        }
}

static void test_load(void) {
        char path[] = "/tmp/test-auth-XXXXXX";
        int fd = mkstemp(path);
        CHECK(fd >= 0);
        dprintf(fd, "%s acme tenant\n", hash_of("tenant-acme-token-000001"));
        close(fd);
        TokenTable *t = NULL;
        char *err = NULL;
        CHECK(token_table_load(path, &t, &err) == 0 && t && t->n == 1);
        token_table_free(t);
        chmod(path, 0646);
        t = NULL;
        err = NULL;
        CHECK(token_table_load(path, &t, &err) == -EPERM && !t);
        CHECK(err && strstr(err, "writable by every user"));
        free(err);
        unlink(path);
        t = NULL;
        CHECK(token_table_load(path, &t, &err) == -ENOENT);
        CHECK(err && strstr(err, "cannot read --tokens"));
        free(err);
}

static void test_principal(void) {
        char name[64];
        RpcCaller c;
        char *err = NULL;
        CHECK(principal_parse("unix-user", "1000=tenant:acme", name, sizeof name, &c, &err) == 0);
        CHECK_STREQ(name, "1000");
        CHECK(c.role == CALLER_TENANT);
        CHECK_STREQ(c.tenant, "acme");
        CHECK(principal_parse("unix-user", "nobody=read-only", name, sizeof name, &c, &err) == 0);
        CHECK(c.role == CALLER_READ_ONLY && c.tenant[0] == 0);
        CHECK(principal_parse("tls-client-map", "ops.example=admin", name, sizeof name, &c, &err) == 0);
        CHECK_STREQ(name, "ops.example");
        const char *bad[] = { "1000",      "=admin",         "1000=tenant", "1000=admin:acme",
                              "1000=root", "1000=tenant:a b" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                err = NULL;
                CHECK(principal_parse("unix-user", bad[i], name, sizeof name, &c, &err) == -EINVAL);
                CHECK(err && strstr(err, "--unix-user"));
                free(err);
        }
}

static void test_quota_and_size(void) {
        uint64_t v;
        CHECK(size_parse("4096", &v) == 0 && v == 4096);
        CHECK(size_parse("2K", &v) == 0 && v == 2048);
        CHECK(size_parse("512M", &v) == 0 && v == 512ull << 20);
        CHECK(size_parse("4G", &v) == 0 && v == 4ull << 30);
        CHECK(size_parse("1GiB", &v) == 0 && v == 1ull << 30);
        CHECK(size_parse("1T", &v) == 0 && v == 1ull << 40);
        CHECK(size_parse("", &v) < 0);
        CHECK(size_parse("-1", &v) < 0);
        CHECK(size_parse("1X", &v) < 0);
        CHECK(size_parse("99999999999999T", &v) == -ERANGE);

        TenantQuota q;
        char *err = NULL;
        CHECK(tenant_quota_parse("acme:vms=3,vcpus=8,memory=4G", &q, &err) == 0);
        CHECK_STREQ(q.tenant, "acme");
        CHECK(q.vms == 3 && q.vcpus == 8 && q.memory_bytes == 4ull << 30);
        CHECK(tenant_quota_parse("globex:vcpus=2", &q, &err) == 0);
        CHECK(q.vms == 0 && q.vcpus == 2 && q.memory_bytes == 0);
        const char *bad[] = { "acme",       "acme:",     "acme:vms=0",       "acme:cpus=2",
                              "acme:vms=x", "a/b:vms=1", "acme:memory=lots", "acme:vms=-1" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                err = NULL;
                CHECK(tenant_quota_parse(bad[i], &q, &err) == -EINVAL);
                CHECK(err && strstr(err, "--tenant-quota"));
                free(err);
        }
}

static void test_authenticate(void) {
        char path[] = "/tmp/test-auth-XXXXXX";
        int fd = mkstemp(path);
        dprintf(fd, "%s acme tenant\n%s * admin\n", hash_of("tenant-acme-token-000001"),
                hash_of("admin-secret-token-000001"));
        close(fd);
        PrincipalRule users[] = { { .name = "1000", .uid = 1000, .caller = { .role = CALLER_READ_ONLY } } };
        PrincipalRule certs[] = { { .name = "ops", .caller = { .role = CALLER_ADMIN } } };
        AuthConfig cfg = { .tokens_path = path,
                           .unix_users = users,
                           .n_unix_users = 1,
                           .cert_rules = certs,
                           .n_cert_rules = 1,
                           .client_certs = true };
        Auth *a = NULL;
        char *err = NULL;
        CHECK(auth_new(&cfg, &a, &err) == 0);
        CHECK(auth_enabled(a));
        RpcCaller c;
        ConnectError e;
        CallerCredentials cr = { .authorization = "Bearer tenant-acme-token-000001" };
        CHECK(auth_authenticate(a, &cr, &c, &e) == 0 && c.role == CALLER_TENANT);
        CHECK_STREQ(c.tenant, "acme");
        cr.authorization = "bearer   admin-secret-token-000001 ";
        CHECK(auth_authenticate(a, &cr, &c, &e) == 0 && c.role == CALLER_ADMIN);
        cr.authorization = "Bearer nope-nope-nope-nope";
        CHECK(auth_authenticate(a, &cr, &c, &e) < 0 && e.code == CONNECT_UNAUTHENTICATED);
        cr.authorization = "Basic dXNlcjpwYXNz";
        CHECK(auth_authenticate(a, &cr, &c, &e) < 0 && e.code == CONNECT_UNAUTHENTICATED);
        /* A bad token is refused even from root on the Unix socket. */
        cr = (CallerCredentials){ .authorization = "Bearer wrong-wrong-wrong-wrong",
                                  .unix_peer = true,
                                  .uid = 0 };
        CHECK(auth_authenticate(a, &cr, &c, &e) < 0 && e.code == CONNECT_UNAUTHENTICATED);
        cr = (CallerCredentials){ .unix_peer = true, .uid = 0 };
        CHECK(auth_authenticate(a, &cr, &c, &e) == 0 && c.role == CALLER_ADMIN);
        cr.uid = 1000;
        CHECK(auth_authenticate(a, &cr, &c, &e) == 0 && c.role == CALLER_READ_ONLY);
        cr.uid = 1001;
        CHECK(auth_authenticate(a, &cr, &c, &e) < 0 && e.code == CONNECT_UNAUTHENTICATED);
        CHECK(strstr(e.message, "uid 1001"));
        cr = (CallerCredentials){ 0 };
        CHECK(auth_authenticate(a, &cr, &c, &e) < 0 && e.code == CONNECT_UNAUTHENTICATED);
        cr = (CallerCredentials){ .tls_client_cert = true,
                                  .tls_client_verified = true,
                                  .tls_client_cn = "ops" };
        CHECK(auth_authenticate(a, &cr, &c, &e) == 0 && c.role == CALLER_ADMIN);
        cr.tls_client_cn = "globex";
        CHECK(auth_authenticate(a, &cr, &c, &e) == 0 && c.role == CALLER_TENANT);
        CHECK_STREQ(c.tenant, "globex");
        cr.tls_client_cn = "not a tenant";
        CHECK(auth_authenticate(a, &cr, &c, &e) < 0 && e.code == CONNECT_UNAUTHENTICATED);
        cr = (CallerCredentials){ .tls_client_cert = true,
                                  .tls_client_verified = false,
                                  .tls_client_cn = "ops" };
        CHECK(auth_authenticate(a, &cr, &c, &e) < 0 && e.code == CONNECT_UNAUTHENTICATED);

        /* Reload: a new file replaces the tokens; a bad one keeps them. */
        fd = open(path, O_WRONLY | O_TRUNC);
        dprintf(fd, "%s * admin\n", hash_of("admin-secret-token-000001"));
        close(fd);
        CHECK(auth_reload(a, &err) == 1);
        cr = (CallerCredentials){ .authorization = "Bearer tenant-acme-token-000001" };
        CHECK(auth_authenticate(a, &cr, &c, &e) < 0);
        fd = open(path, O_WRONLY | O_TRUNC);
        dprintf(fd, "# fine\n%s acme tenant\nbroken line\n", hash_of("tenant-acme-token-000001"));
        close(fd);
        err = NULL;
        CHECK(auth_reload(a, &err) == -EINVAL);
        CHECK(err && strstr(err, ":3:"));
        free(err);
        CHECK(auth_authenticate(a, &cr, &c, &e) < 0); /* still the old table */
        cr.authorization = "Bearer admin-secret-token-000001";
        CHECK(auth_authenticate(a, &cr, &c, &e) == 0 && c.role == CALLER_ADMIN);
        auth_free(a);
        unlink(path);

        /* Nothing configured: every caller is an admin. */
        AuthConfig none = { 0 };
        CHECK(auth_new(&none, &a, &err) == 0);
        CHECK(!auth_enabled(a));
        cr = (CallerCredentials){ .authorization = "Bearer whatever" };
        CHECK(auth_authenticate(a, &cr, &c, &e) == 0 && c.role == CALLER_ADMIN);
        auth_free(a);
}

static void test_access(void) {
        RpcCaller admin = { .role = CALLER_ADMIN }, tenant = { .role = CALLER_TENANT, .tenant = "acme" },
                  reader = { .role = CALLER_READ_ONLY, .tenant = "acme" },
                  host_reader = { .role = CALLER_READ_ONLY };
        CHECK(rpc_caller_may(&admin, RPC_ADMIN_ONLY) && !rpc_caller_may(&tenant, RPC_ADMIN_ONLY) &&
              !rpc_caller_may(&host_reader, RPC_ADMIN_ONLY));
        CHECK(rpc_caller_may(&tenant, RPC_WRITE) && !rpc_caller_may(&reader, RPC_WRITE));
        CHECK(rpc_caller_may(&reader, RPC_READ) && rpc_caller_may(&tenant, RPC_READ));
        CHECK(rpc_caller_may(&host_reader, RPC_HOST_READ) && !rpc_caller_may(&reader, RPC_HOST_READ) &&
              !rpc_caller_may(&tenant, RPC_HOST_READ) && rpc_caller_may(&admin, RPC_HOST_READ));
        CHECK(rpc_caller_sees(&admin, "acme") && rpc_caller_sees(&host_reader, "globex"));
        CHECK(rpc_caller_sees(&tenant, "acme") && !rpc_caller_sees(&tenant, "globex") &&
              !rpc_caller_sees(&tenant, ""));
        CHECK(!rpc_caller_sees(&reader, "acmex"));
}

static int parse(char **argv, Options *o, char **err) {
        int argc = 0;
        while (argv[argc])
                argc++;
        memset(o, 0, sizeof *o);
        *err = NULL;
        return options_parse(argc, argv, o, err);
}

/* parse must fail naming want. */
static void check_refused(char **argv, const char *want) {
        Options o;
        char *err;
        CHECK(parse(argv, &o, &err) == -EINVAL);
        if (!err || !strstr(err, want)) {
                fprintf(stderr, "error \"%s\" does not contain \"%s\"\n", err ? err : "(none)", want);
                CHECK(false);
        }
        free(err);
        options_done(&o);
}

static void test_options(void) {
        Options o;
        char *err;
        unsetenv("METALD_LISTEN");
        setenv("METALD_LISTEN", "127.0.0.1:1 unix:/run/a.sock", 1);
        setenv("METALD_INSECURE", "1", 1);
        CHECK(parse((char *[]){ "metald", NULL }, &o, &err) == 0);
        CHECK_INTEQ(o.n_listens, 2);
        CHECK_STREQ(o.listens[1], "unix:/run/a.sock");
        CHECK_STREQ(o.listen, "127.0.0.1:1");
        CHECK(o.insecure);
        options_done(&o);
        unsetenv("METALD_INSECURE");
        /* The command line replaces the environment's list. */
        CHECK(parse((char *[]){ "metald", "--listen", "unix:/run/b.sock", "--listen", "[::1]:2",
                                "--unix-user", "0=read-only", "--unix-user", "root=tenant:acme", "--tokens",
                                "/etc/t", "--tenant-quota", "acme:vms=2", "--tenant-quota",
                                "globex:memory=1G", "--overcommit", "1.5", "--insecure", NULL },
                    &o, &err) == 0);
        CHECK_INTEQ(o.n_listens, 2);
        CHECK_STREQ(o.listen, "unix:/run/b.sock");
        CHECK_INTEQ(o.n_unix_users, 2);
        CHECK(o.unix_users[0].uid == 0 && o.unix_users[0].caller.role == CALLER_READ_ONLY);
        CHECK(o.unix_users[1].uid == 0 && o.unix_users[1].caller.role == CALLER_TENANT);
        CHECK_INTEQ(o.n_tenant_quotas, 2);
        CHECK(o.tenant_quotas[1].memory_bytes == 1ull << 30);
        CHECK(o.host_capacity && o.overcommit == 1.5 && o.insecure);
        options_done(&o);
        unsetenv("METALD_LISTEN");
        CHECK(parse((char *[]){ "metald", NULL }, &o, &err) == 0);
        CHECK(!o.host_capacity && !o.insecure && o.n_listens == 1);
        options_done(&o);

        check_refused((char *[]){ "metald", "--tls-cert", "/c", NULL },
                      "--tls-cert and --tls-key go together");
        check_refused((char *[]){ "metald", "--tls-client-ca", "/ca", NULL }, "need TLS");
        check_refused((char *[]){ "metald", "--tls-cert", "/c", "--tls-key", "/k", "--tls-client-map",
                                  "x=admin", NULL },
                      "--tls-client-map needs --tls-client-ca");
        check_refused((char *[]){ "metald", "--socket-group", "root", NULL },
                      "--socket-group needs a --listen unix:");
        check_refused(
                (char *[]){ "metald", "--listen", "unix:/s", "--unix-user", "no-such-user-xyz=admin", NULL },
                "no user \"no-such-user-xyz\"");
        check_refused(
                (char *[]){ "metald", "--listen", "unix:/s", "--socket-group", "no-such-group-xyz", NULL },
                "no group");
        check_refused((char *[]){ "metald", "--tokens", "relative", NULL }, "not an absolute path");
        check_refused(
                (char *[]){ "metald", "--tenant-quota", "a:vms=1", "--tenant-quota", "a:vcpus=2", NULL },
                "given twice");
        check_refused((char *[]){ "metald", "--overcommit", "0", NULL }, "--overcommit");
        check_refused((char *[]){ "metald", "--host-memory", "lots", NULL }, "--host-memory");
        check_refused((char *[]){ "metald", "--insecure=yes", NULL }, "--insecure");
        setenv("METALD_INSECURE", "maybe", 1);
        check_refused((char *[]){ "metald", NULL }, "METALD_INSECURE");
        unsetenv("METALD_INSECURE");
}

int main(void) {
        test_hash_text();
        test_parse_good();
        test_parse_bad();
        test_load();
        test_principal();
        test_quota_and_size();
        test_authenticate();
        test_access();
        test_options();
        return test_done("test-auth");
}
