/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "schema.h"

/* vmm/src/config.rs constants. */
#define MINIMUM_BLOCK_QUEUE_SIZE 2
#define MAX_SERIAL_LEN 20
#define MAX_NUM_PCI_SEGMENTS 96
#define MAX_IOMMU_ADDRESS_WIDTH_BITS 64
#define MIN_MTU 1280

uint64_t cfg_u64(const json_t *o, const char *key, uint64_t def) {
        json_t *v = json_object_get(o, key);
        if (json_is_integer(v))
                return (uint64_t) json_integer_value(v);
        if (json_is_real(v)) /* a u64 above i64::MAX */
                return (uint64_t) json_real_value(v);
        return def;
}

bool cfg_bool(const json_t *o, const char *key, bool def) {
        json_t *v = json_object_get(o, key);
        return json_is_boolean(v) ? json_is_true(v) : def;
}

const char *cfg_str(const json_t *o, const char *key) {
        return json_string_value(json_object_get(o, key));
}

static int fill_mac(json_t *net) {
        if (json_object_get(net, "mac"))
                return 0;
        unsigned char b[6];
        if (getrandom(b, sizeof(b), 0) != (ssize_t) sizeof(b))
                for (size_t i = 0; i < sizeof(b); i++)
                        b[i] = (unsigned char) rand();
        b[0] = (unsigned char) ((b[0] & 0xfe) | 0x02); /* unicast, locally administered */
        char mac[18];
        snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5]);
        return json_object_set_new(net, "mac", json_string(mac)) < 0 ? -ENOMEM : 0;
}

/* NetConfig's custom deserializer turns every fd given in a body into -1:
 * only fds passed with SCM_RIGHTS are real. */
static int invalidate_fds(json_t *net) {
        json_t *fds = json_object_get(net, "fds");
        size_t i;
        json_t *v;
        json_array_foreach (fds, i, v)
                json_integer_set(v, -1);
        return 0;
}

static int fill_net(json_t *net) {
        if (fill_mac(net) < 0)
                return -ENOMEM;
        return invalidate_fds(net);
}

int config_fill(const DeType *t, json_t *v) {
        if (de_fill_defaults(t, v) < 0)
                return -ENOMEM;
        if (t == &schema_net_config)
                return fill_net(v);
        if (t == &schema_vm_config) {
                size_t i;
                json_t *net;
                json_array_foreach (json_object_get(v, "net"), i, net)
                        if (fill_net(net) < 0)
                                return -ENOMEM;
        }
        return 0;
}

/* ---- VmConfig::validate ------------------------------------------------------- */

typedef struct Ids {
        const char **v;
        size_t n, cap;
} Ids;

/* validate_identifier(): ids starting with "__" are reserved; ids are unique. */
static ChErr *check_id(Ids *ids, const char *id) {
        if (!id)
                return NULL;
        if (strncmp(id, "__", 2) == 0)
                return cherr_new(0, "Identifier %s is not invalid", id);
        for (size_t i = 0; i < ids->n; i++)
                if (strcmp(ids->v[i], id) == 0)
                        return cherr_new(409, "Identifier %s is not unique", id);
        if (ids->n == ids->cap) {
                size_t cap = ids->cap ? ids->cap * 2 : 16;
                const char **p = realloc(ids->v, cap * sizeof(*p));
                if (!p)
                        return cherr_new(0, "out of memory");
                ids->v = p;
                ids->cap = cap;
        }
        ids->v[ids->n++] = id;
        return NULL;
}

static bool backed_by_shared_memory(const json_t *cfg) {
        const json_t *mem = json_object_get(cfg, "memory");
        if (cfg_bool(mem, "shared", false) || cfg_bool(mem, "hugepages", false))
                return true;
        if (cfg_u64(mem, "size", 0) != 0)
                return false;
        size_t i;
        json_t *z;
        json_array_foreach (json_object_get(mem, "zones"), i, z)
                if (!cfg_bool(z, "shared", false) && !cfg_bool(z, "hugepages", false))
                        return false;
        return true;
}

static void or_iommu(json_t *cfg, const json_t *dev) {
        if (cfg_bool(dev, "iommu", false))
                json_object_set_new(cfg, "iommu", json_true());
}

static uint64_t num_pci_segments(const json_t *cfg) {
        const json_t *p = json_object_get(cfg, "platform");
        return json_is_object(p) ? cfg_u64(p, "num_pci_segments", 1) : 1;
}

static ChErr *check_pci_segment(const json_t *cfg, const json_t *dev) {
        uint64_t seg = cfg_u64(dev, "pci_segment", 0);
        if (seg >= num_pci_segments(cfg))
                return cherr_new(0, "Invalid PCI segment id: %llu", (unsigned long long) seg);
        return NULL;
}

/* PayloadConfig::validate() */
static ChErr *validate_payload(json_t *cfg) {
        json_t *p = json_object_get(cfg, "payload");
        const char *bootable = "Payload configuration is not bootable";
        if (!json_is_object(p))
                return cherr_wrap(cherr_new(0, "No bootitem provided: neither firmware nor kernel"), "%s",
                                  bootable);
        bool fw = cfg_str(p, "firmware") != NULL, kernel = cfg_str(p, "kernel") != NULL;
        if (fw && kernel)
                return cherr_wrap(
                        cherr_new(0, "Specifying a kernel is not supported when a firmware is provided"),
                        "%s", bootable);
        if (!fw && !kernel)
                return cherr_wrap(cherr_new(0, "No bootitem provided: neither firmware nor kernel"), "%s",
                                  bootable);
        if (fw) {
                json_object_set_new(p, "cmdline", json_null());
                json_object_set_new(p, "initramfs", json_null());
        }
        return NULL;
}

static ChErr *validate_console(const json_t *c) {
        const char *mode = cfg_str(c, "mode");
        if (mode && strcmp(mode, "File") == 0 && !cfg_str(c, "file"))
                return cherr_new(0, "Path missing when using file console mode");
        if (mode && strcmp(mode, "Socket") == 0 && !cfg_str(c, "socket"))
                return cherr_new(0, "Path missing when using socket console mode");
        return NULL;
}

/* DiskConfig::validate() */
static ChErr *validate_disk(const json_t *cfg, const json_t *d) {
        uint64_t boot_vcpus = cfg_u64(json_object_get(cfg, "cpus"), "boot_vcpus", 1);
        if (cfg_u64(d, "num_queues", 1) > boot_vcpus)
                return cherr_new(0, "Number of vCPUs is insufficient for number of queues");
        uint64_t qs = cfg_u64(d, "queue_size", 128);
        if (qs <= MINIMUM_BLOCK_QUEUE_SIZE)
                return cherr_new(0, "Queue size is smaller than %d: %llu", MINIMUM_BLOCK_QUEUE_SIZE,
                                 (unsigned long long) qs);
        const char *serial = cfg_str(d, "serial");
        if (serial && strlen(serial) > MAX_SERIAL_LEN)
                return cherr_new(0, "Block device serial length (%zu) exceeds maximum allowed length (%d)",
                                 strlen(serial), MAX_SERIAL_LEN);
        return check_pci_segment(cfg, d);
}

/* NetConfig::validate() */
static ChErr *validate_net(const json_t *cfg, const json_t *n) {
        uint64_t boot_vcpus = cfg_u64(json_object_get(cfg, "cpus"), "boot_vcpus", 1);
        uint64_t queues = cfg_u64(n, "num_queues", 2);
        if (queues < 2)
                return cherr_new(0, "Number of queues to virtio_net less than 2");
        json_t *fds = json_object_get(n, "fds");
        if (json_is_array(fds)) {
                if (json_array_size(fds) * 2 != queues)
                        return cherr_new(
                                0, "Number of queues to virtio_net does not match the number of input FDs");
                size_t i;
                json_t *fd;
                json_array_foreach (fds, i, fd)
                        if (json_integer_value(fd) <= 2)
                                return cherr_new(0, "Reserved fd number (<= 2)");
        }
        if (queues / 2 > boot_vcpus)
                return cherr_new(0, "Number of vCPUs is insufficient for number of queues");
        if (cfg_bool(n, "vhost_user", false) && !cfg_str(n, "vhost_socket"))
                return cherr_new(0, "No socket provided when using vhost-user");
        json_t *mtu = json_object_get(n, "mtu");
        if (json_is_integer(mtu) && json_integer_value(mtu) < MIN_MTU)
                return cherr_new(0,
                                 "Provided MTU %lld is lower than 1280 (expected by VIRTIO specification)",
                                 (long long) json_integer_value(mtu));
        if (!cfg_bool(n, "offload_csum", true) &&
            (cfg_bool(n, "offload_tso", true) || cfg_bool(n, "offload_ufo", true)))
                return cherr_new(0, "\"offload_tso\" and \"offload_ufo\" depend on \"offload_csum\"");
        return check_pci_segment(cfg, n);
}

#define TRY(expr)                                                                                           \
        do {                                                                                                \
                ChErr *e_ = (expr);                                                                         \
                if (e_) {                                                                                   \
                        free(ids.v);                                                                        \
                        return e_;                                                                          \
                }                                                                                           \
        } while (0)

ChErr *config_validate(json_t *cfg) {
        Ids ids = { 0 };
        size_t i;
        json_t *d;
        const json_t *cpus = json_object_get(cfg, "cpus");
        const json_t *mem = json_object_get(cfg, "memory");

        TRY(validate_payload(cfg));
        TRY(validate_console(json_object_get(cfg, "console")));
        TRY(validate_console(json_object_get(cfg, "serial")));
        if (cfg_u64(cpus, "max_vcpus", 1) < cfg_u64(cpus, "boot_vcpus", 1))
                TRY(cherr_new(0, "Max CPUs lower than boot CPUs"));

        json_t *groups = json_object_get(cfg, "rate_limit_groups");
        json_array_foreach (groups, i, d)
                TRY(check_id(&ids, cfg_str(d, "id")));

        json_array_foreach (json_object_get(cfg, "disks"), i, d) {
                if (cfg_str(d, "vhost_socket") && cfg_str(d, "path"))
                        TRY(cherr_new(0, "Disk path and vhost socket both provided"));
                if (cfg_bool(d, "vhost_user", false) && !backed_by_shared_memory(cfg))
                        TRY(cherr_new(0, "Using vhost-user requires using shared memory or huge pages"));
                if (cfg_bool(d, "vhost_user", false) && !cfg_str(d, "vhost_socket"))
                        TRY(cherr_new(0, "No socket provided when using vhost-user"));
                const char *group = cfg_str(d, "rate_limit_group");
                if (group) {
                        bool found = false;
                        size_t k;
                        json_t *g;
                        json_array_foreach (groups, k, g)
                                found |= cfg_str(g, "id") && strcmp(cfg_str(g, "id"), group) == 0;
                        if (!found)
                                TRY(cherr_new(0, "Invalid rate-limiter group"));
                }
                TRY(validate_disk(cfg, d));
                or_iommu(cfg, d);
                TRY(check_id(&ids, cfg_str(d, "id")));
        }

        json_array_foreach (json_object_get(cfg, "net"), i, d) {
                if (cfg_bool(d, "vhost_user", false) && !backed_by_shared_memory(cfg))
                        TRY(cherr_new(0, "Using vhost-user requires using shared memory or huge pages"));
                TRY(validate_net(cfg, d));
                or_iommu(cfg, d);
                TRY(check_id(&ids, cfg_str(d, "id")));
        }

        json_t *fs = json_object_get(cfg, "fs");
        if (json_array_size(fs) > 0 && !backed_by_shared_memory(cfg))
                TRY(cherr_new(0, "Using vhost-user requires using shared memory or huge pages"));
        json_array_foreach (fs, i, d) {
                TRY(check_pci_segment(cfg, d));
                TRY(check_id(&ids, cfg_str(d, "id")));
        }

        json_array_foreach (json_object_get(cfg, "pmem"), i, d) {
                TRY(check_pci_segment(cfg, d));
                or_iommu(cfg, d);
                TRY(check_id(&ids, cfg_str(d, "id")));
        }

        or_iommu(cfg, json_object_get(cfg, "rng"));
        or_iommu(cfg, json_object_get(cfg, "console"));

        const json_t *topo = json_object_get(cpus, "topology");
        if (json_is_object(topo)) {
                uint64_t t = cfg_u64(topo, "threads_per_core", 0), c = cfg_u64(topo, "cores_per_die", 0),
                         dd = cfg_u64(topo, "dies_per_package", 0), p = cfg_u64(topo, "packages", 0);
                if (!t || !c || !dd || !p)
                        TRY(cherr_new(0, "No part of the CPU topology can be zero"));
                if (t * c * dd * p != cfg_u64(cpus, "max_vcpus", 1))
                        TRY(cherr_new(0, "Product of CPU topology parts does not match maximum vCPU"));
        }

        json_t *hps = json_object_get(mem, "hugepage_size");
        if (json_is_integer(hps)) {
                uint64_t v = (uint64_t) json_integer_value(hps);
                if (!cfg_bool(mem, "hugepages", false))
                        TRY(cherr_new(0, "Huge page size specified but huge pages not enabled"));
                if (v == 0 || (v & (v - 1)) != 0)
                        TRY(cherr_new(0, "Huge page size is not power of 2: %llu", (unsigned long long) v));
        }

        json_t *udevs = json_object_get(cfg, "user_devices");
        if (json_array_size(udevs) > 0 && !backed_by_shared_memory(cfg))
                TRY(cherr_new(0, "Using user devices requires using shared memory or huge pages"));
        json_array_foreach (udevs, i, d) {
                TRY(check_pci_segment(cfg, d));
                TRY(check_id(&ids, cfg_str(d, "id")));
        }

        json_array_foreach (json_object_get(cfg, "vdpa"), i, d) {
                TRY(check_pci_segment(cfg, d));
                or_iommu(cfg, d);
                TRY(check_id(&ids, cfg_str(d, "id")));
        }

        const json_t *vsock = json_object_get(cfg, "vsock");
        if (json_is_object(vsock)) {
                uint64_t cid = cfg_u64(vsock, "cid", 3);
                if (cid == 0 || cid == 1 || cid == 2 || cid == UINT32_MAX)
                        TRY(cherr_new(0, "%llu is a special VSOCK CID", (unsigned long long) cid));
        }

        const json_t *balloon = json_object_get(cfg, "balloon");
        if (json_is_object(balloon)) {
                uint64_t ram = cfg_u64(mem, "size", 0);
                json_array_foreach (json_object_get(mem, "zones"), i, d)
                        ram += cfg_u64(d, "size", 0);
                if (cfg_u64(balloon, "size", 0) >= ram)
                        TRY(cherr_new(0, "Ballon size (%llu) greater than RAM (%llu)",
                                      (unsigned long long) cfg_u64(balloon, "size", 0),
                                      (unsigned long long) ram));
        }

        json_t *devices = json_object_get(cfg, "devices");
        json_array_foreach (devices, i, d) {
                for (size_t k = 0; k < i; k++) {
                        const char *a = cfg_str(json_array_get(devices, k), "path"), *b = cfg_str(d, "path");
                        if (a && b && strcmp(a, b) == 0)
                                TRY(cherr_new(409, "Duplicated device path: %s", b));
                }
                TRY(check_pci_segment(cfg, d));
                or_iommu(cfg, d);
                TRY(check_id(&ids, cfg_str(d, "id")));
        }

        if (json_is_object(vsock)) {
                TRY(check_pci_segment(cfg, vsock));
                or_iommu(cfg, vsock);
                TRY(check_id(&ids, cfg_str(vsock, "id")));
        }

        json_array_foreach (json_object_get(mem, "zones"), i, d)
                TRY(check_id(&ids, cfg_str(d, "id")));

        json_array_foreach (json_object_get(cfg, "pci_segments"), i, d) {
                uint64_t seg = cfg_u64(d, "pci_segment", 0);
                if (seg >= num_pci_segments(cfg))
                        TRY(cherr_new(0, "Invalid PCI segment id: %llu", (unsigned long long) seg));
                uint64_t w32 = cfg_u64(d, "mmio32_aperture_weight", 1),
                         w64 = cfg_u64(d, "mmio64_aperture_weight", 1);
                if (w32 == 0)
                        TRY(cherr_new(0, "Invalid PCI segment aperture weight: %llu",
                                      (unsigned long long) w32));
                if (w64 == 0)
                        TRY(cherr_new(0, "Invalid PCI segment aperture weight: %llu",
                                      (unsigned long long) w64));
        }

        const json_t *platform = json_object_get(cfg, "platform");
        if (json_is_object(platform)) {
                uint64_t n = cfg_u64(platform, "num_pci_segments", 1);
                if (n == 0 || n > MAX_NUM_PCI_SEGMENTS)
                        TRY(cherr_new(0, "Number of PCI segments (%llu) not in range of 1 to %d",
                                      (unsigned long long) n, MAX_NUM_PCI_SEGMENTS));
                uint64_t w = cfg_u64(platform, "iommu_address_width_bits", 64);
                if (w > MAX_IOMMU_ADDRESS_WIDTH_BITS)
                        TRY(cherr_new(
                                0, "IOMMU address width in bits (%llu) should be less than or equal to %d",
                                (unsigned long long) w, MAX_IOMMU_ADDRESS_WIDTH_BITS));
                if (json_is_array(json_object_get(platform, "iommu_segments")))
                        json_object_set_new(cfg, "iommu", json_true());
        }

        json_array_foreach (json_object_get(cfg, "landlock_rules"), i, d) {
                struct stat st;
                const char *path = cfg_str(d, "path");
                if (path && stat(path, &st) < 0)
                        TRY(cherr_new(0, "Path \"%s\" provided in landlock-rules does not exist", path));
                const char *access = cfg_str(d, "access");
                if (!access || !*access || strspn(access, "rw") != strlen(access))
                        TRY(cherr_new(0, "access provided in landlock-rules in invalid"));
        }

        free(ids.v);
        return NULL;
}
