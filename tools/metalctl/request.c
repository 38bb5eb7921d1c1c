/* SPDX-License-Identifier: Apache-2.0 */
#include "request.h"

#include <assert.h>
#include <stdio.h>
#include <strings.h>

#define _cleanup_json_ _cleanup_(json_decrefp)

/* The binary units a size may carry, as powers of two. "KB" and friends are
 * refused on purpose: they mean 1000 to some and 1024 to others. */
static const struct {
        const char *suffix;
        unsigned shift;
} size_units[] = {
        { "", 0 },     { "b", 0 },  { "k", 10 },   { "kib", 10 }, { "m", 20 },
        { "mib", 20 }, { "g", 30 }, { "gib", 30 }, { "t", 40 },   { "tib", 40 },
};

int size_parse(const char *s, uint64_t *ret) {
        assert(ret);
        if (!s || *s < '0' || *s > '9')
                return -EINVAL;
        uint64_t v = 0;
        const char *p = s;
        for (; *p >= '0' && *p <= '9'; p++) {
                unsigned d = (unsigned) (*p - '0');
                if (v > (UINT64_MAX - d) / 10)
                        return -ERANGE;
                v = v * 10 + d;
        }
        for (size_t i = 0; i < ELEMENTSOF(size_units); i++) {
                if (strcasecmp(p, size_units[i].suffix) != 0)
                        continue;
                if (v > ((uint64_t) INT64_MAX >> size_units[i].shift))
                        return -ERANGE;
                *ret = v << size_units[i].shift;
                return 0;
        }
        return -EINVAL;
}

int size_arg(const char *name, const char *v, uint64_t *ret, char **ret_error) {
        int r = size_parse(v, ret);
        if (r == -ERANGE)
                *ret_error = strdup_printf("--%s: \"%s\" is too large", name, v);
        else if (r < 0)
                *ret_error = strdup_printf("--%s: \"%s\" is not a size: use a whole number with an optional "
                                           "unit K, M, G or T (1K = 1024 bytes), e.g. 512M or 1G",
                                           name, v);
        return r;
}

int uint_arg(const char *name, const char *v, uint64_t min, uint64_t max, uint64_t *ret, char **ret_error) {
        uint64_t x = 0;
        const char *p = v;
        bool ok = v && *v;
        for (; ok && *p; p++) {
                if (*p < '0' || *p > '9' || x > (UINT64_MAX - 9) / 10) {
                        ok = false;
                        break;
                }
                x = x * 10 + (uint64_t) (*p - '0');
        }
        if (!ok || x < min || x > max) {
                *ret_error = strdup_printf("--%s: \"%s\" is not a whole number between %llu and %llu", name,
                                           v ? v : "", (unsigned long long) min, (unsigned long long) max);
                return -EINVAL;
        }
        *ret = x;
        return 0;
}

int disk_parse(const char *spec, json_t **ret, char **ret_error) {
        assert(spec && ret && ret_error);
        _cleanup_free_ char *copy = strdup(spec);
        if (!copy)
                return -ENOMEM;
        char *save = NULL;
        char *path = copy[0] == ',' ? NULL : strtok_r(copy, ",", &save);
        if (!path) {
                *ret_error = strdup_printf(
                        "--disk \"%s\": the path is missing (--disk PATH[,ro][,root][,id=NAME])", spec);
                return -EINVAL;
        }
        bool readonly = false, root = false;
        const char *id = NULL;
        for (char *t = strtok_r(NULL, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                if (streq(t, "ro") || streq(t, "readonly"))
                        readonly = true;
                else if (streq(t, "rw"))
                        readonly = false;
                else if (streq(t, "root"))
                        root = true;
                else if (strncmp(t, "id=", 3) == 0 && t[3])
                        id = t + 3;
                else {
                        *ret_error =
                                strdup_printf("--disk \"%s\": unknown option \"%s\" (use ro, rw, root or "
                                              "id=NAME; a path with a comma needs create -f)",
                                              spec, t);
                        return -EINVAL;
                }
        }
        _cleanup_json_ json_t *d = json_pack("{s:s, s:b}", "path", path, "readonly", readonly);
        if (!d || (root && json_object_set_new(d, "is_root_device", json_true()) < 0) ||
            (id && json_object_set_new(d, "id", json_string(id)) < 0))
                return -ENOMEM;
        *ret = TAKE_PTR(d);
        return 0;
}

static const struct {
        const char *enum_name;
        const char *name;
} state_table[] = {
        { "VM_STATE_CREATED", "created" }, { "VM_STATE_RUNNING", "running" },
        { "VM_STATE_PAUSED", "paused" },   { "VM_STATE_SHUTDOWN", "shutdown" },
        { "VM_STATE_FAILED", "failed" },   { "VM_STATE_DELETED", "deleted" },
};

int state_from_name(const char *name, const char **ret) {
        if (!name)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(state_table); i++)
                if (strcasecmp(name, state_table[i].name) == 0 ||
                    strcasecmp(name, state_table[i].enum_name) == 0) {
                        *ret = state_table[i].enum_name;
                        return 0;
                }
        return -EINVAL;
}

const char *state_names_help(void) {
        return "created, running, paused, shutdown, failed or deleted";
}

/* Replace obj's field under either spelling by value (taking it), under the
 * snake_case name. */
static int set_field(json_t *obj, const char *snake, const char *camel, json_t *value) {
        if (!value)
                return -ENOMEM;
        json_object_del(obj, camel);
        return json_object_set_new(obj, snake, value) < 0 ? -ENOMEM : 0;
}

/* Lay the request-level flags (not the config) over req. */
static int apply_request_flags(json_t *req, const CreateArgs *a, char **ret_error) {
        if (a->restart_policy && !streq(a->restart_policy, "never") &&
            !streq(a->restart_policy, "on-failure") && !streq(a->restart_policy, "always")) {
                *ret_error = strdup_printf("--restart-policy: \"%s\" is not never, on-failure or always",
                                           a->restart_policy);
                return -EINVAL;
        }
        int r = 0;
        if (a->customer)
                r = set_field(req, "customer_id", "customerId", json_string(a->customer));
        if (r >= 0 && a->backend)
                r = set_field(req, "backend", "backend", json_string(a->backend));
        if (r >= 0 && a->boot)
                r = set_field(req, "boot", "boot", json_true());
        if (r >= 0 && a->restart_policy)
                r = set_field(req, "restart_policy", "restartPolicy", json_string(a->restart_policy));
        return r;
}

/* Add the --metadata KEY=VALUE pairs to config.metadata (created if missing). */
static int apply_metadata(json_t *config, const CreateArgs *a, char **ret_error) {
        if (a->n_metadata == 0)
                return 0;
        json_t *md = json_object_get(config, "metadata");
        if (!md) {
                md = json_object();
                if (!md || json_object_set_new(config, "metadata", md) < 0)
                        return -ENOMEM;
        } else if (!json_is_object(md)) {
                *ret_error = strdup_printf("--metadata: the file's config.metadata is not an object");
                return -EINVAL;
        }
        for (size_t i = 0; i < a->n_metadata; i++) {
                const char *kv = a->metadata[i];
                const char *eq = strchr(kv, '=');
                if (!eq || eq == kv) {
                        *ret_error = strdup_printf("--metadata \"%s\": use KEY=VALUE", kv);
                        return -EINVAL;
                }
                _cleanup_free_ char *key = strndup(kv, (size_t) (eq - kv));
                if (!key || json_object_set_new(md, key, json_string(eq + 1)) < 0)
                        return -ENOMEM;
        }
        return 0;
}

/* Set obj[key] to the integer of a size option, if given. */
static int put_size(json_t *obj, const char *key, const char *option, const char *v, char **ret_error) {
        if (!v)
                return 0;
        uint64_t x;
        int r = size_arg(option, v, &x, ret_error);
        if (r < 0)
                return r;
        return json_object_set_new(obj, key, json_integer((json_int_t) x)) < 0 ? -ENOMEM : 0;
}

static int put_count(json_t *obj, const char *key, const char *option, const char *v, char **ret_error) {
        if (!v)
                return 0;
        uint64_t x;
        int r = uint_arg(option, v, 1, INT32_MAX, &x, ret_error);
        if (r < 0)
                return r;
        return json_object_set_new(obj, key, json_integer((json_int_t) x)) < 0 ? -ENOMEM : 0;
}

static int put_string(json_t *obj, const char *key, const char *v) {
        if (!v)
                return 0;
        return json_object_set_new(obj, key, json_string(v)) < 0 ? -ENOMEM : 0;
}

int create_request_from_flags(const CreateArgs *a, json_t **ret, char **ret_error) {
        assert(a && ret && ret_error);
        const char *missing = !a->vcpus    ? "--vcpus"
                              : !a->memory ? "--memory"
                              : !a->kernel ? "--kernel"
                                           : NULL;
        if (missing) {
                *ret_error = strdup_printf("create: %s is required (create needs --vcpus, --memory and "
                                           "--kernel, or a file with -f)",
                                           missing);
                return -EINVAL;
        }
        _cleanup_json_ json_t *req = json_object();
        _cleanup_json_ json_t *config = json_pack("{s:{}, s:{}, s:{}}", "cpu", "memory", "boot");
        if (!req || !config)
                return -ENOMEM;
        json_t *cpu = json_object_get(config, "cpu"), *memory = json_object_get(config, "memory"),
               *boot = json_object_get(config, "boot");

        int r = put_count(cpu, "vcpu_count", "vcpus", a->vcpus, ret_error);
        if (r >= 0)
                r = put_count(cpu, "max_vcpu_count", "max-vcpus", a->max_vcpus, ret_error);
        if (r >= 0)
                r = put_size(memory, "size_bytes", "memory", a->memory, ret_error);
        if (r >= 0)
                r = put_size(memory, "hotplug_size_bytes", "hotplug-memory", a->hotplug_memory, ret_error);
        if (r >= 0)
                r = put_string(boot, "kernel_path", a->kernel);
        if (r >= 0)
                r = put_string(boot, "kernel_args", a->kernel_args);
        if (r >= 0)
                r = put_string(boot, "initrd_path", a->initrd);
        if (r < 0)
                return r;
        if (a->n_disks > 0) {
                json_t *storage = json_array();
                if (!storage || json_object_set_new(config, "storage", storage) < 0)
                        return -ENOMEM;
                for (size_t i = 0; i < a->n_disks; i++) {
                        json_t *d = NULL;
                        r = disk_parse(a->disks[i], &d, ret_error);
                        if (r < 0)
                                return r;
                        if (json_array_append_new(storage, d) < 0)
                                return -ENOMEM;
                }
        }
        r = apply_metadata(config, a, ret_error);
        if (r < 0)
                return r;

        if (a->id && json_object_set_new(req, "vm_id", json_string(a->id)) < 0)
                return -ENOMEM;
        if (json_object_set_new(req, "config", TAKE_PTR(config)) < 0)
                return -ENOMEM;
        r = apply_request_flags(req, a, ret_error);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(req);
        return 0;
}

/* The fields only a CreateVmRequest has (a VmConfig has none of them). */
static const char *const request_only_fields[] = {
        "config", "vm_id", "vmId", "customer_id", "customerId", "backend", "restart_policy", "restartPolicy",
};

bool create_file_is_request(const json_t *doc) {
        for (size_t i = 0; i < ELEMENTSOF(request_only_fields); i++)
                if (json_object_get(doc, request_only_fields[i]))
                        return true;
        /* "boot" is a bool in a request, a BootConfig object in a config. */
        return json_is_boolean(json_object_get(doc, "boot"));
}

int create_request_from_json(const json_t *doc, const CreateArgs *a, json_t **ret, char **ret_error) {
        assert(a && ret && ret_error);
        static const struct {
                const char *option;
                size_t offset;
        } config_flags[] = {
                { "--vcpus", offsetof(CreateArgs, vcpus) },
                { "--max-vcpus", offsetof(CreateArgs, max_vcpus) },
                { "--memory", offsetof(CreateArgs, memory) },
                { "--hotplug-memory", offsetof(CreateArgs, hotplug_memory) },
                { "--kernel", offsetof(CreateArgs, kernel) },
                { "--kernel-args", offsetof(CreateArgs, kernel_args) },
                { "--initrd", offsetof(CreateArgs, initrd) },
        };
        for (size_t i = 0; i < ELEMENTSOF(config_flags); i++)
                if (*(const char *const *) ((const char *) a + config_flags[i].offset)) {
                        *ret_error = strdup_printf(
                                "%s cannot be combined with -f: the file holds the VM's config",
                                config_flags[i].option);
                        return -EINVAL;
                }
        if (a->n_disks > 0) {
                *ret_error =
                        strdup_printf("--disk cannot be combined with -f: the file holds the VM's config");
                return -EINVAL;
        }
        if (!json_is_object(doc)) {
                *ret_error = strdup_printf(
                        "-f: the file must hold a JSON object (a VmConfig or a CreateVmRequest)");
                return -EINVAL;
        }

        _cleanup_json_ json_t *req = NULL;
        if (create_file_is_request(doc))
                req = json_deep_copy(doc);
        else
                req = json_pack("{s:o}", "config", json_deep_copy(doc));
        if (!req)
                return -ENOMEM;
        int r = 0;
        if (a->id)
                r = set_field(req, "vm_id", "vmId", json_string(a->id));
        if (r >= 0)
                r = apply_request_flags(req, a, ret_error);
        if (r >= 0 && a->n_metadata > 0) {
                json_t *config = json_object_get(req, "config");
                if (!config) {
                        config = json_object();
                        if (!config || json_object_set_new(req, "config", config) < 0)
                                return -ENOMEM;
                }
                if (!json_is_object(config)) {
                        *ret_error = strdup_printf("--metadata: the file's config is not an object");
                        return -EINVAL;
                }
                r = apply_metadata(config, a, ret_error);
        }
        if (r < 0)
                return r;
        *ret = TAKE_PTR(req);
        return 0;
}

json_t *vm_request(const char *id, bool force, unsigned timeout_seconds) {
        _cleanup_json_ json_t *req = json_pack("{s:s}", "vm_id", id);
        if (!req || (force && json_object_set_new(req, "force", json_true()) < 0) ||
            (timeout_seconds > 0 &&
             json_object_set_new(req, "timeout_seconds", json_integer((json_int_t) timeout_seconds)) < 0))
                return NULL;
        return TAKE_PTR(req);
}

json_t *list_request(const char *const *states, size_t n_states, const char *customer, bool include_deleted,
                     unsigned page_size, const char *page_token) {
        _cleanup_json_ json_t *req = json_object();
        if (!req)
                return NULL;
        if (page_size > 0 && json_object_set_new(req, "page_size", json_integer(page_size)) < 0)
                return NULL;
        if (!isempty(page_token) && json_object_set_new(req, "page_token", json_string(page_token)) < 0)
                return NULL;
        if (n_states > 0) {
                json_t *a = json_array();
                if (!a || json_object_set_new(req, "state_filter", a) < 0)
                        return NULL;
                for (size_t i = 0; i < n_states; i++)
                        if (json_array_append_new(a, json_string(states[i])) < 0)
                                return NULL;
        }
        if (customer && json_object_set_new(req, "customer_id", json_string(customer)) < 0)
                return NULL;
        if (include_deleted && json_object_set_new(req, "include_deleted", json_true()) < 0)
                return NULL;
        return TAKE_PTR(req);
}

json_t *history_request(const char *id, unsigned page_size, const char *page_token) {
        _cleanup_json_ json_t *req = json_pack("{s:s}", "vm_id", id);
        if (!req || (page_size > 0 && json_object_set_new(req, "page_size", json_integer(page_size)) < 0) ||
            (!isempty(page_token) && json_object_set_new(req, "page_token", json_string(page_token)) < 0))
                return NULL;
        return TAKE_PTR(req);
}

json_t *console_request(const char *id, uint64_t offset, unsigned max_bytes) {
        _cleanup_json_ json_t *req = json_pack("{s:s, s:I}", "vm_id", id, "offset", (json_int_t) offset);
        if (!req || (max_bytes > 0 && json_object_set_new(req, "max_bytes", json_integer(max_bytes)) < 0))
                return NULL;
        return TAKE_PTR(req);
}

json_t *metrics_request(const char *id, const char *from, const char *to, unsigned page_size,
                        const char *page_token) {
        _cleanup_json_ json_t *req = json_pack("{s:s}", "vm_id", id);
        if (!req || (from && json_object_set_new(req, "from", json_string(from)) < 0) ||
            (to && json_object_set_new(req, "to", json_string(to)) < 0) ||
            (page_size > 0 && json_object_set_new(req, "page_size", json_integer(page_size)) < 0) ||
            (!isempty(page_token) && json_object_set_new(req, "page_token", json_string(page_token)) < 0))
                return NULL;
        return TAKE_PTR(req);
}
