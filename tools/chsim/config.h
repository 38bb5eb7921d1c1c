/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * config: the VmConfig as Cloud Hypervisor holds it. A body decoded by
 * decode.c is completed with serde's defaults (config_fill), so that vm.info
 * returns every field like the real VMM does; config_validate() is
 * VmConfig::validate() (vmm/src/config.rs): the same checks in the same
 * order with the same ValidationError texts. Small accessors read the
 * jansson tree. Depends on decode.h, schema.h and reply.h.
 */

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "decode.h"
#include "reply.h"

/* Fill serde's defaults into a value decoded as t (VmConfig, DiskConfig,
 * NetConfig ...): a NetConfig without "mac" gets a random locally
 * administered one, as MacAddr::local_random() does. Returns 0 or -ENOMEM. */
int config_fill(const DeType *t, json_t *v);

/*
 * VmConfig::validate(). Returns NULL if cfg is valid, else the chain starting
 * at the ValidationError (e.g. "Max CPUs lower than boot CPUs"); callers wrap
 * it ("Failed to validate config", ...). Like the real one it also updates
 * cfg: a firmware payload drops cmdline/initramfs, and "iommu" becomes true
 * when a device asks for it. Duplicate identifiers carry status 409.
 */
ChErr *config_validate(json_t *cfg);

/* Accessors: the value at key, or def when absent / null / of another type. */
uint64_t cfg_u64(const json_t *o, const char *key, uint64_t def);
bool cfg_bool(const json_t *o, const char *key, bool def);
const char *cfg_str(const json_t *o, const char *key);
