/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vmprovisioner.v1.VmService network RPCs: CreateNetwork, ListNetworks,
 * DeleteNetwork (README "Networks").
 */
#include "api/network-service.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "manager.h"
#include "net/host-net.h"
#include "util/log.h"

static int require_admin(const RpcCaller *caller, const char *what, ConnectError *e) {
        if (caller && caller->role != CALLER_ADMIN)
                return connect_error(e, CONNECT_PERMISSION_DENIED,
                                     "%s: only an administrator may change host networks", what);
        return 0;
}

static json_t *network_json(const StoreNetwork *n) {
        const NetworkDef *d = &n->def;
        char b[16], g[16], v6[INET6_ADDRSTRLEN + 8] = "";
        json_t *dns = json_array();
        for (unsigned i = 0; i < d->n_dns; i++)
                json_array_append_new(dns, json_string(ipv4_format(d->dns[i], b)));
        if (d->has_v6) {
                char a[INET6_ADDRSTRLEN];
                inet_ntop(AF_INET6, &d->v6_net, a, sizeof a);
                snprintf(v6, sizeof v6, "%s/%u", a, d->v6_prefix);
        }
        char subnet[24];
        snprintf(subnet, sizeof subnet, "%s/%u", ipv4_format(d->v4_net, b), d->v4_prefix);
        return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:i, s:s, s:i}", "name", d->name, "bridge",
                         d->bridge, "ipv4Subnet", subnet, "ipv4Gateway", ipv4_format(d->v4_gateway, g),
                         "ipv6Subnet", v6, "dns", dns ? dns : json_array(), "tenant", d->tenant, "mtu",
                         (int) d->mtu, "source", n->source, "interfaces", (int) n->n_nics);
}

typedef struct CreateNetworkRequest {
        char *name;
        char *bridge;
        char *ipv4_subnet;
        char *ipv4_gateway;
        char *ipv6_subnet;
        char *tenant;
        int32_t mtu;
} CreateNetworkRequest;

static const FieldSpec create_network_fields[] = {
        { "name", FIELD_STRING, offsetof(CreateNetworkRequest, name) },
        { "bridge", FIELD_STRING, offsetof(CreateNetworkRequest, bridge) },
        { "ipv4_subnet", FIELD_STRING, offsetof(CreateNetworkRequest, ipv4_subnet) },
        { "ipv4_gateway", FIELD_STRING, offsetof(CreateNetworkRequest, ipv4_gateway) },
        { "ipv6_subnet", FIELD_STRING, offsetof(CreateNetworkRequest, ipv6_subnet) },
        { "tenant", FIELD_STRING, offsetof(CreateNetworkRequest, tenant) },
        { "mtu", FIELD_INT32, offsetof(CreateNetworkRequest, mtu) },
};

/* The request as a --network spec, so both paths share one parser. dns
 * (repeated string) is taken from the JSON before the flat decode. */
static int create_network_def(const json_t *in, NetworkDef *ret, ConnectError *e) {
        _cleanup_(json_decrefp) json_t *copy = json_copy((json_t *) in);
        if (!copy)
                return connect_error(e, CONNECT_INTERNAL, "out of memory");
        char dns[128] = "";
        json_t *d = json_object_get(copy, "dns");
        if (d && !json_is_null(d)) {
                size_t i;
                json_t *x;
                if (!json_is_array(d))
                        return connect_error(e, CONNECT_INVALID_ARGUMENT,
                                             "dns: must be an array of IPv4 addresses");
                json_array_foreach (d, i, x) {
                        if (!json_is_string(x) || strchr(json_string_value(x), ',') ||
                            strchr(json_string_value(x), '+') || json_string_length(x) > 15)
                                return connect_error(e, CONNECT_INVALID_ARGUMENT,
                                                     "dns[%zu]: must be an IPv4 address", i);
                        snprintf(dns + strlen(dns), sizeof dns - strlen(dns), "%s%s", i ? "+" : "",
                                 json_string_value(x));
                }
        }
        json_object_del(copy, "dns");
        CreateNetworkRequest req = { 0 };
        int r = connect_decode(copy, create_network_fields, ELEMENTSOF(create_network_fields), &req, e);
        if (r < 0) {
                connect_request_free(create_network_fields, ELEMENTSOF(create_network_fields), &req);
                return r;
        }
        /* A value with ',' or '=' would smuggle another key into the spec. */
        const char *vals[] = { req.name,         req.bridge,      req.ipv4_subnet,
                               req.ipv4_gateway, req.ipv6_subnet, req.tenant };
        const char *names[] = { "name", "bridge", "ipv4_subnet", "ipv4_gateway", "ipv6_subnet", "tenant" };
        for (size_t i = 0; i < ELEMENTSOF(vals); i++)
                if (vals[i] && strpbrk(vals[i], ",=")) {
                        connect_request_free(create_network_fields, ELEMENTSOF(create_network_fields), &req);
                        return connect_error(e, CONNECT_INVALID_ARGUMENT, "%s: must not contain ',' or '='",
                                             names[i]);
                }
        if (req.mtu < 0) {
                connect_request_free(create_network_fields, ELEMENTSOF(create_network_fields), &req);
                return connect_error(e, CONNECT_INVALID_ARGUMENT, "mtu: must be between %d and %d",
                                     NET_MTU_MIN, NET_MTU_MAX);
        }
        _cleanup_free_ char *spec =
                strdup_printf("name=%s%s%s,subnet=%s%s%s%s%s%s%s%s%s%s%s,mtu=%d", req.name ? req.name : "",
                              req.bridge ? ",bridge=" : "", req.bridge ? req.bridge : "",
                              req.ipv4_subnet ? req.ipv4_subnet : "", req.ipv4_gateway ? ",gateway=" : "",
                              req.ipv4_gateway ? req.ipv4_gateway : "", req.ipv6_subnet ? ",ipv6=" : "",
                              req.ipv6_subnet ? req.ipv6_subnet : "", dns[0] ? ",dns=" : "", dns,
                              req.tenant ? ",tenant=" : "", req.tenant ? req.tenant : "", "", "",
                              req.mtu ? req.mtu : 1500);
        bool no_name = !req.name, no_subnet = !req.ipv4_subnet;
        connect_request_free(create_network_fields, ELEMENTSOF(create_network_fields), &req);
        if (!spec)
                return connect_error(e, CONNECT_INTERNAL, "out of memory");
        if (no_name)
                return connect_error(e, CONNECT_INVALID_ARGUMENT, "name: required");
        if (no_subnet)
                return connect_error(e, CONNECT_INVALID_ARGUMENT,
                                     "ipv4_subnet: required (e.g. \"10.0.0.0/24\")");
        NetError nerr = { 0 };
        r = net_def_parse(spec, ret, &nerr);
        if (r < 0)
                return connect_error(e, CONNECT_INVALID_ARGUMENT, "%s: %s", nerr.field, nerr.message);
        return 0;
}

static int create_network(void *userdata, const RpcCaller *caller, const json_t *in, json_t **ret,
                          ConnectError *e) {
        Manager *m = userdata;
        if (require_admin(caller, "CreateNetwork", e) < 0)
                return -1;
        NetworkDef d;
        if (create_network_def(in, &d, e) < 0)
                return -1;
        _cleanup_free_ char *err = NULL;
        int r = store_network_put(m->store, &d, "api", &err);
        if (r == -EEXIST)
                return connect_error(e, CONNECT_ALREADY_EXISTS, "%s", err ? err : "network exists");
        if (r < 0)
                return connect_error(e, CONNECT_INTERNAL, "CreateNetwork: database error: %s", strerror(-r));
        /* The bridge now, so a misconfiguration shows at once; VM starts ensure it again. */
        r = m->net.firewall ? host_net_ensure_all(m->store, &m->net, &err)
                            : host_net_ensure_bridge(&d, &err);
        if (r < 0)
                return connect_error(e, CONNECT_FAILED_PRECONDITION,
                                     "network \"%s\" is recorded but its bridge cannot be set up: %s",
                                     d.name, err ? err : strerror(-r));
        log_info("network %s: created (bridge %s)", d.name, d.bridge);
        StoreNetwork n;
        r = store_network_get(m->store, d.name, &n);
        if (r < 0)
                return connect_error(e, CONNECT_INTERNAL, "CreateNetwork: database error: %s", strerror(-r));
        *ret = json_pack("{s:o}", "network", network_json(&n));
        return *ret ? 0 : connect_error(e, CONNECT_INTERNAL, "out of memory");
}

static int list_networks(void *userdata, const RpcCaller *caller, const json_t *in, json_t **ret,
                         ConnectError *e) {
        Manager *m = userdata;
        if (!json_is_object(in))
                return connect_error(e, CONNECT_INVALID_ARGUMENT, "request body must be a JSON object");
        if (json_object_size(in) > 0)
                return connect_error(e, CONNECT_INVALID_ARGUMENT, "%s: unknown field",
                                     json_object_iter_key(json_object_iter((json_t *) in)));
        _cleanup_free_ StoreNetwork *v = NULL;
        size_t n = 0;
        int r = store_network_list(m->store, &v, &n);
        if (r < 0)
                return connect_error(e, CONNECT_INTERNAL, "ListNetworks: database error: %s", strerror(-r));
        json_t *arr = json_array();
        for (size_t i = 0; arr && i < n; i++) {
                /* A tenant sees the shared networks and its own. */
                if (caller && caller->tenant[0] && v[i].def.tenant[0] &&
                    !streq(caller->tenant, v[i].def.tenant))
                        continue;
                json_array_append_new(arr, network_json(&v[i]));
        }
        *ret = arr ? json_pack("{s:o}", "networks", arr) : NULL;
        return *ret ? 0 : connect_error(e, CONNECT_INTERNAL, "out of memory");
}

typedef struct DeleteNetworkRequest {
        char *name;
} DeleteNetworkRequest;

static const FieldSpec delete_network_fields[] = {
        { "name", FIELD_STRING, offsetof(DeleteNetworkRequest, name) },
};

static int delete_network(void *userdata, const RpcCaller *caller, const json_t *in, json_t **ret,
                          ConnectError *e) {
        Manager *m = userdata;
        if (require_admin(caller, "DeleteNetwork", e) < 0)
                return -1;
        DeleteNetworkRequest req = { 0 };
        int r = connect_decode(in, delete_network_fields, ELEMENTSOF(delete_network_fields), &req, e);
        _cleanup_free_ char *name = req.name;
        if (r < 0)
                return -1;
        if (isempty(name))
                return connect_error(e, CONNECT_INVALID_ARGUMENT, "name: required");
        if (!net_name_is_valid(name))
                return connect_error(e, CONNECT_INVALID_ARGUMENT,
                                     "name: \"%.40s\" is not a valid network name", name);
        StoreNetwork n;
        r = store_network_get(m->store, name, &n);
        if (r == -ENOENT)
                return connect_error(e, CONNECT_NOT_FOUND, "network \"%s\" does not exist", name);
        if (r < 0)
                return connect_error(e, CONNECT_INTERNAL, "DeleteNetwork: database error: %s", strerror(-r));
        _cleanup_free_ char *err = NULL;
        r = store_network_delete(m->store, name, &err);
        if (r == -ENOENT)
                return connect_error(e, CONNECT_NOT_FOUND, "%s", err ? err : "no such network");
        if (r == -EBUSY)
                return connect_error(e, CONNECT_FAILED_PRECONDITION, "%s", err ? err : "network in use");
        if (r < 0)
                return connect_error(e, CONNECT_INTERNAL, "DeleteNetwork: database error: %s", strerror(-r));
        r = host_net_remove_network(m->store, &m->net, &n.def, &err);
        if (r < 0)
                log_warning("network %s: deleted, but removing bridge %s failed: %s", name, n.def.bridge,
                            err ? err : strerror(-r));
        log_info("network %s: deleted", name);
        *ret = json_pack("{s:b}", "success", true);
        return *ret ? 0 : connect_error(e, CONNECT_INTERNAL, "out of memory");
}

/* The write RPCs change the host: admin-only (the HTTP server refuses other
 * roles before the handler runs; the handlers check again). */
const RpcMethod network_service_methods[] = {
        { "CreateNetwork", create_network, .no_side_effects = false, .access = RPC_ADMIN_ONLY },
        { "ListNetworks", list_networks, .no_side_effects = true, .access = RPC_READ },
        { "DeleteNetwork", delete_network, .no_side_effects = false, .access = RPC_ADMIN_ONLY },
};
const size_t network_service_n_methods = ELEMENTSOF(network_service_methods);

int network_service_startup(Manager *m, char **ret_error) {
        const Options *o = m->options;
        for (size_t i = 0; i < o->n_networks; i++) {
                _cleanup_free_ char *err = NULL;
                int r = store_network_put(m->store, &o->networks[i], "config", &err);
                if (r < 0) {
                        *ret_error = strdup_printf("--network %s: %s", o->networks[i].name,
                                                   err ? err : strerror(-r));
                        return r;
                }
        }
        _cleanup_free_ StoreNetwork *v = NULL;
        size_t n = 0;
        int r = store_network_list(m->store, &v, &n);
        if (r < 0) {
                *ret_error = strdup_printf("cannot read networks: %s", strerror(-r));
                return r;
        }
        if (n == 0)
                return 0; /* no network: leave the host's interfaces and nftables alone */
        _cleanup_free_ char *err = NULL;
        r = host_net_ensure_all(m->store, &m->net, &err);
        if (r < 0)
                /* Not fatal: VMs without networks still run; starts of the others retry and say why. */
                log_error("networks: %s", err ? err : strerror(-r));
        else
                log_info("networks: %zu ready", n);
        return 0;
}

void network_service_nic_requests(const char *vm_id, const VmConfig *cfg, StoreNicRequest *req,
                                  char (*macs)[18], char (*taps)[16]) {
        for (size_t i = 0; i < cfg->n_nics; i++) {
                const VmNic *n = &cfg->nics[i];
                if (n->mac)
                        snprintf(macs[i], 18, "%s", n->mac);
                else
                        net_derive_mac(vm_id, n->id, macs[i]);
                net_tap_name(vm_id, (unsigned) i, taps[i]);
                req[i] = (StoreNicRequest){ .iface_id = n->id,
                                            .network = n->network,
                                            .mac = macs[i],
                                            .tap = taps[i],
                                            .ipv4 = n->ipv4,
                                            .ipv6 = n->ipv6 };
        }
}

void network_service_add_vm_info(Manager *m, const char *vm_id, json_t *info) {
        _cleanup_free_ StoreNic *v = NULL;
        size_t n = 0;
        if (store_vm_nics(m->store, vm_id, &v, &n) < 0 || n == 0)
                return;
        json_t *arr = json_array();
        for (size_t i = 0; arr && i < n; i++) {
                char gw[16];
                json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:s}", "id",
                                                     v[i].iface_id, "network", v[i].net.name, "macAddress",
                                                     v[i].mac, "tapDevice", v[i].tap, "ipv4Address",
                                                     v[i].ipv4, "ipv4PrefixLength", (int) v[i].net.v4_prefix,
                                                     "ipv4Gateway", ipv4_format(v[i].net.v4_gateway, gw),
                                                     "ipv6Address", v[i].ipv6));
        }
        if (arr)
                json_object_set_new(info, "networkInterfaces", arr);
}
