/* SPDX-License-Identifier: Apache-2.0 */
#include "net/host-net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/firewall.h"
#include "net/netlink.h"
#include "util/log.h"

int host_net_ensure_bridge(const NetworkDef *d, char **ret_error) {
        struct in6_addr gw6;
        if (d->has_v6)
                net_def_v6_gateway(d, &gw6);
        return netlink_bridge_ensure(d->bridge, d->mtu, d->v4_gateway, d->v4_prefix, d->has_v6 ? &gw6 : NULL,
                                     d->v6_prefix, ret_error);
}

int host_net_ensure_all(Store *s, const HostNetOptions *o, char **ret_error) {
        _cleanup_free_ StoreNetwork *nets = NULL;
        size_t n = 0;
        int k = store_network_list(s, &nets, &n);
        if (k < 0) {
                *ret_error = strdup_printf("cannot read networks: %s", strerror(-k));
                return k;
        }
        /* Rules first: a TAP that exists before its rules is dropped by the catch-all. */
        if (o->firewall) {
                k = firewall_sync(s, ret_error);
                if (k < 0)
                        return k;
        }
        for (size_t i = 0; i < n; i++) {
                k = host_net_ensure_bridge(&nets[i].def, ret_error);
                if (k < 0)
                        return k;
        }
        return 0;
}

int host_net_setup_vm(Store *s, const HostNetOptions *o, const char *vm_id, StoreNic **ret, size_t *ret_n,
                      char **ret_error) {
        _cleanup_free_ StoreNic *nics = NULL;
        size_t n = 0;
        int k = store_vm_nics(s, vm_id, &nics, &n);
        if (k < 0) {
                *ret_error = strdup_printf("cannot read the VM's interfaces: %s", strerror(-k));
                return k;
        }
        if (n > 0 && o->firewall) {
                k = firewall_sync(s, ret_error);
                if (k < 0)
                        return k;
        }
        for (size_t i = 0; i < n; i++) {
                k = host_net_ensure_bridge(&nics[i].net, ret_error);
                if (k < 0)
                        return k;
                k = netlink_tap_ensure(nics[i].tap, o->tap_uid, o->tap_gid, nics[i].net.bridge,
                                       nics[i].net.mtu, ret_error);
                if (k < 0)
                        return k;
        }
        *ret = TAKE_PTR(nics);
        *ret_n = n;
        return 0;
}

int host_net_teardown_vm(Store *s, const char *vm_id, char **ret_error) {
        _cleanup_free_ StoreNic *nics = NULL;
        size_t n = 0;
        int k = store_vm_nics(s, vm_id, &nics, &n);
        if (k < 0) {
                *ret_error = strdup_printf("cannot read the VM's interfaces: %s", strerror(-k));
                return k;
        }
        for (size_t i = 0; i < n; i++) {
                k = netlink_link_delete(nics[i].tap, ret_error);
                if (k < 0)
                        return k;
        }
        return 0;
}

int host_net_remove_network(Store *s, const HostNetOptions *o, const NetworkDef *d, char **ret_error) {
        int k = netlink_link_delete(d->bridge, ret_error);
        if (k < 0)
                return k;
        return o->firewall ? firewall_sync(s, ret_error) : 0;
}

char *host_net_kernel_args(const StoreNic *nic) {
        char gw[16], mask[16], dns[40] = "";
        const NetworkDef *d = &nic->net;
        for (unsigned i = 0; i < d->n_dns && i < 2; i++) {
                char b[16];
                snprintf(dns + strlen(dns), sizeof dns - strlen(dns), ":%s", ipv4_format(d->dns[i], b));
        }
        _cleanup_free_ char *v6 = NULL;
        if (nic->ipv6[0]) {
                char g6[INET6_ADDRSTRLEN];
                struct in6_addr a;
                net_def_v6_gateway(d, &a);
                inet_ntop(AF_INET6, &a, g6, sizeof g6);
                v6 = strdup_printf(" metald.ipv6=%s/%u,%s", nic->ipv6, d->v6_prefix, g6);
                if (!v6)
                        return NULL;
        }
        return strdup_printf("ip=%s::%s:%s::eth0:off%s%s", nic->ipv4, ipv4_format(d->v4_gateway, gw),
                             ipv4_format(ipv4_mask(d->v4_prefix), mask), dns, v6 ? v6 : "");
}
