/* SPDX-License-Identifier: Apache-2.0 */
#include "args.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum ArgKind {
        K_VALUE, /* num_args(1) */
        K_VALUES, /* num_args(1..) */
        K_FLAG, /* ArgAction::SetTrue */
        K_COUNT, /* ArgAction::Count */
} ArgKind;

typedef enum Group { G_NONE, G_VM_CONFIG, G_VMM_CONFIG, G_LOGGING, G_VM_PAYLOAD } Group;

typedef struct ArgDef {
        const char *name; /* the long name (also clap's id) */
        char short_name;
        ArgKind kind;
        Group group;
        const char *def;
        const char *help;
} ArgDef;

/* In the alphabetical order of get_cli_options_sorted(), which is the
 * order of --help. */
static const ArgDef defs[_ARG_MAX] = {
        [ARG_API_SOCKET] = { "api-socket", 0, K_VALUE, G_VMM_CONFIG, NULL,
                             "HTTP API socket (UNIX domain socket): path=</path/to/a/file> or fd=<fd>." },
        [ARG_BALLOON] = { "balloon", 0, K_VALUE, G_VM_CONFIG, NULL,
                          "Balloon parameters "
                          "\"size=<balloon_size>,deflate_on_oom=on|off,free_page_reporting=on|off\"" },
        [ARG_CMDLINE] = { "cmdline", 0, K_VALUE, G_VM_CONFIG, NULL, "Kernel command line" },
        [ARG_CONSOLE] = { "console", 0, K_VALUE, G_VM_CONFIG, "tty",
                          "Control (virtio) console: "
                          "\"off|null|pty|tty|file=</path/to/a/file>,iommu=on|off\"" },
        [ARG_CPUS] = { "cpus", 0, K_VALUE, G_VM_CONFIG, "boot=1,max_phys_bits=46",
                       "boot=<boot_vcpus>,max=<max_vcpus>,topology=<threads_per_core>:<cores_per_die>:"
                       "<dies_per_package>:<packages>,kvm_hyperv=on|off,max_phys_bits=<maximum_number_of_"
                       "physical_bits>,"
                       "affinity=<list_of_vcpus_with_their_associated_cpuset>,features=<list_of_features_to_"
                       "enable>,"
                       "nested=on|off" },
        [ARG_DEBUG_CONSOLE] = { "debug-console", 0, K_VALUE, G_VM_CONFIG, "off,iobase=0xe9",
                                "Debug console: off|pty|tty|file=</path/to/a/file>,iobase=<port in hex>" },
        [ARG_DEVICE] = { "device", 0, K_VALUES, G_VM_CONFIG, NULL,
                         "Direct device assignment parameters "
                         "\"path=<device_path>,iommu=on|off,id=<device_id>,"
                         "pci_segment=<segment_id>\"" },
        [ARG_DISK] = { "disk", 0, K_VALUES, G_VM_CONFIG, NULL,
                       "Disk parameters \"path=<disk_image_path>,readonly=on|off,direct=on|off,iommu=on|off,"
                       "num_queues=<number_of_queues>,queue_size=<size_of_each_queue>,vhost_user=on|off,"
                       "socket=<vhost_user_socket_path>,id=<device_id>,pci_segment=<segment_id>,serial=<"
                       "serial_number>\"" },
        [ARG_EVENT_MONITOR] = { "event-monitor", 0, K_VALUE, G_VMM_CONFIG, NULL,
                                "File to report events on: path=</path/to/a/file> or fd=<fd>" },
        [ARG_FIRMWARE] = { "firmware", 0, K_VALUE, G_VM_PAYLOAD, NULL,
                           "Path to firmware that is loaded in an architectural specific way" },
        [ARG_FS] = { "fs", 0, K_VALUES, G_VM_CONFIG, NULL,
                     "virtio-fs parameters "
                     "\"tag=<tag_name>,socket=<socket_path>,num_queues=<number_of_queues>,"
                     "queue_size=<size_of_each_queue>,id=<device_id>,pci_segment=<segment_id>\"" },
        [ARG_INITRAMFS] = { "initramfs", 0, K_VALUE, G_VM_CONFIG, NULL, "Path to initramfs image" },
        [ARG_KERNEL] = { "kernel", 0, K_VALUE, G_VM_PAYLOAD, NULL,
                         "Path to kernel to load. This may be a kernel or firmware that supports a PVH "
                         "entry point "
                         "(e.g. vmlinux) or architecture equivalent" },
        [ARG_LANDLOCK] = { "landlock", 0, K_FLAG, G_VM_CONFIG, NULL, "enable/disable Landlock." },
        [ARG_LANDLOCK_RULES] = { "landlock-rules", 0, K_VALUES, G_VM_CONFIG, NULL,
                                 "Landlock parameters \"path=<path/to/{file/dir}>,access=[rw]\"" },
        [ARG_LOG_FILE] = { "log-file", 0, K_VALUE, G_LOGGING, NULL,
                           "Log file. Standard error is used if not specified" },
        [ARG_MEMORY] = { "memory", 0, K_VALUE, G_VM_CONFIG, "size=512M",
                         "Memory parameters "
                         "\"size=<guest_memory_size>,mergeable=on|off,shared=on|off,hugepages=on|off,"
                         "hugepage_size=<hugepage_size>,hotplug_method=acpi|virtio-mem,"
                         "hotplug_size=<hotpluggable_memory_size>,hotplugged_size=<hotplugged_memory_size>,"
                         "prefault=on|off,thp=on|off\"" },
        [ARG_MEMORY_ZONE] = { "memory-zone", 0, K_VALUES, G_VM_CONFIG, NULL,
                              "User defined memory zone parameters "
                              "\"size=<guest_memory_region_size>,file=<backing_file>,"
                              "shared=on|off,hugepages=on|off,hugepage_size=<hugepage_size>,host_numa_node=<"
                              "node_id>,"
                              "id=<zone_identifier>,hotplug_size=<hotpluggable_memory_size>,"
                              "hotplugged_size=<hotplugged_memory_size>,prefault=on|off\"" },
        [ARG_NET] = { "net", 0, K_VALUES, G_VM_CONFIG, NULL,
                      "Network parameters "
                      "\"tap=<if_name>,ip=<ip_addr>,mask=<net_mask>,mac=<mac_addr>,fd=<fd1,fd2...>,"
                      "iommu=on|off,num_queues=<number_of_queues>,queue_size=<size_of_each_queue>,id=<"
                      "device_id>,"
                      "vhost_user=<vhost_user_enable>,socket=<vhost_user_socket_path>,vhost_mode=client|"
                      "server,"
                      "bw_size=<bytes>,bw_one_time_burst=<bytes>,bw_refill_time=<ms>,ops_size=<io_ops>,"
                      "ops_one_time_burst=<io_ops>,ops_refill_time=<ms>,pci_segment=<segment_id>,"
                      "offload_tso=on|off,offload_ufo=on|off,offload_csum=on|off\"" },
        [ARG_NO_SHUTDOWN] = { "no-shutdown", 0, K_FLAG, G_VMM_CONFIG, NULL,
                              "Do not exit the VMM when the guest shuts down" },
        [ARG_NUMA] = { "numa", 0, K_VALUES, G_VM_CONFIG, NULL,
                       "Settings related to a given NUMA node \"guest_numa_id=<node_id>,cpus=<cpus_id>,"
                       "distances=<list_of_distances_to_destination_nodes>,memory_zones=<list_of_memory_"
                       "zones>,"
                       "pci_segments=<list_of_pci_segments>\"" },
        [ARG_PCI_SEGMENT] = { "pci-segment", 0, K_VALUES, G_VM_CONFIG, NULL,
                              "PCI Segment parameters "
                              "\"pci_segment=<segment_id>,mmio32_aperture_weight=<scale>,"
                              "mmio64_aperture_weight=<scale>\"" },
        [ARG_PLATFORM] = { "platform", 0, K_VALUE, G_VM_CONFIG, NULL,
                           "num_pci_segments=<num_pci_segments>,iommu_segments=<list_of_segments>,"
                           "iommu_address_width=<bits>,serial_number=<dmi_device_serial_number>,uuid=<dmi_"
                           "device_uuid>,"
                           "oem_strings=<list_of_strings>" },
        [ARG_PMEM] = { "pmem", 0, K_VALUES, G_VM_CONFIG, NULL,
                       "Persistent memory parameters "
                       "\"file=<backing_file_path>,size=<persistent_memory_size>,"
                       "iommu=on|off,discard_writes=on|off,id=<device_id>,pci_segment=<segment_id>\"" },
        [ARG_PVPANIC] = { "pvpanic", 0, K_FLAG, G_VM_CONFIG, NULL, "Enable pvpanic device" },
        [ARG_RATE_LIMIT_GROUP] = { "rate-limit-group", 0, K_VALUES, G_VM_CONFIG, NULL,
                                   "Rate Limit Group parameters \"bw_size=<bytes>,bw_one_time_burst=<bytes>,"
                                   "bw_refill_time=<ms>,ops_size=<io_ops>,ops_one_time_burst=<io_ops>,"
                                   "ops_refill_time=<ms>,id=<device_id>\"" },
        [ARG_RESTORE] = { "restore", 0, K_VALUE, G_VMM_CONFIG, NULL,
                          "Restore from a VM snapshot. Restore parameters "
                          "\"source_url=<source_url>,prefault=on|off,"
                          "resume=on|off\"" },
        [ARG_RNG] = { "rng", 0, K_VALUE, G_VM_CONFIG, "src=/dev/urandom",
                      "Random number generator parameters \"src=<entropy_source_path>,iommu=on|off\"" },
        [ARG_SECCOMP] = { "seccomp", 0, K_VALUE, G_NONE, "true", NULL },
        [ARG_SERIAL] = { "serial", 0, K_VALUE, G_VM_CONFIG, "null",
                         "Control serial port: "
                         "off|null|pty|tty|file=</path/to/a/file>|socket=</path/to/a/file>" },
        [ARG_TPM] = { "tpm", 0, K_VALUE, G_VM_CONFIG, NULL,
                      "TPM device \"(UNIX Domain Socket from swtpm) socket=</path/to/a/socket>\"" },
        [ARG_USER_DEVICE] = { "user-device", 0, K_VALUES, G_VM_CONFIG, NULL,
                              "User space device "
                              "\"socket=<path_to_socket>,id=<device_id>,pci_segment=<segment_id>\"" },
        [ARG_V] = { "v", 'v', K_COUNT, G_LOGGING, NULL, "Sets the level of debugging output" },
        [ARG_VDPA] = { "vdpa", 0, K_VALUES, G_VM_CONFIG, NULL,
                       "vDPA device \"path=/path/to/device,num_queues=<number_of_queues>,iommu=on|off,"
                       "id=<device_id>,pci_segment=<segment_id>\"" },
        [ARG_VERSION] = { "version", 'V', K_FLAG, G_NONE, NULL, "Print version" },
        [ARG_VSOCK] = { "vsock", 0, K_VALUE, G_VM_CONFIG, NULL,
                        "Virtio VSOCK parameters \"cid=<context_id>,socket=<socket_path>,iommu=on|off,"
                        "id=<device_id>,pci_segment=<segment_id>\"" },
        [ARG_WATCHDOG] = { "watchdog", 0, K_FLAG, G_VM_CONFIG, NULL, "Enable virtio-watchdog" },
};

static const char *const seccomp_values[] = { "true", "false", "log" };

static const char usage[] = "Usage: cloud-hypervisor [OPTIONS]\n";
static const char more_info[] = "For more information, try '--help'.\n";

static void print_help(FILE *f) {
        fprintf(f, "Launch a cloud-hypervisor VMM.\n\n%s\nOptions:\n", usage);
        for (size_t i = 0; i < _ARG_MAX; i++) {
                const ArgDef *d = &defs[i];
                char head[96];
                if (d->short_name && strcmp(d->name, "v") == 0)
                        snprintf(head, sizeof(head), "-v");
                else if (d->short_name)
                        snprintf(head, sizeof(head), "-%c, --%s", d->short_name, d->name);
                else if (d->kind == K_FLAG)
                        snprintf(head, sizeof(head), "    --%s", d->name);
                else
                        snprintf(head, sizeof(head), "    --%s <%s>%s", d->name, d->name,
                                 d->kind == K_VALUES ? "..." : "");
                fprintf(f, "  %s\n", head);
                if (d->help)
                        fprintf(f, "          %s", d->help);
                if (d->def)
                        fprintf(f, "%s[default: %s]", d->help ? " " : "          ", d->def);
                if (i == ARG_SECCOMP)
                        fprintf(f, " [possible values: true, false, log]");
                fprintf(f, "\n");
        }
        fprintf(f, "  -h, --help\n          Print help\n");
}

static _Noreturn void fail(bool with_usage, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static _Noreturn void fail(bool with_usage, const char *fmt, ...) {
        va_list ap;
        fprintf(stderr, "error: ");
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, "\n\n");
        if (with_usage)
                fprintf(stderr, "%s\n", usage);
        fprintf(stderr, "%s", more_info);
        exit(2);
}

/* strsim::jaro, which clap uses (> 0.7) to suggest a similar argument. */
static double jaro(const char *a, const char *b) {
        size_t la = strlen(a), lb = strlen(b);
        if (la == 0 && lb == 0)
                return 1.0;
        if (la == 0 || lb == 0)
                return 0.0;
        size_t range = (la > lb ? la : lb) / 2;
        range = range > 0 ? range - 1 : 0;
        bool ma[256] = { false }, mb[256] = { false };
        if (la > 255 || lb > 255)
                return 0.0;
        size_t m = 0;
        for (size_t i = 0; i < la; i++) {
                size_t lo = i > range ? i - range : 0, hi = i + range + 1 < lb ? i + range + 1 : lb;
                for (size_t j = lo; j < hi; j++)
                        if (!mb[j] && a[i] == b[j]) {
                                ma[i] = mb[j] = true;
                                m++;
                                break;
                        }
        }
        if (m == 0)
                return 0.0;
        size_t t = 0, k = 0;
        for (size_t i = 0; i < la; i++) {
                if (!ma[i])
                        continue;
                while (!mb[k])
                        k++;
                if (a[i] != b[k])
                        t++;
                k++;
        }
        double md = (double) m;
        return (md / (double) la + md / (double) lb + (md - (double) t / 2.0) / md) / 3.0;
}

static _Noreturn void fail_unexpected(const char *arg) {
        fprintf(stderr, "error: unexpected argument '%s' found\n\n", arg);
        if (strncmp(arg, "--", 2) == 0) {
                char name[128];
                snprintf(name, sizeof(name), "%s", arg + 2);
                char *eq = strchr(name, '=');
                if (eq)
                        *eq = 0;
                const char *best = NULL;
                double best_score = 0.7;
                static const char *const extra[] = { "help" };
                for (size_t i = 0; i < _ARG_MAX + 1; i++) {
                        const char *cand = i < _ARG_MAX ? defs[i].name : extra[0];
                        if (strlen(cand) == 1)
                                continue;
                        double s = jaro(name, cand);
                        if (s > best_score) {
                                best_score = s;
                                best = cand;
                        }
                }
                if (best)
                        fprintf(stderr, "  tip: a similar argument exists: '--%s'\n\n", best);
        }
        fprintf(stderr, "%s\n%s", usage, more_info);
        exit(2);
}

static char *display_name(ArgId id, char *buf, size_t size) {
        const ArgDef *d = &defs[id];
        if (d->kind == K_FLAG || d->kind == K_COUNT) {
                if (d->short_name && strcmp(d->name, "v") == 0)
                        snprintf(buf, size, "-v");
                else
                        snprintf(buf, size, "--%s", d->name);
        } else
                snprintf(buf, size, "--%s <%s>%s", d->name, d->name, d->kind == K_VALUES ? "..." : "");
        return buf;
}

static void add_value(Args *a, ArgId id, const char *v) {
        char name[96];
        if (id == ARG_SECCOMP) {
                bool ok = false;
                for (size_t k = 0; k < 3; k++)
                        ok |= strcmp(v, seccomp_values[k]) == 0;
                if (!ok) {
                        fprintf(stderr,
                                "error: invalid value '%s' for '%s'\n  [possible values: true, false, "
                                "log]\n\n%s",
                                v, display_name(id, name, sizeof(name)), more_info);
                        exit(2);
                }
        }
        if (a->n_values[id] < ARGS_MAX_VALUES)
                a->values[id][a->n_values[id]++] = v;
}

static void mark(Args *a, ArgId id) {
        char name[96];
        if (a->present[id] && defs[id].kind != K_COUNT)
                fail(true, "the argument '%s' cannot be used multiple times",
                     display_name(id, name, sizeof(name)));
        a->present[id] = true;
        a->count[id]++;
}

static bool looks_like_flag(const char *s) {
        return s[0] == '-' && s[1] != 0;
}

void args_parse(int argc, char **argv, Args *ret) {
        Args a;
        memset(&a, 0, sizeof(a));
        if (argc <= 1) {
                print_help(stderr);
                exit(2);
        }
        bool only_positionals = false;
        for (int i = 1; i < argc; i++) {
                const char *arg = argv[i];
                if (only_positionals || !looks_like_flag(arg))
                        fail_unexpected(arg);
                if (strcmp(arg, "--") == 0) {
                        only_positionals = true;
                        continue;
                }
                if (arg[1] != '-') {
                        /* Short flags, possibly combined: -vvv, -hV. */
                        for (const char *p = arg + 1; *p; p++) {
                                if (*p == 'h') {
                                        print_help(stdout);
                                        exit(0);
                                } else if (*p == 'v')
                                        mark(&a, ARG_V);
                                else if (*p == 'V')
                                        mark(&a, ARG_VERSION);
                                else {
                                        char bad[3] = { '-', *p, 0 };
                                        fail_unexpected(bad);
                                }
                        }
                        continue;
                }
                const char *name = arg + 2;
                const char *eq = strchr(name, '=');
                size_t nlen = eq ? (size_t) (eq - name) : strlen(name);
                if (nlen == 4 && strncmp(name, "help", 4) == 0) {
                        print_help(stdout);
                        exit(0);
                }
                ArgId id = _ARG_MAX;
                for (size_t k = 0; k < _ARG_MAX; k++)
                        if (strlen(defs[k].name) == nlen && strncmp(defs[k].name, name, nlen) == 0 &&
                            defs[k].name[1] != 0)
                                id = (ArgId) k;
                if (id == _ARG_MAX)
                        fail_unexpected(arg);
                const ArgDef *d = &defs[id];
                char dn[96];
                if (d->kind == K_FLAG || d->kind == K_COUNT) {
                        if (eq) {
                                fprintf(stderr,
                                        "error: unexpected value '%s' for '%s' found; no more were "
                                        "expected\n\n%s\n%s",
                                        eq + 1, display_name(id, dn, sizeof(dn)), usage, more_info);
                                exit(2);
                        }
                        mark(&a, id);
                        continue;
                }
                mark(&a, id);
                if (eq) {
                        add_value(&a, id, eq + 1);
                } else {
                        if (i + 1 >= argc || looks_like_flag(argv[i + 1]))
                                fail(false, "a value is required for '%s' but none was supplied",
                                     display_name(id, dn, sizeof(dn)));
                        add_value(&a, id, argv[++i]);
                }
                if (d->kind == K_VALUES)
                        while (i + 1 < argc && !looks_like_flag(argv[i + 1]))
                                add_value(&a, id, argv[++i]);
        }

        /* ArgGroup("vm-config").requires("vm-payload") */
        bool vm_config = false, payload = a.present[ARG_KERNEL] || a.present[ARG_FIRMWARE];
        for (size_t k = 0; k < _ARG_MAX; k++)
                if (defs[k].group == G_VM_CONFIG && a.present[k])
                        vm_config = true;
        if (vm_config && !payload) {
                fprintf(stderr,
                        "error: the following required arguments were not provided:\n"
                        "  <--firmware <firmware>|--kernel <kernel>>\n\n"
                        "Usage: cloud-hypervisor <--firmware <firmware>|--kernel <kernel>> [OPTIONS]\n\n%s",
                        more_info);
                exit(2);
        }
        *ret = a;
}

const char *args_get(const Args *a, ArgId id) {
        if (a->n_values[id] > 0)
                return a->values[id][0];
        return defs[id].def;
}
