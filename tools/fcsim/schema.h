/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * schema: the Rust types Firecracker deserializes its API bodies into, as
 * decode tables (field names, order, optionality and enum variants as in
 * Firecracker's vmm_config structs). Depends on decode.h only.
 */

#include "decode.h"

extern const DeType schema_action_body; /* PUT /actions */
extern const DeType schema_boot_source; /* PUT /boot-source */
extern const DeType schema_machine_config; /* PUT /machine-config */
extern const DeType schema_machine_config_update; /* PATCH /machine-config */
extern const DeType schema_drive; /* PUT /drives/{id} */
extern const DeType schema_drive_update; /* PATCH /drives/{id} */
extern const DeType schema_net; /* PUT /network-interfaces/{id} */
extern const DeType schema_net_update; /* PATCH /network-interfaces/{id} */
extern const DeType schema_logger; /* PUT /logger */
extern const DeType schema_metrics; /* PUT /metrics */
extern const DeType schema_vsock; /* PUT /vsock */
extern const DeType schema_vm_state; /* PATCH /vm */
extern const DeType schema_entropy; /* PUT /entropy */
extern const DeType schema_serial; /* PUT /serial */
extern const DeType schema_mmds_config; /* PUT /mmds/config */
extern const DeType schema_any; /* PUT/PATCH /mmds */
extern const DeType schema_vmm_config; /* --config-file */

/* Parse "aa:bb:cc:dd:ee:ff" (hex, either case). Returns true if valid. */
bool schema_mac_valid(const char *s);
