/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * VmConfig: the hypervisor-neutral description of one VM, as the API accepts
 * it (schema/vmprovisioner/v1/vm.proto, message VmConfig) and as the store
 * keeps it (canonical JSON in vms.config_json).
 *
 * Pure functions, no I/O except the asset-path checks (realpath/stat) in
 * vm_config_validate. Depends on jansson and util/ only.
 */

#include <jansson.h>

#include "util/util.h"

#define VM_VCPU_MAX 32
#define VM_MEMORY_MIN_BYTES (128ULL << 20)
#define VM_STORAGE_MAX 16
#define VM_METADATA_MAX 64
#define VM_KERNEL_ARGS_MAX 2000
#define VM_ID_MAX 64
#define VM_DISK_ID_MAX 32 /* storage ids: [A-Za-z0-9_]{1,32} */
#define VM_METADATA_KEY_MAX 63 /* bytes */
#define VM_METADATA_VALUE_MAX 1024 /* bytes */

typedef struct VmDisk {
        char *id; /* stable drive id, [A-Za-z0-9_]{1,32}; generated when absent */
        char *path; /* as given by the client */
        bool readonly;
        bool is_root_device;
} VmDisk;

/* A token bucket per direction: 0 = unlimited. Applied as a bucket of one
 * second's worth, refilled every second (Firecracker/Cloud Hypervisor). */
typedef struct VmRateLimit {
        uint64_t bandwidth_bytes_per_second;
        uint64_t ops_per_second;
} VmRateLimit;

/* One network interface (config.network[]); see README "Networks". */
typedef struct VmNic {
        char *id; /* [A-Za-z0-9_]{1,32}; "eth<N>" when absent */
        char *mac; /* canonical lower case, or NULL: derived from the vm id */
        char *network; /* a host network's name */
        char *ipv4; /* requested, or NULL: allocated */
        char *ipv6; /* requested, or NULL: allocated when the network has IPv6 */
        VmRateLimit rx, tx;
} VmNic;

#define VM_NETWORK_MAX 8

typedef struct VmMetadata {
        char *key;
        char *value;
} VmMetadata;

typedef struct VmConfig {
        unsigned vcpu_count;
        unsigned max_vcpu_count; /* 0 = same as vcpu_count */
        uint64_t memory_bytes;
        uint64_t hotplug_bytes;
        char *kernel_path;
        char *kernel_args; /* may be NULL */
        char *initrd_path; /* may be NULL */
        VmDisk *disks;
        size_t n_disks;
        VmMetadata *metadata; /* sorted by key */
        size_t n_metadata;
        VmNic *nics; /* config.network */
        size_t n_nics;
} VmConfig;

VmConfig *vm_config_free(VmConfig *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(VmConfig *, vm_config_free);

/*
 * A decode/validation failure: which field (protobuf JSON path with the
 * proto's snake_case names whichever spelling the client sent, e.g.
 * "config.storage[1].path", "config.metadata[\"team\"]") and why (short,
 * e.g. "must be between 1 and 32"). Both are fixed buffers inside the
 * struct, always NUL-terminated, truncated if longer; nothing to free.
 * Client-supplied text in them is escaped (quotes, control and non-ASCII
 * bytes as \xNN), so both are always printable ASCII.
 */
typedef struct VmError {
        char field[128];
        char message[384];
} VmError;

/*
 * Decode a VmConfig JSON object following the protobuf JSON mapping:
 * snake_case and lowerCamelCase field names are both accepted, int64/uint
 * fields as number or decimal string, unknown fields rejected, null treated
 * as absent. `prefix` is prepended to field names in errors (e.g. "config").
 *
 * Types: int32/int64 fields take a JSON integer, a real with no fractional
 * part (1.0) or a decimal string ("134217728"); negative values, values out
 * of int32/int64 range, anything else is an error. bool takes true/false
 * only, string fields a string (an empty string means absent, as in proto3;
 * a NUL byte is an error). The same field under both spellings is an error.
 * storage is bounded by VM_STORAGE_MAX and metadata by VM_METADATA_MAX here
 * already (so a client cannot make us allocate more); metadata comes out
 * sorted by key.
 *
 * Only syntax and types are checked here; vm_config_validate checks values.
 * On error returns -EINVAL (or -ENOMEM) and fills *err; *ret untouched.
 */
int vm_config_from_json(const json_t *obj, const char *prefix, VmConfig **ret, VmError *err);

/*
 * Validate values: vcpu 1..32, max_vcpu 0 or vcpu..32, memory a whole MiB,
 * at least 128 MiB and at most host_memory_bytes (> 0), hotplug a whole MiB
 * with memory + hotplug at most host_memory_bytes, kernel_path required,
 * every path absolute and resolving (realpath, so after symlinks and "..")
 * to an existing regular file (disks: or block device) inside one of
 * asset_roots (each already realpath'ed; "/opt/a" admits "/opt/a/x", never
 * "/opt/a-b/x"), at most one root device, disk ids unique and of the allowed
 * charset, one file attached twice only if every attachment is readonly,
 * kernel_args at most VM_KERNEL_ARGS_MAX bytes without line breaks, metadata
 * keys 1..VM_METADATA_KEY_MAX bytes and unique, values at most
 * VM_METADATA_VALUE_MAX bytes. Storage may be empty (boot from initrd).
 *
 * A path outside the roots both as written (with "." and ".." removed) and
 * as resolved gets the same "is outside the asset roots" error whether or
 * not it exists, so the API cannot be used to probe the host's files;
 * "no such file" is only said about paths inside the roots.
 *
 * Error fields are named as in the CreateVm request: "config.cpu.vcpu_count".
 *
 * On success fills in defaults: max_vcpu_count 0 becomes vcpu_count; when no
 * disk is marked is_root_device the first disk becomes the root device; disks
 * without an id get "rootfs" (the root device) or "disk<N>" where N counts the
 * non-root disks from 1 in array order; a generated id never takes one a
 * client gave: on a clash the next free number is used ("rootfs1", "disk3").
 * Sorts metadata by key (a no-op for decoded configs).
 * Returns -EINVAL (or -ENOMEM) with *err filled on the first problem found;
 * then c is unchanged apart from the metadata order.
 */
int vm_config_validate(VmConfig *c, char *const *asset_roots, size_t n_asset_roots,
                       uint64_t host_memory_bytes, VmError *err);

/*
 * Canonical JSON (lowerCamelCase, every field present, defaults filled,
 * metadata sorted, int64 as JSON numbers): used for storage and for the
 * "same config?" comparison of an idempotent CreateVm retry.
 * Returns a new reference or NULL on OOM.
 */
json_t *vm_config_to_json(const VmConfig *c);

/* Decode canonical JSON written by vm_config_to_json (from the store).
 * Returns 0, -EINVAL if the text is not a valid config, or -ENOMEM. */
int vm_config_from_canonical(const char *json_text, VmConfig **ret);

/* True if the two configs are equal field by field (after defaults; a NULL
 * string equals "", max_vcpu_count 0 equals vcpu_count). */
bool vm_config_equal(const VmConfig *a, const VmConfig *b);

/* vm_id: 1..64 of [A-Za-z0-9-], not starting with '-' (Firecracker's --id rule). */
bool vm_id_is_valid(const char *id);

/* A fresh id "vm-" + 26 lowercase base32 chars from getrandom(). */
int vm_id_generate(char **ret);
