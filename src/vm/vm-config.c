/* SPDX-License-Identifier: Apache-2.0 */
/*
 * VmConfig: decoding from the API's JSON (protobuf JSON mapping of
 * vmprovisioner.v1.VmConfig), validation against the host (asset roots,
 * memory), the canonical JSON the store keeps, and VM ids.
 *
 * Decoding is table-driven: each message is a table of FieldSpec rows (proto
 * name, JSON name, decoder, where the value goes). VmConfig is flat, so the
 * cpu/memory/boot sub-messages decode into the same struct as their parent.
 */
#include "vm/vm-config.h"

#include <arpa/inet.h>
#include <assert.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/stat.h>

#include "net/net-util.h"

#define MIB (UINT64_C(1) << 20)

_Static_assert(sizeof(json_int_t) == sizeof(int64_t), "jansson must use 64-bit integers");

/* A jansson reference held by a cleanup-guarded local (json_decrefp is jansson's). */
#define _cleanup_json_ _cleanup_(json_decrefp)

static void vm_nic_clear(VmNic *n) {
        free(n->id);
        free(n->mac);
        free(n->network);
        free(n->ipv4);
        free(n->ipv6);
        *n = (VmNic){ 0 };
}

/* Frees c and everything it owns. Accepts NULL; returns NULL. */
VmConfig *vm_config_free(VmConfig *c) {
        if (!c)
                return NULL;
        free(c->kernel_path);
        free(c->kernel_args);
        free(c->initrd_path);
        for (size_t i = 0; i < c->n_disks; i++) {
                free(c->disks[i].id);
                free(c->disks[i].path);
        }
        free(c->disks);
        for (size_t i = 0; i < c->n_metadata; i++) {
                free(c->metadata[i].key);
                free(c->metadata[i].value);
        }
        free(c->metadata);
        for (size_t i = 0; i < c->n_nics; i++)
                vm_nic_clear(&c->nics[i]);
        free(c->nics);
        return mfree(c);
}

/* ---- error reporting ---------------------------------------------------- */

static int vm_error_set(VmError *err, const char *field, const char *fmt, ...) _printf_(3, 4);

/* Fills err with field and the formatted message (both truncated to fit).
 * Always returns -EINVAL so callers can `return vm_error_set(...)`. */
static int vm_error_set(VmError *err, const char *field, const char *fmt, ...) {
        assert(err);
        assert(field);
        assert(fmt);

        snprintf(err->field, sizeof err->field, "%s", field);
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
        return -EINVAL;
}

/* Fills err for an allocation failure at field. Returns -ENOMEM. */
static int vm_error_oom(VmError *err, const char *field) {
        vm_error_set(err, field, "out of memory");
        return -ENOMEM;
}

/*
 * Writes the len bytes at s into buf (size >= 8) as printable ASCII for an
 * error message: '"' and '\' backslash-escaped, control and non-ASCII bytes
 * (including NUL) as \xNN, cut with "..." when buf is too small; wrapped in
 * double quotes if `quotes`. Always NUL-terminates. Returns buf.
 */
static char *quote(char *buf, size_t size, const char *s, size_t len, bool quotes) {
        static const char hex[] = "0123456789abcdef";
        const size_t reserve = 5; /* "..." + closing quote + NUL */
        size_t n = 0;

        assert(buf);
        assert(size >= 8);
        assert(s || len == 0);

        if (quotes)
                buf[n++] = '"';
        for (size_t i = 0; i < len; i++) {
                unsigned char ch = (unsigned char) s[i];
                char e[4];
                size_t k;

                if (ch == '"' || ch == '\\') {
                        e[0] = '\\';
                        e[1] = (char) ch;
                        k = 2;
                } else if (ch < 0x20 || ch >= 0x7f) {
                        e[0] = '\\';
                        e[1] = 'x';
                        e[2] = hex[ch >> 4];
                        e[3] = hex[ch & 15];
                        k = 4;
                } else {
                        e[0] = (char) ch;
                        k = 1;
                }
                /* Invariant: n + reserve <= size, so "..." and the quote fit. */
                if (n + k + reserve > size) {
                        memcpy(buf + n, "...", 3);
                        n += 3;
                        break;
                }
                memcpy(buf + n, e, k);
                n += k;
        }
        if (quotes)
                buf[n++] = '"';
        buf[n] = 0;
        return buf;
}

/* quote() for a NUL-terminated string, always with quotes. */
static char *quote_str(char *buf, size_t size, const char *s) {
        return quote(buf, size, s, strlen(s), true);
}

/* Describes a JSON value for "got ..." in type errors: strings quoted and
 * escaped, numbers printed, containers by kind. Returns buf or a literal. */
static const char *json_describe(const json_t *v, char *buf, size_t size) {
        assert(v);
        assert(buf);

        switch (json_typeof(v)) {
        case JSON_OBJECT:
                return "an object";
        case JSON_ARRAY:
                return "an array";
        case JSON_STRING:
                return quote(buf, size, json_string_value(v), json_string_length(v), true);
        case JSON_INTEGER:
                snprintf(buf, size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
                return buf;
        case JSON_REAL:
                snprintf(buf, size, "%.15g", json_real_value(v));
                return buf;
        case JSON_TRUE:
                return "true";
        case JSON_FALSE:
                return "false";
        case JSON_NULL:
                return "null";
        }
        return "an unknown JSON value";
}

/* Writes "prefix.name" (or just "name" for an empty prefix) into buf. */
static void path_join(char *buf, size_t size, const char *prefix, const char *name) {
        assert(prefix);
        assert(name);
        snprintf(buf, size, "%s%s%s", prefix, *prefix ? "." : "", name);
}

/* Writes `prefix["key"]`, the path of one metadata entry, into buf. */
static void path_map_key(char *buf, size_t size, const char *prefix, const char *key, size_t key_len) {
        char q[64];
        snprintf(buf, size, "%s[%s]", prefix, quote(q, sizeof q, key, key_len, true));
}

/* ---- decoding (protobuf JSON mapping) ----------------------------------- */

typedef struct FieldSpec FieldSpec;
typedef struct MessageSpec MessageSpec;

/*
 * Decodes the non-null JSON value v of field f into dst (the message's base
 * plus f->offset); path names the field for errors. Returns 0, or -EINVAL /
 * -ENOMEM with err filled. May leave partial results in dst for the caller's
 * destructor to free.
 */
typedef int (*FieldDecoder)(const json_t *v, const char *path, void *dst, const FieldSpec *f, VmError *err);

struct FieldSpec {
        const char *name; /* proto field name, snake_case; used in error paths */
        const char *json_name; /* lowerCamelCase; equal to name when it has no '_' */
        FieldDecoder decode;
        size_t offset; /* where the value goes, from the message's base */
        const MessageSpec *message; /* for decode_submessage */
};

struct MessageSpec {
        const FieldSpec *fields;
        size_t n_fields;
};

#define MESSAGE_FIELDS_MAX 8

/*
 * Reads v as a protobuf JSON integer: a JSON integer, a JSON real with no
 * fractional part, or a string of an optional '-' and decimal digits.
 * Returns 0 with *ret set, -ERANGE for an integer outside int64, -EINVAL for
 * anything that is not an integer.
 */
static int json_parse_int64(const json_t *v, int64_t *ret) {
        assert(v);
        assert(ret);

        if (json_is_integer(v)) {
                *ret = (int64_t) json_integer_value(v);
                return 0;
        }

        if (json_is_real(v)) {
                double d = json_real_value(v);
                if (d != d) /* NaN */
                        return -EINVAL;
                /* Every double this large is a whole number (and infinities are
                 * out of range too), so this is the only check they need. */
                if (d < -0x1p63 || d >= 0x1p63)
                        return -ERANGE;
                int64_t i = (int64_t) d;
                if ((double) i != d)
                        return -EINVAL;
                *ret = i;
                return 0;
        }

        if (json_is_string(v)) {
                const char *s = json_string_value(v);
                size_t len = json_string_length(v), i = 0;
                bool negative = false;

                if (len > 0 && s[0] == '-') {
                        negative = true;
                        i++;
                }
                if (i == len)
                        return -EINVAL;
                for (size_t j = i; j < len; j++)
                        if (s[j] < '0' || s[j] > '9')
                                return -EINVAL;

                /* Magnitude limit: 2^63 for negatives, 2^63 - 1 otherwise. */
                uint64_t limit = negative ? UINT64_C(1) << 63 : (uint64_t) INT64_MAX, u = 0;
                for (; i < len; i++) {
                        unsigned digit = (unsigned) (s[i] - '0');
                        if (u > (limit - digit) / 10)
                                return -ERANGE;
                        u = u * 10 + digit;
                }
                if (!negative)
                        *ret = (int64_t) u;
                else if (u == UINT64_C(1) << 63)
                        *ret = INT64_MIN;
                else
                        *ret = -(int64_t) u;
                return 0;
        }

        return -EINVAL;
}

/* Decodes a non-negative int32 or int64 (by `type`) into *ret, with errors
 * naming path and the expected type. */
static int decode_integer(const json_t *v, const char *path, bool is_int32, int64_t *ret, VmError *err) {
        const char *type = is_int32 ? "int32" : "int64";
        char buf[64];
        int64_t i;
        int r;

        r = json_parse_int64(v, &i);
        if (r == -ERANGE)
                return vm_error_set(err, path, "out of range for %s", type);
        if (r < 0)
                return vm_error_set(err, path, "must be an %s (a JSON integer or a decimal string), got %s",
                                    type, json_describe(v, buf, sizeof buf));
        if (i < 0)
                return vm_error_set(err, path, "must not be negative, got %" PRIi64, i);
        if (is_int32 && i > INT32_MAX)
                return vm_error_set(err, path, "out of range for int32 (at most %" PRIi32 ")", INT32_MAX);
        *ret = i;
        return 0;
}

/* FieldDecoder for a non-negative int32 stored as `unsigned`. */
static int decode_int32(const json_t *v, const char *path, void *dst, _unused_ const FieldSpec *f,
                        VmError *err) {
        int64_t i;
        int r = decode_integer(v, path, true, &i, err);
        if (r < 0)
                return r;
        *(unsigned *) dst = (unsigned) i;
        return 0;
}

/* FieldDecoder for a non-negative int64 stored as `uint64_t`. */
static int decode_int64(const json_t *v, const char *path, void *dst, _unused_ const FieldSpec *f,
                        VmError *err) {
        int64_t i;
        int r = decode_integer(v, path, false, &i, err);
        if (r < 0)
                return r;
        *(uint64_t *) dst = (uint64_t) i;
        return 0;
}

/* FieldDecoder for a bool: JSON true/false only. */
static int decode_bool(const json_t *v, const char *path, void *dst, _unused_ const FieldSpec *f,
                       VmError *err) {
        char buf[64];
        if (!json_is_boolean(v))
                return vm_error_set(err, path, "must be true or false, got %s",
                                    json_describe(v, buf, sizeof buf));
        *(bool *) dst = json_is_true(v);
        return 0;
}

/* FieldDecoder for a string into a malloc'ed `char *` (replacing and freeing
 * any previous value). "" is stored as NULL: proto3 does not tell them apart. */
static int decode_string(const json_t *v, const char *path, void *dst, _unused_ const FieldSpec *f,
                         VmError *err) {
        char **s = dst, *copy = NULL, buf[64];

        if (!json_is_string(v))
                return vm_error_set(err, path, "must be a string, got %s",
                                    json_describe(v, buf, sizeof buf));
        if (strlen(json_string_value(v)) != json_string_length(v))
                return vm_error_set(err, path, "must not contain a NUL byte");
        if (json_string_length(v) > 0) {
                copy = strdup(json_string_value(v));
                if (!copy)
                        return vm_error_oom(err, path);
        }
        free(*s);
        *s = copy;
        return 0;
}

/* True if the key_len bytes at key spell exactly the NUL-terminated name. */
static bool key_is(const char *key, size_t key_len, const char *name) {
        return strlen(name) == key_len && memcmp(key, name, key_len) == 0;
}

/* True if key is a plain identifier, safe to put into an error path as is. */
static bool key_is_identifier(const char *key, size_t key_len) {
        if (key_len == 0 || key_len > 64)
                return false;
        for (size_t i = 0; i < key_len; i++) {
                char ch = key[i];
                if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                      ch == '_'))
                        return false;
        }
        return true;
}

/*
 * Decodes the JSON object obj as message m into base: every key must be one
 * of m's fields under either spelling, at most once; null values are skipped
 * (proto3: absent). Fields are decoded in the object's order, so the first
 * problem in the client's text is reported. Returns 0 or -EINVAL / -ENOMEM
 * with err filled; base may then hold partial results for its destructor.
 */
static int decode_message(const json_t *obj, const char *path, const MessageSpec *m, void *base,
                          VmError *err) {
        const char *seen[MESSAGE_FIELDS_MAX] = { 0 };
        const char *key;
        size_t key_len;
        json_t *value;
        char buf[64];

        assert(obj);
        assert(m);
        assert(m->n_fields <= MESSAGE_FIELDS_MAX);
        assert(base);

        if (!json_is_object(obj))
                return vm_error_set(err, path, "must be an object, got %s",
                                    json_describe(obj, buf, sizeof buf));

        /* jansson's iteration API takes a non-const object; it does not modify it. */
        json_object_keylen_foreach((json_t *) obj, key, key_len, value) {
                char fpath[sizeof err->field];
                const FieldSpec *f = NULL;
                const char *used = NULL;
                int r;

                for (size_t i = 0; i < m->n_fields && !f; i++) {
                        if (key_is(key, key_len, m->fields[i].name))
                                used = m->fields[i].name;
                        else if (key_is(key, key_len, m->fields[i].json_name))
                                used = m->fields[i].json_name;
                        else
                                continue;
                        f = &m->fields[i];
                }

                if (!f) {
                        char q[96];
                        if (key_is_identifier(key, key_len)) {
                                char kname[65];
                                memcpy(kname, key, key_len);
                                kname[key_len] = 0;
                                path_join(fpath, sizeof fpath, path, kname);
                        } else
                                snprintf(fpath, sizeof fpath, "%s", path);
                        return vm_error_set(err, fpath, "unknown field %s",
                                            quote(q, sizeof q, key, key_len, true));
                }

                size_t idx = (size_t) (f - m->fields);
                path_join(fpath, sizeof fpath, path, f->name);
                if (seen[idx])
                        return vm_error_set(err, fpath, "given twice, as \"%s\" and \"%s\"", seen[idx],
                                            used);
                seen[idx] = used;

                if (json_is_null(value))
                        continue;
                r = f->decode(value, fpath, (char *) base + f->offset, f, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* FieldDecoder for a singular message field whose fields live in the same
 * flat struct (cpu, memory, boot: offset 0 into VmConfig). */
static int decode_submessage(const json_t *v, const char *path, void *dst, const FieldSpec *f,
                             VmError *err) {
        assert(f->message);
        return decode_message(v, path, f->message, dst, err);
}

static const FieldSpec disk_fields[] = {
        { "id", "id", decode_string, offsetof(VmDisk, id), NULL },
        { "path", "path", decode_string, offsetof(VmDisk, path), NULL },
        { "readonly", "readonly", decode_bool, offsetof(VmDisk, readonly), NULL },
        { "is_root_device", "isRootDevice", decode_bool, offsetof(VmDisk, is_root_device), NULL },
};
static const MessageSpec disk_message = { disk_fields, ELEMENTSOF(disk_fields) };

/* Frees c's disks and leaves it with none. */
static void config_clear_disks(VmConfig *c) {
        for (size_t i = 0; i < c->n_disks; i++) {
                free(c->disks[i].id);
                free(c->disks[i].path);
        }
        c->disks = mfree(c->disks);
        c->n_disks = 0;
}

/* Frees c's metadata and leaves it with none. */
static void config_clear_metadata(VmConfig *c) {
        for (size_t i = 0; i < c->n_metadata; i++) {
                free(c->metadata[i].key);
                free(c->metadata[i].value);
        }
        c->metadata = mfree(c->metadata);
        c->n_metadata = 0;
}

/* FieldDecoder for `repeated StorageDevice storage` into the VmConfig at dst.
 * At most VM_STORAGE_MAX elements, each an object (null is not an element). */
static int decode_storage(const json_t *v, const char *path, void *dst, _unused_ const FieldSpec *f,
                          VmError *err) {
        VmConfig *c = dst;
        char buf[64];
        size_t n;

        if (!json_is_array(v))
                return vm_error_set(err, path, "must be an array, got %s",
                                    json_describe(v, buf, sizeof buf));
        n = json_array_size(v);
        if (n > VM_STORAGE_MAX)
                return vm_error_set(err, path, "at most %d storage devices are allowed, got %zu",
                                    VM_STORAGE_MAX, n);

        config_clear_disks(c);
        if (n == 0)
                return 0;
        c->disks = calloc(n, sizeof *c->disks);
        if (!c->disks)
                return vm_error_oom(err, path);
        c->n_disks = n; /* all NULL/false now, so vm_config_free copes with a partial decode */

        for (size_t i = 0; i < n; i++) {
                char epath[sizeof err->field];
                int r;

                snprintf(epath, sizeof epath, "%s[%zu]", path, i);
                r = decode_message(json_array_get(v, i), epath, &disk_message, &c->disks[i], err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static const FieldSpec rate_limit_fields[] = {
        { "bandwidth_bytes_per_second", "bandwidthBytesPerSecond", decode_int64,
          offsetof(VmRateLimit, bandwidth_bytes_per_second), NULL },
        { "ops_per_second", "opsPerSecond", decode_int64, offsetof(VmRateLimit, ops_per_second), NULL },
};
static const MessageSpec rate_limit_message = { rate_limit_fields, ELEMENTSOF(rate_limit_fields) };

static const FieldSpec nic_fields[] = {
        { "id", "id", decode_string, offsetof(VmNic, id), NULL },
        { "mac_address", "macAddress", decode_string, offsetof(VmNic, mac), NULL },
        { "network", "network", decode_string, offsetof(VmNic, network), NULL },
        { "ipv4_address", "ipv4Address", decode_string, offsetof(VmNic, ipv4), NULL },
        { "ipv6_address", "ipv6Address", decode_string, offsetof(VmNic, ipv6), NULL },
        { "rx_rate_limit", "rxRateLimit", decode_submessage, offsetof(VmNic, rx), &rate_limit_message },
        { "tx_rate_limit", "txRateLimit", decode_submessage, offsetof(VmNic, tx), &rate_limit_message },
};
static const MessageSpec nic_message = { nic_fields, ELEMENTSOF(nic_fields) };

/* FieldDecoder for `repeated NetworkInterface network`, at most VM_NETWORK_MAX. */
static int decode_network(const json_t *v, const char *path, void *dst, _unused_ const FieldSpec *f,
                          VmError *err) {
        VmConfig *c = dst;
        char buf[64];
        size_t n;

        if (!json_is_array(v))
                return vm_error_set(err, path, "must be an array, got %s",
                                    json_describe(v, buf, sizeof buf));
        n = json_array_size(v);
        if (n > VM_NETWORK_MAX)
                return vm_error_set(err, path, "at most %d network interfaces are allowed, got %zu",
                                    VM_NETWORK_MAX, n);
        for (size_t i = 0; i < c->n_nics; i++)
                vm_nic_clear(&c->nics[i]);
        c->nics = mfree(c->nics);
        c->n_nics = 0;
        if (n == 0)
                return 0;
        c->nics = calloc(n, sizeof *c->nics);
        if (!c->nics)
                return vm_error_oom(err, path);
        c->n_nics = n;
        for (size_t i = 0; i < n; i++) {
                char epath[sizeof err->field];
                snprintf(epath, sizeof epath, "%s[%zu]", path, i);
                int r = decode_message(json_array_get(v, i), epath, &nic_message, &c->nics[i], err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* qsort comparator: metadata entries by key (bytewise). */
static int metadata_compare(const void *a, const void *b) {
        const VmMetadata *x = a, *y = b;
        return strcmp(x->key, y->key);
}

/* FieldDecoder for `map<string,string> metadata` into the VmConfig at dst.
 * At most VM_METADATA_MAX entries; values must be strings (null too is an
 * error: a map has no absent values); no NUL in keys or values. Sorted. */
static int decode_metadata(const json_t *v, const char *path, void *dst, _unused_ const FieldSpec *f,
                           VmError *err) {
        VmConfig *c = dst;
        const char *key;
        size_t key_len, n;
        json_t *value;
        char buf[64];

        if (!json_is_object(v))
                return vm_error_set(err, path, "must be an object of string values, got %s",
                                    json_describe(v, buf, sizeof buf));
        n = json_object_size(v);
        if (n > VM_METADATA_MAX)
                return vm_error_set(err, path, "at most %d entries are allowed, got %zu", VM_METADATA_MAX,
                                    n);

        config_clear_metadata(c);
        if (n == 0)
                return 0;
        c->metadata = calloc(n, sizeof *c->metadata);
        if (!c->metadata)
                return vm_error_oom(err, path);

        json_object_keylen_foreach((json_t *) v, key, key_len, value) {
                char epath[sizeof err->field];
                VmMetadata *e;

                path_map_key(epath, sizeof epath, path, key, key_len);
                if (strlen(key) != key_len)
                        return vm_error_set(err, epath, "key must not contain a NUL byte");
                if (!json_is_string(value))
                        return vm_error_set(err, epath, "must be a string, got %s",
                                            json_describe(value, buf, sizeof buf));
                if (strlen(json_string_value(value)) != json_string_length(value))
                        return vm_error_set(err, epath, "must not contain a NUL byte");

                assert(c->n_metadata < n);
                e = &c->metadata[c->n_metadata++];
                e->key = strdup(key);
                e->value = strdup(json_string_value(value));
                if (!e->key || !e->value)
                        return vm_error_oom(err, epath);
        }
        qsort(c->metadata, c->n_metadata, sizeof *c->metadata, metadata_compare);
        return 0;
}

static const FieldSpec cpu_fields[] = {
        { "vcpu_count", "vcpuCount", decode_int32, offsetof(VmConfig, vcpu_count), NULL },
        { "max_vcpu_count", "maxVcpuCount", decode_int32, offsetof(VmConfig, max_vcpu_count), NULL },
};
static const MessageSpec cpu_message = { cpu_fields, ELEMENTSOF(cpu_fields) };

static const FieldSpec memory_fields[] = {
        { "size_bytes", "sizeBytes", decode_int64, offsetof(VmConfig, memory_bytes), NULL },
        { "hotplug_size_bytes", "hotplugSizeBytes", decode_int64, offsetof(VmConfig, hotplug_bytes), NULL },
};
static const MessageSpec memory_message = { memory_fields, ELEMENTSOF(memory_fields) };

static const FieldSpec boot_fields[] = {
        { "kernel_path", "kernelPath", decode_string, offsetof(VmConfig, kernel_path), NULL },
        { "kernel_args", "kernelArgs", decode_string, offsetof(VmConfig, kernel_args), NULL },
        { "initrd_path", "initrdPath", decode_string, offsetof(VmConfig, initrd_path), NULL },
};
static const MessageSpec boot_message = { boot_fields, ELEMENTSOF(boot_fields) };

static const FieldSpec config_fields[] = {
        { "cpu", "cpu", decode_submessage, 0, &cpu_message },
        { "memory", "memory", decode_submessage, 0, &memory_message },
        { "boot", "boot", decode_submessage, 0, &boot_message },
        { "storage", "storage", decode_storage, 0, NULL },
        { "network", "network", decode_network, 0, NULL },
        { "metadata", "metadata", decode_metadata, 0, NULL },
};
static const MessageSpec config_message = { config_fields, ELEMENTSOF(config_fields) };

/* See vm-config.h. Builds into a guarded local; *ret is written only on success. */
int vm_config_from_json(const json_t *obj, const char *prefix, VmConfig **ret, VmError *err) {
        _cleanup_(vm_config_freep) VmConfig *c = NULL;
        int r;

        assert(obj);
        assert(ret);
        assert(err);

        if (!prefix)
                prefix = "";
        c = calloc(1, sizeof *c);
        if (!c)
                return vm_error_oom(err, prefix);
        r = decode_message(obj, prefix, &config_message, c, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

/* ---- validation --------------------------------------------------------- */

/* Checks vcpu_count (1..VM_VCPU_MAX) and max_vcpu_count (0 or vcpu_count..VM_VCPU_MAX). */
static int validate_cpu(const VmConfig *c, VmError *err) {
        if (c->vcpu_count == 0)
                return vm_error_set(err, "config.cpu.vcpu_count", "required, must be between 1 and %d",
                                    VM_VCPU_MAX);
        if (c->vcpu_count > VM_VCPU_MAX)
                return vm_error_set(err, "config.cpu.vcpu_count", "must be between 1 and %d, got %u",
                                    VM_VCPU_MAX, c->vcpu_count);
        if (c->max_vcpu_count != 0 && (c->max_vcpu_count < c->vcpu_count || c->max_vcpu_count > VM_VCPU_MAX))
                return vm_error_set(err, "config.cpu.max_vcpu_count",
                                    "must be 0 (same as vcpu_count) or between vcpu_count (%u) "
                                    "and %d, got %u",
                                    c->vcpu_count, VM_VCPU_MAX, c->max_vcpu_count);
        return 0;
}

/* Checks memory size and hotplug size against the limits and the host's
 * memory (host_memory_bytes > 0). */
static int validate_memory(const VmConfig *c, uint64_t host_memory_bytes, VmError *err) {
        if (c->memory_bytes == 0)
                return vm_error_set(err, "config.memory.size_bytes",
                                    "required, must be at least %llu (128 MiB)",
                                    (unsigned long long) VM_MEMORY_MIN_BYTES);
        if (c->memory_bytes < VM_MEMORY_MIN_BYTES)
                return vm_error_set(err, "config.memory.size_bytes",
                                    "must be at least %llu (128 MiB), got %" PRIu64,
                                    (unsigned long long) VM_MEMORY_MIN_BYTES, c->memory_bytes);
        if (c->memory_bytes % MIB != 0)
                return vm_error_set(err, "config.memory.size_bytes",
                                    "must be a whole number of MiB (multiple of 1048576), "
                                    "got %" PRIu64,
                                    c->memory_bytes);
        if (c->memory_bytes > host_memory_bytes)
                return vm_error_set(err, "config.memory.size_bytes",
                                    "must be at most the host's memory (%" PRIu64 " bytes), "
                                    "got %" PRIu64,
                                    host_memory_bytes, c->memory_bytes);
        if (c->hotplug_bytes % MIB != 0)
                return vm_error_set(err, "config.memory.hotplug_size_bytes",
                                    "must be a whole number of MiB (multiple of 1048576), "
                                    "got %" PRIu64,
                                    c->hotplug_bytes);
        /* memory_bytes <= host_memory_bytes here, so the subtraction cannot wrap. */
        if (c->hotplug_bytes > host_memory_bytes - c->memory_bytes)
                return vm_error_set(err, "config.memory.hotplug_size_bytes",
                                    "size_bytes + hotplug_size_bytes must be at most the host's "
                                    "memory (%" PRIu64 " bytes)",
                                    host_memory_bytes);
        return 0;
}

/* Returns a malloc'ed copy of the absolute path with empty and "." components
 * dropped and each ".." removing the component before it, without looking at
 * the file system (so symlinks are not followed). NULL on OOM. */
static char *path_normalize(const char *path) {
        size_t n = 0;
        char *out;

        assert(path && path[0] == '/');

        out = malloc(strlen(path) + 1); /* the result is never longer than path */
        if (!out)
                return NULL;
        for (const char *p = path; *p;) {
                const char *e;
                size_t k;

                while (*p == '/')
                        p++;
                if (!*p)
                        break;
                e = strchrnul(p, '/');
                k = (size_t) (e - p);
                if (k == 1 && p[0] == '.')
                        ;
                else if (k == 2 && p[0] == '.' && p[1] == '.') {
                        while (n > 0 && out[n - 1] != '/')
                                n--;
                        if (n > 0)
                                n--; /* the '/' before the dropped component */
                } else {
                        out[n++] = '/';
                        memcpy(out + n, p, k);
                        n += k;
                }
                p = e;
        }
        if (n == 0)
                out[n++] = '/';
        out[n] = 0;
        return out;
}

/* True if the absolute, normalized path is root or below it. The comparison
 * stops at a '/' boundary: "/opt/a" contains "/opt/a/x" but not "/opt/ab".
 * Trailing slashes on root are ignored; "/" contains everything. */
static bool path_is_under(const char *path, const char *root) {
        size_t n = strlen(root);

        while (n > 0 && root[n - 1] == '/')
                n--;
        if (n == 0)
                return path[0] == '/';
        return strncmp(path, root, n) == 0 && (path[n] == 0 || path[n] == '/');
}

/* True if path is under one of the n roots. */
static bool path_is_under_any(const char *path, char *const *roots, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (path_is_under(path, roots[i]))
                        return true;
        return false;
}

/* Writes the roots as "a, b" (escaped) or "none configured" into buf. Returns buf. */
static char *roots_describe(char *buf, size_t size, char *const *roots, size_t n) {
        size_t used = 0;

        assert(size >= 16);
        buf[0] = 0;
        if (n == 0) {
                snprintf(buf, size, "none configured");
                return buf;
        }
        for (size_t i = 0; i < n && used < size - 1; i++) {
                char q[96];
                quote(q, sizeof q, roots[i], strlen(roots[i]), false);
                int k = snprintf(buf + used, size - used, "%s%s", i > 0 ? ", " : "", q);
                if (k < 0)
                        break;
                used += (size_t) k;
        }
        return buf;
}

/*
 * Checks one client-supplied file path (field names it in errors): absolute,
 * not too long, resolving to an existing regular file (or block device if
 * allow_block) inside one of the roots. When it does not resolve, or neither
 * the path as written (normalized) nor its resolution is inside the roots,
 * the error is the same "outside the asset roots", whether or not the file
 * exists: no existence oracle for files outside the roots. On success
 * *ret_st (if not NULL) is the stat of the file. Returns 0, -EINVAL or
 * -ENOMEM with err filled.
 */
static int asset_path_check(const char *path, const char *field, char *const *roots, size_t n_roots,
                            bool allow_block, struct stat *ret_st, VmError *err) {
        _cleanup_free_ char *normalized = NULL, *resolved = NULL;
        char qpath[112], qresolved[112], qroots[112];
        bool written_inside;
        struct stat st;

        assert(path);
        assert(field);

        quote_str(qpath, sizeof qpath, path);
        if (path[0] != '/')
                return vm_error_set(err, field, "must be an absolute path, got %s", qpath);
        if (strlen(path) >= PATH_MAX)
                return vm_error_set(err, field, "must be shorter than %d bytes", PATH_MAX);

        normalized = path_normalize(path);
        if (!normalized)
                return vm_error_oom(err, field);
        written_inside = path_is_under_any(normalized, roots, n_roots);

        resolved = realpath(path, NULL);
        if (!resolved) {
                int e = errno;
                if (e == ENOMEM)
                        return vm_error_oom(err, field);
                if (!written_inside)
                        return vm_error_set(err, field, "path %s is outside the asset roots (%s)", qpath,
                                            roots_describe(qroots, sizeof qroots, roots, n_roots));
                switch (e) {
                case ENOENT:
                case ENOTDIR:
                        return vm_error_set(err, field, "no such file");
                case EACCES:
                        return vm_error_set(err, field, "permission denied");
                case ELOOP:
                        return vm_error_set(err, field, "too many levels of symbolic links");
                default:
                        return vm_error_set(err, field, "cannot be resolved (errno %d)", e);
                }
        }

        if (!path_is_under_any(resolved, roots, n_roots)) {
                roots_describe(qroots, sizeof qroots, roots, n_roots);
                quote_str(qresolved, sizeof qresolved, resolved);
                if (!written_inside)
                        return vm_error_set(err, field, "path %s is outside the asset roots (%s)", qpath,
                                            qroots);
                return vm_error_set(err, field,
                                    "path %s resolves through a symlink to %s outside the asset "
                                    "roots (%s)",
                                    qpath, qresolved, qroots);
        }

        if (stat(resolved, &st) < 0) {
                if (errno == ENOENT || errno == ENOTDIR)
                        return vm_error_set(err, field, "no such file");
                if (errno == EACCES)
                        return vm_error_set(err, field, "permission denied");
                return vm_error_set(err, field, "cannot be examined (errno %d)", errno);
        }
        if (!S_ISREG(st.st_mode) && !(allow_block && S_ISBLK(st.st_mode)))
                return vm_error_set(err, field,
                                    allow_block ? "not a regular file or block device"
                                                : "not a regular file");
        if (ret_st)
                *ret_st = st;
        return 0;
}

/* Checks kernel_path (required), kernel_args and initrd_path. */
static int validate_boot(const VmConfig *c, char *const *roots, size_t n_roots, VmError *err) {
        int r;

        if (isempty(c->kernel_path))
                return vm_error_set(err, "config.boot.kernel_path", "required");
        r = asset_path_check(c->kernel_path, "config.boot.kernel_path", roots, n_roots, false, NULL, err);
        if (r < 0)
                return r;

        if (c->kernel_args) {
                size_t len = strlen(c->kernel_args);
                if (len > VM_KERNEL_ARGS_MAX)
                        return vm_error_set(err, "config.boot.kernel_args",
                                            "must be at most %d bytes, got %zu", VM_KERNEL_ARGS_MAX, len);
                if (strpbrk(c->kernel_args, "\n\r"))
                        return vm_error_set(err, "config.boot.kernel_args", "must not contain a line break");
        }

        if (!isempty(c->initrd_path)) {
                r = asset_path_check(c->initrd_path, "config.boot.initrd_path", roots, n_roots, false, NULL,
                                     err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* True if id is 1..VM_DISK_ID_MAX of [A-Za-z0-9_] (Firecracker's drive_id rule, bounded). */
static bool disk_id_is_valid(const char *id) {
        size_t n = strlen(id);
        return n >= 1 && n <= VM_DISK_ID_MAX && key_is_identifier(id, n);
}

/* Checks the storage list: count, ids, at most one root device, each path,
 * and that a file attached twice is attached readonly every time. */
static int validate_storage(const VmConfig *c, char *const *roots, size_t n_roots, VmError *err) {
        struct {
                dev_t dev;
                ino_t ino;
        } files[VM_STORAGE_MAX];
        size_t root = SIZE_MAX;

        if (c->n_disks > VM_STORAGE_MAX)
                return vm_error_set(err, "config.storage", "at most %d storage devices are allowed, got %zu",
                                    VM_STORAGE_MAX, c->n_disks);

        for (size_t i = 0; i < c->n_disks; i++) {
                const VmDisk *d = &c->disks[i];
                char base[48], field[sizeof err->field], q[64];
                struct stat st;
                int r;

                snprintf(base, sizeof base, "config.storage[%zu]", i);

                if (d->id) {
                        path_join(field, sizeof field, base, "id");
                        quote_str(q, sizeof q, d->id);
                        if (!disk_id_is_valid(d->id))
                                return vm_error_set(err, field,
                                                    "must be 1 to %d characters of A-Z, a-z, 0-9 "
                                                    "and _, got %s",
                                                    VM_DISK_ID_MAX, q);
                        for (size_t j = 0; j < i; j++)
                                if (streq_ptr(c->disks[j].id, d->id))
                                        return vm_error_set(err, field,
                                                            "duplicate id %s, also used by "
                                                            "storage[%zu]",
                                                            q, j);
                }

                if (d->is_root_device) {
                        if (root != SIZE_MAX) {
                                path_join(field, sizeof field, base, "is_root_device");
                                return vm_error_set(err, field,
                                                    "only one storage device may be the root "
                                                    "device (storage[%zu] already is)",
                                                    root);
                        }
                        root = i;
                }

                path_join(field, sizeof field, base, "path");
                if (isempty(d->path))
                        return vm_error_set(err, field, "required");
                r = asset_path_check(d->path, field, roots, n_roots, true, &st, err);
                if (r < 0)
                        return r;

                for (size_t j = 0; j < i; j++)
                        if (files[j].dev == st.st_dev && files[j].ino == st.st_ino &&
                            !(d->readonly && c->disks[j].readonly))
                                return vm_error_set(err, field,
                                                    "same file as storage[%zu]; a file may be "
                                                    "attached twice only if readonly both times",
                                                    j);
                files[i].dev = st.st_dev;
                files[i].ino = st.st_ino;
        }
        return 0;
}

/* Sorts metadata by key (so programmatically built configs satisfy the
 * struct's invariant) and checks count, key and value lengths, unique keys. */
static int validate_metadata(VmConfig *c, VmError *err) {
        if (c->n_metadata > VM_METADATA_MAX)
                return vm_error_set(err, "config.metadata", "at most %d entries are allowed, got %zu",
                                    VM_METADATA_MAX, c->n_metadata);
        if (c->n_metadata > 1)
                qsort(c->metadata, c->n_metadata, sizeof *c->metadata, metadata_compare);

        for (size_t i = 0; i < c->n_metadata; i++) {
                const VmMetadata *m = &c->metadata[i];
                char field[sizeof err->field];
                size_t klen, vlen;

                assert(m->key);
                klen = strlen(m->key);
                vlen = m->value ? strlen(m->value) : 0;
                path_map_key(field, sizeof field, "config.metadata", m->key, klen);
                if (klen == 0)
                        return vm_error_set(err, field, "key must not be empty");
                if (klen > VM_METADATA_KEY_MAX)
                        return vm_error_set(err, field, "key must be at most %d bytes, got %zu",
                                            VM_METADATA_KEY_MAX, klen);
                if (vlen > VM_METADATA_VALUE_MAX)
                        return vm_error_set(err, field, "value must be at most %d bytes, got %zu",
                                            VM_METADATA_VALUE_MAX, vlen);
                if (i > 0 && streq(c->metadata[i - 1].key, m->key))
                        return vm_error_set(err, field, "duplicate key");
        }
        return 0;
}

/* True if id is taken by a disk of c (client ids) or by one of the ids
 * generated so far (generated[0..n_disks), NULL where none). */
static bool disk_id_in_use(const VmConfig *c, char *const *generated, const char *id) {
        for (size_t i = 0; i < c->n_disks; i++)
                if (streq_ptr(c->disks[i].id, id) || streq_ptr(generated[i], id))
                        return true;
        return false;
}

/* Returns a malloc'ed id "<stem><n>" (just "<stem>" for n == 0) for the first
 * n upwards that is not in use. NULL on OOM. */
static char *disk_id_generate(const VmConfig *c, char *const *generated, const char *stem, unsigned n) {
        for (;; n++) {
                char id[VM_DISK_ID_MAX + 1];
                if (n == 0)
                        snprintf(id, sizeof id, "%s", stem);
                else
                        snprintf(id, sizeof id, "%s%u", stem, n);
                if (!disk_id_in_use(c, generated, id))
                        return strdup(id);
        }
}

/* Fills the defaults of a valid config (see vm_config_validate). Generates
 * everything first and commits only when nothing can fail any more. */
static int config_fill_defaults(VmConfig *c, VmError *err) {
        char *generated[VM_STORAGE_MAX] = { 0 };
        size_t root = SIZE_MAX;
        unsigned position = 0;

        assert(c->n_disks <= VM_STORAGE_MAX);

        for (size_t i = 0; i < c->n_disks && root == SIZE_MAX; i++)
                if (c->disks[i].is_root_device)
                        root = i;
        if (root == SIZE_MAX && c->n_disks > 0)
                root = 0;

        for (size_t i = 0; i < c->n_disks; i++) {
                if (i != root)
                        position++;
                if (c->disks[i].id)
                        continue;
                generated[i] = i == root ? disk_id_generate(c, generated, "rootfs", 0)
                                         : disk_id_generate(c, generated, "disk", position);
                if (!generated[i]) {
                        for (size_t j = 0; j < i; j++)
                                free(generated[j]);
                        return vm_error_oom(err, "config.storage");
                }
        }

        for (size_t i = 0; i < c->n_disks; i++)
                if (generated[i])
                        c->disks[i].id = generated[i];
        if (root != SIZE_MAX)
                c->disks[root].is_root_device = true;
        if (c->max_vcpu_count == 0)
                c->max_vcpu_count = c->vcpu_count;
        return 0;
}

/* The network list: ids valid and unique, a network name, MAC and address
 * syntax (whether an address is free is the store's business). MACs are
 * canonicalised (lower case) only when all of them are valid. */
static int validate_network(VmConfig *c, VmError *err) {
        char canon[VM_NETWORK_MAX][18];
        if (c->n_nics > VM_NETWORK_MAX)
                return vm_error_set(err, "config.network",
                                    "at most %d network interfaces are allowed, got %zu", VM_NETWORK_MAX,
                                    c->n_nics);
        for (size_t i = 0; i < c->n_nics; i++) {
                const VmNic *n = &c->nics[i];
                char base[48], field[sizeof err->field], q[96];
                snprintf(base, sizeof base, "config.network[%zu]", i);
                if (n->id) {
                        snprintf(field, sizeof field, "%s.id", base);
                        if (!disk_id_is_valid(n->id))
                                return vm_error_set(err, field, "%s must be 1..%d of [A-Za-z0-9_]",
                                                    quote_str(q, sizeof q, n->id), VM_DISK_ID_MAX);
                        for (size_t j = 0; j < i; j++)
                                if (streq_ptr(c->nics[j].id, n->id))
                                        return vm_error_set(err, field,
                                                            "%s is already the id of network[%zu]",
                                                            quote_str(q, sizeof q, n->id), j);
                }
                snprintf(field, sizeof field, "%s.network", base);
                if (!n->network)
                        return vm_error_set(err, field, "required: the name of a host network");
                if (!net_name_is_valid(n->network))
                        return vm_error_set(err, field,
                                            "%s is not a valid network name ([a-z0-9][a-z0-9-]{0,31})",
                                            quote_str(q, sizeof q, n->network));
                canon[i][0] = 0;
                if (n->mac) {
                        uint8_t mac[6];
                        const char *why = NULL;
                        snprintf(field, sizeof field, "%s.mac_address", base);
                        if (net_mac_parse(n->mac, mac, canon[i], &why) < 0)
                                return vm_error_set(err, field, "%s %s", quote_str(q, sizeof q, n->mac),
                                                    why);
                        for (size_t j = 0; j < i; j++)
                                if (streq(canon[j], canon[i]))
                                        return vm_error_set(err, field,
                                                            "%s is already the MAC of network[%zu]",
                                                            canon[i], j);
                }
                if (n->ipv4) {
                        uint32_t a;
                        snprintf(field, sizeof field, "%s.ipv4_address", base);
                        if (ipv4_parse(n->ipv4, &a) < 0)
                                return vm_error_set(err, field, "%s is not an IPv4 address",
                                                    quote_str(q, sizeof q, n->ipv4));
                }
                if (n->ipv6) {
                        struct in6_addr a6;
                        snprintf(field, sizeof field, "%s.ipv6_address", base);
                        if (inet_pton(AF_INET6, n->ipv6, &a6) != 1)
                                return vm_error_set(err, field, "%s is not an IPv6 address",
                                                    quote_str(q, sizeof q, n->ipv6));
                }
        }
        for (size_t i = 0; i < c->n_nics; i++)
                if (canon[i][0])
                        memcpy(c->nics[i].mac, canon[i], 18);
        return 0;
}

/* Interfaces without an id get "eth<N>" (N = position), or the next free number. */
static int network_fill_defaults(VmConfig *c, VmError *err) {
        for (size_t i = 0; i < c->n_nics; i++) {
                if (c->nics[i].id)
                        continue;
                for (unsigned k = (unsigned) i;; k++) {
                        char id[16];
                        bool taken = false;
                        snprintf(id, sizeof id, "eth%u", k);
                        for (size_t j = 0; j < c->n_nics; j++)
                                taken = taken || streq_ptr(c->nics[j].id, id);
                        if (taken)
                                continue;
                        c->nics[i].id = strdup(id);
                        if (!c->nics[i].id)
                                return vm_error_oom(err, "config.network");
                        break;
                }
        }
        return 0;
}

/* See vm-config.h. Checks in field order, I/O-free ones before paths within
 * each message, then fills the defaults. */
int vm_config_validate(VmConfig *c, char *const *asset_roots, size_t n_asset_roots,
                       uint64_t host_memory_bytes, VmError *err) {
        int r;

        assert(c);
        assert(asset_roots || n_asset_roots == 0);
        assert(host_memory_bytes > 0);
        assert(err);

        r = validate_cpu(c, err);
        if (r < 0)
                return r;
        r = validate_memory(c, host_memory_bytes, err);
        if (r < 0)
                return r;
        r = validate_boot(c, asset_roots, n_asset_roots, err);
        if (r < 0)
                return r;
        r = validate_storage(c, asset_roots, n_asset_roots, err);
        if (r < 0)
                return r;
        r = validate_metadata(c, err);
        if (r < 0)
                return r;
        r = validate_network(c, err);
        if (r < 0)
                return r;
        r = network_fill_defaults(c, err);
        if (r < 0)
                return r;
        return config_fill_defaults(c, err);
}

/* ---- canonical JSON ----------------------------------------------------- */

/* s, or "" for NULL: how absent strings appear in canonical JSON. */
static const char *strempty(const char *s) {
        return s ? s : "";
}

/* max_vcpu_count with its default applied. */
static unsigned config_max_vcpus(const VmConfig *c) {
        return c->max_vcpu_count != 0 ? c->max_vcpu_count : c->vcpu_count;
}

/* Sets obj[key] = value, taking the reference to value even on failure (as
 * json_object_set_new does). Returns 0 or -ENOMEM (NULL value or obj). */
static int json_set(json_t *obj, const char *key, json_t *value) {
        return json_object_set_new(obj, key, value) < 0 ? -ENOMEM : 0;
}

/* See vm-config.h. The sizes must fit int64 and the strings be UTF-8, as
 * every decoded config's are; jansson refuses other strings, which shows up
 * here as NULL like OOM. */
json_t *vm_config_to_json(const VmConfig *c) {
        _cleanup_json_ json_t *root = NULL, *cpu = NULL, *memory = NULL, *boot = NULL, *storage = NULL,
                              *metadata = NULL;

        assert(c);
        assert(c->memory_bytes <= INT64_MAX && c->hotplug_bytes <= INT64_MAX);

        root = json_object();
        cpu = json_object();
        memory = json_object();
        boot = json_object();
        storage = json_array();
        metadata = json_object();
        if (!root || !cpu || !memory || !boot || !storage || !metadata)
                return NULL;

        if (json_set(cpu, "vcpuCount", json_integer(c->vcpu_count)) < 0 ||
            json_set(cpu, "maxVcpuCount", json_integer(config_max_vcpus(c))) < 0 ||
            json_set(memory, "sizeBytes", json_integer((json_int_t) c->memory_bytes)) < 0 ||
            json_set(memory, "hotplugSizeBytes", json_integer((json_int_t) c->hotplug_bytes)) < 0 ||
            json_set(boot, "kernelPath", json_string(strempty(c->kernel_path))) < 0 ||
            json_set(boot, "kernelArgs", json_string(strempty(c->kernel_args))) < 0 ||
            json_set(boot, "initrdPath", json_string(strempty(c->initrd_path))) < 0)
                return NULL;

        for (size_t i = 0; i < c->n_disks; i++) {
                const VmDisk *d = &c->disks[i];
                json_t *disk = json_object();
                if (json_set(disk, "id", json_string(strempty(d->id))) < 0 ||
                    json_set(disk, "path", json_string(strempty(d->path))) < 0 ||
                    json_set(disk, "readonly", json_boolean(d->readonly)) < 0 ||
                    json_set(disk, "isRootDevice", json_boolean(d->is_root_device)) < 0 ||
                    json_array_append_new(storage, disk) < 0) {
                        json_decref(disk);
                        return NULL;
                }
        }

        for (size_t i = 0; i < c->n_metadata; i++)
                if (json_set(metadata, c->metadata[i].key, json_string(strempty(c->metadata[i].value))) < 0)
                        return NULL;

        /* Only when there are interfaces: configs stored before networks existed stay byte-identical. */
        if (c->n_nics > 0) {
                json_t *net = json_array();
                if (json_set(root, "network", net) < 0)
                        return NULL;
                for (size_t i = 0; i < c->n_nics; i++) {
                        const VmNic *n = &c->nics[i];
                        json_t *o = json_object(), *rx = json_object(), *tx = json_object();
                        if (!o || !rx || !tx || json_array_append_new(net, o) < 0) {
                                json_decref(o);
                                json_decref(rx);
                                json_decref(tx);
                                return NULL;
                        }
                        if (json_set(o, "rxRateLimit", rx) < 0 || json_set(o, "txRateLimit", tx) < 0) {
                                return NULL;
                        }
                        if (json_set(o, "id", json_string(strempty(n->id))) < 0 ||
                            json_set(o, "macAddress", json_string(strempty(n->mac))) < 0 ||
                            json_set(o, "network", json_string(strempty(n->network))) < 0 ||
                            json_set(o, "ipv4Address", json_string(strempty(n->ipv4))) < 0 ||
                            json_set(o, "ipv6Address", json_string(strempty(n->ipv6))) < 0 ||
                            json_set(rx, "bandwidthBytesPerSecond",
                                     json_integer((json_int_t) n->rx.bandwidth_bytes_per_second)) < 0 ||
                            json_set(rx, "opsPerSecond", json_integer((json_int_t) n->rx.ops_per_second)) <
                                    0 ||
                            json_set(tx, "bandwidthBytesPerSecond",
                                     json_integer((json_int_t) n->tx.bandwidth_bytes_per_second)) < 0 ||
                            json_set(tx, "opsPerSecond", json_integer((json_int_t) n->tx.ops_per_second)) <
                                    0)
                                return NULL;
                }
        }

        if (json_set(root, "cpu", TAKE_PTR(cpu)) < 0 || json_set(root, "memory", TAKE_PTR(memory)) < 0 ||
            json_set(root, "boot", TAKE_PTR(boot)) < 0 || json_set(root, "storage", TAKE_PTR(storage)) < 0 ||
            json_set(root, "metadata", TAKE_PTR(metadata)) < 0)
                return NULL;
        return TAKE_PTR(root);
}

/* See vm-config.h. Canonical JSON is a valid API config, so this is the API
 * decoder over strictly parsed text (duplicate keys rejected). */
int vm_config_from_canonical(const char *json_text, VmConfig **ret) {
        _cleanup_json_ json_t *j = NULL;
        json_error_t jerr;
        VmError err;
        int r;

        assert(json_text);
        assert(ret);

        j = json_loads(json_text, JSON_REJECT_DUPLICATES, &jerr);
        if (!j)
                return json_error_code(&jerr) == json_error_out_of_memory ? -ENOMEM : -EINVAL;
        r = vm_config_from_json(j, "config", ret, &err);
        return r < 0 ? r : 0;
}

/* See vm-config.h. */
bool vm_config_equal(const VmConfig *a, const VmConfig *b) {
        assert(a);
        assert(b);

        if (a->vcpu_count != b->vcpu_count || config_max_vcpus(a) != config_max_vcpus(b) ||
            a->memory_bytes != b->memory_bytes || a->hotplug_bytes != b->hotplug_bytes ||
            !streq(strempty(a->kernel_path), strempty(b->kernel_path)) ||
            !streq(strempty(a->kernel_args), strempty(b->kernel_args)) ||
            !streq(strempty(a->initrd_path), strempty(b->initrd_path)) || a->n_disks != b->n_disks ||
            a->n_metadata != b->n_metadata || a->n_nics != b->n_nics)
                return false;

        for (size_t i = 0; i < a->n_nics; i++) {
                const VmNic *x = &a->nics[i], *y = &b->nics[i];
                if (!streq(strempty(x->id), strempty(y->id)) || !streq(strempty(x->mac), strempty(y->mac)) ||
                    !streq(strempty(x->network), strempty(y->network)) ||
                    !streq(strempty(x->ipv4), strempty(y->ipv4)) ||
                    !streq(strempty(x->ipv6), strempty(y->ipv6)) ||
                    memcmp(&x->rx, &y->rx, sizeof x->rx) != 0 || memcmp(&x->tx, &y->tx, sizeof x->tx) != 0)
                        return false;
        }

        for (size_t i = 0; i < a->n_disks; i++) {
                const VmDisk *x = &a->disks[i], *y = &b->disks[i];
                if (!streq(strempty(x->id), strempty(y->id)) ||
                    !streq(strempty(x->path), strempty(y->path)) || x->readonly != y->readonly ||
                    x->is_root_device != y->is_root_device)
                        return false;
        }

        for (size_t i = 0; i < a->n_metadata; i++)
                if (!streq(strempty(a->metadata[i].key), strempty(b->metadata[i].key)) ||
                    !streq(strempty(a->metadata[i].value), strempty(b->metadata[i].value)))
                        return false;
        return true;
}

/* ---- VM ids ------------------------------------------------------------- */

/* See vm-config.h. NULL is not a valid id. Bytewise ASCII, no locale. */
bool vm_id_is_valid(const char *id) {
        size_t n;

        if (!id)
                return false;
        n = strlen(id);
        if (n == 0 || n > VM_ID_MAX || id[0] == '-')
                return false;
        for (size_t i = 0; i < n; i++) {
                char ch = id[i];
                if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                      ch == '-'))
                        return false;
        }
        return true;
}

/* See vm-config.h. 26 base32 characters carry 130 random bits; each comes
 * from one random byte masked to 5 bits, which is uniform since 32 divides
 * 256. Returns 0, a random_bytes() error, or -ENOMEM; *ret only on success. */
int vm_id_generate(char **ret) {
        static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
        enum { N_CHARS = 26 };
        uint8_t bytes[N_CHARS];
        char *id;
        int r;

        assert(ret);
        _Static_assert(sizeof(alphabet) == 33, "base32 alphabet has 32 characters");

        r = random_bytes(bytes, sizeof bytes);
        if (r < 0)
                return r;
        id = malloc(3 + N_CHARS + 1);
        if (!id)
                return -ENOMEM;
        memcpy(id, "vm-", 3);
        for (size_t i = 0; i < N_CHARS; i++)
                id[3 + i] = alphabet[bytes[i] & 31];
        id[3 + N_CHARS] = 0;
        *ret = id;
        return 0;
}
