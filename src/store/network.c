/* SPDX-License-Identifier: Apache-2.0 */
#include "store/network.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store-internal.h"

static void def_columns(const NetworkDef *d, char subnet[static 20], char gw[static 16], char v6[static 64],
                        char dns[static 80]) {
        char b[16];
        snprintf(subnet, 20, "%s/%u", ipv4_format(d->v4_net, b), d->v4_prefix);
        ipv4_format(d->v4_gateway, gw);
        v6[0] = 0;
        if (d->has_v6) {
                char a[INET6_ADDRSTRLEN];
                inet_ntop(AF_INET6, &d->v6_net, a, sizeof a);
                snprintf(v6, 64, "%s/%u", a, d->v6_prefix);
        }
        dns[0] = 0;
        for (unsigned i = 0; i < d->n_dns; i++)
                snprintf(dns + strlen(dns), 80 - strlen(dns), "%s%s", i ? "," : "",
                         ipv4_format(d->dns[i], b));
}

/* Columns 0..8 = name, bridge, ipv4_subnet, ipv4_gateway, ipv6_subnet, dns, tenant, mtu, source. */
#define NET_COLUMNS                                                                                         \
        "n.name, n.bridge, n.ipv4_subnet, n.ipv4_gateway, n.ipv6_subnet, n.dns, n.tenant, n.mtu, n.source"

static int def_from_stmt(sqlite3_stmt *st, int col, NetworkDef *d, char *source) {
        *d = (NetworkDef){ 0 };
        const char *t;
        snprintf(d->name, sizeof d->name, "%s", (const char *) sqlite3_column_text(st, col + 0));
        snprintf(d->bridge, sizeof d->bridge, "%s", (const char *) sqlite3_column_text(st, col + 1));
        if (ipv4_cidr_parse((const char *) sqlite3_column_text(st, col + 2), &d->v4_net, &d->v4_prefix, NULL,
                            NULL) < 0 ||
            ipv4_parse((const char *) sqlite3_column_text(st, col + 3), &d->v4_gateway) < 0)
                return -EIO;
        t = (const char *) sqlite3_column_text(st, col + 4);
        if (t && *t) {
                if (ipv6_cidr_parse(t, &d->v6_net, &d->v6_prefix, NULL, NULL) < 0)
                        return -EIO;
                d->has_v6 = true;
        }
        t = (const char *) sqlite3_column_text(st, col + 5);
        if (t && *t) {
                char copy[80], *save = NULL;
                snprintf(copy, sizeof copy, "%s", t);
                for (char *x = strtok_r(copy, ",", &save); x && d->n_dns < NET_DNS_MAX;
                     x = strtok_r(NULL, ",", &save))
                        if (ipv4_parse(x, &d->dns[d->n_dns]) == 0)
                                d->n_dns++;
        }
        snprintf(d->tenant, sizeof d->tenant, "%s", (const char *) sqlite3_column_text(st, col + 6));
        d->mtu = (unsigned) sqlite3_column_int(st, col + 7);
        if (source)
                snprintf(source, 8, "%s", (const char *) sqlite3_column_text(st, col + 8));
        return 0;
}

static bool def_equal(const NetworkDef *a, const NetworkDef *b) {
        char s1[20], g1[16], v1[64], d1[80], s2[20], g2[16], v2[64], d2[80];
        def_columns(a, s1, g1, v1, d1);
        def_columns(b, s2, g2, v2, d2);
        return streq(a->name, b->name) && streq(a->bridge, b->bridge) && streq(s1, s2) && streq(g1, g2) &&
               streq(v1, v2) && streq(d1, d2) && streq(a->tenant, b->tenant) && a->mtu == b->mtu;
}

static int conn_network_get(sqlite3 *db, const char *name, StoreNetwork *ret) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = prepare(db,
                        "SELECT " NET_COLUMNS ", (SELECT count(*) FROM vm_nics v WHERE v.network = n.name) "
                        "FROM networks n WHERE n.name = ?",
                        &st);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
                return -ENOENT;
        if (rc != SQLITE_ROW)
                return sqlite_to_errno(rc);
        if (def_from_stmt(st, 0, &ret->def, ret->source) < 0)
                return -EIO;
        ret->n_nics = (unsigned) sqlite3_column_int(st, 9);
        return 0;
}

int store_network_get(Store *s, const char *name, StoreNetwork *ret) {
        _cleanup_conn_ Conn c = { .store = s };
        int r = conn_acquire(&c);
        if (r < 0)
                return r;
        return conn_network_get(c.db, name, ret);
}

int store_network_put(Store *s, const NetworkDef *d, const char *source, char **ret_error) {
        _cleanup_conn_ Conn c = { .store = s };
        int r = conn_acquire(&c);
        if (r < 0)
                return r;
        r = conn_begin(&c, true);
        if (r < 0)
                return r;
        StoreNetwork old;
        r = conn_network_get(c.db, d->name, &old);
        if (r == 0) {
                if (def_equal(&old.def, d))
                        return 0;
                if (!streq(source, "config") || !streq(old.source, "config") || old.n_nics > 0) {
                        *ret_error =
                                strdup_printf("network \"%s\" already exists with a different definition%s",
                                              d->name, old.n_nics > 0 ? " and VMs on it" : "");
                        return -EEXIST;
                }
                _cleanup_stmt_ sqlite3_stmt *del = NULL;
                r = prepare(c.db, "DELETE FROM networks WHERE name = ?", &del);
                if (r < 0)
                        return r;
                sqlite3_bind_text(del, 1, d->name, -1, SQLITE_STATIC);
                r = step_done(del);
                if (r < 0)
                        return r;
        } else if (r != -ENOENT)
                return r;

        char subnet[20], gw[16], v6[64], dns[80];
        def_columns(d, subnet, gw, v6, dns);
        /* Another network with the same bridge, or an overlapping subnet. */
        _cleanup_stmt_ sqlite3_stmt *q = NULL;
        r = prepare(c.db, "SELECT " NET_COLUMNS " FROM networks n WHERE n.name != ?", &q);
        if (r < 0)
                return r;
        sqlite3_bind_text(q, 1, d->name, -1, SQLITE_STATIC);
        while ((r = sqlite3_step(q)) == SQLITE_ROW) {
                NetworkDef o;
                if (def_from_stmt(q, 0, &o, NULL) < 0)
                        return -EIO;
                unsigned p = o.v4_prefix < d->v4_prefix ? o.v4_prefix : d->v4_prefix;
                if (streq(o.bridge, d->bridge)) {
                        *ret_error = strdup_printf("bridge %s is already used by network \"%s\"", d->bridge,
                                                   o.name);
                        return -EEXIST;
                }
                if ((o.v4_net & ipv4_mask(p)) == (d->v4_net & ipv4_mask(p))) {
                        *ret_error = strdup_printf("subnet %s overlaps network \"%s\"", subnet, o.name);
                        return -EEXIST;
                }
        }
        if (r != SQLITE_DONE)
                return sqlite_to_errno(r);

        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        r = prepare(
                c.db,
                "INSERT INTO networks (name, bridge, ipv4_subnet, ipv4_gateway, ipv6_subnet, dns, tenant, "
                "mtu, source, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                &st);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, d->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, d->bridge, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, subnet, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, gw, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, v6, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, dns, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 7, d->tenant, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 8, (int) d->mtu);
        sqlite3_bind_text(st, 9, source, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 10, now_ms());
        r = step_done(st);
        if (r == -EEXIST) {
                *ret_error = strdup_printf("network \"%s\" conflicts with an existing one", d->name);
                return r;
        }
        if (r < 0)
                return r;
        return conn_commit(&c);
}

int store_network_delete(Store *s, const char *name, char **ret_error) {
        _cleanup_conn_ Conn c = { .store = s };
        int r = conn_acquire(&c);
        if (r < 0)
                return r;
        r = conn_begin(&c, true);
        if (r < 0)
                return r;
        StoreNetwork old;
        r = conn_network_get(c.db, name, &old);
        if (r == -ENOENT) {
                *ret_error = strdup_printf("network \"%s\" does not exist", name);
                return r;
        }
        if (r < 0)
                return r;
        if (old.n_nics > 0) {
                *ret_error = strdup_printf(
                        "network \"%s\" is in use by %u VM interface%s; delete those VMs first", name,
                        old.n_nics, old.n_nics == 1 ? "" : "s");
                return -EBUSY;
        }
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        r = prepare(c.db, "DELETE FROM networks WHERE name = ?", &st);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        r = step_done(st);
        if (r < 0)
                return r;
        return conn_commit(&c);
}

int store_network_list(Store *s, StoreNetwork **ret, size_t *ret_n) {
        _cleanup_conn_ Conn c = { .store = s };
        int r = conn_acquire(&c);
        if (r < 0)
                return r;
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        r = prepare(c.db,
                    "SELECT " NET_COLUMNS ", (SELECT count(*) FROM vm_nics v WHERE v.network = n.name) "
                    "FROM networks n ORDER BY n.name",
                    &st);
        if (r < 0)
                return r;
        _cleanup_free_ StoreNetwork *v = NULL;
        size_t n = 0;
        while ((r = sqlite3_step(st)) == SQLITE_ROW) {
                StoreNetwork *nv = realloc(v, (n + 1) * sizeof *v);
                if (!nv)
                        return -ENOMEM;
                v = nv;
                if (def_from_stmt(st, 0, &v[n].def, v[n].source) < 0)
                        return -EIO;
                v[n].n_nics = (unsigned) sqlite3_column_int(st, 9);
                n++;
        }
        if (r != SQLITE_DONE)
                return sqlite_to_errno(r);
        *ret = TAKE_PTR(v);
        *ret_n = n;
        return 0;
}

/* ---- allocation ---------------------------------------------------------- */

static int u32_cmp(const void *a, const void *b) {
        uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;
        return x < y ? -1 : x > y;
}

static int u64_cmp(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

/* Is `text` taken in column col (ipv4, ipv6, mac) of network, or as a TAP? */
static int taken_by(sqlite3 *db, const char *col, const char *network, const char *text,
                    char vm[static 65]) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        char sql[160];
        if (streq(col, "tap"))
                snprintf(sql, sizeof sql, "SELECT vm_id FROM vm_nics WHERE tap = ?2");
        else
                snprintf(sql, sizeof sql, "SELECT vm_id FROM vm_nics WHERE network = ?1 AND %s = ?2", col);
        int r = prepare(db, sql, &st);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, network, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
                snprintf(vm, 65, "%s", (const char *) sqlite3_column_text(st, 0));
                return 1;
        }
        return rc == SQLITE_DONE ? 0 : sqlite_to_errno(rc);
}

/* The lowest free IPv4 host address of d (not network, broadcast or gateway). */
static int pick_ipv4(sqlite3 *db, const NetworkDef *d, uint32_t *ret) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = prepare(db, "SELECT ipv4 FROM vm_nics WHERE network = ?", &st);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, d->name, -1, SQLITE_STATIC);
        _cleanup_free_ uint32_t *used = NULL;
        size_t n = 0, cap = 0;
        while ((r = sqlite3_step(st)) == SQLITE_ROW) {
                uint32_t a;
                if (ipv4_parse((const char *) sqlite3_column_text(st, 0), &a) < 0)
                        continue;
                if (GROW_ARRAY(used, cap, n, 64) < 0)
                        return -ENOMEM;
                used[n++] = a;
        }
        if (r != SQLITE_DONE)
                return sqlite_to_errno(r);
        if (n > 1)
                qsort(used, n, sizeof *used, u32_cmp);
        uint32_t last = d->v4_net | ~ipv4_mask(d->v4_prefix);
        size_t i = 0;
        for (uint32_t a = d->v4_net + 1; a < last; a++) {
                while (i < n && used[i] < a)
                        i++;
                if (a == d->v4_gateway || (i < n && used[i] == a))
                        continue;
                *ret = a;
                return 0;
        }
        return -EADDRNOTAVAIL;
}

/* The lowest free IPv6 address of d from subnet::2 (::1 is the gateway). */
static int pick_ipv6(sqlite3 *db, const NetworkDef *d, struct in6_addr *ret) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = prepare(db, "SELECT ipv6 FROM vm_nics WHERE network = ? AND ipv6 IS NOT NULL", &st);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, d->name, -1, SQLITE_STATIC);
        _cleanup_free_ uint64_t *used = NULL;
        size_t n = 0, cap = 0;
        while ((r = sqlite3_step(st)) == SQLITE_ROW) {
                struct in6_addr a;
                if (inet_pton(AF_INET6, (const char *) sqlite3_column_text(st, 0), &a) != 1)
                        continue;
                if (GROW_ARRAY(used, cap, n, 64) < 0)
                        return -ENOMEM;
                used[n++] = ipv6_low64(&a);
        }
        if (r != SQLITE_DONE)
                return sqlite_to_errno(r);
        if (n > 1)
                qsort(used, n, sizeof *used, u64_cmp);
        uint64_t base = ipv6_low64(&d->v6_net);
        uint64_t size = d->v6_prefix == 64 ? UINT64_MAX : (1ULL << (128 - d->v6_prefix));
        size_t i = 0;
        for (uint64_t k = 2; k < size - 1 && k < (1ULL << 32); k++) {
                while (i < n && used[i] < base + k)
                        i++;
                if (i < n && used[i] == base + k)
                        continue;
                *ret = d->v6_net;
                ipv6_set_low64(ret, base + k);
                return 0;
        }
        return -EADDRNOTAVAIL;
}

int store_vm_insert_nics(sqlite3 *db, const char *vm_id, const char *customer_id, const StoreNicRequest *req,
                         size_t n, char **ret_error) {
        for (size_t i = 0; i < n; i++) {
                const StoreNicRequest *q = &req[i];
                StoreNetwork net;
                char vm[65], b[16], v4[16], v6[INET6_ADDRSTRLEN] = "";
                int r = conn_network_get(db, q->network, &net);
                if (r == -ENOENT) {
                        *ret_error = strdup_printf(
                                "config.network[%zu].network: network \"%s\" does not exist", i, q->network);
                        return r;
                }
                if (r < 0)
                        return r;
                const NetworkDef *d = &net.def;
                if (d->tenant[0] && !streq(d->tenant, customer_id ? customer_id : "")) {
                        *ret_error = strdup_printf("config.network[%zu].network: network \"%s\" belongs to "
                                                   "another tenant",
                                                   i, q->network);
                        return -EACCES;
                }

                uint32_t a;
                if (q->ipv4) {
                        if (ipv4_parse(q->ipv4, &a) < 0) {
                                *ret_error =
                                        strdup_printf("config.network[%zu].ipv4_address: \"%s\" is not an "
                                                      "IPv4 address",
                                                      i, q->ipv4);
                                return -EINVAL;
                        }
                        uint32_t bcast = d->v4_net | ~ipv4_mask(d->v4_prefix);
                        if ((a & ipv4_mask(d->v4_prefix)) != d->v4_net || a == d->v4_net || a == bcast ||
                            a == d->v4_gateway) {
                                *ret_error = strdup_printf(
                                        "config.network[%zu].ipv4_address: %s is not a free host address of "
                                        "network \"%s\" (%s/%u, gateway %s)",
                                        i, q->ipv4, d->name, ipv4_format(d->v4_net, b), d->v4_prefix,
                                        ipv4_format(d->v4_gateway, v4));
                                return -EINVAL;
                        }
                } else {
                        r = pick_ipv4(db, d, &a);
                        if (r == -EADDRNOTAVAIL) {
                                *ret_error =
                                        strdup_printf("network \"%s\" has no free IPv4 address left (%s/%u)",
                                                      d->name, ipv4_format(d->v4_net, b), d->v4_prefix);
                                return r;
                        }
                        if (r < 0)
                                return r;
                }
                ipv4_format(a, v4);
                r = taken_by(db, "ipv4", d->name, v4, vm);
                if (r > 0) {
                        *ret_error =
                                strdup_printf("config.network[%zu].ipv4_address: %s on network \"%s\" is "
                                              "already in use by vm %s",
                                              i, v4, d->name, vm);
                        return -EADDRINUSE;
                }
                if (r < 0)
                        return r;

                if (d->has_v6) {
                        struct in6_addr a6;
                        if (q->ipv6) {
                                struct in6_addr gw6;
                                net_def_v6_gateway(d, &gw6);
                                if (inet_pton(AF_INET6, q->ipv6, &a6) != 1 ||
                                    !ipv6_in_prefix(&a6, &d->v6_net, d->v6_prefix) ||
                                    !memcmp(&a6, &d->v6_net, sizeof a6) || !memcmp(&a6, &gw6, sizeof a6)) {
                                        *ret_error = strdup_printf(
                                                "config.network[%zu].ipv6_address: \"%s\" is not "
                                                "a host address of network \"%s\"",
                                                i, q->ipv6, d->name);
                                        return -EINVAL;
                                }
                        } else {
                                r = pick_ipv6(db, d, &a6);
                                if (r == -EADDRNOTAVAIL) {
                                        *ret_error = strdup_printf(
                                                "network \"%s\" has no free IPv6 address left", d->name);
                                        return r;
                                }
                                if (r < 0)
                                        return r;
                        }
                        inet_ntop(AF_INET6, &a6, v6, sizeof v6);
                        r = taken_by(db, "ipv6", d->name, v6, vm);
                        if (r > 0) {
                                *ret_error = strdup_printf("config.network[%zu].ipv6_address: %s on network "
                                                           "\"%s\" is already in use by vm %s",
                                                           i, v6, d->name, vm);
                                return -EADDRINUSE;
                        }
                        if (r < 0)
                                return r;
                } else if (q->ipv6) {
                        *ret_error =
                                strdup_printf("config.network[%zu].ipv6_address: network \"%s\" has no IPv6 "
                                              "subnet",
                                              i, d->name);
                        return -EINVAL;
                }

                r = taken_by(db, "mac", d->name, q->mac, vm);
                if (r > 0) {
                        *ret_error =
                                strdup_printf("config.network[%zu].mac_address: %s on network \"%s\" is "
                                              "already in use by vm %s",
                                              i, q->mac, d->name, vm);
                        return -EADDRINUSE;
                }
                if (r == 0)
                        r = taken_by(db, "tap", d->name, q->tap, vm);
                if (r > 0) {
                        *ret_error = strdup_printf("TAP name %s is already in use by vm %s", q->tap, vm);
                        return -EADDRINUSE;
                }
                if (r < 0)
                        return r;

                _cleanup_stmt_ sqlite3_stmt *st = NULL;
                r = prepare(db,
                            "INSERT INTO vm_nics (vm_id, iface_id, idx, network, tap, mac, ipv4, ipv6) "
                            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                            &st);
                if (r < 0)
                        return r;
                sqlite3_bind_text(st, 1, vm_id, -1, SQLITE_STATIC);
                sqlite3_bind_text(st, 2, q->iface_id, -1, SQLITE_STATIC);
                sqlite3_bind_int(st, 3, (int) i);
                sqlite3_bind_text(st, 4, d->name, -1, SQLITE_STATIC);
                sqlite3_bind_text(st, 5, q->tap, -1, SQLITE_STATIC);
                sqlite3_bind_text(st, 6, q->mac, -1, SQLITE_STATIC);
                sqlite3_bind_text(st, 7, v4, -1, SQLITE_TRANSIENT);
                if (v6[0])
                        sqlite3_bind_text(st, 8, v6, -1, SQLITE_TRANSIENT);
                else
                        sqlite3_bind_null(st, 8);
                r = step_done(st);
                if (r == -EEXIST) {
                        /* The checks above ran in this transaction; the constraint is the backstop. */
                        *ret_error =
                                strdup_printf("config.network[%zu]: address, MAC or TAP already in use", i);
                        return -EADDRINUSE;
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

int store_vm_release_nics(sqlite3 *db, const char *vm_id) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = prepare(db, "DELETE FROM vm_nics WHERE vm_id = ?", &st);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, vm_id, -1, SQLITE_STATIC);
        return step_done(st);
}

static int nics_query(Store *s, const char *vm_id, StoreNic **ret, size_t *ret_n) {
        _cleanup_conn_ Conn c = { .store = s };
        int r = conn_acquire(&c);
        if (r < 0)
                return r;
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        r = prepare(
                c.db,
                "SELECT v.vm_id, v.iface_id, v.idx, v.tap, v.mac, v.ipv4, coalesce(v.ipv6, ''), " NET_COLUMNS
                " FROM vm_nics v JOIN networks n ON n.name = v.network "
                "WHERE ?1 IS NULL OR v.vm_id = ?1 ORDER BY v.vm_id, v.idx",
                &st);
        if (r < 0)
                return r;
        if (vm_id)
                sqlite3_bind_text(st, 1, vm_id, -1, SQLITE_STATIC);
        else
                sqlite3_bind_null(st, 1);
        _cleanup_free_ StoreNic *v = NULL;
        size_t n = 0;
        while ((r = sqlite3_step(st)) == SQLITE_ROW) {
                StoreNic *nv = realloc(v, (n + 1) * sizeof *v);
                if (!nv)
                        return -ENOMEM;
                v = nv;
                StoreNic *x = &v[n];
                *x = (StoreNic){ 0 };
                snprintf(x->vm_id, sizeof x->vm_id, "%s", (const char *) sqlite3_column_text(st, 0));
                snprintf(x->iface_id, sizeof x->iface_id, "%s", (const char *) sqlite3_column_text(st, 1));
                x->idx = (unsigned) sqlite3_column_int(st, 2);
                snprintf(x->tap, sizeof x->tap, "%s", (const char *) sqlite3_column_text(st, 3));
                snprintf(x->mac, sizeof x->mac, "%s", (const char *) sqlite3_column_text(st, 4));
                snprintf(x->ipv4, sizeof x->ipv4, "%s", (const char *) sqlite3_column_text(st, 5));
                snprintf(x->ipv6, sizeof x->ipv6, "%s", (const char *) sqlite3_column_text(st, 6));
                if (def_from_stmt(st, 7, &x->net, NULL) < 0)
                        return -EIO;
                n++;
        }
        if (r != SQLITE_DONE)
                return sqlite_to_errno(r);
        *ret = TAKE_PTR(v);
        *ret_n = n;
        return 0;
}

int store_vm_nics(Store *s, const char *vm_id, StoreNic **ret, size_t *ret_n) {
        assert(vm_id);
        return nics_query(s, vm_id, ret, ret_n);
}

int store_nics_all(Store *s, StoreNic **ret, size_t *ret_n) {
        return nics_query(s, NULL, ret, ret_n);
}
