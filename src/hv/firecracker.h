/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The pure parts of the Firecracker backend (firecracker.c), exposed for unit
 * tests: request body builders and answer decoders. No I/O, no state.
 * Field names and values follow specs/firecracker.yaml; see also
 * specs/VMM-BEHAVIOUR.md, section Firecracker.
 *
 * Builders return a new reference the caller must json_decref(), or NULL on
 * OOM. They do not validate (vm_config_validate did).
 */

#include <jansson.h>

#include "hv/hypervisor.h"

/* PUT /machine-config: {"vcpu_count", "mem_size_mib"} (memory rounded down to MiB). */
json_t *fc_machine_config_json(const VmConfig *c);

/* PUT /boot-source: {"kernel_image_path", "boot_args"?, "initrd_path"?}; the
 * optional fields only when set and non-empty. */
json_t *fc_boot_source_json(const VmConfig *c);

/* PUT /drives/<id>: {"drive_id", "path_on_host", "is_root_device", "is_read_only"}. */
json_t *fc_drive_json(const VmDisk *d);

/* PUT /network-interfaces/<id>: {"iface_id", "host_dev_name", "guest_mac",
 * "rx_rate_limiter"?, "tx_rate_limiter"?} (limiters only when set). */
json_t *fc_network_interface_json(const VmmNic *n);

/* PUT /metrics: {"metrics_path"}. */
json_t *fc_metrics_json(const char *metrics_path);

/* PUT /actions: {"action_type"}: "InstanceStart", "SendCtrlAltDel", "FlushMetrics". */
json_t *fc_action_json(const char *action_type);

/* PATCH /vm: {"state": "Paused"} or {"state": "Resumed"}. */
json_t *fc_vm_state_json(bool paused);

/*
 * Decode the answer of GET / (InstanceInfo): "state" is "Not started",
 * "Running" or "Paused". -EPROTO if the answer is not such an object or the
 * state is unknown; *ret written only on success.
 */
int fc_instance_state_from_json(const json_t *info, VmmState *ret);

/*
 * Firecracker's own words from an error answer: "fault_message" (every API
 * error), else "error" (micro_http's malformed-request answer), else the raw
 * body (control characters replaced, at most 512 bytes), "(no body)" if empty.
 * Returns a malloc'ed string or NULL on OOM.
 */
char *fc_error_text(const char *body);

/* Firecracker's --id rule: 1..64 of [A-Za-z0-9-] (it aborts on anything else). */
bool fc_id_is_valid(const char *id);
