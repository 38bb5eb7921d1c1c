/* SPDX-License-Identifier: Apache-2.0 */
#include "schema.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))
/* Cloud Hypervisor's structs never deny unknown fields. */
#define STRUCT(name_, fields_)                                                                              \
        {                                                                                                   \
                .kind = DE_STRUCT, .expecting = name_, .fields = fields_, .n_fields = N(fields_),           \
                .allow_unknown = true                                                                       \
        }
#define ENUM(variants_)                                                                                     \
        { .kind = DE_ENUM, .variants = variants_, .n_variants = N(variants_) }
#define SEQ(elem_)                                                                                          \
        { .kind = DE_SEQ, .elem = elem_ }

enum { OPT = DE_OPTION, DEF = DE_DEFAULT };

static const DeType t_bool = { .kind = DE_BOOL };
static const DeType t_u8 = { .kind = DE_U8 };
static const DeType t_u16 = { .kind = DE_U16 };
static const DeType t_u32 = { .kind = DE_U32 };
static const DeType t_u64 = { .kind = DE_U64 };
static const DeType t_usize = { .kind = DE_USIZE };
static const DeType t_i32 = { .kind = DE_I32 };
static const DeType t_string = { .kind = DE_STRING };
static const DeType t_path = { .kind = DE_PATH };
static const DeType t_string_seq = SEQ(&t_string);
static const DeType t_u16_seq = SEQ(&t_u16);
static const DeType t_u32_seq = SEQ(&t_u32);
static const DeType t_usize_seq = SEQ(&t_usize);
static const DeType t_i32_seq = SEQ(&t_i32);
static const DeType t_any = { .kind = DE_ANY };

bool schema_mac_valid(const char *s) {
        int groups = 0;
        const char *p = s;
        for (;;) {
                size_t n = 0;
                while (isxdigit((unsigned char) p[n]))
                        n++;
                if (n < 1 || n > 2)
                        return false;
                groups++;
                p += n;
                if (*p == 0)
                        break;
                if (*p != ':')
                        return false;
                p++;
        }
        return groups == 6;
}

/* net_util::MacAddr's Deserialize: a string parsed by MacAddr::parse_str. */
static char *check_mac(const char *s) {
        return schema_mac_valid(s) ? NULL : strdup("invalid MAC address");
}
static const DeType t_mac = { .kind = DE_CUSTOM_STR, .check = check_mac };

/* std::net::IpAddr's Deserialize (human readable: a string). */
static char *check_ip(const char *s) {
        unsigned char buf[16];
        if (inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1)
                return NULL;
        return strdup("invalid IP address syntax");
}
static const DeType t_ip = { .kind = DE_CUSTOM_STR, .check = check_ip };

/* virtio_devices::RateLimiterConfig / TokenBucketConfig */
static const DeField token_bucket_fields[] = {
        { "size", &t_u64, 0, NULL },
        { "one_time_burst", &t_u64, OPT | DEF, NULL },
        { "refill_time", &t_u64, 0, NULL },
};
static const DeType t_token_bucket = STRUCT("struct TokenBucketConfig", token_bucket_fields);
static const DeField rate_limiter_fields[] = {
        { "bandwidth", &t_token_bucket, OPT, NULL },
        { "ops", &t_token_bucket, OPT, NULL },
};
static const DeType t_rate_limiter = STRUCT("struct RateLimiterConfig", rate_limiter_fields);

/* cpus */
static const DeField cpu_topology_fields[] = {
        { "threads_per_core", &t_u16, 0, NULL },
        { "cores_per_die", &t_u16, 0, NULL },
        { "dies_per_package", &t_u16, 0, NULL },
        { "packages", &t_u16, 0, NULL },
};
static const DeType t_cpu_topology = STRUCT("struct CpuTopology", cpu_topology_fields);
static const DeField cpu_affinity_fields[] = {
        { "vcpu", &t_u32, 0, NULL },
        { "host_cpus", &t_usize_seq, 0, NULL },
};
static const DeType t_cpu_affinity = STRUCT("struct CpuAffinity", cpu_affinity_fields);
static const DeType t_cpu_affinity_seq = SEQ(&t_cpu_affinity);
static const DeField cpu_features_fields[] = { { "amx", &t_bool, DEF, "false" } };
static const DeType t_cpu_features = STRUCT("struct CpuFeatures", cpu_features_fields);
static const DeField cpus_fields[] = {
        { "boot_vcpus", &t_u32, 0, NULL },
        { "max_vcpus", &t_u32, 0, NULL },
        { "topology", &t_cpu_topology, OPT | DEF, NULL },
        { "kvm_hyperv", &t_bool, DEF, "false" },
        { "max_phys_bits", &t_u8, DEF, "46" },
        { "affinity", &t_cpu_affinity_seq, OPT | DEF, NULL },
        { "features", &t_cpu_features, DEF, "{\"amx\":false}" },
        { "nested", &t_bool, DEF, "true" },
};
static const DeType t_cpus = STRUCT("struct CpusConfig", cpus_fields);

/* memory */
static const DeField memory_zone_fields[] = {
        { "id", &t_string, 0, NULL },
        { "size", &t_u64, 0, NULL },
        { "file", &t_path, OPT | DEF, NULL },
        { "shared", &t_bool, DEF, "false" },
        { "hugepages", &t_bool, DEF, "false" },
        { "hugepage_size", &t_u64, OPT | DEF, NULL },
        { "host_numa_node", &t_u32, OPT | DEF, NULL },
        { "hotplug_size", &t_u64, OPT | DEF, NULL },
        { "hotplugged_size", &t_u64, OPT | DEF, NULL },
        { "prefault", &t_bool, DEF, "false" },
};
static const DeType t_memory_zone = STRUCT("struct MemoryZoneConfig", memory_zone_fields);
static const DeType t_memory_zone_seq = SEQ(&t_memory_zone);
static const char *const hotplug_methods[] = { "Acpi", "VirtioMem" };
static const DeType t_hotplug_method = ENUM(hotplug_methods);
static const DeField memory_fields[] = {
        { "size", &t_u64, 0, NULL },
        { "mergeable", &t_bool, DEF, "false" },
        { "hotplug_method", &t_hotplug_method, DEF, "\"Acpi\"" },
        { "hotplug_size", &t_u64, OPT | DEF, NULL },
        { "hotplugged_size", &t_u64, OPT | DEF, NULL },
        { "shared", &t_bool, DEF, "false" },
        { "hugepages", &t_bool, DEF, "false" },
        { "hugepage_size", &t_u64, OPT | DEF, NULL },
        { "prefault", &t_bool, DEF, "false" },
        { "zones", &t_memory_zone_seq, OPT | DEF, NULL },
        { "thp", &t_bool, DEF, "true" },
};
static const DeType t_memory = STRUCT("struct MemoryConfig", memory_fields);

/* payload */
static const DeField payload_fields[] = {
        { "firmware", &t_path, OPT | DEF, NULL },
        { "kernel", &t_path, OPT | DEF, NULL },
        { "cmdline", &t_string, OPT | DEF, NULL },
        { "initramfs", &t_path, OPT | DEF, NULL },
};
static const DeType t_payload = STRUCT("struct PayloadConfig", payload_fields);

static const DeField rate_limit_group_fields[] = {
        { "id", &t_string, DEF, "\"\"" },
        { "rate_limiter_config", &t_rate_limiter, DEF, "{\"bandwidth\":null,\"ops\":null}" },
};
static const DeType t_rate_limit_group = STRUCT("struct RateLimiterGroupConfig", rate_limit_group_fields);
static const DeType t_rate_limit_group_seq = SEQ(&t_rate_limit_group);

/* disks */
static const DeField queue_affinity_fields[] = {
        { "queue_index", &t_u16, 0, NULL },
        { "host_cpus", &t_usize_seq, 0, NULL },
};
static const DeType t_queue_affinity = STRUCT("struct VirtQueueAffinity", queue_affinity_fields);
static const DeType t_queue_affinity_seq = SEQ(&t_queue_affinity);
static const char *const image_types[] = { "FixedVhd", "Qcow2", "Raw", "Vhdx", "Unknown" };
static const DeType t_image_type = ENUM(image_types);
static const char *const lock_granularities[] = { "ByteRange", "Full" };
static const DeType t_lock_granularity = ENUM(lock_granularities);
static const DeField disk_fields[] = {
        { "path", &t_path, OPT, NULL },
        { "readonly", &t_bool, DEF, "false" },
        { "direct", &t_bool, DEF, "false" },
        { "iommu", &t_bool, DEF, "false" },
        { "num_queues", &t_usize, DEF, "1" },
        { "queue_size", &t_u16, DEF, "128" },
        { "vhost_user", &t_bool, DEF, "false" },
        { "vhost_socket", &t_string, OPT, NULL },
        { "rate_limit_group", &t_string, OPT | DEF, NULL },
        { "rate_limiter_config", &t_rate_limiter, OPT | DEF, NULL },
        { "id", &t_string, OPT | DEF, NULL },
        { "disable_io_uring", &t_bool, DEF, "false" },
        { "disable_aio", &t_bool, DEF, "false" },
        { "pci_segment", &t_u16, DEF, "0" },
        { "serial", &t_string, OPT | DEF, NULL },
        { "queue_affinity", &t_queue_affinity_seq, OPT | DEF, NULL },
        { "backing_files", &t_bool, DEF, "false" },
        { "sparse", &t_bool, DEF, "true" },
        { "image_type", &t_image_type, OPT | DEF, NULL },
        { "lock_granularity", &t_lock_granularity, DEF, "\"ByteRange\"" },
};
const DeType schema_disk_config = STRUCT("struct DiskConfig", disk_fields);
static const DeType t_disk_seq = SEQ(&schema_disk_config);

/* net: "mac" defaults to a random locally administered address, filled by config.c. */
static const char *const vhost_modes[] = { "Client", "Server" };
static const DeType t_vhost_mode = ENUM(vhost_modes);
static const DeField net_fields[] = {
        { "tap", &t_string, OPT | DEF, NULL },
        { "ip", &t_ip, DEF, "\"192.168.249.1\"" },
        { "mask", &t_ip, DEF, "\"255.255.255.0\"" },
        { "mac", &t_mac, DEF, NULL },
        { "host_mac", &t_mac, OPT | DEF, NULL },
        { "mtu", &t_u16, OPT | DEF, NULL },
        { "iommu", &t_bool, DEF, "false" },
        { "num_queues", &t_usize, DEF, "2" },
        { "queue_size", &t_u16, DEF, "256" },
        { "vhost_user", &t_bool, DEF, "false" },
        { "vhost_socket", &t_string, OPT, NULL },
        { "vhost_mode", &t_vhost_mode, DEF, "\"Client\"" },
        { "id", &t_string, OPT | DEF, NULL },
        { "fds", &t_i32_seq, OPT | DEF, NULL },
        { "rate_limiter_config", &t_rate_limiter, OPT | DEF, NULL },
        { "pci_segment", &t_u16, DEF, "0" },
        { "offload_tso", &t_bool, DEF, "true" },
        { "offload_ufo", &t_bool, DEF, "true" },
        { "offload_csum", &t_bool, DEF, "true" },
};
const DeType schema_net_config = STRUCT("struct NetConfig", net_fields);
static const DeType t_net_seq = SEQ(&schema_net_config);

static const DeField rng_fields[] = {
        { "src", &t_path, 0, NULL },
        { "iommu", &t_bool, DEF, "false" },
};
static const DeType t_rng = STRUCT("struct RngConfig", rng_fields);

static const DeField balloon_fields[] = {
        { "size", &t_u64, 0, NULL },
        { "deflate_on_oom", &t_bool, DEF, "false" },
        { "free_page_reporting", &t_bool, DEF, "false" },
};
static const DeType t_balloon = STRUCT("struct BalloonConfig", balloon_fields);

static const DeField fs_fields[] = {
        { "tag", &t_string, 0, NULL },        { "socket", &t_path, 0, NULL },
        { "num_queues", &t_usize, DEF, "1" }, { "queue_size", &t_u16, DEF, "1024" },
        { "id", &t_string, OPT | DEF, NULL }, { "pci_segment", &t_u16, DEF, "0" },
};
const DeType schema_fs_config = STRUCT("struct FsConfig", fs_fields);
static const DeType t_fs_seq = SEQ(&schema_fs_config);

static const DeField pmem_fields[] = {
        { "file", &t_path, 0, NULL },         { "size", &t_u64, OPT | DEF, NULL },
        { "iommu", &t_bool, DEF, "false" },   { "discard_writes", &t_bool, DEF, "false" },
        { "id", &t_string, OPT | DEF, NULL }, { "pci_segment", &t_u16, DEF, "0" },
};
const DeType schema_pmem_config = STRUCT("struct PmemConfig", pmem_fields);
static const DeType t_pmem_seq = SEQ(&schema_pmem_config);

static const char *const console_modes[] = { "Off", "Pty", "Tty", "File", "Socket", "Null" };
static const DeType t_console_mode = ENUM(console_modes);
static const DeField console_fields[] = {
        { "file", &t_path, OPT | DEF, NULL },
        { "mode", &t_console_mode, 0, NULL },
        { "iommu", &t_bool, DEF, "false" },
        { "socket", &t_path, OPT, NULL },
};
static const DeType t_console = STRUCT("struct ConsoleConfig", console_fields);
static const DeField debug_console_fields[] = {
        { "file", &t_path, OPT | DEF, NULL },
        { "mode", &t_console_mode, 0, NULL },
        { "iobase", &t_u16, OPT, NULL },
};
static const DeType t_debug_console = STRUCT("struct DebugConsoleConfig", debug_console_fields);

static const DeField device_fields[] = {
        { "path", &t_path, 0, NULL },
        { "iommu", &t_bool, DEF, "false" },
        { "id", &t_string, OPT | DEF, NULL },
        { "pci_segment", &t_u16, DEF, "0" },
        { "x_nv_gpudirect_clique", &t_u8, OPT | DEF, NULL },
};
const DeType schema_device_config = STRUCT("struct DeviceConfig", device_fields);
static const DeType t_device_seq = SEQ(&schema_device_config);

static const DeField user_device_fields[] = {
        { "socket", &t_path, 0, NULL },
        { "id", &t_string, OPT | DEF, NULL },
        { "pci_segment", &t_u16, DEF, "0" },
};
const DeType schema_user_device_config = STRUCT("struct UserDeviceConfig", user_device_fields);
static const DeType t_user_device_seq = SEQ(&schema_user_device_config);

static const DeField generic_vhost_user_fields[] = {
        { "socket", &t_path, 0, NULL },      { "queue_sizes", &t_u16_seq, 0, NULL },
        { "device_type", &t_u32, 0, NULL },  { "id", &t_string, OPT | DEF, NULL },
        { "pci_segment", &t_u16, DEF, "0" },
};
const DeType schema_generic_vhost_user = STRUCT("struct GenericVhostUserConfig", generic_vhost_user_fields);

static const DeField vdpa_fields[] = {
        { "path", &t_path, 0, NULL },        { "num_queues", &t_usize, DEF, "1" },
        { "iommu", &t_bool, DEF, "false" },  { "id", &t_string, OPT | DEF, NULL },
        { "pci_segment", &t_u16, DEF, "0" },
};
const DeType schema_vdpa_config = STRUCT("struct VdpaConfig", vdpa_fields);
static const DeType t_vdpa_seq = SEQ(&schema_vdpa_config);

static const DeField vsock_fields[] = {
        { "cid", &t_u32, 0, NULL },          { "socket", &t_path, 0, NULL },
        { "iommu", &t_bool, DEF, "false" },  { "id", &t_string, OPT | DEF, NULL },
        { "pci_segment", &t_u16, DEF, "0" },
};
const DeType schema_vsock_config = STRUCT("struct VsockConfig", vsock_fields);

static const DeField numa_distance_fields[] = {
        { "destination", &t_u32, DEF, "0" },
        { "distance", &t_u8, DEF, "0" },
};
static const DeType t_numa_distance = STRUCT("struct NumaDistance", numa_distance_fields);
static const DeType t_numa_distance_seq = SEQ(&t_numa_distance);
static const DeField numa_fields[] = {
        { "guest_numa_id", &t_u32, DEF, "0" },
        { "cpus", &t_u32_seq, OPT | DEF, NULL },
        { "distances", &t_numa_distance_seq, OPT | DEF, NULL },
        { "memory_zones", &t_string_seq, OPT | DEF, NULL },
        { "pci_segments", &t_u16_seq, OPT | DEF, NULL },
};
static const DeType t_numa = STRUCT("struct NumaConfig", numa_fields);
static const DeType t_numa_seq = SEQ(&t_numa);

static const DeField pci_segment_fields[] = {
        { "pci_segment", &t_u16, DEF, "0" },
        { "mmio32_aperture_weight", &t_u32, DEF, "1" },
        { "mmio64_aperture_weight", &t_u32, DEF, "1" },
};
static const DeType t_pci_segment = STRUCT("struct PciSegmentConfig", pci_segment_fields);
static const DeType t_pci_segment_seq = SEQ(&t_pci_segment);

static const DeField platform_fields[] = {
        { "num_pci_segments", &t_u16, DEF, "1" },         { "iommu_segments", &t_u16_seq, OPT | DEF, NULL },
        { "iommu_address_width_bits", &t_u8, DEF, "64" }, { "serial_number", &t_string, OPT | DEF, NULL },
        { "uuid", &t_string, OPT | DEF, NULL },           { "oem_strings", &t_string_seq, OPT | DEF, NULL },
};
static const DeType t_platform = STRUCT("struct PlatformConfig", platform_fields);

static const DeField tpm_fields[] = { { "socket", &t_path, 0, NULL } };
static const DeType t_tpm = STRUCT("struct TpmConfig", tpm_fields);

static const DeField landlock_fields[] = {
        { "path", &t_path, 0, NULL },
        { "access", &t_string, 0, NULL },
};
static const DeType t_landlock = STRUCT("struct LandlockConfig", landlock_fields);
static const DeType t_landlock_seq = SEQ(&t_landlock);

static const DeField vm_config_fields[] = {
        { "cpus", &t_cpus, DEF,
          "{\"boot_vcpus\":1,\"max_vcpus\":1,\"topology\":null,\"kvm_hyperv\":false,\"max_phys_bits\":46,"
          "\"affinity\":null,\"features\":{\"amx\":false},\"nested\":true}" },
        { "memory", &t_memory, DEF,
          "{\"size\":536870912,\"mergeable\":false,\"hotplug_method\":\"Acpi\",\"hotplug_size\":null,"
          "\"hotplugged_size\":null,\"shared\":false,\"hugepages\":false,\"hugepage_size\":null,"
          "\"prefault\":false,\"zones\":null,\"thp\":true}" },
        { "payload", &t_payload, OPT, NULL },
        { "rate_limit_groups", &t_rate_limit_group_seq, OPT, NULL },
        { "disks", &t_disk_seq, OPT, NULL },
        { "net", &t_net_seq, OPT, NULL },
        { "rng", &t_rng, DEF, "{\"src\":\"/dev/urandom\",\"iommu\":false}" },
        { "balloon", &t_balloon, OPT, NULL },
        { "fs", &t_fs_seq, OPT, NULL },
        { "pmem", &t_pmem_seq, OPT, NULL },
        { "serial", &t_console, DEF, "{\"file\":null,\"mode\":\"Null\",\"iommu\":false,\"socket\":null}" },
        { "console", &t_console, DEF, "{\"file\":null,\"mode\":\"Tty\",\"iommu\":false,\"socket\":null}" },
        { "debug_console", &t_debug_console, DEF, "{\"file\":null,\"mode\":\"Off\",\"iobase\":233}" },
        { "devices", &t_device_seq, OPT, NULL },
        { "user_devices", &t_user_device_seq, OPT, NULL },
        { "vdpa", &t_vdpa_seq, OPT, NULL },
        { "vsock", &schema_vsock_config, OPT, NULL },
        { "pvpanic", &t_bool, DEF, "false" },
        { "iommu", &t_bool, DEF, "false" },
        { "numa", &t_numa_seq, OPT, NULL },
        { "watchdog", &t_bool, DEF, "false" },
        { "pci_segments", &t_pci_segment_seq, OPT, NULL },
        { "platform", &t_platform, OPT, NULL },
        { "tpm", &t_tpm, OPT, NULL },
        { "landlock_enable", &t_bool, DEF, "false" },
        { "landlock_rules", &t_landlock_seq, OPT, NULL },
};
const DeType schema_vm_config = STRUCT("struct VmConfig", vm_config_fields);

/* vmm/src/api/mod.rs request bodies */
static const DeField vm_resize_fields[] = {
        { "desired_vcpus", &t_u32, OPT, NULL },
        { "desired_ram", &t_u64, OPT, NULL },
        { "desired_balloon", &t_u64, OPT, NULL },
};
const DeType schema_vm_resize = STRUCT("struct VmResizeData", vm_resize_fields);

static const DeField vm_resize_zone_fields[] = {
        { "id", &t_string, 0, NULL },
        { "desired_ram", &t_u64, 0, NULL },
};
const DeType schema_vm_resize_zone = STRUCT("struct VmResizeZoneData", vm_resize_zone_fields);

static const DeField vm_resize_disk_fields[] = {
        { "id", &t_string, 0, NULL },
        { "desired_size", &t_u64, 0, NULL },
};
const DeType schema_vm_resize_disk = STRUCT("struct VmResizeDiskData", vm_resize_disk_fields);

static const DeField vm_remove_device_fields[] = { { "id", &t_string, 0, NULL } };
const DeType schema_vm_remove_device = STRUCT("struct VmRemoveDeviceData", vm_remove_device_fields);

static const DeField vm_snapshot_fields[] = { { "destination_url", &t_string, 0, NULL } };
const DeType schema_vm_snapshot = STRUCT("struct VmSnapshotConfig", vm_snapshot_fields);

static const DeField restore_fields[] = {
        { "source_url", &t_path, 0, NULL },
        { "prefault", &t_bool, DEF, "false" },
        { "net_fds", &t_any, OPT | DEF, NULL },
        { "resume", &t_bool, DEF, "false" },
};
const DeType schema_restore_config = STRUCT("struct RestoreConfig", restore_fields);

static const DeField receive_migration_fields[] = { { "receiver_url", &t_string, 0, NULL } };
const DeType schema_receive_migration = STRUCT("struct VmReceiveMigrationData", receive_migration_fields);

static const DeField send_migration_fields[] = {
        { "destination_url", &t_string, 0, NULL },
        { "local", &t_bool, DEF, "false" },
};
const DeType schema_send_migration = STRUCT("struct VmSendMigrationData", send_migration_fields);
