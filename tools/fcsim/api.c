/* SPDX-License-Identifier: Apache-2.0 */
#include "api.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "logger.h"
#include "schema.h"

typedef struct Req {
        HttpMethod method;
        const char *path;
        char *tok1; /* first path segment ("" for "/") */
        char *tok2; /* second segment, NULL if none */
        const char *body; /* NULL: no body */
        size_t body_len;
} Req;

typedef Reply (*Handler)(Api *a, const Req *r);

enum { BODY_NONE, BODY_SOME };

typedef struct Route {
        HttpMethod method;
        const char *tok1; /* NULL: any path */
        int body;
        const char *tok2; /* a guard: the second segment must be this */
        Handler handler;
} Route;

/* ---- shared steps ------------------------------------------------------------- */

static Reply decode(const DeType *t, const Req *r, json_t **ret) {
        char *msg = NULL;
        int rc = de_decode(t, r->body, r->body_len, ret, &msg);
        if (rc == -EINVAL) {
                Reply rep = reply_fault(
                        400, "An error occurred when deserializing the json body of a request: %s.", msg);
                free(msg);
                return rep;
        }
        if (rc < 0)
                return reply_fault(500, "out of memory");
        return reply_empty();
}

/* checked_id(): ids in paths are [A-Za-z0-9_]+. Returns true if valid. */
static bool checked_id(const char *id, Reply *ret) {
        if (!id || !*id) {
                *ret = reply_fault(400, "The ID cannot be empty.");
                return false;
        }
        for (const char *p = id; *p; p++)
                if (!(isalnum((unsigned char) *p) || *p == '_') || (unsigned char) *p >= 0x80) {
                        *ret = reply_fault(400,
                                           "API Resource IDs can only contain alphanumeric characters and "
                                           "underscores.");
                        return false;
                }
        return true;
}

static Reply count(Api *a, const char *group, const char *what, Reply rep) {
        char field[64];
        snprintf(field, sizeof(field), "%s_count", what);
        metrics_add(a->metrics, group, field, 1);
        if (reply_is_error(&rep)) {
                snprintf(field, sizeof(field), "%s_fails", what);
                metrics_add(a->metrics, group, field, 1);
        }
        return rep;
}

/* Decode the body as t and hand it to an action; the common shape of most PUTs. */
static Reply decode_and(const DeType *t, const Req *r, Vmm *v, Reply (*action)(Vmm *, json_t *)) {
        json_t *cfg = NULL;
        Reply rep = decode(t, r, &cfg);
        if (reply_is_error(&rep))
                return rep;
        rep = action(v, cfg);
        json_decref(cfg);
        return rep;
}

/* ---- handlers ----------------------------------------------------------------- */

static Reply h_get_info(Api *a, const Req *r) {
        return vmm_describe_instance(a->vmm);
}

static Reply h_get_version(Api *a, const Req *r) {
        return vmm_get_version(a->vmm);
}

static Reply h_get_vm_config(Api *a, const Req *r) {
        log_warn("fc_vmm", "If the VM was restored from snapshot, boot-source, machine-config.smt, and "
                           "machine-config.cpu_template will all be empty.");
        return vmm_get_full_config(a->vmm);
}

static Reply h_get_machine_config(Api *a, const Req *r) {
        return vmm_get_machine_config(a->vmm);
}

static Reply h_get_mmds(Api *a, const Req *r) {
        return vmm_get_mmds(a->vmm);
}

static Reply h_get_with_body(Api *a, const Req *r) {
        return reply_fault(400, "GET request cannot have a body.");
}

static Reply h_empty_put(Api *a, const Req *r) {
        return reply_fault(400, "Empty PUT request.");
}

static Reply h_empty_patch(Api *a, const Req *r) {
        return reply_fault(400, "Empty PATCH request.");
}

static Reply put_actions(Api *a, const Req *r) {
        json_t *body = NULL;
        Reply rep = decode(&schema_action_body, r, &body);
        if (reply_is_error(&rep))
                return rep;
        rep = vmm_action(a->vmm, json_string_value(json_object_get(body, "action_type")));
        json_decref(body);
        return rep;
}

static Reply h_put_actions(Api *a, const Req *r) {
        return count(a, "put_api_requests", "actions", put_actions(a, r));
}

static Reply h_put_boot_source(Api *a, const Req *r) {
        return count(a, "put_api_requests", "boot_source",
                     decode_and(&schema_boot_source, r, a->vmm, vmm_set_boot_source));
}

/* PUT and PATCH of /drives/{id} and /network-interfaces/{id}: the id is
 * checked before the body, and must equal the body's id. */
static Reply id_body(Api *a, const Req *r, const DeType *t, const char *key, bool net,
                     Reply (*action)(Vmm *, json_t *)) {
        Reply rep;
        json_t *cfg = NULL;
        if (!checked_id(r->tok2, &rep))
                return rep;
        rep = decode(t, r, &cfg);
        if (reply_is_error(&rep))
                return rep;
        const char *body_id = json_string_value(json_object_get(cfg, key));
        if (strcmp(body_id, r->tok2) != 0) {
                if (net)
                        rep = reply_fault(
                                400, "The id from the path [%s] does not match the id from the body [%s]!",
                                r->tok2, body_id);
                else
                        rep = reply_fault(400, "The id from the path does not match the id from the body!");
        } else
                rep = action(a->vmm, cfg);
        json_decref(cfg);
        return rep;
}

static Reply h_put_drive(Api *a, const Req *r) {
        return count(a, "put_api_requests", "drive",
                     id_body(a, r, &schema_drive, "drive_id", false, vmm_insert_drive));
}

static Reply h_patch_drive(Api *a, const Req *r) {
        return count(a, "patch_api_requests", "drive",
                     id_body(a, r, &schema_drive_update, "drive_id", false, vmm_update_drive));
}

static Reply h_put_net(Api *a, const Req *r) {
        return count(a, "put_api_requests", "network",
                     id_body(a, r, &schema_net, "iface_id", true, vmm_insert_net));
}

static Reply h_patch_net(Api *a, const Req *r) {
        return count(a, "patch_api_requests", "network",
                     id_body(a, r, &schema_net_update, "iface_id", true, vmm_update_net));
}

static Reply h_put_logger(Api *a, const Req *r) {
        return count(a, "put_api_requests", "logger",
                     decode_and(&schema_logger, r, a->vmm, vmm_configure_logger));
}

static Reply h_put_serial(Api *a, const Req *r) {
        return count(a, "put_api_requests", "serial",
                     decode_and(&schema_serial, r, a->vmm, vmm_configure_serial));
}

static Reply h_put_metrics(Api *a, const Req *r) {
        return count(a, "put_api_requests", "metrics",
                     decode_and(&schema_metrics, r, a->vmm, vmm_configure_metrics));
}

static Reply h_put_vsock(Api *a, const Req *r) {
        return count(a, "put_api_requests", "vsock", decode_and(&schema_vsock, r, a->vmm, vmm_set_vsock));
}

static Reply h_put_entropy(Api *a, const Req *r) {
        return decode_and(&schema_entropy, r, a->vmm, vmm_set_entropy);
}

static Reply machine_config(Api *a, const Req *r, bool put) {
        json_t *cfg = NULL;
        Reply rep = decode(put ? &schema_machine_config : &schema_machine_config_update, r, &cfg);
        if (reply_is_error(&rep))
                return rep;
        if (!put && json_object_size(cfg) == 0) {
                json_decref(cfg);
                return reply_fault(400, "Empty PATCH request.");
        }
        bool deprecated = json_object_get(cfg, "cpu_template") != NULL;
        rep = vmm_update_machine_config(a->vmm, cfg, put);
        json_decref(cfg);
        if (deprecated) {
                metrics_add(a->metrics, "deprecated_api", "deprecated_http_api_calls", 1);
                log_warn("fc_api", "%s /machine-config: cpu_template field is deprecated.",
                         put ? "PUT" : "PATCH");
                rep.deprecation = true;
        }
        return rep;
}

static Reply h_put_machine_config(Api *a, const Req *r) {
        return count(a, "put_api_requests", "machine_cfg", machine_config(a, r, true));
}

static Reply h_patch_machine_config(Api *a, const Req *r) {
        return count(a, "patch_api_requests", "machine_cfg", machine_config(a, r, false));
}

static Reply put_mmds(Api *a, const Req *r) {
        if (r->tok2 && strcmp(r->tok2, "config") == 0)
                return decode_and(&schema_mmds_config, r, a->vmm, vmm_set_mmds_config);
        if (r->tok2)
                return reply_fault(400, "Unrecognized PUT request path `%s`.", r->tok2);
        return decode_and(&schema_any, r, a->vmm, vmm_put_mmds);
}

static Reply h_put_mmds(Api *a, const Req *r) {
        return count(a, "put_api_requests", "mmds", put_mmds(a, r));
}

static Reply h_patch_mmds(Api *a, const Req *r) {
        return count(a, "patch_api_requests", "mmds", decode_and(&schema_any, r, a->vmm, vmm_patch_mmds));
}

static Reply h_patch_vm(Api *a, const Req *r) {
        json_t *body = NULL;
        Reply rep = decode(&schema_vm_state, r, &body);
        if (reply_is_error(&rep))
                return rep;
        rep = vmm_set_state(a->vmm, json_string_value(json_object_get(body, "state")));
        json_decref(body);
        return rep;
}

/* In the order of parsed_request.rs's match; the first match wins. */
static const Route routes[] = {
        { HTTP_GET, "", BODY_NONE, NULL, h_get_info },
        { HTTP_GET, "version", BODY_NONE, NULL, h_get_version },
        { HTTP_GET, "vm", BODY_NONE, "config", h_get_vm_config },
        { HTTP_GET, "machine-config", BODY_NONE, NULL, h_get_machine_config },
        { HTTP_GET, "mmds", BODY_NONE, NULL, h_get_mmds },
        { HTTP_GET, NULL, BODY_SOME, NULL, h_get_with_body },
        { HTTP_PUT, "actions", BODY_SOME, NULL, h_put_actions },
        { HTTP_PUT, "boot-source", BODY_SOME, NULL, h_put_boot_source },
        { HTTP_PUT, "drives", BODY_SOME, NULL, h_put_drive },
        { HTTP_PUT, "logger", BODY_SOME, NULL, h_put_logger },
        { HTTP_PUT, "serial", BODY_SOME, NULL, h_put_serial },
        { HTTP_PUT, "machine-config", BODY_SOME, NULL, h_put_machine_config },
        { HTTP_PUT, "metrics", BODY_SOME, NULL, h_put_metrics },
        { HTTP_PUT, "mmds", BODY_SOME, NULL, h_put_mmds },
        { HTTP_PUT, "network-interfaces", BODY_SOME, NULL, h_put_net },
        { HTTP_PUT, "vsock", BODY_SOME, NULL, h_put_vsock },
        { HTTP_PUT, "entropy", BODY_SOME, NULL, h_put_entropy },
        { HTTP_PUT, NULL, BODY_NONE, NULL, h_empty_put },
        { HTTP_PATCH, "drives", BODY_SOME, NULL, h_patch_drive },
        { HTTP_PATCH, "machine-config", BODY_SOME, NULL, h_patch_machine_config },
        { HTTP_PATCH, "mmds", BODY_SOME, NULL, h_patch_mmds },
        { HTTP_PATCH, "network-interfaces", BODY_SOME, NULL, h_patch_net },
        { HTTP_PATCH, "vm", BODY_SOME, NULL, h_patch_vm },
        { HTTP_PATCH, NULL, BODY_NONE, NULL, h_empty_patch },
};

/* request_uri.trim_start_matches('/').split_terminator('/'): the first two segments. */
static int split_path(const char *path, Req *r) {
        while (*path == '/')
                path++;
        const char *slash = strchr(path, '/');
        r->tok1 = slash ? strndup(path, (size_t) (slash - path)) : strdup(path);
        r->tok2 = NULL;
        if (!r->tok1)
                return -ENOMEM;
        if (slash && slash[1]) {
                const char *s2 = slash + 1, *e2 = strchr(s2, '/');
                r->tok2 = e2 ? strndup(s2, (size_t) (e2 - s2)) : strdup(s2);
                if (!r->tok2)
                        return -ENOMEM;
        }
        return 0;
}

static const char *method_debug(HttpMethod m) {
        switch (m) {
        case HTTP_GET:
                return "Get";
        case HTTP_PUT:
                return "Put";
        case HTTP_PATCH:
                return "Patch";
        case HTTP_DELETE:
                return "Delete";
        }
        return "?";
}

static void log_request(const HttpRequest *req) {
        char *path = de_debug_str(req->path, strlen(req->path));
        if (!path)
                return;
        if (!req->body || strcmp(req->path, "/mmds") == 0)
                log_info("fc_api", "The API server received a %s request on %s.", method_debug(req->method),
                         path);
        else {
                char *body = de_debug_str(req->body, req->body_len);
                if (body)
                        log_info("fc_api", "The API server received a %s request on %s with body %s.",
                                 method_debug(req->method), path, body);
                free(body);
        }
        free(path);
}

static void log_reply(const Reply *rep) {
        if (rep->status == 204)
                log_info("fc_api", "The request was executed successfully. Status code: 204 No Content.");
        else if (rep->status == 200)
                log_info("fc_api", "The request was executed successfully. Status code: 200 OK.");
        else {
                char *m = reply_fault_message(rep);
                log_error("fc_api", "Received Error. Status code: %d %s. Message: %s", rep->status,
                          rep->status == 413 ? "Payload too large" : "Bad Request", m ? m : "");
                free(m);
        }
}

Reply api_handle(void *userdata, const HttpRequest *req) {
        Api *a = userdata;
        Req r = { .method = req->method, .path = req->path, .body = req->body, .body_len = req->body_len };
        Reply rep;

        log_request(req);
        if (split_path(req->path, &r) < 0) {
                free(r.tok1);
                return reply_fault(500, "out of memory");
        }
        int body = req->body ? BODY_SOME : BODY_NONE;
        const Route *match = NULL;
        for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]) && !match; i++) {
                const Route *rt = &routes[i];
                if (rt->method != r.method || rt->body != body ||
                    (rt->tok1 && strcmp(rt->tok1, r.tok1) != 0))
                        continue;
                if (rt->tok2 && !(r.tok2 && strcmp(rt->tok2, r.tok2) == 0))
                        continue;
                match = rt;
        }
        if (match)
                rep = match->handler(a, &r);
        else
                rep = reply_fault(400, "Invalid request method and/or path: %s %s.",
                                  http_method_name(r.method), r.tok1);
        log_reply(&rep);
        free(r.tok1);
        free(r.tok2);
        return rep;
}
