/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * schema: the Rust types Cloud Hypervisor deserializes its API bodies into
 * (vmm/src/vm_config.rs and vmm/src/api/mod.rs), as decode tables: field
 * names, declaration order, types, Option / #[serde(default)] and the default
 * values serde fills in. Every struct ignores unknown fields, as serde does
 * without deny_unknown_fields. Depends on decode.h only.
 */

#include "decode.h"

extern const DeType schema_vm_config; /* PUT vm.create */
extern const DeType schema_disk_config; /* PUT vm.add-disk */
extern const DeType schema_net_config; /* PUT vm.add-net */
extern const DeType schema_fs_config; /* PUT vm.add-fs */
extern const DeType schema_pmem_config; /* PUT vm.add-pmem */
extern const DeType schema_vsock_config; /* PUT vm.add-vsock */
extern const DeType schema_vdpa_config; /* PUT vm.add-vdpa */
extern const DeType schema_device_config; /* PUT vm.add-device */
extern const DeType schema_user_device_config; /* PUT vm.add-user-device */
extern const DeType schema_generic_vhost_user; /* PUT vm.add-generic-vhost-user */
extern const DeType schema_vm_resize; /* PUT vm.resize */
extern const DeType schema_vm_resize_zone; /* PUT vm.resize-zone */
extern const DeType schema_vm_resize_disk; /* PUT vm.resize-disk */
extern const DeType schema_vm_remove_device; /* PUT vm.remove-device */
extern const DeType schema_vm_snapshot; /* PUT vm.snapshot, vm.coredump */
extern const DeType schema_restore_config; /* PUT vm.restore */
extern const DeType schema_receive_migration; /* PUT vm.receive-migration */
extern const DeType schema_send_migration; /* PUT vm.send-migration */

/* MacAddr::parse_str: six ':'-separated groups of one or two hex digits. */
bool schema_mac_valid(const char *s);
