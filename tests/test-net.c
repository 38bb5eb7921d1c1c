/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Networks without touching the host: definitions and their parsing, MAC and
 * interface-name derivation, the guest's ip= argument, the nftables ruleset
 * text, the VmConfig network fields, and address allocation in the store
 * (lowest free, requested, no duplicates even when forced past the checks,
 * exhaustion, release, across a reopen), plus the backends' NIC JSON.
 */
#include <arpa/inet.h>
#include <sqlite3.h>
#include <unistd.h>

#include "hv/backend-util.h"
#include "hv/cloud-hypervisor.h"
#include "hv/firecracker.h"
#include "net/firewall.h"
#include "net/host-net.h"
#include "net/net-util.h"
#include "store/network.h"
#include "test.h"
#include "vm/vm-config.h"

static void test_parse(void) {
        NetworkDef d;
        NetError e = { 0 };
        char b[16];
        CHECK(net_def_parse("name=neta,subnet=10.0.0.0/24", &d, &e) == 0);
        CHECK_STREQ(d.bridge, "mdbr-neta");
        CHECK_STREQ(ipv4_format(d.v4_gateway, b), "10.0.0.1");
        CHECK_INTEQ(d.v4_prefix, 24);
        CHECK_INTEQ(d.mtu, 1500);
        CHECK(!d.has_v6 && d.n_dns == 0 && d.tenant[0] == 0);

        CHECK(net_def_parse("name=b,subnet=10.1.0.0/16,gateway=10.1.255.254,bridge=br9,ipv6=fd00:1::/64,"
                            "dns=1.1.1.1+9.9.9.9,tenant=acme,mtu=1400",
                            &d, &e) == 0);
        CHECK_STREQ(d.bridge, "br9");
        CHECK_STREQ(d.tenant, "acme");
        CHECK(d.has_v6 && d.v6_prefix == 64 && d.n_dns == 2 && d.mtu == 1400);

        /* A long name gets a hashed bridge name that still fits IFNAMSIZ. */
        CHECK(net_def_parse("name=a-rather-long-network-name,subnet=10.2.0.0/24", &d, &e) == 0);
        CHECK(strlen(d.bridge) <= 15 && strncmp(d.bridge, "mdbr-", 5) == 0);

        static const struct {
                const char *spec, *field, *msg;
        } bad[] = {
                { "subnet=10.0.0.0/24", "name", "required" },
                { "name=x", "ipv4_subnet", "required" },
                { "name=X,subnet=10.0.0.0/24", "name", "not a valid network name" },
                { "name=x,subnet=10.0.0.1/24", "ipv4_subnet", "did you mean 10.0.0.0/24?" },
                { "name=x,subnet=10.0.0.0/31", "ipv4_subnet", "out of range" },
                { "name=x,subnet=10.0.0.0/24,gateway=10.0.1.1", "ipv4_gateway", "outside the subnet" },
                { "name=x,subnet=10.0.0.0/24,gateway=10.0.0.255", "ipv4_gateway", "broadcast" },
                { "name=x,subnet=10.0.0.0/24,bridge=a/b", "bridge", "not a valid interface name" },
                { "name=x,subnet=10.0.0.0/24,bridge=sixteen-chars-xx", "bridge",
                  "not a valid interface name" },
                { "name=x,subnet=10.0.0.0/24,mtu=100", "mtu", "not a number in" },
                { "name=x,subnet=10.0.0.0/24,dns=1.2.3", "dns", "not an IPv4 address" },
                { "name=x,subnet=10.0.0.0/24,ipv6=fd00::/48", "ipv6_subnet", "out of range" },
                { "name=x,subnet=10.0.0.0/24,ipv6=fd00::1/64", "ipv6_subnet", "host bits" },
                { "name=x,subnet=10.0.0.0/24,colour=red", "colour", "unknown key" },
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                e = (NetError){ 0 };
                CHECK(net_def_parse(bad[i].spec, &d, &e) == -EINVAL);
                CHECK_STREQ(e.field, bad[i].field);
                if (!strstr(e.message, bad[i].msg))
                        fprintf(stderr, "  %s: message \"%s\" lacks \"%s\"\n", bad[i].spec, e.message,
                                bad[i].msg);
                CHECK(strstr(e.message, bad[i].msg) != NULL);
        }
}

static void test_mac_and_names(void) {
        char m1[18], m2[18], m3[18], canon[18];
        uint8_t mac[6];
        net_derive_mac("vm-1", "eth0", m1);
        net_derive_mac("vm-1", "eth0", m2);
        net_derive_mac("vm-2", "eth0", m3);
        CHECK_STREQ(m1, m2); /* stable */
        CHECK(strcmp(m1, m3) != 0);
        CHECK(strncmp(m1, "02:", 3) == 0); /* locally administered, unicast */
        CHECK(net_mac_parse(m1, mac, canon, NULL) == 0 && (mac[0] & 3) == 2);
        net_derive_mac("vm-1", "eth1", m2);
        CHECK(strcmp(m1, m2) != 0);
        /* 2000 ids, no collision among derived MACs. */
        int dup = 0;
        static char seen[2000][18];
        for (int i = 0; i < 2000; i++) {
                char id[32];
                snprintf(id, sizeof id, "vm-%d", i);
                net_derive_mac(id, "eth0", seen[i]);
                for (int j = 0; j < i; j++)
                        dup += streq(seen[i], seen[j]);
        }
        CHECK_INTEQ(dup, 0);

        const char *why = NULL;
        CHECK(net_mac_parse("02:AA:bb:CC:dd:0E", mac, canon, &why) == 0);
        CHECK_STREQ(canon, "02:aa:bb:cc:dd:0e");
        CHECK(net_mac_parse("03:00:00:00:00:01", mac, canon, &why) == -EINVAL && strstr(why, "multicast"));
        CHECK(net_mac_parse("00:00:00:00:00:00", mac, canon, &why) == -EINVAL && strstr(why, "zeros"));
        CHECK(net_mac_parse("02:00:00:00:00", mac, canon, &why) == -EINVAL);
        CHECK(net_mac_parse("02-00-00-00-00-01", mac, canon, &why) == -EINVAL);

        char t1[16], t2[16], t3[16];
        net_tap_name("vm-0123456789-0123456789-0123456789-0123456789-0123456789-01", 0, t1);
        net_tap_name("vm-0123456789-0123456789-0123456789-0123456789-0123456789-01", 1, t2);
        net_tap_name("vm-other", 0, t3);
        CHECK_INTEQ(strlen(t1), 15);
        CHECK(net_ifname_is_valid(t1));
        CHECK(strcmp(t1, t2) != 0 && strcmp(t1, t3) != 0);
        CHECK(strncmp(t1, "mdt", 3) == 0);
}

static void test_kernel_args(void) {
        StoreNic n = { 0 };
        NetError e;
        CHECK(net_def_parse("name=a,subnet=10.0.0.0/24,dns=10.0.0.1", &n.net, &e) == 0);
        snprintf(n.ipv4, sizeof n.ipv4, "10.0.0.7");
        char *a = host_net_kernel_args(&n);
        CHECK_STREQ(a, "ip=10.0.0.7::10.0.0.1:255.255.255.0::eth0:off:10.0.0.1");
        free(a);
        CHECK(net_def_parse("name=a,subnet=10.8.0.0/16,ipv6=fd00:8::/64", &n.net, &e) == 0);
        snprintf(n.ipv6, sizeof n.ipv6, "fd00:8::2");
        a = host_net_kernel_args(&n);
        CHECK_STREQ(a, "ip=10.0.0.7::10.8.0.1:255.255.0.0::eth0:off metald.ipv6=fd00:8::2/64,fd00:8::1");
        free(a);
}

static void test_ruleset(void) {
        StoreNetwork nets[2] = { 0 };
        StoreNic nic = { 0 };
        NetError e;
        CHECK(net_def_parse("name=a,subnet=10.0.0.0/24", &nets[0].def, &e) == 0);
        CHECK(net_def_parse("name=b,subnet=10.0.1.0/24,tenant=t2,ipv6=fd00:b::/64", &nets[1].def, &e) == 0);
        snprintf(nic.tap, sizeof nic.tap, "mdt0000000000a0");
        snprintf(nic.mac, sizeof nic.mac, "02:00:00:00:00:01");
        snprintf(nic.ipv4, sizeof nic.ipv4, "10.0.0.2");
        nic.net = nets[0].def;
        char *r = firewall_ruleset(nets, 2, &nic, 1);
        CHECK(r != NULL);
        if (!r)
                return;
        /* Anti-spoofing per TAP, the catch-all, and the host rules per bridge. */
        CHECK(strstr(r, "iifname \"mdt0000000000a0\" ether saddr != 02:00:00:00:00:01 counter drop"));
        CHECK(strstr(r, "iifname \"mdt0000000000a0\" ether type ip ip saddr != 10.0.0.2 counter drop"));
        CHECK(strstr(r, "iifname \"mdt0000000000a0\" ether type arp arp saddr ip != 10.0.0.2 drop"));
        CHECK(strstr(r, "iifname \"mdt*\" drop"));
        CHECK(strstr(r, "iifname \"mdbr-a\" ip daddr 10.0.0.1 icmp type echo-request accept"));
        CHECK(strstr(r, "iifname \"mdbr-b\" ip daddr 10.0.1.1 icmp type echo-request accept"));
        CHECK(strstr(r, "iifname \"mdbr-a\" drop"));
        CHECK(strstr(r, "iifname \"mdbr-b\" ip6 daddr fd00:b::1 icmpv6 type echo-request accept"));
        CHECK(!strstr(r, "iifname \"mdbr-a\" ip6 daddr"));
        CHECK(strstr(r, "oifname \"mdbr-b\" drop"));
        /* Atomic replacement: the tables are recreated in the same buffer. */
        CHECK(strncmp(r, "add table bridge metald\ndelete table bridge metald\n", 50) == 0);
        free(r);
}

static void test_vm_config(void) {
        const char *good =
                "{\"cpu\":{\"vcpu_count\":1},\"memory\":{\"size_bytes\":134217728},"
                "\"boot\":{\"kernel_path\":\"/k\"},\"network\":[{\"network\":\"neta\"},"
                "{\"id\":\"eth0\",\"network\":\"netb\",\"macAddress\":\"02:AA:00:00:00:01\","
                "\"ipv4_address\":\"10.0.1.9\",\"rxRateLimit\":{\"bandwidthBytesPerSecond\":\"1000000\"},"
                "\"tx_rate_limit\":{\"ops_per_second\":500}}]}";
        json_t *j = json_loads(good, 0, NULL);
        VmConfig *c = NULL;
        VmError err = { 0 };
        CHECK(vm_config_from_json(j, "config", &c, &err) == 0);
        json_decref(j);
        if (!c)
                return;
        CHECK(vm_config_validate(c, NULL, 0, 1ULL << 34, &err) == -EINVAL); /* kernel path outside roots */
        CHECK_INTEQ(c->n_nics, 2);
        CHECK(c->nics[0].id == NULL);
        vm_config_free(c);

        /* Validation of the network fields alone: a config whose asset checks pass. */
        char dir[] = "/tmp/test-net-XXXXXX";
        CHECK(mkdtemp(dir) != NULL);
        char kpath[64], *roots[] = { dir };
        snprintf(kpath, sizeof kpath, "%s/k", dir);
        FILE *f = fopen(kpath, "w");
        if (f)
                fclose(f);
        static const struct {
                const char *net, *field, *msg;
        } cases[] = {
                { "[{\"network\":\"a\"},{\"network\":\"a\",\"id\":\"eth0\"}]", NULL, NULL },
                { "[{}]", "config.network[0].network", "required" },
                { "[{\"network\":\"Bad Name\"}]", "config.network[0].network", "not a valid network name" },
                { "[{\"network\":\"a\",\"mac_address\":\"01:00:00:00:00:01\"}]",
                  "config.network[0].mac_address", "multicast" },
                { "[{\"network\":\"a\",\"mac_address\":\"02:00:00:00:00:01\"},{\"network\":\"a\",\"mac_"
                  "address\":"
                  "\"02:00:00:00:00:01\"}]",
                  "config.network[1].mac_address", "already the MAC" },
                { "[{\"network\":\"a\",\"id\":\"x\"},{\"network\":\"a\",\"id\":\"x\"}]",
                  "config.network[1].id", "already the id" },
                { "[{\"network\":\"a\",\"id\":\"e-1\"}]", "config.network[0].id", "[A-Za-z0-9_]" },
                { "[{\"network\":\"a\",\"ipv4_address\":\"10.0.0.300\"}]", "config.network[0].ipv4_address",
                  "not an IPv4 address" },
                { "[{\"network\":\"a\",\"ipv6_address\":\"fd00::g\"}]", "config.network[0].ipv6_address",
                  "not an IPv6 address" },
                { "[{\"network\":\"a\",\"rx_rate_limit\":{\"bandwidth_bytes_per_second\":-1}}]", NULL,
                  "decode" },
                { "[{\"network\":\"a\",\"speed\":1}]", NULL, "decode" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char *text =
                        strdup_printf("{\"cpu\":{\"vcpu_count\":1},\"memory\":{\"size_bytes\":134217728},"
                                      "\"boot\":{\"kernel_path\":\"%s\"},\"network\":%s}",
                                      kpath, cases[i].net);
                j = json_loads(text, 0, NULL);
                free(text);
                c = NULL;
                err = (VmError){ 0 };
                int r = vm_config_from_json(j, "config", &c, &err);
                json_decref(j);
                if (cases[i].msg && streq(cases[i].msg, "decode")) {
                        CHECK(r == -EINVAL);
                        vm_config_free(c);
                        continue;
                }
                CHECK(r == 0);
                if (r < 0)
                        continue;
                r = vm_config_validate(c, roots, 1, 1ULL << 34, &err);
                if (!cases[i].field) {
                        CHECK(r == 0);
                        /* Defaults: the first gets eth1 because eth0 is taken by the second. */
                        CHECK_STREQ(c->nics[0].id, "eth1");
                        json_t *cj = vm_config_to_json(c);
                        char *s = json_dumps(cj, JSON_COMPACT | JSON_SORT_KEYS);
                        VmConfig *back = NULL;
                        CHECK(vm_config_from_canonical(s, &back) == 0);
                        CHECK(back && vm_config_equal(c, back));
                        vm_config_free(back);
                        free(s);
                        json_decref(cj);
                } else {
                        CHECK(r == -EINVAL);
                        CHECK_STREQ(err.field, cases[i].field);
                        if (!strstr(err.message, cases[i].msg))
                                fprintf(stderr, "  case %zu: \"%s\" lacks \"%s\"\n", i, err.message,
                                        cases[i].msg);
                        CHECK(strstr(err.message, cases[i].msg) != NULL);
                }
                vm_config_free(c);
        }
        /* A config without interfaces keeps its canonical JSON (no "network" key). */
        VmConfig plain = { .vcpu_count = 1, .memory_bytes = 134217728, .kernel_path = kpath };
        json_t *pj = vm_config_to_json(&plain);
        CHECK(pj && json_object_get(pj, "network") == NULL);
        json_decref(pj);
        unlink(kpath);
        rmdir(dir);
}

/* Insert vm id with one interface on network net (requested v4 or NULL). */
static int add_vm(Store *s, const char *id, const char *customer, const char *net, const char *v4,
                  char **err) {
        char mac[18], tap[16];
        net_derive_mac(id, "eth0", mac);
        net_tap_name(id, 0, tap);
        StoreNicRequest q = { .iface_id = "eth0", .network = net, .mac = mac, .tap = tap, .ipv4 = v4 };
        VmRow row = { .id = (char *) id,
                      .customer_id = (char *) customer,
                      .backend = (char *) "qemu",
                      .config_json = (char *) "{}",
                      .desired = VM_PHASE_CREATED };
        free(*err);
        *err = NULL;
        return store_vm_insert_with_nics(s, &row, &q, 1, NULL, NULL, 0, NULL, err);
}

static const char *ip_of(Store *s, const char *id, char buf[16]) {
        StoreNic *v = NULL;
        size_t n = 0;
        buf[0] = 0;
        if (store_vm_nics(s, id, &v, &n) == 0 && n == 1)
                snprintf(buf, 16, "%s", v[0].ipv4);
        free(v);
        return buf;
}

static void test_ipam(void) {
        char dir[] = "/tmp/test-net-db-XXXXXX";
        CHECK(mkdtemp(dir) != NULL);
        char *db = strdup_printf("%s/metald.db", dir);
        Store *s = NULL;
        char *err = NULL, b[16];
        CHECK(store_open(db, &s, &err) == 0);
        NetworkDef d, d6, tiny;
        NetError e;
        CHECK(net_def_parse("name=a,subnet=10.0.0.0/29", &d, &e) == 0); /* hosts .1 (gw) .. .6 */
        CHECK(net_def_parse("name=six,subnet=10.6.0.0/24,ipv6=fd00:6::/120", &d6, &e) == 0);
        CHECK(net_def_parse("name=t,subnet=10.9.0.0/24,tenant=acme", &tiny, &e) == 0);
        CHECK(store_network_put(s, &d, "api", &err) == 0);
        CHECK(store_network_put(s, &d, "api", &err) == 0); /* idempotent */
        CHECK(store_network_put(s, &d6, "config", &err) == 0);
        CHECK(store_network_put(s, &tiny, "api", &err) == 0);
        NetworkDef other = d;
        other.mtu = 1400;
        CHECK(store_network_put(s, &other, "api", &err) == -EEXIST && strstr(err, "different definition"));
        free(err);
        err = NULL;
        NetworkDef overlap;
        CHECK(net_def_parse("name=c,subnet=10.0.0.0/16", &overlap, &e) == 0);
        CHECK(store_network_put(s, &overlap, "api", &err) == -EEXIST && strstr(err, "overlaps"));
        free(err);
        err = NULL;

        /* Lowest free first, the gateway skipped; a requested one honoured. */
        CHECK(add_vm(s, "vm-1", "", "a", NULL, &err) == 0);
        CHECK_STREQ(ip_of(s, "vm-1", b), "10.0.0.2");
        CHECK(add_vm(s, "vm-2", "", "a", "10.0.0.5", &err) == 0);
        CHECK_STREQ(ip_of(s, "vm-2", b), "10.0.0.5");
        CHECK(add_vm(s, "vm-3", "", "a", NULL, &err) == 0);
        CHECK_STREQ(ip_of(s, "vm-3", b), "10.0.0.3");
        /* Taken, reserved, outside: refused, nothing recorded. */
        CHECK(add_vm(s, "vm-4", "", "a", "10.0.0.5", &err) == -EADDRINUSE &&
              strstr(err, "in use by vm vm-2"));
        CHECK(add_vm(s, "vm-4", "", "a", "10.0.0.1", &err) == -EINVAL &&
              strstr(err, "not a free host address"));
        CHECK(add_vm(s, "vm-4", "", "a", "10.0.0.7", &err) == -EINVAL); /* broadcast */
        CHECK(add_vm(s, "vm-4", "", "a", "10.0.1.2", &err) == -EINVAL);
        CHECK(add_vm(s, "vm-4", "", "nope", NULL, &err) == -ENOENT && strstr(err, "does not exist"));
        CHECK(add_vm(s, "vm-4", "other", "t", NULL, &err) == -EACCES && strstr(err, "another tenant"));
        VmRow *row = NULL;
        CHECK(store_vm_get(s, "vm-4", &row) == -ENOENT); /* the refusals left no VM behind */
        CHECK(add_vm(s, "vm-4", "acme", "t", NULL, &err) == 0);

        /* Fill the /29: .4 and .6 left, then exhaustion names the network. */
        CHECK(add_vm(s, "vm-5", "", "a", NULL, &err) == 0);
        CHECK(add_vm(s, "vm-6", "", "a", NULL, &err) == 0);
        CHECK_STREQ(ip_of(s, "vm-6", b), "10.0.0.6");
        CHECK(add_vm(s, "vm-7", "", "a", NULL, &err) == -EADDRNOTAVAIL &&
              strstr(err, "network \"a\" has no free"));

        /* The database itself refuses a duplicate, whatever the code above does. */
        sqlite3 *raw = NULL;
        CHECK(sqlite3_open(db, &raw) == SQLITE_OK);
        CHECK(sqlite3_exec(raw,
                           "INSERT INTO vm_nics (vm_id, iface_id, idx, network, tap, mac, ipv4) VALUES "
                           "('x', 'eth0', 0, 'a', 'mdtx', '02:00:00:00:00:99', '10.0.0.2')",
                           NULL, NULL, NULL) == SQLITE_CONSTRAINT);
        sqlite3_close(raw);

        /* Release happens with the transaction that records the VM deleted. */
        free(err);
        err = NULL;
        CHECK(store_network_delete(s, "a", &err) == -EBUSY && strstr(err, "in use by 5"));
        free(err);
        err = NULL;
        VmObservation o = { .observed = VM_PHASE_DELETED, .reason = "test" };
        CHECK(store_vm_observe(s, "vm-1", &o) == 0);
        CHECK_STREQ(ip_of(s, "vm-1", b), "");
        CHECK(add_vm(s, "vm-8", "", "a", NULL, &err) == 0);
        CHECK_STREQ(ip_of(s, "vm-8", b), "10.0.0.2"); /* freed, handed out again */

        /* IPv6: from ::2, beside IPv4. */
        CHECK(add_vm(s, "vm-9", "", "six", NULL, &err) == 0);
        StoreNic *v = NULL;
        size_t n = 0;
        CHECK(store_vm_nics(s, "vm-9", &v, &n) == 0 && n == 1);
        if (n == 1) {
                CHECK_STREQ(v[0].ipv6, "fd00:6::2");
                CHECK_STREQ(v[0].ipv4, "10.6.0.2");
                CHECK_STREQ(v[0].net.name, "six");
        }
        free(v);

        /* Across a reopen (a restart): the same allocations, no reuse. */
        s = store_free(s);
        CHECK(store_open(db, &s, &err) == 0);
        CHECK_STREQ(ip_of(s, "vm-2", b), "10.0.0.5");
        CHECK(add_vm(s, "vm-10", "", "a", NULL, &err) == -EADDRNOTAVAIL);
        StoreNetwork *nets = NULL;
        CHECK(store_network_list(s, &nets, &n) == 0 && n == 3);
        if (n == 3)
                CHECK(streq(nets[0].def.name, "a") && nets[0].n_nics == 5 &&
                      streq(nets[1].source, "config"));
        free(nets);
        CHECK(store_nics_all(s, &v, &n) == 0 && n == 7);
        free(v);

        free(err);
        vm_row_free(row);
        store_free(s);
        char *cmd = strdup_printf("rm -rf %s", dir);
        CHECK(system(cmd) == 0);
        free(cmd);
        free(db);
}

static void test_backend_json(void) {
        VmmNic n = { .id = "eth0", .tap = "mdt0", .mac = "02:00:00:00:00:01" };
        json_t *j = fc_network_interface_json(&n);
        char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
        CHECK_STREQ(
                s, "{\"guest_mac\":\"02:00:00:00:00:01\",\"host_dev_name\":\"mdt0\",\"iface_id\":\"eth0\"}");
        free(s);
        json_decref(j);
        n.rx.bandwidth_bytes_per_second = 1000000;
        n.tx.ops_per_second = 200;
        j = fc_network_interface_json(&n);
        s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
        CHECK_STREQ(s,
                    "{\"guest_mac\":\"02:00:00:00:00:01\",\"host_dev_name\":\"mdt0\",\"iface_id\":\"eth0\","
                    "\"rx_rate_limiter\":{\"bandwidth\":{\"refill_time\":1000,\"size\":1000000}},"
                    "\"tx_rate_limiter\":{\"ops\":{\"refill_time\":1000,\"size\":200}}}");
        free(s);
        json_decref(j);

        json_t *cfg = json_object();
        n.tx.bandwidth_bytes_per_second = 500000;
        CHECK(ch_vm_config_add_net(cfg, &n, 1) == 0);
        s = json_dumps(cfg, JSON_COMPACT | JSON_SORT_KEYS);
        /* One limiter for both directions: the tighter bandwidth, the only ops limit. */
        CHECK_STREQ(s, "{\"net\":[{\"id\":\"eth0\",\"mac\":\"02:00:00:00:00:01\",\"rate_limiter_config\":{"
                       "\"bandwidth\":{\"refill_time\":1000,\"size\":500000},\"ops\":{\"refill_time\":1000,"
                       "\"size\":200}},\"tap\":\"mdt0\"}]}");
        free(s);
        json_decref(cfg);
}

int main(void) {
        test_parse();
        test_mac_and_names();
        test_kernel_args();
        test_ruleset();
        test_vm_config();
        test_ipam();
        test_backend_json();
        return test_done("test-net");
}
