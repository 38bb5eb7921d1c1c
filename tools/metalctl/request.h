/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Turning command-line words into API requests: sizes, numbers, disk specs,
 * state names, and the JSON bodies of the VmService RPCs
 * (schema/vmprovisioner/v1/vm.proto; snake_case names, which metald accepts).
 *
 * Pure functions: no I/O. Errors are negative errno; where a user must be
 * told why, *ret_error receives a malloc'ed message naming the option, and
 * the caller prints it. Out-parameters are written only on success.
 */

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/util.h"

/* Parse a size: digits, optionally followed by a binary unit K, M, G or T
 * (also KiB, MiB, ...; case-insensitive; 1K = 1024) or B. No sign, no
 * fraction, no spaces. -EINVAL for anything else, -ERANGE above INT64_MAX. */
int size_parse(const char *s, uint64_t *ret);
/* size_parse for option --name, with a message saying what is accepted. */
int size_arg(const char *name, const char *v, uint64_t *ret, char **ret_error);

/* A whole number between min and max for option --name. */
int uint_arg(const char *name, const char *v, uint64_t min, uint64_t max, uint64_t *ret, char **ret_error);

/* Parse --disk PATH[,ro|rw][,root][,id=NAME] into a StorageDevice object
 * ({"path", "readonly", ["is_root_device"], ["id"]}). A path cannot hold a
 * comma: use create -f for such paths. */
int disk_parse(const char *spec, json_t **ret, char **ret_error);

/* The VmState enum name for a state as a user writes it: "running",
 * "RUNNING" or "VM_STATE_RUNNING" all give "VM_STATE_RUNNING" (a static
 * string). -EINVAL for anything that is not a state. */
int state_from_name(const char *name, const char **ret);
/* "created, running, paused, shutdown, failed, deleted": for messages. */
const char *state_names_help(void);

/* What `metalctl create` was given; every field may be NULL/0 (not given).
 * Strings point into argv and are not owned. */
typedef struct CreateArgs {
        const char *id;
        const char *vcpus;
        const char *max_vcpus;
        const char *memory;
        const char *hotplug_memory;
        const char *kernel;
        const char *kernel_args;
        const char *initrd;
        const char *const *disks;
        size_t n_disks;
        const char *customer;
        const char *backend;
        const char *restart_policy;
        const char *const *metadata; /* "key=value" */
        size_t n_metadata;
        bool boot;
} CreateArgs;

/* A CreateVmRequest from flags alone: --vcpus, --memory and --kernel are
 * required; the rest is added when given. */
int create_request_from_flags(const CreateArgs *a, json_t **ret, char **ret_error);

/* A CreateVmRequest from a parsed file (`create -f`) that holds either a
 * VmConfig or a whole CreateVmRequest (see create_file_is_request), with the
 * request-level flags of a (--id, --customer, --backend, --restart-policy,
 * --boot, --metadata) laid over it. Config flags (--vcpus, --disk, ...) are
 * refused: the file holds the config. doc is not modified. */
int create_request_from_json(const json_t *doc, const CreateArgs *a, json_t **ret, char **ret_error);

/* Whether a create -f document is a CreateVmRequest (it has "config", a
 * request-only field, or a boolean "boot") rather than a VmConfig. */
bool create_file_is_request(const json_t *doc);

/* {"vm_id": id}, plus "force" when force, plus "timeout_seconds" when > 0. */
json_t *vm_request(const char *id, bool force, unsigned timeout_seconds);

/* A ListVmsRequest; states are VmState enum names; page_size 0 and
 * page_token NULL are left out. */
json_t *list_request(const char *const *states, size_t n_states, const char *customer, bool include_deleted,
                     unsigned page_size, const char *page_token);

/* A GetVmMetricsRequest: from/to (RFC 3339 or ms since the epoch) and
 * page_token NULL are left out, as is page_size 0. */
json_t *metrics_request(const char *id, const char *from, const char *to, unsigned page_size,
                        const char *page_token);

/* A GetVmHistoryRequest / GetVmConsoleRequest (max_bytes 0: the server's default). */
json_t *history_request(const char *id, unsigned page_size, const char *page_token);
json_t *console_request(const char *id, uint64_t offset, unsigned max_bytes);
