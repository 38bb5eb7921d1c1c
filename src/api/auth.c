/* SPDX-License-Identifier: Apache-2.0 */
#include "api/auth.h"

#include <assert.h>
#include <gnutls/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <strings.h>
#include <sys/stat.h>

#include "util/log.h"

#define TOKEN_FILE_MAX (16u << 20)

static const char *const role_names[_CALLER_ROLE_MAX] = {
        [CALLER_ADMIN] = "admin",
        [CALLER_TENANT] = "tenant",
        [CALLER_READ_ONLY] = "read-only",
};

const char *caller_role_to_string(CallerRole r) {
        return r < _CALLER_ROLE_MAX ? role_names[r] : "unknown";
}

int caller_role_from_string(const char *s, CallerRole *ret) {
        for (int i = 0; i < _CALLER_ROLE_MAX; i++)
                if (streq(s, role_names[i])) {
                        *ret = (CallerRole) i;
                        return 0;
                }
        return -EINVAL;
}

bool tenant_name_is_valid(const char *s) {
        size_t n = strlen(s);
        if (n == 0 || n > TENANT_NAME_MAX)
                return false;
        for (const char *p = s; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                      *p == '.' || *p == '_' || *p == '-'))
                        return false;
        return true;
}

/* Whether role and tenant go together: a tenant caller needs a tenant, an
 * admin has none. NULL, or why not. */
static const char *caller_check(const RpcCaller *c) {
        if (c->role == CALLER_TENANT && !c->tenant[0])
                return "role tenant needs a tenant name";
        if (c->role == CALLER_ADMIN && c->tenant[0])
                return "role admin takes no tenant (it sees every tenant)";
        return NULL;
}

TokenTable *token_table_free(TokenTable *t) {
        if (!t)
                return NULL;
        if (t->entries)
                explicit_bzero(t->entries, t->n * sizeof *t->entries);
        free(t->entries);
        return mfree(t);
}

/* Parse one non-blank, non-comment line (NUL-terminated, comment cut) into e.
 * NULL, or what is wrong with it. */
static const char *parse_token_line(char *line, TokenEntry *e) {
        char *save = NULL;
        char *hash = strtok_r(line, " \t", &save);
        char *tenant = strtok_r(NULL, " \t", &save);
        char *role = strtok_r(NULL, " \t", &save);
        char *extra = strtok_r(NULL, " \t", &save);
        if (!hash || !tenant || !role)
                return "expected \"sha256:<64 hex digits> TENANT ROLE\"";
        if (extra)
                return "unexpected text after the role";
        size_t plen = strlen(TOKEN_HASH_PREFIX);
        if (strncmp(hash, TOKEN_HASH_PREFIX, plen) != 0)
                return "the hash must start with \"sha256:\" (a plaintext token is not accepted; "
                       "make a line with metald --hash-token)";
        const char *hex = hash + plen;
        if (strlen(hex) != 64)
                return "the sha256 hash must be 64 hex digits";
        for (size_t i = 0; i < 32; i++) {
                int hi = unhexchar(hex[2 * i]), lo = unhexchar(hex[2 * i + 1]);
                if (hi < 0 || lo < 0)
                        return "the sha256 hash must be 64 hex digits";
                e->hash[i] = (uint8_t) (hi << 4 | lo);
        }
        if (caller_role_from_string(role, &e->caller.role) < 0)
                return "the role must be admin, tenant or read-only";
        if (streq(tenant, "*"))
                e->caller.tenant[0] = 0;
        else if (!tenant_name_is_valid(tenant))
                return "the tenant must be \"*\" or 1-63 of A-Z a-z 0-9 . _ -";
        else
                snprintf(e->caller.tenant, sizeof e->caller.tenant, "%s", tenant);
        return caller_check(&e->caller);
}

int token_table_parse(const char *text, const char *source, TokenTable **ret, char **ret_error) {
        assert(text && source && ret);
        _cleanup_(token_table_freep) TokenTable *t = calloc(1, sizeof *t);
        if (!t)
                return -ENOMEM;
        size_t cap = 0;
        unsigned lineno = 0;
        for (const char *p = text; *p;) {
                size_t len = strcspn(p, "\n");
                lineno++;
                _cleanup_free_ char *line = strndup(p, len);
                if (!line)
                        return -ENOMEM;
                p += len + (p[len] == '\n');
                line[strcspn(line, "#")] = 0;
                line[strcspn(line, "\r")] = 0;
                if (line[strspn(line, " \t")] == 0)
                        continue;
                if (GROW_ARRAY(t->entries, cap, t->n, 16) < 0)
                        return -ENOMEM;
                TokenEntry *e = &t->entries[t->n];
                *e = (TokenEntry){ .line = lineno };
                const char *why = parse_token_line(line, e);
                if (why) {
                        *ret_error = strdup_printf("%s:%u: %s", source, lineno, why);
                        return -EINVAL;
                }
                for (size_t i = 0; i < t->n; i++)
                        if (memcmp(t->entries[i].hash, e->hash, sizeof e->hash) == 0) {
                                *ret_error = strdup_printf("%s:%u: the same token hash as line %u", source,
                                                           lineno, t->entries[i].line);
                                return -EINVAL;
                        }
                t->n++;
        }
        *ret = TAKE_PTR(t);
        return 0;
}

int token_table_load(const char *path, TokenTable **ret, char **ret_error) {
        _cleanup_free_ char *text = NULL;
        size_t size = 0;
        struct stat st;
        /* Whoever can write the file can make themselves an admin. */
        if (stat(path, &st) == 0 && (st.st_mode & S_IWOTH)) {
                *ret_error =
                        strdup_printf("--tokens %s is writable by every user (mode %04o): anyone could add "
                                      "an admin token; chmod o-w it",
                                      path, (unsigned) (st.st_mode & 07777));
                return -EPERM;
        }
        int r = read_full_file(path, TOKEN_FILE_MAX, &text, &size);
        if (r < 0) {
                *ret_error = strdup_printf("cannot read --tokens %s: %s", path, strerror(-r));
                return r;
        }
        if (strlen(text) != size) {
                *ret_error = strdup_printf("%s: contains a NUL byte", path);
                return -EINVAL;
        }
        return token_table_parse(text, path, ret, ret_error);
}

static int sha256(const char *data, size_t len, uint8_t out[32]) {
        return gnutls_hash_fast(GNUTLS_DIG_SHA256, data, len, out) < 0 ? -EIO : 0;
}

bool token_table_match(const TokenTable *t, const char *token, size_t len, RpcCaller *ret_caller) {
        uint8_t h[32];
        if (!t || sha256(token, len, h) < 0)
                return false;
        const TokenEntry *found = NULL;
        for (size_t i = 0; i < t->n; i++) {
                uint8_t diff = 0;
                for (size_t k = 0; k < sizeof h; k++)
                        diff |= (uint8_t) (t->entries[i].hash[k] ^ h[k]);
                /* No branch on secret data until every entry has been compared. */
                uintptr_t mask = (uintptr_t) 0 - (uintptr_t) (diff == 0);
                found = (const TokenEntry *) (((uintptr_t) &t->entries[i] & mask) |
                                              ((uintptr_t) found & ~mask));
        }
        explicit_bzero(h, sizeof h);
        if (!found)
                return false;
        *ret_caller = found->caller;
        return true;
}

int token_hash_text(const char *token, size_t len, char *buf, size_t size) {
        uint8_t h[32];
        if (size < TOKEN_HASH_TEXT_SIZE)
                return -ENOBUFS;
        int r = sha256(token, len, h);
        if (r < 0)
                return r;
        int n = snprintf(buf, size, "%s", TOKEN_HASH_PREFIX);
        for (size_t i = 0; i < sizeof h; i++)
                n += snprintf(buf + n, size - (size_t) n, "%02x", h[i]);
        return 0;
}

int principal_parse(const char *option, const char *spec, char *name, size_t name_size, RpcCaller *ret,
                    char **ret_error) {
        const char *eq = strrchr(spec, '=');
        if (!eq || eq == spec || (size_t) (eq - spec) >= name_size) {
                *ret_error = strdup_printf("--%s \"%s\": expected NAME=ROLE[:TENANT]", option, spec);
                return -EINVAL;
        }
        RpcCaller c = { 0 };
        _cleanup_free_ char *rest = strdup(eq + 1);
        if (!rest)
                return -ENOMEM;
        char *colon = strchr(rest, ':');
        if (colon) {
                *colon++ = 0;
                if (!tenant_name_is_valid(colon)) {
                        *ret_error =
                                strdup_printf("--%s \"%s\": tenant \"%s\" is not 1-63 of A-Z a-z 0-9 . _ -",
                                              option, spec, colon);
                        return -EINVAL;
                }
                snprintf(c.tenant, sizeof c.tenant, "%s", colon);
        }
        if (caller_role_from_string(rest, &c.role) < 0) {
                *ret_error = strdup_printf("--%s \"%s\": role \"%s\" is not admin, tenant or read-only",
                                           option, spec, rest);
                return -EINVAL;
        }
        const char *why = caller_check(&c);
        if (why) {
                *ret_error = strdup_printf("--%s \"%s\": %s", option, spec, why);
                return -EINVAL;
        }
        memcpy(name, spec, (size_t) (eq - spec));
        name[eq - spec] = 0;
        *ret = c;
        return 0;
}

int size_parse(const char *s, uint64_t *ret) {
        char *end;
        if (!*s || *s == '-' || *s == '+')
                return -EINVAL;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno || end == s)
                return -EINVAL;
        unsigned shift = 0;
        if (*end) {
                const char *units = "KMGT";
                const char *u = strchr(units, *end);
                if (!u || !*u || (end[1] && !(streq(end + 1, "iB") || streq(end + 1, "B"))))
                        return -EINVAL;
                shift = 10 * (unsigned) (u - units + 1);
        }
        if (shift && v > (UINT64_MAX >> shift))
                return -ERANGE;
        *ret = (uint64_t) v << shift;
        return 0;
}

int tenant_quota_parse(const char *spec, TenantQuota *ret, char **ret_error) {
        TenantQuota q = { 0 };
        const char *colon = strchr(spec, ':');
        if (!colon || (size_t) (colon - spec) > TENANT_NAME_MAX) {
                *ret_error = strdup_printf(
                        "--tenant-quota \"%s\": expected TENANT:vms=N,vcpus=N,memory=SIZE", spec);
                return -EINVAL;
        }
        memcpy(q.tenant, spec, (size_t) (colon - spec));
        if (!tenant_name_is_valid(q.tenant)) {
                *ret_error = strdup_printf(
                        "--tenant-quota \"%s\": tenant \"%s\" is not 1-63 of A-Z a-z 0-9 . _ -", spec,
                        q.tenant);
                return -EINVAL;
        }
        _cleanup_free_ char *list = strdup(colon + 1);
        if (!list)
                return -ENOMEM;
        unsigned n = 0;
        char *save = NULL;
        for (char *kv = strtok_r(list, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
                char *eq = strchr(kv, '=');
                uint64_t v = 0;
                int r = -EINVAL;
                if (eq) {
                        *eq++ = 0;
                        if (streq(kv, "memory"))
                                r = size_parse(eq, &v);
                        else if (streq(kv, "vms") || streq(kv, "vcpus")) {
                                char *end;
                                errno = 0;
                                v = strtoull(eq, &end, 10);
                                r = *eq && !*end && !errno && *eq != '-' ? 0 : -EINVAL;
                        }
                }
                if (r < 0 || v == 0) {
                        *ret_error =
                                strdup_printf("--tenant-quota \"%s\": \"%s%s%s\" is not vms=N, vcpus=N or "
                                              "memory=SIZE with N > 0 (SIZE like 4G)",
                                              spec, kv, eq ? "=" : "", eq ? eq : "");
                        return -EINVAL;
                }
                if (streq(kv, "vms"))
                        q.vms = v;
                else if (streq(kv, "vcpus"))
                        q.vcpus = v;
                else
                        q.memory_bytes = v;
                n++;
        }
        if (n == 0) {
                *ret_error = strdup_printf("--tenant-quota \"%s\": no limit given", spec);
                return -EINVAL;
        }
        *ret = q;
        return 0;
}

/* ---- the runtime object --------------------------------------------------------- */

struct Auth {
        AuthConfig cfg;
        pthread_rwlock_t lock; /* guards tokens: replaced on reload while callers read it */
        TokenTable *tokens;
};

int auth_new(const AuthConfig *cfg, Auth **ret, char **ret_error) {
        Auth *a = calloc(1, sizeof *a);
        if (!a)
                return -ENOMEM;
        a->cfg = *cfg;
        pthread_rwlock_init(&a->lock, NULL);
        if (cfg->tokens_path) {
                int r = token_table_load(cfg->tokens_path, &a->tokens, ret_error);
                if (r < 0) {
                        auth_free(a);
                        return r;
                }
        }
        *ret = a;
        return 0;
}

Auth *auth_free(Auth *a) {
        if (!a)
                return NULL;
        token_table_free(a->tokens);
        pthread_rwlock_destroy(&a->lock);
        return mfree(a);
}

bool auth_enabled(const Auth *a) {
        return a && (a->cfg.tokens_path || a->cfg.n_unix_users > 0 || a->cfg.client_certs);
}

int auth_reload(Auth *a, char **ret_error) {
        if (!a || !a->cfg.tokens_path)
                return 0;
        TokenTable *t = NULL;
        int r = token_table_load(a->cfg.tokens_path, &t, ret_error);
        if (r < 0)
                return r;
        pthread_rwlock_wrlock(&a->lock);
        TokenTable *old = a->tokens;
        a->tokens = t;
        pthread_rwlock_unlock(&a->lock);
        token_table_free(old);
        return (int) t->n;
}

static int unauthenticated(ConnectError *e, const char *why) {
        return connect_error(e, CONNECT_UNAUTHENTICATED, "%s", why);
}

int auth_authenticate(Auth *a, const CallerCredentials *cred, RpcCaller *ret, ConnectError *e) {
        assert(cred && ret && e);
        if (!auth_enabled(a)) {
                *ret = (RpcCaller){ .role = CALLER_ADMIN };
                return 0;
        }
        if (cred->authorization) {
                const char *v = cred->authorization;
                if (strncasecmp(v, "Bearer ", 7) != 0)
                        return unauthenticated(e, "the Authorization header must be \"Bearer <token>\"");
                v += 7;
                v += strspn(v, " ");
                size_t len = strlen(v);
                while (len > 0 && v[len - 1] == ' ')
                        len--;
                pthread_rwlock_rdlock(&a->lock);
                bool ok = token_table_match(a->tokens, v, len, ret);
                pthread_rwlock_unlock(&a->lock);
                return ok ? 0 : unauthenticated(e, "invalid bearer token");
        }
        if (cred->tls_client_cert) {
                if (!cred->tls_client_verified)
                        return unauthenticated(e, "the client certificate is not signed by --tls-client-ca "
                                                  "(or is expired or revoked)");
                for (size_t i = 0; i < a->cfg.n_cert_rules; i++)
                        if (streq(a->cfg.cert_rules[i].name, cred->tls_client_cn)) {
                                *ret = a->cfg.cert_rules[i].caller;
                                return 0;
                        }
                if (!tenant_name_is_valid(cred->tls_client_cn))
                        return unauthenticated(e, "the client certificate's CN is not a tenant name and has "
                                                  "no --tls-client-map rule");
                *ret = (RpcCaller){ .role = CALLER_TENANT };
                snprintf(ret->tenant, sizeof ret->tenant, "%s", cred->tls_client_cn);
                return 0;
        }
        if (cred->unix_peer) {
                for (size_t i = 0; i < a->cfg.n_unix_users; i++)
                        if (a->cfg.unix_users[i].uid == cred->uid) {
                                *ret = a->cfg.unix_users[i].caller;
                                return 0;
                        }
                if (cred->uid == 0) {
                        /* root can read the database and signal every VMM anyway. */
                        *ret = (RpcCaller){ .role = CALLER_ADMIN };
                        return 0;
                }
                return connect_error(e, CONNECT_UNAUTHENTICATED,
                                     "uid %u has no --unix-user rule; send a bearer token",
                                     (unsigned) cred->uid);
        }
        return unauthenticated(e, "this call needs credentials: \"Authorization: Bearer <token>\"");
}
