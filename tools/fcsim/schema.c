/* SPDX-License-Identifier: Apache-2.0 */
#include "schema.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define STRUCT(name_, fields_)                                                                              \
        { .kind = DE_STRUCT, .expecting = name_, .fields = fields_, .n_fields = N(fields_) }
#define ENUM(variants_)                                                                                     \
        { .kind = DE_ENUM, .variants = variants_, .n_variants = N(variants_) }

static const DeType t_bool = { .kind = DE_BOOL };
static const DeType t_u16 = { .kind = DE_U16 };
static const DeType t_u8 = { .kind = DE_U8 };
static const DeType t_u32 = { .kind = DE_U32 };
static const DeType t_u64 = { .kind = DE_U64 };
static const DeType t_usize = { .kind = DE_USIZE };
static const DeType t_string = { .kind = DE_STRING };
static const DeType t_path = { .kind = DE_PATH };
static const DeType t_string_map = { .kind = DE_STRING_MAP };
static const DeType t_string_seq = { .kind = DE_SEQ, .elem = &t_string };
const DeType schema_any = { .kind = DE_ANY };

bool schema_mac_valid(const char *s) {
        /* MacAddr::from_str: six ':'-separated groups of two characters, each
         * group u8::from_str_radix(16) (which also takes a leading '+'). */
        if (strlen(s) != 17)
                return false;
        for (size_t i = 0; i < 17; i += 3) {
                if (i + 2 < 17 && s[i + 2] != ':')
                        return false;
                if (!isxdigit((unsigned char) s[i + 1]) || !(isxdigit((unsigned char) s[i]) || s[i] == '+'))
                        return false;
        }
        return true;
}

static char *check_mac(const char *s) {
        return schema_mac_valid(s) ? NULL : strdup("The provided MAC address is not valid.");
}
static const DeType t_mac = { .kind = DE_CUSTOM_STR, .check = check_mac };

static char *check_ipv4(const char *s) {
        struct in_addr a;
        return inet_pton(AF_INET, s, &a) == 1 ? NULL : strdup("invalid IPv4 address syntax");
}
static const DeType t_ipv4 = { .kind = DE_CUSTOM_STR, .check = check_ipv4 };

/* Rate limiters (vmm_config::RateLimiterConfig / TokenBucketConfig). */
static const DeField token_bucket_fields[] = {
        { "size", &t_u64, 0, NULL },
        { "one_time_burst", &t_u64, DE_OPTION, NULL },
        { "refill_time", &t_u64, 0, NULL },
};
static const DeType t_token_bucket = STRUCT("struct TokenBucketConfig", token_bucket_fields);
static const DeField rate_limiter_fields[] = {
        { "bandwidth", &t_token_bucket, DE_OPTION, NULL },
        { "ops", &t_token_bucket, DE_OPTION, NULL },
};
static const DeType t_rate_limiter = STRUCT("struct RateLimiterConfig", rate_limiter_fields);

/* PUT /actions */
static const char *const action_types[] = { "FlushMetrics", "InstanceStart", "SendCtrlAltDel" };
static const DeType t_action_type = ENUM(action_types);
static const DeField action_fields[] = { { "action_type", &t_action_type, 0, NULL } };
const DeType schema_action_body = STRUCT("struct ActionBody", action_fields);

/* PUT /boot-source */
static const DeField boot_source_fields[] = {
        { "kernel_image_path", &t_string, 0, NULL },
        { "initrd_path", &t_string, DE_OPTION, NULL },
        { "boot_args", &t_string, DE_OPTION, NULL },
};
const DeType schema_boot_source = STRUCT("struct BootSourceConfig", boot_source_fields);

/* /machine-config: x86_64 build of StaticCpuTemplate and HugePageConfig. */
static const char *const cpu_templates[] = { "C3", "T2", "T2S", "T2CL", "T2A", "None" };
static const DeType t_cpu_template = ENUM(cpu_templates);
static const char *const huge_pages[] = { "None", "Transparent", "2M" };
static const DeType t_huge_pages = ENUM(huge_pages);
static const DeField machine_config_fields[] = {
        { "vcpu_count", &t_u8, 0, NULL },
        { "mem_size_mib", &t_usize, 0, NULL },
        { "smt", &t_bool, DE_DEFAULT, NULL },
        { "cpu_template", &t_cpu_template, DE_OPTION | DE_DEFAULT, NULL },
        { "track_dirty_pages", &t_bool, DE_DEFAULT, NULL },
        { "huge_pages", &t_huge_pages, DE_DEFAULT, NULL },
};
const DeType schema_machine_config = STRUCT("struct MachineConfig", machine_config_fields);
static const DeField machine_config_update_fields[] = {
        { "vcpu_count", &t_u8, DE_OPTION | DE_DEFAULT, NULL },
        { "mem_size_mib", &t_usize, DE_OPTION, NULL },
        { "smt", &t_bool, DE_OPTION | DE_DEFAULT, NULL },
        { "cpu_template", &t_cpu_template, DE_OPTION | DE_DEFAULT, NULL },
        { "track_dirty_pages", &t_bool, DE_OPTION, NULL },
        { "huge_pages", &t_huge_pages, DE_OPTION | DE_DEFAULT, NULL },
};
const DeType schema_machine_config_update =
        STRUCT("struct MachineConfigUpdate", machine_config_update_fields);

/* /drives/{drive_id} */
static const char *const cache_types[] = { "Unsafe", "Writeback" };
static const DeType t_cache_type = ENUM(cache_types);
static const char *const io_engines[] = { "Sync", "Async" };
static const DeType t_io_engine = ENUM(io_engines);
static const DeField drive_fields[] = {
        { "drive_id", &t_string, 0, NULL },
        { "partuuid", &t_string, DE_OPTION, NULL },
        { "is_root_device", &t_bool, 0, NULL },
        { "cache_type", &t_cache_type, DE_DEFAULT, NULL },
        { "is_read_only", &t_bool, DE_OPTION, NULL },
        { "path_on_host", &t_string, DE_OPTION, NULL },
        { "rate_limiter", &t_rate_limiter, DE_OPTION, NULL },
        { "io_engine", &t_io_engine, DE_OPTION, NULL },
        { "socket", &t_string, DE_OPTION, NULL },
};
const DeType schema_drive = STRUCT("struct BlockDeviceConfig", drive_fields);
static const DeField drive_update_fields[] = {
        { "drive_id", &t_string, 0, NULL },
        { "path_on_host", &t_string, DE_OPTION, NULL },
        { "rate_limiter", &t_rate_limiter, DE_OPTION, NULL },
};
const DeType schema_drive_update = STRUCT("struct BlockDeviceUpdateConfig", drive_update_fields);

/* /network-interfaces/{iface_id} */
static const DeField net_fields[] = {
        { "iface_id", &t_string, 0, NULL },
        { "host_dev_name", &t_string, 0, NULL },
        { "guest_mac", &t_mac, DE_OPTION, NULL },
        { "rx_rate_limiter", &t_rate_limiter, DE_OPTION, NULL },
        { "tx_rate_limiter", &t_rate_limiter, DE_OPTION, NULL },
        { "mtu", &t_u16, DE_OPTION, NULL },
};
const DeType schema_net = STRUCT("struct NetworkInterfaceConfig", net_fields);
static const DeField net_update_fields[] = {
        { "iface_id", &t_string, 0, NULL },
        { "rx_rate_limiter", &t_rate_limiter, DE_OPTION, NULL },
        { "tx_rate_limiter", &t_rate_limiter, DE_OPTION, NULL },
};
const DeType schema_net_update = STRUCT("struct NetworkInterfaceUpdateConfig", net_update_fields);

/* PUT /logger: LevelFilter is a serde enum with case aliases. */
static const char *const levels[] = { "Off", "Trace", "Debug", "Info", "Warn", "Error" };
static const DeAlias level_aliases[] = {
        { "OFF", "Off" },      { "off", "Off" },      { "TRACE", "Trace" },  { "trace", "Trace" },
        { "DEBUG", "Debug" },  { "debug", "Debug" },  { "INFO", "Info" },    { "info", "Info" },
        { "WARNING", "Warn" }, { "warning", "Warn" }, { "Warning", "Warn" }, { "WARN", "Warn" },
        { "warn", "Warn" },    { "ERROR", "Error" },  { "error", "Error" },
};
static const DeType t_level = { .kind = DE_ENUM,
                                .variants = levels,
                                .n_variants = N(levels),
                                .aliases = level_aliases,
                                .n_aliases = N(level_aliases) };
static const DeField logger_fields[] = {
        { "log_path", &t_path, DE_OPTION, NULL },   { "level", &t_level, DE_OPTION, NULL },
        { "show_level", &t_bool, DE_OPTION, NULL }, { "show_log_origin", &t_bool, DE_OPTION, NULL },
        { "module", &t_string, DE_OPTION, NULL },
};
const DeType schema_logger = STRUCT("struct LoggerConfig", logger_fields);

/* PUT /metrics */
static const DeField metrics_fields[] = {
        { "metrics_path", &t_path, 0, NULL },
        { "emit_id", &t_bool, DE_DEFAULT, NULL },
        { "properties", &t_string_map, DE_OPTION, NULL },
};
const DeType schema_metrics = STRUCT("struct MetricsConfig", metrics_fields);

/* PUT /vsock */
static const DeField vsock_fields[] = {
        { "vsock_id", &t_string, DE_OPTION | DE_DEFAULT, NULL },
        { "guest_cid", &t_u32, 0, NULL },
        { "uds_path", &t_string, 0, NULL },
};
const DeType schema_vsock = STRUCT("struct VsockDeviceConfig", vsock_fields);

/* PATCH /vm */
static const char *const vm_states[] = { "Paused", "Resumed" };
static const DeType t_vm_state = ENUM(vm_states);
static const DeField vm_fields[] = { { "state", &t_vm_state, 0, NULL } };
const DeType schema_vm_state = STRUCT("struct Vm", vm_fields);

/* PUT /entropy */
static const DeField entropy_fields[] = { { "rate_limiter", &t_rate_limiter, DE_OPTION, NULL } };
const DeType schema_entropy = STRUCT("struct EntropyDeviceConfig", entropy_fields);

/* PUT /serial */
static const DeField serial_fields[] = {
        { "serial_out_path", &t_path, DE_OPTION, NULL },
        { "rate_limiter", &t_token_bucket, DE_OPTION, NULL },
};
const DeType schema_serial = STRUCT("struct SerialConfig", serial_fields);

/* PUT /mmds/config */
static const char *const mmds_versions[] = { "V1", "V2" };
static const DeType t_mmds_version = ENUM(mmds_versions);
static const DeField mmds_config_fields[] = {
        { "version", &t_mmds_version, DE_DEFAULT, NULL },
        { "network_interfaces", &t_string_seq, 0, NULL },
        { "ipv4_address", &t_ipv4, DE_OPTION, NULL },
        { "imds_compat", &t_bool, DE_DEFAULT, NULL },
};
const DeType schema_mmds_config = STRUCT("struct MmdsConfig", mmds_config_fields);

/* --config-file: VmmConfig, kebab-case keys. Sections fcsim does not
 * simulate are accepted by the decoder and refused by the loader. */
static const DeType t_drives = { .kind = DE_SEQ, .elem = &schema_drive };
static const DeType t_nets = { .kind = DE_SEQ, .elem = &schema_net };
static const DeType t_any_seq = { .kind = DE_SEQ, .elem = &schema_any };
static const DeField vmm_config_fields[] = {
        { "balloon", &schema_any, DE_OPTION, NULL },
        { "drives", &t_drives, DE_DEFAULT, NULL },
        { "boot-source", &schema_boot_source, 0, NULL },
        { "cpu-config", &t_path, DE_OPTION, NULL },
        { "logger", &schema_logger, DE_OPTION, NULL },
        { "machine-config", &schema_machine_config, DE_OPTION, NULL },
        { "metrics", &schema_metrics, DE_OPTION, NULL },
        { "mmds-config", &schema_mmds_config, DE_OPTION, NULL },
        { "network-interfaces", &t_nets, DE_DEFAULT, NULL },
        { "vsock", &schema_vsock, DE_OPTION, NULL },
        { "entropy", &schema_entropy, DE_OPTION, NULL },
        { "pmem", &t_any_seq, DE_DEFAULT, NULL },
        { "memory-hotplug", &schema_any, DE_OPTION, NULL },
        { "serial", &schema_serial, DE_OPTION, NULL },
};
const DeType schema_vmm_config = STRUCT("struct VmmConfig", vmm_config_fields);
