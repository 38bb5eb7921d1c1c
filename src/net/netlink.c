/* SPDX-License-Identifier: Apache-2.0 */
#include "net/netlink.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <net/if.h>

#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* One request being built: header, payload, attributes. */
typedef struct NlReq {
        union {
                struct nlmsghdr h;
                char buf[1024];
        };
} NlReq;

static void *nl_tail(NlReq *r) {
        return r->buf + NLMSG_ALIGN(r->h.nlmsg_len);
}

static int nl_put(NlReq *r, unsigned short type, const void *data, size_t len) {
        size_t need = NLMSG_ALIGN(r->h.nlmsg_len) + RTA_SPACE(len);
        if (need > sizeof r->buf)
                return -ENOBUFS;
        struct rtattr *a = nl_tail(r);
        a->rta_type = type;
        a->rta_len = (unsigned short) RTA_LENGTH(len);
        if (len)
                memcpy(RTA_DATA(a), data, len);
        r->h.nlmsg_len = (unsigned) need;
        return 0;
}

static int nl_put_str(NlReq *r, unsigned short type, const char *s) {
        return nl_put(r, type, s, strlen(s) + 1);
}

static int nl_put_u32(NlReq *r, unsigned short type, uint32_t v) {
        return nl_put(r, type, &v, sizeof v);
}

/* Open a nested attribute; close it with nl_nest_end. */
static struct rtattr *nl_nest_begin(NlReq *r, unsigned short type) {
        struct rtattr *a = nl_tail(r);
        if (nl_put(r, type, NULL, 0) < 0)
                return NULL;
        return a;
}

static void nl_nest_end(NlReq *r, struct rtattr *a) {
        a->rta_len = (unsigned short) ((char *) nl_tail(r) - (char *) a);
}

/* Send r and wait for its acknowledgement: 0 or the kernel's -errno. */
static int nl_talk(NlReq *r) {
        _cleanup_close_ int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
        if (fd < 0)
                return -errno;
        struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
        r->h.nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
        r->h.nlmsg_seq = 1;
        if (sendto(fd, r->buf, r->h.nlmsg_len, 0, (struct sockaddr *) &sa, sizeof sa) < 0)
                return -errno;
        char buf[8192];
        for (;;) {
                ssize_t n = recv(fd, buf, sizeof buf, 0);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                for (struct nlmsghdr *h = (struct nlmsghdr *) buf; NLMSG_OK(h, (unsigned) n);
                     h = NLMSG_NEXT(h, n)) {
                        if (h->nlmsg_seq != 1)
                                continue;
                        if (h->nlmsg_type == NLMSG_ERROR) {
                                const struct nlmsgerr *e = NLMSG_DATA(h);
                                return e->error;
                        }
                }
        }
}

/* The link kind (IFLA_INFO_KIND: "bridge", "tun", ...) of interface ifindex
 * into kind ("" when it has none). Asked over netlink, not /sys, which may
 * show another network namespace's interfaces. */
static int link_kind(unsigned ifindex, char kind[static 16]) {
        NlReq r = { 0 };
        r.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
        r.h.nlmsg_type = RTM_GETLINK;
        r.h.nlmsg_flags = NLM_F_REQUEST;
        r.h.nlmsg_seq = 2;
        struct ifinfomsg *ifi = NLMSG_DATA(&r.h);
        ifi->ifi_family = AF_UNSPEC;
        ifi->ifi_index = (int) ifindex;
        _cleanup_close_ int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
        if (fd < 0)
                return -errno;
        struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
        if (sendto(fd, r.buf, r.h.nlmsg_len, 0, (struct sockaddr *) &sa, sizeof sa) < 0)
                return -errno;
        char buf[16384];
        ssize_t n;
        do
                n = recv(fd, buf, sizeof buf, 0);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        kind[0] = 0;
        for (struct nlmsghdr *h = (struct nlmsghdr *) buf; NLMSG_OK(h, (unsigned) n); h = NLMSG_NEXT(h, n)) {
                if (h->nlmsg_type == NLMSG_ERROR)
                        return ((const struct nlmsgerr *) NLMSG_DATA(h))->error;
                if (h->nlmsg_type != RTM_NEWLINK)
                        continue;
                int len = (int) IFLA_PAYLOAD(h);
                for (struct rtattr *a = IFLA_RTA(NLMSG_DATA(h)); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
                        if (a->rta_type != IFLA_LINKINFO)
                                continue;
                        int ilen = (int) RTA_PAYLOAD(a);
                        for (struct rtattr *b = RTA_DATA(a); RTA_OK(b, ilen); b = RTA_NEXT(b, ilen))
                                if (b->rta_type == IFLA_INFO_KIND)
                                        snprintf(kind, 16, "%.*s", (int) RTA_PAYLOAD(b),
                                                 (const char *) RTA_DATA(b));
                }
                return 0;
        }
        return -EIO;
}

bool netlink_link_exists(const char *name) {
        return if_nametoindex(name) > 0;
}

static int fail(char **ret_error, int k, const char *fmt, ...) _printf_(3, 4);
static int fail(char **ret_error, int k, const char *fmt, ...) {
        if (ret_error) {
                char msg[160];
                va_list ap;
                va_start(ap, fmt);
                vsnprintf(msg, sizeof msg, fmt, ap);
                va_end(ap);
                *ret_error = strdup_printf("%s: %s", msg, strerror(-k));
        }
        return k;
}

/* RTM_NEWLINK on an existing link: flags up, and optionally MTU and master. */
static int link_set(unsigned ifindex, unsigned mtu, unsigned master) {
        NlReq r = { 0 };
        r.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
        r.h.nlmsg_type = RTM_NEWLINK;
        struct ifinfomsg *ifi = NLMSG_DATA(&r.h);
        ifi->ifi_family = AF_UNSPEC;
        ifi->ifi_index = (int) ifindex;
        ifi->ifi_flags = IFF_UP;
        ifi->ifi_change = IFF_UP;
        if (mtu && nl_put_u32(&r, IFLA_MTU, mtu) < 0)
                return -ENOBUFS;
        if (master && nl_put_u32(&r, IFLA_MASTER, master) < 0)
                return -ENOBUFS;
        return nl_talk(&r);
}

static int addr_replace(unsigned ifindex, int family, const void *addr, size_t alen, unsigned prefix) {
        NlReq r = { 0 };
        r.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg));
        r.h.nlmsg_type = RTM_NEWADDR;
        r.h.nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
        struct ifaddrmsg *ifa = NLMSG_DATA(&r.h);
        ifa->ifa_family = (unsigned char) family;
        ifa->ifa_prefixlen = (unsigned char) prefix;
        ifa->ifa_index = ifindex;
        ifa->ifa_scope = RT_SCOPE_UNIVERSE;
        if (family == AF_INET6)
                ifa->ifa_flags = IFA_F_NODAD;
        if (nl_put(&r, IFA_LOCAL, addr, alen) < 0 || nl_put(&r, IFA_ADDRESS, addr, alen) < 0)
                return -ENOBUFS;
        return nl_talk(&r);
}

int netlink_bridge_ensure(const char *name, unsigned mtu, uint32_t gw, unsigned prefix,
                          const struct in6_addr *gw6, unsigned prefix6, char **ret_error) {
        unsigned idx = if_nametoindex(name);
        int k;
        if (idx == 0) {
                NlReq r = { 0 };
                r.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
                r.h.nlmsg_type = RTM_NEWLINK;
                r.h.nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
                ((struct ifinfomsg *) NLMSG_DATA(&r.h))->ifi_family = AF_UNSPEC;
                if (nl_put_str(&r, IFLA_IFNAME, name) < 0)
                        return -ENOBUFS;
                struct rtattr *li = nl_nest_begin(&r, IFLA_LINKINFO);
                if (!li || nl_put_str(&r, IFLA_INFO_KIND, "bridge") < 0)
                        return -ENOBUFS;
                nl_nest_end(&r, li);
                k = nl_talk(&r);
                if (k < 0 && k != -EEXIST)
                        return fail(ret_error, k, "cannot create bridge %s", name);
                idx = if_nametoindex(name);
                if (idx == 0)
                        return fail(ret_error, -ENODEV, "bridge %s vanished after creation", name);
        } else {
                char kind[16];
                k = link_kind(idx, kind);
                if (k < 0)
                        return fail(ret_error, k, "cannot query interface %s", name);
                if (!streq(kind, "bridge"))
                        return fail(ret_error, -EEXIST,
                                    "interface %s exists and is not a bridge (kind \"%s\")", name, kind);
        }
        k = link_set(idx, mtu, 0);
        if (k < 0)
                return fail(ret_error, k, "cannot bring bridge %s up", name);
        uint32_t be = htonl(gw);
        k = addr_replace(idx, AF_INET, &be, sizeof be, prefix);
        if (k < 0)
                return fail(ret_error, k, "cannot put the gateway address on bridge %s", name);
        if (gw6) {
                k = addr_replace(idx, AF_INET6, gw6, sizeof *gw6, prefix6);
                if (k < 0)
                        return fail(ret_error, k, "cannot put the IPv6 gateway address on bridge %s", name);
        }
        return 0;
}

int netlink_tap_ensure(const char *name, uid_t uid, gid_t gid, const char *bridge, unsigned mtu,
                       char **ret_error) {
        if (strlen(name) >= IFNAMSIZ)
                return fail(ret_error, -EINVAL, "TAP name %s is too long", name);
        unsigned br = if_nametoindex(bridge);
        if (br == 0)
                return fail(ret_error, -ENODEV, "bridge %s does not exist", bridge);
        unsigned idx = if_nametoindex(name);
        if (idx == 0) {
                _cleanup_close_ int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
                if (fd < 0)
                        return fail(ret_error, -errno, "cannot open /dev/net/tun for TAP %s", name);
                struct ifreq ifr = { 0 };
                snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
                ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
                if (ioctl(fd, TUNSETIFF, &ifr) < 0)
                        return fail(ret_error, -errno, "cannot create TAP %s (TUNSETIFF)", name);
                if (ioctl(fd, TUNSETOWNER, (unsigned long) uid) < 0 ||
                    ioctl(fd, TUNSETGROUP, (unsigned long) gid) < 0)
                        return fail(ret_error, -errno, "cannot set the owner of TAP %s", name);
                if (ioctl(fd, TUNSETPERSIST, 1UL) < 0)
                        return fail(ret_error, -errno, "cannot make TAP %s persistent", name);
                idx = if_nametoindex(name);
                if (idx == 0)
                        return fail(ret_error, -ENODEV, "TAP %s vanished after creation", name);
        } else {
                /* Reused (a daemon restart, a retried step): it must be a TAP;
                 * a VMM may hold it open, so it is not opened again. */
                char kind[16];
                int q = link_kind(idx, kind);
                if (q < 0)
                        return fail(ret_error, q, "cannot query interface %s", name);
                if (!streq(kind, "tun"))
                        return fail(ret_error, -EEXIST, "interface %s exists and is not a TAP (kind \"%s\")",
                                    name, kind);
        }
        int k = link_set(idx, mtu, br);
        if (k < 0)
                return fail(ret_error, k, "cannot attach TAP %s to its bridge and bring it up", name);
        return 0;
}

int netlink_link_delete(const char *name, char **ret_error) {
        unsigned idx = if_nametoindex(name);
        if (idx == 0)
                return 0;
        NlReq r = { 0 };
        r.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
        r.h.nlmsg_type = RTM_DELLINK;
        struct ifinfomsg *ifi = NLMSG_DATA(&r.h);
        ifi->ifi_family = AF_UNSPEC;
        ifi->ifi_index = (int) idx;
        int k = nl_talk(&r);
        if (k < 0 && k != -ENODEV)
                return fail(ret_error, k, "cannot delete interface %s", name);
        return 0;
}
