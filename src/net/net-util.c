/* SPDX-License-Identifier: Apache-2.0 */
#include "net/net-util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int net_error(NetError *err, const char *field, const char *fmt, ...) _printf_(3, 4);
static int net_error(NetError *err, const char *field, const char *fmt, ...) {
        if (err) {
                va_list ap;
                snprintf(err->field, sizeof err->field, "%s", field ? field : "");
                va_start(ap, fmt);
                vsnprintf(err->message, sizeof err->message, fmt, ap);
                va_end(ap);
        }
        return -EINVAL;
}

bool net_name_is_valid(const char *name) {
        size_t n = name ? strlen(name) : 0;
        if (n == 0 || n > NET_NAME_MAX || name[0] == '-')
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') ||
                      name[i] == '-'))
                        return false;
        return true;
}

bool net_ifname_is_valid(const char *name) {
        size_t n = name ? strlen(name) : 0;
        if (n == 0 || n > NET_IFNAME_MAX || streq(name, ".") || streq(name, ".."))
                return false;
        for (size_t i = 0; i < n; i++) {
                unsigned char ch = (unsigned char) name[i];
                if (ch <= ' ' || ch >= 0x7f || ch == '/' || ch == ':' || ch == '%' || ch == '"' ||
                    ch == '\\')
                        return false;
        }
        return true;
}

int ipv4_parse(const char *s, uint32_t *ret) {
        struct in_addr a;
        if (!s || inet_pton(AF_INET, s, &a) != 1)
                return -EINVAL;
        *ret = ntohl(a.s_addr);
        return 0;
}

char *ipv4_format(uint32_t a, char *buf) {
        snprintf(buf, 16, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
        return buf;
}

uint32_t ipv4_mask(unsigned prefix) {
        return prefix == 0 ? 0 : prefix >= 32 ? 0xffffffffu : ~((1u << (32 - prefix)) - 1);
}

/* Splits "addr/N" into addr (copied to abuf) and N. */
static int split_cidr(const char *s, char *abuf, size_t asize, unsigned *ret_prefix) {
        const char *slash = s ? strchr(s, '/') : NULL;
        if (!slash || (size_t) (slash - s) >= asize || slash[1] == 0)
                return -EINVAL;
        memcpy(abuf, s, (size_t) (slash - s));
        abuf[slash - s] = 0;
        char *end;
        errno = 0;
        unsigned long p = strtoul(slash + 1, &end, 10);
        if (errno || *end || slash[1] < '0' || slash[1] > '9' || p > 128)
                return -EINVAL;
        *ret_prefix = (unsigned) p;
        return 0;
}

int ipv4_cidr_parse(const char *s, uint32_t *ret_net, unsigned *ret_prefix, NetError *err,
                    const char *field) {
        char abuf[INET_ADDRSTRLEN], nbuf[16];
        unsigned prefix;
        uint32_t a;
        if (split_cidr(s, abuf, sizeof abuf, &prefix) < 0 || ipv4_parse(abuf, &a) < 0)
                return net_error(err, field, "\"%.64s\" is not an IPv4 prefix like 10.0.0.0/24", s ? s : "");
        if (prefix < 8 || prefix > 30)
                return net_error(err, field, "prefix length /%u is out of range (8..30)", prefix);
        if (a & ~ipv4_mask(prefix))
                return net_error(err, field, "\"%.64s\" has host bits set; did you mean %s/%u?", s,
                                 ipv4_format(a & ipv4_mask(prefix), nbuf), prefix);
        *ret_net = a;
        *ret_prefix = prefix;
        return 0;
}

bool ipv6_in_prefix(const struct in6_addr *a, const struct in6_addr *net, unsigned prefix) {
        for (unsigned i = 0; i < 16; i++) {
                unsigned bits = prefix > i * 8 ? prefix - i * 8 : 0;
                uint8_t m = bits >= 8 ? 0xff : (uint8_t) (0xff00 >> bits);
                if ((a->s6_addr[i] & m) != (net->s6_addr[i] & m))
                        return false;
        }
        return true;
}

uint64_t ipv6_low64(const struct in6_addr *a) {
        uint64_t v = 0;
        for (unsigned i = 8; i < 16; i++)
                v = v << 8 | a->s6_addr[i];
        return v;
}

void ipv6_set_low64(struct in6_addr *a, uint64_t v) {
        for (int i = 15; i >= 8; i--) {
                a->s6_addr[i] = (uint8_t) (v & 0xff);
                v >>= 8;
        }
}

int ipv6_cidr_parse(const char *s, struct in6_addr *ret_net, unsigned *ret_prefix, NetError *err,
                    const char *field) {
        char abuf[INET6_ADDRSTRLEN];
        unsigned prefix;
        struct in6_addr a;
        if (split_cidr(s, abuf, sizeof abuf, &prefix) < 0 || inet_pton(AF_INET6, abuf, &a) != 1)
                return net_error(err, field, "\"%.64s\" is not an IPv6 prefix like fd00:1::/64", s ? s : "");
        if (prefix < 64 || prefix > 120)
                return net_error(err, field, "prefix length /%u is out of range (64..120)", prefix);
        struct in6_addr masked = a;
        uint64_t low = ipv6_low64(&a);
        uint64_t hostmask = prefix >= 128 ? 0 : (prefix == 64 ? ~0ULL : ((1ULL << (128 - prefix)) - 1));
        ipv6_set_low64(&masked, low & ~hostmask);
        if (memcmp(&masked, &a, sizeof a) != 0)
                return net_error(err, field, "\"%.64s\" has host bits set", s);
        *ret_net = a;
        *ret_prefix = prefix;
        return 0;
}

uint64_t net_hash(const char *a, const char *b) {
        uint64_t h = 0xcbf29ce484222325ULL;
        for (const char *p = a ? a : ""; *p; p++)
                h = (h ^ (unsigned char) *p) * 0x100000001b3ULL;
        h = (h ^ 0) * 0x100000001b3ULL;
        for (const char *p = b ? b : ""; *p; p++)
                h = (h ^ (unsigned char) *p) * 0x100000001b3ULL;
        /* A final mix, so that similar ids differ in every output bit. */
        h ^= h >> 33;
        h *= 0xff51afd7ed558ccdULL;
        h ^= h >> 33;
        return h;
}

void net_default_bridge(const char *name, char buf[static NET_IFNAME_MAX + 1]) {
        if (strlen(name) <= NET_IFNAME_MAX - 5)
                snprintf(buf, NET_IFNAME_MAX + 1, "mdbr-%s", name);
        else
                snprintf(buf, NET_IFNAME_MAX + 1, "mdbr-%010llx",
                         (unsigned long long) (net_hash("bridge", name) & 0xffffffffffULL));
}

void net_derive_mac(const char *vm_id, const char *iface_id, char buf[static 18]) {
        uint64_t h = net_hash(vm_id, iface_id);
        snprintf(buf, 18, "02:%02x:%02x:%02x:%02x:%02x", (unsigned) (h >> 32) & 0xff,
                 (unsigned) (h >> 24) & 0xff, (unsigned) (h >> 16) & 0xff, (unsigned) (h >> 8) & 0xff,
                 (unsigned) h & 0xff);
}

int net_mac_parse(const char *s, uint8_t mac[static 6], char canon[static 18], const char **ret_why) {
        const char *why = "must look like 02:00:00:00:00:01 (six hex octets separated by ':')";
        if (!s || strlen(s) != 17)
                goto bad;
        for (unsigned i = 0; i < 6; i++) {
                int hi = unhexchar(s[i * 3]), lo = unhexchar(s[i * 3 + 1]);
                if (hi < 0 || lo < 0 || (i < 5 && s[i * 3 + 2] != ':'))
                        goto bad;
                mac[i] = (uint8_t) (hi << 4 | lo);
        }
        if (mac[0] & 1) {
                why = "is a multicast address (the first octet is odd); a NIC needs a unicast one";
                goto bad;
        }
        if (!(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5])) {
                why = "must not be all zeros";
                goto bad;
        }
        snprintf(canon, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
        return 0;
bad:
        if (ret_why)
                *ret_why = why;
        return -EINVAL;
}

void net_tap_name(const char *vm_id, unsigned idx, char buf[static NET_IFNAME_MAX + 1]) {
        snprintf(buf, NET_IFNAME_MAX + 1, "mdt%011llx%x",
                 (unsigned long long) (net_hash("tap", vm_id) & 0xfffffffffffULL), idx & 0xf);
}

void net_def_v6_gateway(const NetworkDef *d, struct in6_addr *ret) {
        *ret = d->v6_net;
        ipv6_set_low64(ret, ipv6_low64(&d->v6_net) + 1);
}

int net_def_check(const NetworkDef *d, NetError *err) {
        char b1[16], b2[16];
        if (!net_name_is_valid(d->name))
                return net_error(err, "name",
                                 "\"%.40s\" is not a valid network name ([a-z0-9][a-z0-9-]{0,31})", d->name);
        if (!net_ifname_is_valid(d->bridge))
                return net_error(
                        err, "bridge",
                        "\"%.40s\" is not a valid interface name (1..15 bytes, no '/', ':' or spaces)",
                        d->bridge);
        if (d->v4_prefix < 8 || d->v4_prefix > 30 || (d->v4_net & ~ipv4_mask(d->v4_prefix)))
                return net_error(err, "ipv4_subnet", "required: an IPv4 prefix like 10.0.0.0/24 (/8../30)");
        uint32_t bcast = d->v4_net | ~ipv4_mask(d->v4_prefix);
        if ((d->v4_gateway & ipv4_mask(d->v4_prefix)) != d->v4_net)
                return net_error(err, "ipv4_gateway", "%s is outside the subnet %s/%u",
                                 ipv4_format(d->v4_gateway, b1), ipv4_format(d->v4_net, b2), d->v4_prefix);
        if (d->v4_gateway == d->v4_net || d->v4_gateway == bcast)
                return net_error(err, "ipv4_gateway", "%s is the subnet's network or broadcast address",
                                 ipv4_format(d->v4_gateway, b1));
        if (d->has_v6 && (d->v6_prefix < 64 || d->v6_prefix > 120))
                return net_error(err, "ipv6_subnet", "prefix length /%u is out of range (64..120)",
                                 d->v6_prefix);
        if (d->mtu < NET_MTU_MIN || d->mtu > NET_MTU_MAX)
                return net_error(err, "mtu", "%u is out of range (%d..%d)", d->mtu, NET_MTU_MIN,
                                 NET_MTU_MAX);
        if (strlen(d->tenant) > NET_TENANT_MAX)
                return net_error(err, "tenant", "at most %d bytes", NET_TENANT_MAX);
        if (d->n_dns > NET_DNS_MAX)
                return net_error(err, "dns", "at most %d servers", NET_DNS_MAX);
        return 0;
}

/* Parses "D1+D2+..." (or a JSON-side caller's list joined the same way). */
static int parse_dns(const char *v, NetworkDef *d, NetError *err) {
        _cleanup_free_ char *copy = strdup(v);
        if (!copy)
                return -ENOMEM;
        d->n_dns = 0;
        char *save = NULL;
        for (char *t = strtok_r(copy, "+ ", &save); t; t = strtok_r(NULL, "+ ", &save)) {
                if (d->n_dns == NET_DNS_MAX)
                        return net_error(err, "dns", "at most %d servers", NET_DNS_MAX);
                if (ipv4_parse(t, &d->dns[d->n_dns]) < 0)
                        return net_error(err, "dns", "\"%.40s\" is not an IPv4 address", t);
                d->n_dns++;
        }
        return 0;
}

int net_def_parse(const char *spec, NetworkDef *ret, NetError *err) {
        NetworkDef d = { .mtu = 1500 };
        bool have_subnet = false, have_gw = false, have_bridge = false;
        _cleanup_free_ char *copy = strdup(spec ? spec : "");
        if (!copy)
                return -ENOMEM;
        char *save = NULL;
        for (char *kv = strtok_r(copy, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
                char *eq = strchr(kv, '=');
                if (!eq)
                        return net_error(err, kv, "expected key=value");
                *eq = 0;
                const char *k = kv, *v = eq + 1;
                int r;
                if (streq(k, "name")) {
                        if (strlen(v) > NET_NAME_MAX || !net_name_is_valid(v))
                                return net_error(
                                        err, "name",
                                        "\"%.40s\" is not a valid network name ([a-z0-9][a-z0-9-]{0,31})",
                                        v);
                        snprintf(d.name, sizeof d.name, "%s", v);
                } else if (streq(k, "bridge")) {
                        if (!net_ifname_is_valid(v))
                                return net_error(err, "bridge", "\"%.40s\" is not a valid interface name",
                                                 v);
                        snprintf(d.bridge, sizeof d.bridge, "%s", v);
                        have_bridge = true;
                } else if (streq(k, "subnet") || streq(k, "ipv4_subnet")) {
                        r = ipv4_cidr_parse(v, &d.v4_net, &d.v4_prefix, err, "ipv4_subnet");
                        if (r < 0)
                                return r;
                        have_subnet = true;
                } else if (streq(k, "gateway") || streq(k, "ipv4_gateway")) {
                        if (ipv4_parse(v, &d.v4_gateway) < 0)
                                return net_error(err, "ipv4_gateway", "\"%.40s\" is not an IPv4 address", v);
                        have_gw = true;
                } else if (streq(k, "ipv6") || streq(k, "ipv6_subnet")) {
                        r = ipv6_cidr_parse(v, &d.v6_net, &d.v6_prefix, err, "ipv6_subnet");
                        if (r < 0)
                                return r;
                        d.has_v6 = true;
                } else if (streq(k, "dns")) {
                        r = parse_dns(v, &d, err);
                        if (r < 0)
                                return r;
                } else if (streq(k, "tenant")) {
                        if (strlen(v) > NET_TENANT_MAX)
                                return net_error(err, "tenant", "at most %d bytes", NET_TENANT_MAX);
                        snprintf(d.tenant, sizeof d.tenant, "%s", v);
                } else if (streq(k, "mtu")) {
                        char *end;
                        errno = 0;
                        unsigned long m = strtoul(v, &end, 10);
                        if (errno || *end || !*v || m < NET_MTU_MIN || m > NET_MTU_MAX)
                                return net_error(err, "mtu", "\"%.20s\" is not a number in %d..%d", v,
                                                 NET_MTU_MIN, NET_MTU_MAX);
                        d.mtu = (unsigned) m;
                } else
                        return net_error(
                                err, k,
                                "unknown key (known: name, subnet, gateway, bridge, ipv6, dns, tenant, "
                                "mtu)");
        }
        if (!d.name[0])
                return net_error(err, "name", "required");
        if (!have_subnet)
                return net_error(err, "ipv4_subnet", "required (subnet=10.0.0.0/24)");
        if (!have_gw)
                d.v4_gateway = d.v4_net + 1;
        if (!have_bridge)
                net_default_bridge(d.name, d.bridge);
        int r = net_def_check(&d, err);
        if (r < 0)
                return r;
        *ret = d;
        return 0;
}
