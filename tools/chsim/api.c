/* SPDX-License-Identifier: Apache-2.0 */
#include "api.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "decode.h"
#include "logger.h"
#include "schema.h"

/*
 * Handler kinds, as in http_endpoint.rs:
 *   H_ACTION  VmActionHandler: GET and PUT reach the action (the wrong one
 *             of the two is ["Bad Request"]); PATCH and DELETE get a bare
 *             400. A bodiless PUT action given a body, or a body action
 *             given none, is ["Bad Request"].
 *   H_CUSTOM  VmCreate, VmInfo, VmmPing, VmmShutdown: any other method is
 *             ["Bad Request"]; vm.create without a body is a bare 400.
 */
typedef enum HandlerKind { H_ACTION, H_CUSTOM } HandlerKind;

typedef struct Route Route;
typedef Reply (*Handler)(Api *a, const Route *r, const json_t *body);

struct Route {
        const char *endpoint; /* after /api/v1/ */
        HandlerKind kind;
        HttpMethod method; /* HTTP_GET or HTTP_PUT */
        const DeType *body; /* the body's type; NULL: the request takes no body */
        const char *api_error; /* ApiError Display */
        Handler handler;
};

/* An error chain from the VMM as the HTTP answer. */
static Reply api_error(const Route *r, ChErr *e) {
        if (vmm_error_is_api_level(e))
                e->status = 500;
        else if (r->api_error)
                cherr_wrap(e, "%s", r->api_error);
        cherr_wrap(e, "Error from API");
        return reply_cherr(e);
}

static Reply done(const Route *r, ChErr *e) {
        return e ? api_error(r, e) : reply_empty();
}

static Reply h_ping(Api *a, const Route *r, const json_t *body) {
        return reply_json(vmm_ping(a->vmm));
}

static Reply h_vmm_shutdown(Api *a, const Route *r, const json_t *body) {
        ChErr *e = vmm_vmm_shutdown(a->vmm);
        return e ? api_error(r, e) : reply_status(200);
}

static Reply h_create(Api *a, const Route *r, const json_t *body) {
        return done(r, vmm_vm_create(a->vmm, json_incref((json_t *) body)));
}

static Reply h_boot(Api *a, const Route *r, const json_t *body) {
        return done(r, vmm_vm_boot(a->vmm));
}

static Reply h_shutdown(Api *a, const Route *r, const json_t *body) {
        return done(r, vmm_vm_shutdown(a->vmm));
}

static Reply h_reboot(Api *a, const Route *r, const json_t *body) {
        return done(r, vmm_vm_reboot(a->vmm));
}

static Reply h_pause(Api *a, const Route *r, const json_t *body) {
        return done(r, vmm_vm_pause(a->vmm));
}

static Reply h_resume(Api *a, const Route *r, const json_t *body) {
        return done(r, vmm_vm_resume(a->vmm));
}

static Reply h_power_button(Api *a, const Route *r, const json_t *body) {
        return done(r, vmm_vm_power_button(a->vmm));
}

static Reply h_nmi(Api *a, const Route *r, const json_t *body) {
        return done(r, vmm_vm_nmi(a->vmm));
}

static Reply h_delete(Api *a, const Route *r, const json_t *body) {
        return done(r, vmm_vm_delete(a->vmm));
}

static Reply h_info(Api *a, const Route *r, const json_t *body) {
        json_t *info = NULL;
        ChErr *e = vmm_vm_info(a->vmm, &info);
        return e ? api_error(r, e) : reply_json(info);
}

static Reply h_counters(Api *a, const Route *r, const json_t *body) {
        char *text = NULL;
        ChErr *e = vmm_vm_counters(a->vmm, &text);
        return e ? api_error(r, e) : reply_text(text);
}

static Reply h_resize(Api *a, const Route *r, const json_t *body) {
        bool busy = false;
        ChErr *e = vmm_vm_resize(a->vmm, body, &busy);
        if (busy) {
                /* HttpError::TooManyRequests: not an ApiError, no chain. */
                cherr_free(e);
                return reply_cherr(cherr_new(429, "Too Many Requests"));
        }
        return done(r, e);
}

static Reply add_device(Api *a, const Route *r, const json_t *body, const char *kind) {
        json_t *info = NULL;
        ChErr *e = vmm_vm_add_device(a->vmm, kind, json_incref((json_t *) body), &info);
        if (e)
                return api_error(r, e);
        return info ? reply_json(info) : reply_empty();
}

static Reply h_add_disk(Api *a, const Route *r, const json_t *body) {
        return add_device(a, r, body, "disks");
}

static Reply h_add_net(Api *a, const Route *r, const json_t *body) {
        return add_device(a, r, body, "net");
}

static Reply h_remove_device(Api *a, const Route *r, const json_t *body) {
        return done(r, vmm_vm_remove_device(a->vmm, cfg_str(body, "id")));
}

/* Accepted and checked like Cloud Hypervisor, then refused (README.md). */
static Reply h_needs_config(Api *a, const Route *r, const json_t *body) {
        return done(r, vmm_not_simulated(a->vmm, false, true));
}

static Reply h_needs_vm(Api *a, const Route *r, const json_t *body) {
        return done(r, vmm_not_simulated(a->vmm, true, false));
}

static Reply h_restore(Api *a, const Route *r, const json_t *body) {
        return done(r, vmm_not_simulated(a->vmm, false, false));
}

/* HTTP_ROUTES in vmm/src/api/http/mod.rs (default features: no vm.coredump). */
static const Route routes[] = {
        { "vm.add-device", H_ACTION, HTTP_PUT, &schema_device_config,
          "The device could not be added to the VM", h_needs_config },
        { "vm.add-user-device", H_ACTION, HTTP_PUT, &schema_user_device_config,
          "The user device could not be added to the VM", h_needs_config },
        { "vm.add-disk", H_ACTION, HTTP_PUT, &schema_disk_config, "The disk could not be added to the VM",
          h_add_disk },
        { "vm.add-fs", H_ACTION, HTTP_PUT, &schema_fs_config, "The fs could not be added to the VM",
          h_needs_config },
        { "vm.add-generic-vhost-user", H_ACTION, HTTP_PUT, &schema_generic_vhost_user,
          "The generic vhost-user device could not be added to the VM", h_needs_config },
        { "vm.add-net", H_ACTION, HTTP_PUT, &schema_net_config,
          "The network device could not be added to the VM", h_add_net },
        { "vm.add-pmem", H_ACTION, HTTP_PUT, &schema_pmem_config,
          "The pmem device could not be added to the VM", h_needs_config },
        { "vm.add-vdpa", H_ACTION, HTTP_PUT, &schema_vdpa_config,
          "The vDPA device could not be added to the VM", h_needs_config },
        { "vm.add-vsock", H_ACTION, HTTP_PUT, &schema_vsock_config,
          "The vsock device could not be added to the VM", h_needs_config },
        { "vm.boot", H_ACTION, HTTP_PUT, NULL, "The VM could not boot", h_boot },
        { "vm.counters", H_ACTION, HTTP_GET, NULL, "The VM info is not available", h_counters },
        { "vm.create", H_CUSTOM, HTTP_PUT, &schema_vm_config, "The VM could not be created", h_create },
        { "vm.delete", H_ACTION, HTTP_PUT, NULL, "The VM could not be deleted", h_delete },
        { "vm.info", H_CUSTOM, HTTP_GET, NULL, "The VM info is not available", h_info },
        { "vm.pause", H_ACTION, HTTP_PUT, NULL, "The VM could not be paused", h_pause },
        { "vm.power-button", H_ACTION, HTTP_PUT, NULL, "Error triggering power button", h_power_button },
        { "vm.reboot", H_ACTION, HTTP_PUT, NULL, "The VM could not reboot", h_reboot },
        { "vm.receive-migration", H_ACTION, HTTP_PUT, &schema_receive_migration,
          "Error starting migration receiver", h_restore },
        { "vm.remove-device", H_ACTION, HTTP_PUT, &schema_vm_remove_device,
          "The device could not be removed from the VM", h_remove_device },
        { "vm.resize", H_ACTION, HTTP_PUT, &schema_vm_resize, "The VM could not be resized", h_resize },
        { "vm.resize-disk", H_ACTION, HTTP_PUT, &schema_vm_resize_disk, "The disk could not be resized",
          h_needs_config },
        { "vm.resize-zone", H_ACTION, HTTP_PUT, &schema_vm_resize_zone,
          "The memory zone could not be resized", h_needs_config },
        { "vm.restore", H_ACTION, HTTP_PUT, &schema_restore_config, "The VM could not be restored",
          h_restore },
        { "vm.resume", H_ACTION, HTTP_PUT, NULL, "The VM could not resume", h_resume },
        { "vm.send-migration", H_ACTION, HTTP_PUT, &schema_send_migration, "Error starting migration sender",
          h_needs_vm },
        { "vm.shutdown", H_ACTION, HTTP_PUT, NULL, "The VM could not shutdown", h_shutdown },
        { "vm.snapshot", H_ACTION, HTTP_PUT, &schema_vm_snapshot, "The VM could not be snapshotted",
          h_needs_vm },
        { "vmm.ping", H_CUSTOM, HTTP_GET, NULL, "The VMM could not be pinged", h_ping },
        { "vmm.shutdown", H_CUSTOM, HTTP_PUT, NULL, "The VMM could not shutdown", h_vmm_shutdown },
        { "vm.nmi", H_ACTION, HTTP_PUT, NULL, "Error triggering NMI", h_nmi },
};

static const char root[] = "/api/v1/";

static const Route *route_find(const char *path) {
        if (strncmp(path, root, sizeof(root) - 1) != 0)
                return NULL;
        for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
                if (strcmp(path + sizeof(root) - 1, routes[i].endpoint) == 0)
                        return &routes[i];
        return NULL;
}

static Reply bad_request(void) {
        return reply_cherr(cherr_new(400, "Bad Request"));
}

/* The method and body checks of the route's handler kind. Returns true and
 * leaves *ret untouched when the request may go on. */
static bool check_request(const Route *r, const HttpRequest *req, Reply *ret) {
        if (r->kind == H_CUSTOM) {
                if (req->method != r->method) {
                        *ret = bad_request();
                        return false;
                }
                if (r->body && !req->body) {
                        *ret = reply_status(400);
                        return false;
                }
                return true;
        }
        if (req->method != HTTP_GET && req->method != HTTP_PUT) {
                *ret = reply_status(400);
                return false;
        }
        if (req->method != r->method) {
                *ret = bad_request();
                return false;
        }
        if (req->method == HTTP_PUT && (r->body ? !req->body : req->body != NULL)) {
                *ret = bad_request();
                return false;
        }
        return true;
}

static Reply dispatch(Api *a, const HttpRequest *req) {
        const Route *r = route_find(req->path);
        if (!r)
                return reply_cherr(cherr_new(404, "Not Found"));
        Reply rep;
        if (!check_request(r, req, &rep))
                return rep;
        if (a->hang_on && strcmp(a->hang_on, r->endpoint) == 0) {
                log_warn("vmm", "vmm/src/lib.rs", "chsim: CHSIM_HANG_ON=%s: the VMM stops answering",
                         r->endpoint);
                return (Reply){ .hang = true };
        }
        json_t *body = NULL;
        if (r->body && req->method == HTTP_PUT) {
                char *msg = NULL;
                int rc = de_decode(r->body, req->body, req->body_len, &body, &msg);
                if (rc == -EINVAL) {
                        ChErr *e = cherr_new(400, "%s", msg);
                        free(msg);
                        return reply_cherr(cherr_wrap(e, "Failed to deserialize JSON"));
                }
                if (rc < 0)
                        return reply_cherr(cherr_new(500, "Internal Server Error"));
        }
        rep = r->handler(a, r, body);
        json_decref(body);
        return rep;
}

Reply api_handle(void *userdata, const HttpRequest *req) {
        Api *a = userdata;
        Reply rep = dispatch(a, req);
        if (rep.status >= 400 && rep.body)
                log_info("http-server", "vmm/src/api/http/mod.rs", "HTTP API error response: %s", rep.body);
        return rep;
}
