/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The Connect protocol's unary JSON codec, independent of the HTTP server:
 * error codes and their HTTP statuses (one table), error bodies, and a
 * table-driven decoder for flat request messages that follows the protobuf
 * JSON mapping (snake_case or lowerCamelCase names, int32/int64 as number or
 * string, unknown fields rejected). Pure functions; unit-tested.
 */

#include <jansson.h>

#include "util/util.h"
#include "vm/vm-state.h"

typedef enum ConnectCode {
        CONNECT_OK = 0,
        CONNECT_CANCELED,
        CONNECT_UNKNOWN,
        CONNECT_INVALID_ARGUMENT,
        CONNECT_DEADLINE_EXCEEDED,
        CONNECT_NOT_FOUND,
        CONNECT_ALREADY_EXISTS,
        CONNECT_PERMISSION_DENIED,
        CONNECT_RESOURCE_EXHAUSTED,
        CONNECT_FAILED_PRECONDITION,
        CONNECT_ABORTED,
        CONNECT_OUT_OF_RANGE,
        CONNECT_UNIMPLEMENTED,
        CONNECT_INTERNAL,
        CONNECT_UNAVAILABLE,
        CONNECT_DATA_LOSS,
        CONNECT_UNAUTHENTICATED,
        _CONNECT_CODE_MAX,
} ConnectCode;

const char *connect_code_to_string(ConnectCode c);
unsigned connect_code_http_status(ConnectCode c);

/* Who is calling, as the transport authenticated them (src/api/http-server.c).
 * Handlers scope what they read and change by it. */
typedef enum CallerRole {
        CALLER_ADMIN, /* everything, every tenant */
        CALLER_TENANT, /* reads and changes its own tenant's VMs */
        CALLER_READ_ONLY, /* reads only (its tenant's, or all when tenant is "") */
        _CALLER_ROLE_MAX,
} CallerRole;

typedef struct RpcCaller {
        CallerRole role;
        char tenant[64]; /* "" = not bound to a tenant (admin, or a host-wide reader) */
} RpcCaller;

/* Who may call a method or resource. The zero value is the strictest, so a
 * method that declares nothing is admin-only. */
typedef enum RpcAccess {
        RPC_ADMIN_ONLY = 0, /* admins only (host-wide resources, networks...) */
        RPC_READ, /* every role; tenant-bound callers see their own tenant only */
        RPC_WRITE, /* admin and tenant (not read-only) */
        RPC_HOST_READ, /* admins and read-only callers bound to no tenant (GET /metrics) */
        RPC_PUBLIC, /* anyone, even without credentials (GET /healthz) */
} RpcAccess;

/* Whether caller's role permits access. */
bool rpc_caller_may(const RpcCaller *caller, RpcAccess access);
/* Whether caller may see a VM of this customer_id: callers bound to a tenant
 * see that tenant's VMs only; others see all. */
bool rpc_caller_sees(const RpcCaller *caller, const char *customer_id);

/* An RPC's failure: a code and a message for the client. */
typedef struct ConnectError {
        ConnectCode code;
        char message[512];
} ConnectError;

/* Fill e and return -1, so handlers can write `return connect_error(e, ...)`. */
int connect_error(ConnectError *e, ConnectCode code, const char *fmt, ...) _printf_(3, 4);

/* {"code":"...","message":"..."} as a new JSON text (malloc'ed), or NULL on OOM. */
char *connect_error_body(const ConnectError *e);

typedef enum FieldType {
        FIELD_STRING, /* char *, malloc'ed; "" when absent */
        FIELD_BOOL, /* bool */
        FIELD_INT32, /* int32_t */
        FIELD_INT64, /* int64_t */
        FIELD_OBJECT, /* json_t *, borrowed from the request (NULL when absent) */
        FIELD_VMSTATES /* repeated VmState: VmStateList */
} FieldType;

typedef struct VmStateList {
        VmState items[16];
        size_t n;
} VmStateList;

typedef struct FieldSpec {
        const char *name; /* snake_case; the lowerCamelCase form is derived */
        FieldType type;
        size_t offset; /* into the request struct */
} FieldSpec;

/*
 * Decode a JSON object into a request struct described by fields (n of them),
 * which the caller zero-initialised. Unknown field, duplicate (both spellings),
 * wrong type or out-of-range number: -EINVAL with e filled, naming the field.
 * Strings are owned by the struct afterwards, even on error: free them with
 * connect_request_free.
 */
int connect_decode(const json_t *obj, const FieldSpec *fields, size_t n, void *req, ConnectError *e);
void connect_request_free(const FieldSpec *fields, size_t n, void *req);

/* lowerCamelCase of a snake_case name into buf. */
void snake_to_camel(const char *snake, char *buf, size_t size);

/* Parse a JSON int the way the protobuf JSON mapping allows (number without
 * fraction, or decimal string). -EINVAL on wrong type, -ERANGE outside [min,max]. */
int json_get_int64(const json_t *v, int64_t min, int64_t max, int64_t *ret);
