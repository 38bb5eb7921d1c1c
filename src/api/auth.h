/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Who is calling: bearer tokens (a file of SHA-256 hashes, reloaded on
 * SIGHUP), the Unix socket peer's uid, and TLS client certificates, turned
 * into an RpcCaller (role and tenant). Also the parsers of the options that
 * configure them and of per-tenant quotas. The parsers are pure functions
 * with unit tests (tests/test-auth.c); Auth is the runtime object the HTTP
 * server's authentication hook calls from connection threads.
 *
 * Depends on api/connect.h (RpcCaller, ConnectError) and GnuTLS for SHA-256.
 */

#include <stdint.h>
#include <sys/types.h>

#include "api/connect.h"

#define TOKEN_HASH_PREFIX "sha256:"
#define TOKEN_MIN_LENGTH 16
#define TENANT_NAME_MAX 63

const char *caller_role_to_string(CallerRole r);
int caller_role_from_string(const char *s, CallerRole *ret);

/* 1-63 of A-Z a-z 0-9 . _ - (it becomes a VM's customer_id). */
bool tenant_name_is_valid(const char *s);

/* One token: the SHA-256 of its text, and who it makes the caller. */
typedef struct TokenEntry {
        uint8_t hash[32];
        RpcCaller caller;
        unsigned line;
} TokenEntry;

typedef struct TokenTable {
        TokenEntry *entries;
        size_t n;
} TokenTable;

TokenTable *token_table_free(TokenTable *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(TokenTable *, token_table_free);

/*
 * Parse a token file's text: one token a line, "sha256:<64 hex> TENANT ROLE",
 * fields separated by blanks; TENANT "*" binds to no tenant (required for
 * admin, forbidden for tenant); '#' starts a comment; blank lines are
 * skipped. Any malformed line, or a hash given twice: -EINVAL and an error
 * naming source:line and the problem. Never sees a token's plaintext.
 */
int token_table_parse(const char *text, const char *source, TokenTable **ret, char **ret_error);
/* Read and parse the file at path (at most 16 MiB). */
int token_table_load(const char *path, TokenTable **ret, char **ret_error);

/* Whether token (len bytes) is in t; fills *ret_caller if so. Compares the
 * token's hash with every entry in constant time per entry, never stopping
 * early, so the time taken says nothing about which bytes matched. */
bool token_table_match(const TokenTable *t, const char *token, size_t len, RpcCaller *ret_caller);

/* "sha256:<hex>" of a token into buf (at least TOKEN_HASH_TEXT_SIZE bytes). */
#define TOKEN_HASH_TEXT_SIZE (sizeof(TOKEN_HASH_PREFIX) + 64)
int token_hash_text(const char *token, size_t len, char *buf, size_t size);

/*
 * "NAME=ROLE[:TENANT]" (--unix-user, --tls-client-map): NAME into name
 * (name_size bytes), the role and tenant into *ret. A tenant role needs a
 * tenant; admin takes none. -EINVAL with an error naming the option.
 */
int principal_parse(const char *option, const char *spec, char *name, size_t name_size, RpcCaller *ret,
                    char **ret_error);

/* "1G", "512M", "4096" (bytes; K, M, G, T are powers of 1024). */
int size_parse(const char *s, uint64_t *ret);

/* A tenant's limits; 0 = no limit. */
typedef struct TenantQuota {
        char tenant[TENANT_NAME_MAX + 1];
        uint64_t vms;
        uint64_t vcpus;
        uint64_t memory_bytes;
} TenantQuota;

/* "TENANT:vms=N,vcpus=N,memory=SIZE" (any subset of the three keys, at least one). */
int tenant_quota_parse(const char *spec, TenantQuota *ret, char **ret_error);

/* A uid or a certificate name mapped to a caller. */
typedef struct PrincipalRule {
        char name[256]; /* user name or number as given; CN for certificates */
        uid_t uid; /* for --unix-user: resolved at start */
        RpcCaller caller;
} PrincipalRule;

/* What the transport knows about one request (filled by src/api/http-server.c). */
typedef struct CallerCredentials {
        const char *authorization; /* the Authorization header, or NULL */
        bool unix_peer; /* came over a Unix socket, and uid is its SO_PEERCRED uid */
        uid_t uid;
        bool tls_client_cert; /* presented a client certificate; verified tells if it chains to the CA */
        bool tls_client_verified;
        const char *tls_client_cn; /* its subject CN ("" if none) */
} CallerCredentials;

typedef struct AuthConfig {
        const char *tokens_path; /* NULL: no tokens */
        const PrincipalRule *unix_users;
        size_t n_unix_users;
        const PrincipalRule *cert_rules;
        size_t n_cert_rules;
        bool client_certs; /* --tls-client-ca given */
} AuthConfig;

typedef struct Auth Auth;

/* Load the token file (a malformed one: -EINVAL with the error). The config's
 * arrays must outlive the Auth. */
int auth_new(const AuthConfig *cfg, Auth **ret, char **ret_error);
Auth *auth_free(Auth *a);
DEFINE_TRIVIAL_CLEANUP_FUNC(Auth *, auth_free);

/* Whether any credentials are configured. Without, every caller is an admin
 * (allowed only on loopback addresses and Unix sockets, or with --insecure). */
bool auth_enabled(const Auth *a);

/* Re-read the token file; on error the old table stays and *ret_error names
 * the line. Safe while connection threads authenticate. Returns the number of tokens. */
int auth_reload(Auth *a, char **ret_error);

/*
 * Who the credentials make the caller: a bearer token if one is sent (a bad
 * one is refused even when other credentials would do), else a verified
 * client certificate, else the Unix peer's uid. 0 and *ret filled, or -1 and e
 * filled with CONNECT_UNAUTHENTICATED. Thread-safe.
 */
int auth_authenticate(Auth *a, const CallerCredentials *cred, RpcCaller *ret, ConnectError *e);
