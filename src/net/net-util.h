/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Pure helpers for host networks (no I/O): network definitions and their
 * parsing (--network option, CreateNetwork), IPv4/IPv6 prefix arithmetic,
 * deterministic interface names and MACs, and the guest's `ip=` argument.
 * Unit-tested in tests/test-net.c.
 */

#include <netinet/in.h>
#include <stdint.h>

#include "util/util.h"

#define NET_NAME_MAX 32 /* network names: [a-z0-9][a-z0-9-]{0,31} */
#define NET_IFNAME_MAX 15 /* IFNAMSIZ - 1 */
#define NET_TENANT_MAX 63
#define NET_DNS_MAX 4
#define NET_MTU_MIN 576
#define NET_MTU_MAX 9000
#define VM_NIC_MAX 8 /* interfaces per VM */

/* One host network: a bridge carrying the gateway address. Fixed buffers,
 * nothing to free. */
typedef struct NetworkDef {
        char name[NET_NAME_MAX + 1];
        char bridge[NET_IFNAME_MAX + 1];
        uint32_t v4_net; /* host byte order, host bits zero */
        unsigned v4_prefix; /* 8..30 */
        uint32_t v4_gateway; /* inside the subnet, not its network or broadcast address */
        bool has_v6;
        struct in6_addr v6_net; /* host bits zero */
        unsigned v6_prefix; /* 64..120 */
        uint32_t dns[NET_DNS_MAX]; /* host byte order */
        unsigned n_dns;
        char tenant[NET_TENANT_MAX + 1]; /* "" = any tenant */
        unsigned mtu; /* default 1500 */
} NetworkDef;

/* A problem found while parsing: the field and what is wrong with it. */
typedef struct NetError {
        char field[64];
        char message[256];
} NetError;

bool net_name_is_valid(const char *name);
/* Linux interface name rules: 1..15 bytes, no '/', ':', whitespace; not "." or "..". */
bool net_ifname_is_valid(const char *name);

/* "a.b.c.d" -> host order. 0 or -EINVAL. */
int ipv4_parse(const char *s, uint32_t *ret);
/* host order -> "a.b.c.d" in buf (>= 16 bytes); returns buf. */
char *ipv4_format(uint32_t a, char *buf);
uint32_t ipv4_mask(unsigned prefix);
/* "a.b.c.d/N" with N in 8..30 and no host bits set. */
int ipv4_cidr_parse(const char *s, uint32_t *ret_net, unsigned *ret_prefix, NetError *err,
                    const char *field);
/* "x::/N" with N in 64..120 and no host bits set. */
int ipv6_cidr_parse(const char *s, struct in6_addr *ret_net, unsigned *ret_prefix, NetError *err,
                    const char *field);
bool ipv6_in_prefix(const struct in6_addr *a, const struct in6_addr *net, unsigned prefix);
/* The low 64 bits of a (the host part when prefix >= 64), and back. */
uint64_t ipv6_low64(const struct in6_addr *a);
void ipv6_set_low64(struct in6_addr *a, uint64_t v);

/* The bridge name a network gets when none is given: "mdbr-<name>" when it
 * fits 15 bytes, else "mdbr-" + 10 hex digits of a hash of the name. */
void net_default_bridge(const char *name, char buf[static NET_IFNAME_MAX + 1]);

/*
 * Parse a network definition "name=N,subnet=A.B.C.D/P[,gateway=G][,bridge=B]
 * [,ipv6=X::/P][,dns=D1+D2][,tenant=T][,mtu=M]" (the --network option; also
 * what CreateNetwork fills field by field). The gateway defaults to the first
 * host address of the subnet. Checks everything net_def_check does.
 */
int net_def_parse(const char *spec, NetworkDef *ret, NetError *err);
/* Check a filled definition: name, bridge, gateway inside and not the
 * network/broadcast address, MTU range, tenant length. */
int net_def_check(const NetworkDef *d, NetError *err);

/* The gateway as the guest sees it on IPv6: the subnet's ::1. */
void net_def_v6_gateway(const NetworkDef *d, struct in6_addr *ret);

/* A stable 64-bit hash (FNV-1a) of the strings a and b, separated by a NUL. */
uint64_t net_hash(const char *a, const char *b);

/* The MAC of interface iface_id of vm_id when none is given: locally
 * administered, unicast ("02:xx:xx:xx:xx:xx", the rest from net_hash). */
void net_derive_mac(const char *vm_id, const char *iface_id, char buf[static 18]);
/* Parse "aa:bb:cc:dd:ee:ff" (hex, either case). Unicast only (bit 0 of the
 * first octet clear), not all-zero. Canonical lower-case form into canon. */
int net_mac_parse(const char *s, uint8_t mac[static 6], char canon[static 18], const char **ret_why);

/* The TAP of interface idx (0..VM_NIC_MAX-1) of vm_id: "mdt" + 11 hex digits
 * of net_hash(vm_id) + the index digit: always 15 bytes. */
void net_tap_name(const char *vm_id, unsigned idx, char buf[static NET_IFNAME_MAX + 1]);
