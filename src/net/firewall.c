/* SPDX-License-Identifier: Apache-2.0 */
#include "net/firewall.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <nftables/libnftables.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A growing string. */
typedef struct Buf {
        char *s;
        size_t n, cap;
        bool oom;
} Buf;

static void bprintf(Buf *b, const char *fmt, ...) _printf_(2, 3);
static void bprintf(Buf *b, const char *fmt, ...) {
        if (b->oom)
                return;
        for (;;) {
                va_list ap;
                va_start(ap, fmt);
                int k = vsnprintf(b->s ? b->s + b->n : NULL, b->s ? b->cap - b->n : 0, fmt, ap);
                va_end(ap);
                if (k < 0) {
                        b->oom = true;
                        return;
                }
                if (b->s && b->n + (size_t) k < b->cap) {
                        b->n += (size_t) k;
                        return;
                }
                size_t cap = (b->cap ? b->cap * 2 : 4096) + (size_t) k;
                char *ns = realloc(b->s, cap);
                if (!ns) {
                        b->oom = true;
                        return;
                }
                b->s = ns;
                b->cap = cap;
        }
}

char *firewall_ruleset(const StoreNetwork *nets, size_t n_nets, const StoreNic *nics, size_t n_nics) {
        Buf b = { 0 };
        char a[16];

        /* "add" then "delete" makes the delete succeed whether or not it existed:
         * the whole buffer is one transaction, so there is no window without rules. */
        bprintf(&b, "add table bridge metald\ndelete table bridge metald\n");
        bprintf(&b, "add table inet metald\ndelete table inet metald\n");

        bprintf(&b, "table bridge metald {\n\tchain guard {\n");
        for (size_t i = 0; i < n_nics; i++) {
                const StoreNic *x = &nics[i];
                const char *t = x->tap;
                /* Counters on the spoofing rules: tests (and operators) see them hit. */
                bprintf(&b, "\t\tiifname \"%s\" ether saddr != %s counter drop\n", t, x->mac);
                bprintf(&b, "\t\tiifname \"%s\" ether type != { ip, arp, ip6 } drop\n", t);
                bprintf(&b, "\t\tiifname \"%s\" ether type ip ip saddr != %s counter drop\n", t, x->ipv4);
                bprintf(&b, "\t\tiifname \"%s\" ether type arp arp saddr ether != %s drop\n", t, x->mac);
                bprintf(&b, "\t\tiifname \"%s\" ether type arp arp saddr ip != %s drop\n", t, x->ipv4);
                if (x->ipv6[0])
                        bprintf(&b,
                                "\t\tiifname \"%s\" ether type ip6 ip6 saddr != { %s, fe80::/10, :: } "
                                "drop\n",
                                t, x->ipv6);
                else
                        bprintf(&b,
                                "\t\tiifname \"%s\" ether type ip6 ip6 saddr != { fe80::/10, :: } drop\n",
                                t);
                bprintf(&b, "\t\tiifname \"%s\" accept\n", t);
        }
        bprintf(&b, "\t\tiifname \"mdt*\" drop\n\t}\n");
        bprintf(&b, "\tchain forward {\n\t\ttype filter hook forward priority -200; policy accept;\n"
                    "\t\tjump guard\n\t}\n");
        bprintf(&b, "\tchain input {\n\t\ttype filter hook input priority -200; policy accept;\n"
                    "\t\tjump guard\n\t}\n}\n");

        bprintf(&b, "table inet metald {\n\tchain input {\n\t\ttype filter hook input priority -10; policy "
                    "accept;\n");
        for (size_t i = 0; i < n_nets; i++) {
                const NetworkDef *d = &nets[i].def;
                ipv4_format(d->v4_gateway, a);
                bprintf(&b, "\t\tiifname \"%s\" ct state established,related accept\n", d->bridge);
                bprintf(&b, "\t\tiifname \"%s\" ip daddr %s icmp type echo-request accept\n", d->bridge, a);
                bprintf(&b, "\t\tiifname \"%s\" ip daddr %s meta l4proto { tcp, udp } th dport 53 accept\n",
                        d->bridge, a);
                if (d->has_v6) {
                        char g6[INET6_ADDRSTRLEN];
                        struct in6_addr gw6;
                        net_def_v6_gateway(d, &gw6);
                        inet_ntop(AF_INET6, &gw6, g6, sizeof g6);
                        bprintf(&b, "\t\tiifname \"%s\" ip6 daddr %s icmpv6 type echo-request accept\n",
                                d->bridge, g6);
                        bprintf(&b,
                                "\t\tiifname \"%s\" ip6 daddr %s meta l4proto { tcp, udp } th dport 53 "
                                "accept\n",
                                d->bridge, g6);
                }
                bprintf(&b,
                        "\t\tiifname \"%s\" icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, "
                        "nd-router-solicit } accept\n",
                        d->bridge);
                bprintf(&b, "\t\tiifname \"%s\" drop\n", d->bridge);
        }
        bprintf(&b, "\t}\n\tchain forward {\n\t\ttype filter hook forward priority -10; policy accept;\n");
        for (size_t i = 0; i < n_nets; i++) {
                const char *br = nets[i].def.bridge;
                /* Bridged traffic seen here (br_netfilter) stays on its own bridge. */
                bprintf(&b, "\t\tiifname \"%s\" oifname \"%s\" accept\n", br, br);
                bprintf(&b, "\t\tiifname \"%s\" drop\n\t\toifname \"%s\" drop\n", br, br);
        }
        bprintf(&b, "\t}\n}\n");
        if (b.oom) {
                free(b.s);
                return NULL;
        }
        return b.s;
}

static pthread_mutex_t firewall_lock = PTHREAD_MUTEX_INITIALIZER;

static int nft_apply(const char *text, char **ret_error) {
        struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
        if (!ctx)
                return -ENOMEM;
        nft_ctx_buffer_output(ctx);
        nft_ctx_buffer_error(ctx);
        int k = nft_run_cmd_from_buffer(ctx, text);
        if (k != 0) {
                const char *e = nft_ctx_get_error_buffer(ctx);
                if (ret_error)
                        *ret_error = strdup_printf("nftables: %s", e && *e ? e : "the ruleset was refused");
        }
        nft_ctx_free(ctx);
        return k == 0 ? 0 : -EIO;
}

int firewall_sync(Store *s, char **ret_error) {
        _cleanup_free_ StoreNetwork *nets = NULL;
        _cleanup_free_ StoreNic *nics = NULL;
        size_t n_nets = 0, n_nics = 0;
        pthread_mutex_lock(&firewall_lock);
        /* Read under the lock: the last writer applies the newest state. */
        int k = store_network_list(s, &nets, &n_nets);
        if (k >= 0)
                k = store_nics_all(s, &nics, &n_nics);
        if (k < 0) {
                pthread_mutex_unlock(&firewall_lock);
                *ret_error = strdup_printf("cannot read networks for the firewall: %s", strerror(-k));
                return k;
        }
        _cleanup_free_ char *text = firewall_ruleset(nets, n_nets, nics, n_nics);
        k = text ? nft_apply(text, ret_error) : -ENOMEM;
        pthread_mutex_unlock(&firewall_lock);
        return k;
}

int firewall_remove(char **ret_error) {
        pthread_mutex_lock(&firewall_lock);
        int k = nft_apply("add table bridge metald\ndelete table bridge metald\n"
                          "add table inet metald\ndelete table inet metald\n",
                          ret_error);
        pthread_mutex_unlock(&firewall_lock);
        return k;
}
