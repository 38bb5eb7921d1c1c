/* SPDX-License-Identifier: Apache-2.0 */
#include "exit-status.h"

#include <string.h>

/* Every Connect code (connectrpc.com/docs/protocol#error-codes) and what a
 * script should make of it. */
static const struct {
        const char *code;
        ExitStatus status;
} code_table[] = {
        { "invalid_argument", EXIT_REFUSED },  { "failed_precondition", EXIT_REFUSED },
        { "out_of_range", EXIT_REFUSED },      { "already_exists", EXIT_REFUSED },
        { "aborted", EXIT_REFUSED },           { "permission_denied", EXIT_REFUSED },
        { "unauthenticated", EXIT_REFUSED },   { "not_found", EXIT_NOT_FOUND },
        { "deadline_exceeded", EXIT_TIMEOUT }, { "unimplemented", EXIT_UNSUPPORTED },
        { "resource_exhausted", EXIT_SERVER }, { "unavailable", EXIT_SERVER },
        { "internal", EXIT_SERVER },           { "unknown", EXIT_SERVER },
        { "data_loss", EXIT_SERVER },          { "canceled", EXIT_SERVER },
};

ExitStatus exit_status_from_connect_code(const char *code) {
        if (!code)
                return EXIT_SERVER;
        for (size_t i = 0; i < sizeof code_table / sizeof code_table[0]; i++)
                if (strcmp(code_table[i].code, code) == 0)
                        return code_table[i].status;
        return EXIT_SERVER;
}

static const struct {
        long status;
        const char *code;
} http_table[] = {
        { 400, "internal" },      { 401, "unauthenticated" }, { 403, "permission_denied" },
        { 404, "unimplemented" }, { 429, "unavailable" },     { 502, "unavailable" },
        { 503, "unavailable" },   { 504, "unavailable" },
};

const char *connect_code_from_http_status(long status) {
        for (size_t i = 0; i < sizeof http_table / sizeof http_table[0]; i++)
                if (http_table[i].status == status)
                        return http_table[i].code;
        return "unknown";
}

static const char *const descriptions[_EXIT_STATUS_MAX] = {
        [EXIT_OK] = "success",
        [EXIT_USAGE] = "usage error: bad option, size, file or token; nothing was sent",
        [EXIT_REFUSED] =
                "metald refused the request (invalid_argument, failed_precondition, already_exists, "
                "aborted, out_of_range, permission_denied, unauthenticated)",
        [EXIT_NOT_FOUND] = "no such VM (not_found)",
        [EXIT_UNREACHABLE] = "metald is not reachable, or what answered is not metald",
        [EXIT_TIMEOUT] =
                "timed out: wait --timeout, deadline_exceeded, or no answer within --request-timeout",
        [EXIT_VM_FAILED] = "wait: the VM reached the failed state",
        [EXIT_SERVER] = "metald failed or is busy (internal, unavailable, resource_exhausted, unknown, "
                        "data_loss): retry later or read its log",
        [EXIT_UNSUPPORTED] = "this metald does not support the call (unimplemented)",
        [EXIT_LOCAL] = "metalctl itself failed (out of memory, cannot write its output)",
};

const char *exit_status_description(ExitStatus s) {
        return (unsigned) s < _EXIT_STATUS_MAX ? descriptions[s] : NULL;
}
