/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The host side of a VM's interfaces, as ordinary idempotent steps of the
 * reconciler: before a VMM starts, its networks' bridges and its TAPs are
 * made to exist (recreated after a host reboot, reused after a daemon
 * restart) and the firewall is brought up to date; when the VM is deleted
 * its TAPs go. Also the guest's `ip=` kernel argument.
 */

#include <sys/types.h>

#include "store/network.h"

typedef struct HostNetOptions {
        uid_t tap_uid; /* owner of the TAPs: the user the VMMs run as (default root) */
        gid_t tap_gid;
        bool firewall; /* manage the nftables tables (--network-firewall) */
} HostNetOptions;

/* Bridge (with gateway address) of one network. */
int host_net_ensure_bridge(const NetworkDef *d, char **ret_error);

/* Bridges of every stored network, then the firewall (daemon start). */
int host_net_ensure_all(Store *s, const HostNetOptions *o, char **ret_error);

/* Everything VM vm_id's interfaces need before its VMM starts: bridges,
 * firewall rules, TAPs (attached, MTU, up). *ret gets its interfaces. */
int host_net_setup_vm(Store *s, const HostNetOptions *o, const char *vm_id, StoreNic **ret, size_t *ret_n,
                      char **ret_error);

/* Delete VM vm_id's TAPs (before its addresses are released). */
int host_net_teardown_vm(Store *s, const char *vm_id, char **ret_error);

/* Delete a network's bridge, and refresh the firewall (DeleteNetwork). */
int host_net_remove_network(Store *s, const HostNetOptions *o, const NetworkDef *d, char **ret_error);

/*
 * The kernel argument that configures the first interface in the guest
 * (CONFIG_IP_PNP): "ip=<addr>::<gw>:<mask>::eth0:off[:<dns0>[:<dns1>]]",
 * plus " metald.ipv6=<addr>/<prefix>,<gw6>" when it has IPv6 (the guest
 * init applies it). Malloc'ed; NULL on OOM.
 */
char *host_net_kernel_args(const StoreNic *nic);
