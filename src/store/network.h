/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Host networks and VM interfaces in the store (tables networks, vm_nics;
 * migrations/0005_networks.sql). Address allocation happens inside the
 * CreateVm transaction (store_vm_insert_nics, called by store_vm_insert),
 * and the release inside the transaction that records the VM deleted
 * (store_vm_observe), so an address is never handed out twice, whatever
 * crashes in between: the UNIQUE constraints of vm_nics are the last word.
 */

#include <sqlite3.h>

#include "net/net-util.h"
#include "store/store.h"

typedef struct StoreNetwork {
        NetworkDef def;
        char source[8]; /* "config" or "api" */
        unsigned n_nics; /* interfaces of live VMs on it */
} StoreNetwork;

/*
 * Add a network. Same name with an identical definition: 0 (idempotent);
 * otherwise -EEXIST with a message. source "config" (from --network) may
 * replace a differing definition of its own when no VM uses it; a bridge
 * name or subnet another network has is -EEXIST too.
 */
int store_network_put(Store *s, const NetworkDef *d, const char *source, char **ret_error);
/* -ENOENT if missing, -EBUSY if a VM interface is on it. */
int store_network_delete(Store *s, const char *name, char **ret_error);
int store_network_get(Store *s, const char *name, StoreNetwork *ret);
/* Every network, by name. *ret is one malloc'ed array. */
int store_network_list(Store *s, StoreNetwork **ret, size_t *ret_n);

/* What CreateVm asks for, per interface (in config order). */
typedef struct StoreNicRequest {
        const char *iface_id;
        const char *network;
        const char *mac; /* canonical, given or derived */
        const char *tap;
        const char *ipv4; /* requested, or NULL: the lowest free one */
        const char *ipv6; /* requested, or NULL: the lowest free one if the network has IPv6 */
} StoreNicRequest;

/* One interface as allocated, with its network. */
typedef struct StoreNic {
        char vm_id[65];
        char iface_id[33];
        unsigned idx;
        char tap[16];
        char mac[18];
        char ipv4[16];
        char ipv6[46]; /* "" if none */
        NetworkDef net;
} StoreNic;

/*
 * Inside an open write transaction on db (store_vm_insert's): allocate and
 * insert the interfaces of vm_id. Errors (message in *ret_error):
 *   -ENOENT        no such network
 *   -EACCES        the network belongs to another tenant than customer_id
 *   -EINVAL        a requested address is outside the subnet or reserved
 *   -EADDRINUSE    a requested address (or the MAC, or the TAP name) is taken
 *   -EADDRNOTAVAIL the network has no free address left
 */
int store_vm_insert_nics(sqlite3 *db, const char *vm_id, const char *customer_id, const StoreNicRequest *req,
                         size_t n, char **ret_error);
/* Inside an open write transaction: free every interface of vm_id. */
int store_vm_release_nics(sqlite3 *db, const char *vm_id);

/* The interfaces of one VM in config order (none: *ret NULL, *ret_n 0). */
int store_vm_nics(Store *s, const char *vm_id, StoreNic **ret, size_t *ret_n);
/* Every allocated interface, for the firewall. */
int store_nics_all(Store *s, StoreNic **ret, size_t *ret_n);
