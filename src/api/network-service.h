/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Host networks over the API (CreateNetwork, ListNetworks, DeleteNetwork),
 * served under the VmService prefix: its own handler table, which the
 * manager appends to vm_service_methods. The write RPCs are admin-only
 * (RpcMethod.admin_only, and checked here too).
 */

#include "api/http-server.h"
#include "store/network.h"
#include "vm/vm-config.h"

struct Manager;

extern const RpcMethod network_service_methods[];
extern const size_t network_service_n_methods;

/* Put the --network definitions into the store and make the bridges and the
 * firewall exist (daemon start). */
int network_service_startup(struct Manager *m, char **ret_error);

/* The store requests for cfg's interfaces of VM vm_id: the MAC (given or
 * derived) and TAP name per interface. req/macs/taps have cfg->n_nics rows. */
void network_service_nic_requests(const char *vm_id, const VmConfig *cfg, StoreNicRequest *req,
                                  char (*macs)[18], char (*taps)[16]);

/* "networkInterfaces" of GetVmInfo: what was allocated. */
void network_service_add_vm_info(struct Manager *m, const char *vm_id, json_t *info);
