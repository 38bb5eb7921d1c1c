/* SPDX-License-Identifier: Apache-2.0 */
/* metalctl's pure parts: sizes, disk specs, state names, the request
 * bodies, the tables and texts shown to humans, the exit statuses, and the
 * option parser. The HTTP side is covered by tests/integration/test-metalctl.sh. */
#include <jansson.h>

#include "args.h"
#include "exit-status.h"
#include "format.h"
#include "request.h"
#include "test.h"

#define _cleanup_json_ _cleanup_(json_decrefp)

/* Compare j (taken) as compact JSON with want. */
#define CHECK_JSON(j, want)                                                                                 \
        do {                                                                                                \
                json_t *j_ = (j);                                                                           \
                char *s_ = j_ ? json_dumps(j_, JSON_COMPACT) : NULL;                                        \
                CHECK_STREQ(s_, want);                                                                      \
                free(s_);                                                                                   \
                json_decref(j_);                                                                            \
        } while (0)

static uint64_t size_or(const char *s, uint64_t fallback) {
        uint64_t v = fallback;
        return size_parse(s, &v) < 0 ? fallback : v;
}

static void test_size_parse(void) {
        const uint64_t bad = 777;
        CHECK_INTEQ(size_or("0", bad), 0);
        CHECK_INTEQ(size_or("4096", bad), 4096);
        CHECK_INTEQ(size_or("100B", bad), 100);
        CHECK_INTEQ(size_or("1024K", bad), 1048576);
        CHECK_INTEQ(size_or("512M", bad), 536870912);
        CHECK_INTEQ(size_or("512m", bad), 536870912);
        CHECK_INTEQ(size_or("512MiB", bad), 536870912);
        CHECK_INTEQ(size_or("1G", bad), 1073741824);
        CHECK_INTEQ(size_or("1gib", bad), 1073741824);
        CHECK_INTEQ(size_or("2T", bad), 2ULL << 40);
        /* nonsense */
        const char *nonsense[] = { "",    "M",   "-1G", "+1G",  " 1G", "1G ", "1.5G", "1,5G",
                                   "1GG", "1MB", "1kb", "0x10", "12Q", "1 G", "G1",   "ten" };
        for (size_t i = 0; i < ELEMENTSOF(nonsense); i++) {
                uint64_t v = bad;
                int r = size_parse(nonsense[i], &v);
                CHECK_INTEQ(r, -EINVAL);
                CHECK_INTEQ(v, bad);
        }
        uint64_t v;
        CHECK_INTEQ(size_parse(NULL, &v), -EINVAL);
        /* too large: beyond int64 (the JSON field is an int64) */
        CHECK_INTEQ(size_parse("8388608T", &v), -ERANGE);
        CHECK_INTEQ(size_parse("8388607T", &v), 0);
        CHECK_INTEQ(size_parse("99999999999999999999999", &v), -ERANGE);
        CHECK_INTEQ(size_parse("9223372036854775807", &v), 0);
        CHECK_INTEQ(size_parse("9223372036854775808", &v), -ERANGE);

        char *msg = NULL;
        CHECK_INTEQ(size_arg("memory", "1.5G", &v, &msg), -EINVAL);
        CHECK_STREQ(msg,
                    "--memory: \"1.5G\" is not a size: use a whole number with an optional unit K, M, G "
                    "or T (1K = 1024 bytes), e.g. 512M or 1G");
        free(msg);
        msg = NULL;
        CHECK_INTEQ(size_arg("memory", "9999999999T", &v, &msg), -ERANGE);
        CHECK_STREQ(msg, "--memory: \"9999999999T\" is too large");
        free(msg);
}

static void test_uint_arg(void) {
        uint64_t v = 0;
        char *msg = NULL;
        CHECK_INTEQ(uint_arg("limit", "10", 1, 100, &v, &msg), 0);
        CHECK_INTEQ(v, 10);
        CHECK(!msg);
        const char *bad[] = { "", "0", "101", "-1", "1x", " 1", "99999999999999999999999" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                CHECK_INTEQ(uint_arg("limit", bad[i], 1, 100, &v, &msg), -EINVAL);
                CHECK(msg != NULL);
                free(msg);
                msg = NULL;
        }
        CHECK_INTEQ(uint_arg("timeout", "x", 0, 600, &v, &msg), -EINVAL);
        CHECK_STREQ(msg, "--timeout: \"x\" is not a whole number between 0 and 600");
        free(msg);
}

static void check_disk(const char *spec, const char *want) {
        json_t *d = NULL;
        char *msg = NULL;
        int r = disk_parse(spec, &d, &msg);
        CHECK_INTEQ(r, 0);
        if (msg)
                fprintf(stderr, "disk_parse(%s): %s\n", spec, msg);
        free(msg);
        CHECK_JSON(d, want);
}

static void check_disk_bad(const char *spec, const char *want_message) {
        json_t *d = NULL;
        char *msg = NULL;
        CHECK_INTEQ(disk_parse(spec, &d, &msg), -EINVAL);
        CHECK(!d);
        CHECK_STREQ(msg, want_message);
        free(msg);
}

static void test_disk_parse(void) {
        check_disk("/a/root.ext4", "{\"path\":\"/a/root.ext4\",\"readonly\":false}");
        check_disk("/a/d.ext4,ro", "{\"path\":\"/a/d.ext4\",\"readonly\":true}");
        check_disk("/a/d.ext4,readonly,root",
                   "{\"path\":\"/a/d.ext4\",\"readonly\":true,\"is_root_device\":true}");
        check_disk("/a/d.ext4,ro,rw", "{\"path\":\"/a/d.ext4\",\"readonly\":false}");
        check_disk("/a/d.ext4,id=data,ro", "{\"path\":\"/a/d.ext4\",\"readonly\":true,\"id\":\"data\"}");
        check_disk("rel/d.ext4,root,id=x_1",
                   "{\"path\":\"rel/d.ext4\",\"readonly\":false,\"is_root_device\":true,\"id\":\"x_1\"}");
        check_disk_bad("", "--disk \"\": the path is missing (--disk PATH[,ro][,root][,id=NAME])");
        check_disk_bad(",ro", "--disk \",ro\": the path is missing (--disk PATH[,ro][,root][,id=NAME])");
        check_disk_bad("/a,rx",
                       "--disk \"/a,rx\": unknown option \"rx\" (use ro, rw, root or id=NAME; a path "
                       "with a comma needs create -f)");
        check_disk_bad("/a,id=",
                       "--disk \"/a,id=\": unknown option \"id=\" (use ro, rw, root or id=NAME; a path "
                       "with a comma needs create -f)");
}

static void test_state_from_name(void) {
        const char *s = NULL;
        CHECK_INTEQ(state_from_name("running", &s), 0);
        CHECK_STREQ(s, "VM_STATE_RUNNING");
        CHECK_INTEQ(state_from_name("PAUSED", &s), 0);
        CHECK_STREQ(s, "VM_STATE_PAUSED");
        CHECK_INTEQ(state_from_name("VM_STATE_SHUTDOWN", &s), 0);
        CHECK_STREQ(s, "VM_STATE_SHUTDOWN");
        CHECK_INTEQ(state_from_name("deleted", &s), 0);
        CHECK_STREQ(s, "VM_STATE_DELETED");
        CHECK_INTEQ(state_from_name("stopped", &s), -EINVAL);
        CHECK_INTEQ(state_from_name("VM_STATE_UNSPECIFIED", &s), -EINVAL);
        CHECK_INTEQ(state_from_name("", &s), -EINVAL);
        CHECK_INTEQ(state_from_name(NULL, &s), -EINVAL);
}

static void test_create_from_flags(void) {
        const char *disks[] = { "/assets/root.ext4,root", "/assets/data.ext4,ro,id=data" };
        const char *md[] = { "team=infra", "empty=", "k=v=w" };
        CreateArgs a = {
                .id = "web-1",
                .vcpus = "2",
                .max_vcpus = "4",
                .memory = "512M",
                .hotplug_memory = "1G",
                .kernel = "/assets/vmlinux",
                .kernel_args = "console=ttyS0",
                .initrd = "/assets/initrd",
                .disks = disks,
                .n_disks = 2,
                .customer = "acme",
                .backend = "firecracker",
                .restart_policy = "always",
                .metadata = md,
                .n_metadata = 3,
                .boot = true,
        };
        json_t *req = NULL;
        char *msg = NULL;
        CHECK_INTEQ(create_request_from_flags(&a, &req, &msg), 0);
        CHECK(!msg);
        CHECK_JSON(
                req,
                "{\"vm_id\":\"web-1\",\"config\":{\"cpu\":{\"vcpu_count\":2,\"max_vcpu_count\":4},"
                "\"memory\":{\"size_bytes\":536870912,\"hotplug_size_bytes\":1073741824},"
                "\"boot\":{\"kernel_path\":\"/assets/vmlinux\",\"kernel_args\":\"console=ttyS0\","
                "\"initrd_path\":\"/assets/initrd\"},"
                "\"storage\":[{\"path\":\"/assets/root.ext4\",\"readonly\":false,\"is_root_device\":true},"
                "{\"path\":\"/assets/data.ext4\",\"readonly\":true,\"id\":\"data\"}],"
                "\"metadata\":{\"team\":\"infra\",\"empty\":\"\",\"k\":\"v=w\"}},"
                "\"customer_id\":\"acme\",\"backend\":\"firecracker\",\"boot\":true,"
                "\"restart_policy\":\"always\"}");

        /* The least: no id (metald makes one), no disk. */
        CreateArgs min = { .vcpus = "1", .memory = "128M", .kernel = "/k" };
        req = NULL;
        CHECK_INTEQ(create_request_from_flags(&min, &req, &msg), 0);
        CHECK_JSON(req, "{\"config\":{\"cpu\":{\"vcpu_count\":1},\"memory\":{\"size_bytes\":134217728},"
                        "\"boot\":{\"kernel_path\":\"/k\"}}}");

        /* What is wrong is named. */
        static const struct {
                CreateArgs a;
                const char *message;
        } bad[] = {
                { { .memory = "1G", .kernel = "/k" },
                  "create: --vcpus is required (create needs --vcpus, --memory and --kernel, or a file with "
                  "-f)" },
                { { .vcpus = "1", .kernel = "/k" },
                  "create: --memory is required (create needs --vcpus, --memory and --kernel, or a file "
                  "with -f)" },
                { { .vcpus = "1", .memory = "1G" },
                  "create: --kernel is required (create needs --vcpus, --memory and --kernel, or a file "
                  "with -f)" },
                { { .vcpus = "two", .memory = "1G", .kernel = "/k" },
                  "--vcpus: \"two\" is not a whole number between 1 and 2147483647" },
                { { .vcpus = "1", .memory = "lots", .kernel = "/k" },
                  "--memory: \"lots\" is not a size: use a whole number with an optional unit K, M, G or T "
                  "(1K = "
                  "1024 bytes), e.g. 512M or 1G" },
                { { .vcpus = "1", .memory = "1G", .hotplug_memory = "-1", .kernel = "/k" },
                  "--hotplug-memory: \"-1\" is not a size: use a whole number with an optional unit K, M, G "
                  "or T "
                  "(1K = 1024 bytes), e.g. 512M or 1G" },
                { { .vcpus = "1", .memory = "1G", .kernel = "/k", .restart_policy = "sometimes" },
                  "--restart-policy: \"sometimes\" is not never, on-failure or always" },
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                req = NULL;
                msg = NULL;
                CHECK_INTEQ(create_request_from_flags(&bad[i].a, &req, &msg), -EINVAL);
                CHECK(!req);
                CHECK_STREQ(msg, bad[i].message);
                free(msg);
        }
        const char *bad_disk[] = { "/a,bogus" };
        CreateArgs d = { .vcpus = "1", .memory = "1G", .kernel = "/k", .disks = bad_disk, .n_disks = 1 };
        msg = NULL;
        CHECK_INTEQ(create_request_from_flags(&d, &req, &msg), -EINVAL);
        CHECK(msg && strstr(msg, "unknown option \"bogus\""));
        free(msg);
        const char *bad_md[] = { "novalue" };
        CreateArgs m = { .vcpus = "1", .memory = "1G", .kernel = "/k", .metadata = bad_md, .n_metadata = 1 };
        msg = NULL;
        CHECK_INTEQ(create_request_from_flags(&m, &req, &msg), -EINVAL);
        CHECK_STREQ(msg, "--metadata \"novalue\": use KEY=VALUE");
        free(msg);
}

static json_t *parse(const char *text) {
        json_error_t e;
        json_t *j = json_loads(text, 0, &e);
        if (!j)
                fprintf(stderr, "bad test JSON: %s\n", e.text);
        return j;
}

static void check_from_file(const char *file, const CreateArgs *a, const char *want) {
        _cleanup_json_ json_t *doc = parse(file);
        json_t *req = NULL;
        char *msg = NULL;
        int r = create_request_from_json(doc, a, &req, &msg);
        if (r < 0)
                fprintf(stderr, "create_request_from_json(%s): %s\n", file, msg ? msg : "?");
        CHECK_INTEQ(r, 0);
        free(msg);
        CHECK_JSON(req, want);
        /* The document itself is not touched. */
        char *again = json_dumps(doc, JSON_COMPACT);
        _cleanup_json_ json_t *orig = parse(file);
        char *o = json_dumps(orig, JSON_COMPACT);
        CHECK_STREQ(again, o);
        free(again);
        free(o);
}

static void test_create_from_file(void) {
        const CreateArgs none = { 0 };
        /* A VmConfig (snake_case or camelCase) becomes the request's config. */
        check_from_file("{\"cpu\":{\"vcpu_count\":1},\"boot\":{\"kernel_path\":\"/k\"}}", &none,
                        "{\"config\":{\"cpu\":{\"vcpu_count\":1},\"boot\":{\"kernel_path\":\"/k\"}}}");
        check_from_file("{\"cpu\":{\"vcpuCount\":1}}", &none, "{\"config\":{\"cpu\":{\"vcpuCount\":1}}}");
        /* A whole CreateVmRequest is sent as it is. */
        check_from_file("{\"vmId\":\"a\",\"boot\":true,\"config\":{}}", &none,
                        "{\"vmId\":\"a\",\"boot\":true,\"config\":{}}");
        check_from_file("{\"customer_id\":\"c\"}", &none, "{\"customer_id\":\"c\"}");
        /* Request-level flags are laid over it, replacing either spelling. */
        const char *md[] = { "a=b" };
        CreateArgs over = { .id = "x",
                            .customer = "acme",
                            .backend = "qemu",
                            .restart_policy = "never",
                            .boot = true,
                            .metadata = md,
                            .n_metadata = 1 };
        check_from_file("{\"vmId\":\"a\",\"customerId\":\"old\",\"restartPolicy\":\"always\",\"config\":{"
                        "\"metadata\":{\"z\":\"1\"}}}",
                        &over,
                        "{\"config\":{\"metadata\":{\"z\":\"1\",\"a\":\"b\"}},\"vm_id\":\"x\",\"customer_"
                        "id\":\"acme\","
                        "\"backend\":\"qemu\",\"boot\":true,\"restart_policy\":\"never\"}");
        check_from_file(
                "{\"boot\":{\"kernel_path\":\"/k\"}}", &over,
                "{\"config\":{\"boot\":{\"kernel_path\":\"/k\"},\"metadata\":{\"a\":\"b\"}},\"vm_id\":\"x\","
                "\"customer_id\":\"acme\",\"backend\":\"qemu\",\"boot\":true,\"restart_policy\":\"never\"}");

        /* Which kind of document: */
        _cleanup_json_ json_t *cfg = parse("{\"boot\":{\"kernel_path\":\"/k\"},\"cpu\":{}}");
        _cleanup_json_ json_t *req = parse("{\"boot\":false,\"config\":{}}");
        _cleanup_json_ json_t *req2 = parse("{\"restart_policy\":\"never\"}");
        CHECK(!create_file_is_request(cfg));
        CHECK(create_file_is_request(req));
        CHECK(create_file_is_request(req2));

        /* Config flags do not mix with a file; a file must hold an object. */
        static const struct {
                CreateArgs a;
                const char *message;
        } bad[] = {
                { { .vcpus = "1" }, "--vcpus cannot be combined with -f: the file holds the VM's config" },
                { { .memory = "1G" },
                  "--memory cannot be combined with -f: the file holds the VM's config" },
                { { .kernel_args = "x" },
                  "--kernel-args cannot be combined with -f: the file holds the VM's config" },
                { { .n_disks = 1 }, "--disk cannot be combined with -f: the file holds the VM's config" },
                { { .restart_policy = "maybe" },
                  "--restart-policy: \"maybe\" is not never, on-failure or always" },
        };
        _cleanup_json_ json_t *doc = parse("{\"cpu\":{}}");
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                json_t *out = NULL;
                char *msg = NULL;
                CHECK_INTEQ(create_request_from_json(doc, &bad[i].a, &out, &msg), -EINVAL);
                CHECK(!out);
                CHECK_STREQ(msg, bad[i].message);
                free(msg);
        }
        _cleanup_json_ json_t *arr = parse("[1]");
        json_t *out = NULL;
        char *msg = NULL;
        CHECK_INTEQ(create_request_from_json(arr, &none, &out, &msg), -EINVAL);
        CHECK_STREQ(msg, "-f: the file must hold a JSON object (a VmConfig or a CreateVmRequest)");
        free(msg);
        msg = NULL;
        _cleanup_json_ json_t *badmd = parse("{\"config\":{\"metadata\":[]}}");
        CreateArgs with_md = { .metadata = md, .n_metadata = 1 };
        CHECK_INTEQ(create_request_from_json(badmd, &with_md, &out, &msg), -EINVAL);
        CHECK_STREQ(msg, "--metadata: the file's config.metadata is not an object");
        free(msg);
}

static void test_other_requests(void) {
        CHECK_JSON(vm_request("a", false, 0), "{\"vm_id\":\"a\"}");
        CHECK_JSON(vm_request("a", true, 0), "{\"vm_id\":\"a\",\"force\":true}");
        CHECK_JSON(vm_request("a", true, 5), "{\"vm_id\":\"a\",\"force\":true,\"timeout_seconds\":5}");
        CHECK_JSON(list_request(NULL, 0, NULL, false, 0, NULL), "{}");
        const char *states[] = { "VM_STATE_RUNNING", "VM_STATE_PAUSED" };
        CHECK_JSON(list_request(states, 2, "acme", true, 50, "p7"),
                   "{\"page_size\":50,\"page_token\":\"p7\",\"state_filter\":[\"VM_STATE_RUNNING\","
                   "\"VM_STATE_PAUSED\"],\"customer_id\":\"acme\",\"include_deleted\":true}");
        CHECK_JSON(list_request(NULL, 0, NULL, false, 0, ""), "{}");
        CHECK_JSON(history_request("a", 0, NULL), "{\"vm_id\":\"a\"}");
        CHECK_JSON(history_request("a", 3, "p5"), "{\"vm_id\":\"a\",\"page_size\":3,\"page_token\":\"p5\"}");
        CHECK_JSON(metrics_request("a", NULL, NULL, 0, NULL), "{\"vm_id\":\"a\"}");
        CHECK_JSON(metrics_request("a", "2024-05-01T12:00:00Z", "1714569600000", 10, "p1f"),
                   "{\"vm_id\":\"a\",\"from\":\"2024-05-01T12:00:00Z\",\"to\":\"1714569600000\",\"page_"
                   "size\":10,"
                   "\"page_token\":\"p1f\"}");
        CHECK_JSON(console_request("a", 0, 0), "{\"vm_id\":\"a\",\"offset\":0}");
        CHECK_JSON(console_request("a", 5000000000ULL, 1048576),
                   "{\"vm_id\":\"a\",\"offset\":5000000000,\"max_bytes\":1048576}");
}

static void test_format_size(void) {
        char b[FORMAT_SIZE_MAX];
        CHECK_STREQ(format_size(0, b), "0B");
        CHECK_STREQ(format_size(1023, b), "1023B");
        CHECK_STREQ(format_size(1024, b), "1K");
        CHECK_STREQ(format_size(1536, b), "1.5K");
        CHECK_STREQ(format_size(134217728, b), "128M");
        CHECK_STREQ(format_size(536870912, b), "512M");
        CHECK_STREQ(format_size(1073741824, b), "1G");
        CHECK_STREQ(format_size(1610612736, b), "1.5G");
        CHECK_STREQ(format_size(1073741823, b), "1G"); /* 1023.99...M rounds up to the next unit */
        CHECK_STREQ(format_size(1100ULL << 20, b), "1.1G");
        CHECK_STREQ(format_size(3ULL << 40, b), "3T");
        CHECK_STREQ(format_size(2048ULL << 40, b), "2048T");
        CHECK_STREQ(format_size(UINT64_MAX, b), "16777216T");
        /* What metalctl prints, it reads back. */
        uint64_t v;
        CHECK_INTEQ(size_parse(format_size(268435456, b), &v), 0);
        CHECK_INTEQ(v, 268435456);
}

static void test_format_duration(void) {
        char b[FORMAT_SIZE_MAX];
        CHECK_STREQ(format_duration(0, b), "0s");
        CHECK_STREQ(format_duration(59, b), "59s");
        CHECK_STREQ(format_duration(60, b), "1m00s");
        CHECK_STREQ(format_duration(185, b), "3m05s");
        CHECK_STREQ(format_duration(7380, b), "2h03m");
        CHECK_STREQ(format_duration(86399, b), "23h59m");
        CHECK_STREQ(format_duration(4 * 86400 + 2 * 3600 + 59, b), "4d02h");
}

static void test_metrics_table(void) {
        _cleanup_json_ json_t *samples =
                parse("[{\"at\":\"2026-11-28T14:32:40.000Z\",\"intervalMs\":\"10000\",\"running\":true,"
                      "\"cpuNs\":\"123\","
                      "\"cpuUsagePercent\":12.345,\"rssBytes\":\"52428800\",\"uptimeMs\":\"3723000\","
                      "\"blockReadBytes\":\"1048576\",\"blockWriteBytes\":\"0\",\"netRxBytes\":\"1536\","
                      "\"netTxBytes\":\"100\"},"
                      "{\"at\":\"2026-11-28T14:32:50.000Z\",\"cpuUsagePercent\":0}]");
        char *text = NULL;
        CHECK_INTEQ(metrics_table(samples, &text), 0);
        CHECK_STREQ(text,
                    "AT                    CPU%  MEMORY  UPTIME  DISK-READ  DISK-WRITE  NET-RX  NET-TX\n"
                    "2026-11-28T14:32:40Z  12.3     50M   1h02m         1M          0B    1.5K    100B\n"
                    "2026-11-28T14:32:50Z   0.0       -       -          -           -       -       -\n");
        free(text);
}

static void test_state_label_and_time(void) {
        CHECK_STREQ(state_label("VM_STATE_RUNNING"), "running");
        CHECK_STREQ(state_label("VM_STATE_DELETED"), "deleted");
        CHECK_STREQ(state_label("VM_STATE_UNSPECIFIED"), "-");
        CHECK_STREQ(state_label("VM_STATE_NEW_ONE"), "VM_STATE_NEW_ONE");
        CHECK_STREQ(state_label(""), "-");
        CHECK_STREQ(state_label(NULL), "-");
        char b[40];
        CHECK_STREQ(format_time("2026-11-28T14:32:43.215Z", b, sizeof b), "2026-11-28T14:32:43Z");
        CHECK_STREQ(format_time("2026-11-28T14:32:43Z", b, sizeof b), "2026-11-28T14:32:43Z");
        CHECK_STREQ(format_time("yesterday", b, sizeof b), "yesterday");
        CHECK_STREQ(format_time("", b, sizeof b), "-");
        CHECK_STREQ(format_time(NULL, b, sizeof b), "-");

        int64_t x = 0;
        _cleanup_json_ json_t *n = json_integer(42), *s = json_string("9000000000"),
                              *bad = json_string("12ab"), *neg = json_string("-3"), *t = json_true();
        CHECK_INTEQ(json_int64(n, &x), 0);
        CHECK_INTEQ(x, 42);
        CHECK_INTEQ(json_int64(s, &x), 0);
        CHECK_INTEQ(x, 9000000000LL);
        CHECK_INTEQ(json_int64(neg, &x), 0);
        CHECK_INTEQ(x, -3);
        CHECK_INTEQ(json_int64(bad, &x), -EINVAL);
        CHECK_INTEQ(json_int64(t, &x), -EINVAL);
        CHECK_INTEQ(json_int64(NULL, &x), -EINVAL);
}

static void test_table(void) {
        static const TableColumn cols[] = { { "NAME", TABLE_LEFT },
                                            { "N", TABLE_RIGHT },
                                            { "NOTE", TABLE_LEFT } };
        Table *t = NULL;
        CHECK_INTEQ(table_new(cols, 3, &t), 0);
        const char *r1[] = { "a", "1", "first" };
        const char *r2[] = { "longer-name", "12345", NULL };
        const char *r3[] = { "h\xc3\xa9llo", "", "tab\there\x1b[31m" };
        CHECK_INTEQ(table_add_row(t, r1), 0);
        CHECK_INTEQ(table_add_row(t, r2), 0);
        CHECK_INTEQ(table_add_row(t, r3), 0);
        CHECK_INTEQ(table_rows(t), 3);
        char *text = NULL;
        CHECK_INTEQ(table_format(t, &text), 0);
        /* Padded to the widest cell in characters (é is one); numbers to the
         * right; empty cells as "-"; control characters as '?'; the last
         * column unpadded. */
        CHECK_STREQ(text, "NAME             N  NOTE\n"
                          "a                1  first\n"
                          "longer-name  12345  -\n"
                          "h\xc3\xa9llo            -  tab?here?[31m\n");
        free(text);
        table_free(t);

        /* Many rows (the array grows), and an empty table is its header. */
        t = NULL;
        CHECK_INTEQ(table_new(cols, 3, &t), 0);
        text = NULL;
        CHECK_INTEQ(table_format(t, &text), 0);
        CHECK_STREQ(text, "NAME  N  NOTE\n");
        free(text);
        for (int i = 0; i < 100; i++)
                CHECK_INTEQ(table_add_row(t, r1), 0);
        CHECK_INTEQ(table_rows(t), 100);
        text = NULL;
        CHECK_INTEQ(table_format(t, &text), 0);
        CHECK_INTEQ(strlen(text), strlen("NAME  N  NOTE\n") + 100 * strlen("a     1  first\n"));
        free(text);
        CHECK(table_free(t) == NULL);
        CHECK(table_free(NULL) == NULL);
}

static void test_vm_list_table(void) {
        _cleanup_json_ json_t *vms = parse(
                "[{\"vmId\":\"web-1\",\"state\":\"VM_STATE_RUNNING\",\"desiredState\":\"VM_STATE_RUNNING\","
                "\"transitioning\":false,\"lifecycleState\":\"running\",\"vcpuCount\":2,\"memorySizeBytes\":"
                "\"536870912\","
                "\"customerId\":\"acme\",\"backend\":\"firecracker\",\"createdAt\":\"2026-11-28T14:32:43."
                "215Z\"},"
                "{\"vmId\":\"vm-0123456789abcdefghijklmnop\",\"state\":\"VM_STATE_CREATED\","
                "\"desiredState\":\"VM_STATE_RUNNING\",\"transitioning\":true,\"lifecycleState\":"
                "\"booting\","
                "\"vcpuCount\":16,\"memorySizeBytes\":1073741824,\"customerId\":\"\",\"backend\":\"cloud-"
                "hypervisor\","
                "\"createdAt\":\"2026-11-28T15:00:00.000Z\"},"
                "{\"vmId\":\"f\",\"state\":\"VM_STATE_FAILED\",\"desiredState\":\"VM_STATE_RUNNING\","
                "\"transitioning\":false,\"lifecycleState\":\"failed\",\"vcpuCount\":1,\"memorySizeBytes\":"
                "\"134217728\","
                "\"backend\":\"firecracker\",\"createdAt\":\"2026-11-28T15:00:01.000Z\"}]");
        char *text = NULL;
        CHECK_INTEQ(vm_list_table(vms, &text), 0);
        CHECK_STREQ(text, "ID                             STATE             VCPUS  MEMORY  BACKEND          "
                          " CUSTOMER  CREATED\n"
                          "web-1                          running               2    512M  firecracker      "
                          " acme      2026-11-28T14:32:43Z\n"
                          "vm-0123456789abcdefghijklmnop  booting->running     16      1G  cloud-hypervisor "
                          " -         2026-11-28T15:00:00Z\n"
                          "f                              failed->running       1    128M  firecracker      "
                          " -         2026-11-28T15:00:01Z\n");
        free(text);
        _cleanup_json_ json_t *none = json_array();
        text = NULL;
        CHECK_INTEQ(vm_list_table(none, &text), 0);
        CHECK_STREQ(text, "ID  STATE  VCPUS  MEMORY  BACKEND  CUSTOMER  CREATED\n");
        free(text);
}

static void test_history_table(void) {
        _cleanup_json_ json_t *ev =
                parse("[{\"seq\":\"4\",\"at\":\"2026-11-28T14:32:43.215Z\",\"kind\":\"desired\","
                      "\"fromState\":\"pending\","
                      "\"toState\":\"running\",\"generation\":\"1\",\"reason\":\"CreateVm\"},"
                      "{\"seq\":\"15\",\"at\":\"2026-11-28T14:32:43.216Z\",\"kind\":\"observed\","
                      "\"fromState\":\"booting\","
                      "\"toState\":\"running\",\"generation\":\"12\",\"reason\":\"guest booted by "
                      "firecracker pid 7\"}]");
        char *text = NULL;
        CHECK_INTEQ(history_table(ev, &text), 0);
        CHECK_STREQ(text, "SEQ  AT                    KIND      FROM     TO       GEN  REASON\n"
                          "  4  2026-11-28T14:32:43Z  desired   pending  running    1  CreateVm\n"
                          " 15  2026-11-28T14:32:43Z  observed  booting  running   12  guest booted by "
                          "firecracker pid 7\n");
        free(text);
}

static void test_vm_info_text(void) {
        _cleanup_json_ json_t *info = parse(
                "{\"vmId\":\"a2\",\"config\":{\"boot\":{\"initrdPath\":\"\",\"kernelArgs\":\"console="
                "ttyS0\","
                "\"kernelPath\":\"/assets/vmlinux\"},\"cpu\":{\"maxVcpuCount\":4,\"vcpuCount\":2},"
                "\"memory\":{\"hotplugSizeBytes\":\"1073741824\",\"sizeBytes\":\"134217728\"},"
                "\"metadata\":{\"team\":\"infra\",\"tier\":\"web\"},\"storage\":[{\"id\":\"rootfs\","
                "\"isRootDevice\":true,"
                "\"path\":\"/assets/"
                "rootfs.ext4\",\"readonly\":false},{\"id\":\"data\",\"isRootDevice\":false,"
                "\"path\":\"/assets/data.ext4\",\"readonly\":true}]},\"state\":\"VM_STATE_RUNNING\","
                "\"desiredState\":\"VM_STATE_RUNNING\",\"transitioning\":false,\"lifecycleState\":"
                "\"running\","
                "\"customerId\":\"\",\"backend\":\"firecracker\",\"generation\":\"3\","
                "\"observedGeneration\":\"3\","
                "\"lastError\":\"\",\"attempts\":0,\"createdAt\":\"2026-11-28T14:32:43.215Z\","
                "\"updatedAt\":\"2026-11-28T14:32:43.222Z\",\"backendInfo\":{\"backend\":\"firecracker\","
                "\"vmmPid\":14816,\"apiSocketPath\":\"/d/vms/a2/api.sock\",\"consoleLogPath\":\"/d/vms/a2/"
                "console.log\","
                "\"runDir\":\"/d/vms/"
                "a2\"},\"restartPolicy\":\"on-failure\",\"restarts\":0,\"lastExit\":\"\"}");
        char *text = NULL;
        CHECK_INTEQ(vm_info_text(info, &text), 0);
        CHECK_STREQ(text, "ID:             a2\n"
                          "State:          running\n"
                          "Desired state:  running\n"
                          "Lifecycle:      running\n"
                          "Customer:       -\n"
                          "Backend:        firecracker\n"
                          "VMM pid:        14816\n"
                          "vCPUs:          2 (max 4)\n"
                          "Memory:         128M (+1G hotplug)\n"
                          "Kernel:         /assets/vmlinux\n"
                          "Kernel args:    console=ttyS0\n"
                          "Initrd:         -\n"
                          "Disks:          rootfs /assets/rootfs.ext4 (rw, root)\n"
                          "                data /assets/data.ext4 (ro)\n"
                          "Metadata:       team=infra\n"
                          "                tier=web\n"
                          "Restart policy: on-failure (restarts: 0)\n"
                          "Generation:     3 (observed 3)\n"
                          "Attempts:       0\n"
                          "Last error:     -\n"
                          "Last exit:      -\n"
                          "Created:        2026-11-28T14:32:43Z\n"
                          "Updated:        2026-11-28T14:32:43Z\n"
                          "Run dir:        /d/vms/a2\n"
                          "API socket:     /d/vms/a2/api.sock\n"
                          "Console log:    /d/vms/a2/console.log\n");
        free(text);
        /* With usage ("metrics"), its lines follow the restart policy. */
        json_object_set_new(
                info, "metrics",
                parse("{\"sampledAt\":\"2026-11-28T14:33:00.000Z\",\"cpuUsagePercent\":2.5,"
                      "\"memoryBytes\":\"104857600\",\"uptimeSeconds\":\"125\",\"cpuSeconds\":3.25,"
                      "\"networkRxBytes\":\"2048\",\"networkTxBytes\":\"0\",\"storageReadBytes\":"
                      "\"1073741824\","
                      "\"storageWriteBytes\":\"512\"}"));
        text = NULL;
        CHECK_INTEQ(vm_info_text(info, &text), 0);
        CHECK(strstr(text, "Restart policy: on-failure (restarts: 0)\n"
                           "CPU:            2.5% now, 3.2 s in all\n"
                           "Memory used:    100M\n"
                           "Uptime:         2m05s\n"
                           "Network:        2K received, 0B sent\n"
                           "Storage:        1G read, 512B written\n"
                           "Sampled:        2026-11-28T14:33:00Z\n"
                           "Generation:") != NULL);
        free(text);

        /* A sparse answer still prints every line. */
        _cleanup_json_ json_t *sparse =
                parse("{\"vmId\":\"x\",\"transitioning\":true,\"lifecycleState\":\"booting\","
                      "\"lastError\":\"line1\\nline2\"}");
        text = NULL;
        CHECK_INTEQ(vm_info_text(sparse, &text), 0);
        CHECK(strstr(text, "Lifecycle:      booting (in progress)\n") != NULL);
        CHECK(strstr(text, "Last error:     line1?line2\n") != NULL);
        CHECK(strstr(text, "Disks:          -\n") != NULL);
        free(text);
}

static void test_console_skip(void) {
        CHECK_INTEQ(console_skip_partial_line("tail of a line\nnext\n", 20), 15);
        CHECK_INTEQ(console_skip_partial_line("\nx", 2), 1);
        CHECK_INTEQ(console_skip_partial_line("no newline", 10), 0);
        CHECK_INTEQ(console_skip_partial_line("", 0), 0);
}

static void test_exit_status(void) {
        static const struct {
                const char *code;
                ExitStatus status;
        } table[] = {
                { "invalid_argument", EXIT_REFUSED },  { "failed_precondition", EXIT_REFUSED },
                { "already_exists", EXIT_REFUSED },    { "aborted", EXIT_REFUSED },
                { "out_of_range", EXIT_REFUSED },      { "permission_denied", EXIT_REFUSED },
                { "unauthenticated", EXIT_REFUSED },   { "not_found", EXIT_NOT_FOUND },
                { "deadline_exceeded", EXIT_TIMEOUT }, { "unimplemented", EXIT_UNSUPPORTED },
                { "unavailable", EXIT_SERVER },        { "resource_exhausted", EXIT_SERVER },
                { "internal", EXIT_SERVER },           { "unknown", EXIT_SERVER },
                { "data_loss", EXIT_SERVER },          { "canceled", EXIT_SERVER },
                { "something_new", EXIT_SERVER },      { NULL, EXIT_SERVER },
        };
        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                CHECK_INTEQ(exit_status_from_connect_code(table[i].code), table[i].status);
        /* The numbers scripts rely on. */
        CHECK_INTEQ(EXIT_OK, 0);
        CHECK_INTEQ(EXIT_USAGE, 1);
        CHECK_INTEQ(EXIT_REFUSED, 2);
        CHECK_INTEQ(EXIT_NOT_FOUND, 3);
        CHECK_INTEQ(EXIT_UNREACHABLE, 4);
        CHECK_INTEQ(EXIT_TIMEOUT, 5);
        CHECK_INTEQ(EXIT_VM_FAILED, 6);
        CHECK_INTEQ(EXIT_SERVER, 7);
        CHECK_INTEQ(EXIT_UNSUPPORTED, 8);
        CHECK_INTEQ(EXIT_LOCAL, 9);
        for (int s = 0; s < _EXIT_STATUS_MAX; s++)
                CHECK(exit_status_description((ExitStatus) s) != NULL);
        CHECK(exit_status_description(_EXIT_STATUS_MAX) == NULL);

        CHECK_STREQ(connect_code_from_http_status(400), "internal");
        CHECK_STREQ(connect_code_from_http_status(401), "unauthenticated");
        CHECK_STREQ(connect_code_from_http_status(403), "permission_denied");
        CHECK_STREQ(connect_code_from_http_status(404), "unimplemented");
        CHECK_STREQ(connect_code_from_http_status(429), "unavailable");
        CHECK_STREQ(connect_code_from_http_status(502), "unavailable");
        CHECK_STREQ(connect_code_from_http_status(503), "unavailable");
        CHECK_STREQ(connect_code_from_http_status(504), "unavailable");
        CHECK_STREQ(connect_code_from_http_status(500), "unknown");
        CHECK_STREQ(connect_code_from_http_status(418), "unknown");
        /* A bare 404 (no such RPC on an older server) reads as unsupported. */
        CHECK_INTEQ(exit_status_from_connect_code(connect_code_from_http_status(404)), EXIT_UNSUPPORTED);
}

static const OptionSpec g_opts[] = {
        { "url", 0, ARG_STRING, offsetof(Args, url), "URL", "" },
        { "json", 0, ARG_OPTIONAL_STRING, offsetof(Args, json), "F", "" },
        { "help", 'h', ARG_FLAG, offsetof(Args, help), NULL, "" },
};
static const OptionSpec c_opts[] = {
        { "disk", 0, ARG_LIST, offsetof(Args, disks), "D", "" },
        { "force", 0, ARG_FLAG, offsetof(Args, force), NULL, "" },
        { "file", 'f', ARG_STRING, offsetof(Args, file), "F", "" },
};

static void test_args(void) {
        char *argv[] = { "metalctl", "--url", "http://x:1", "create",       "--disk",  "/a", "vm1",
                         "--json",   "-f",    "c.json",     "--disk=/b,ro", "--force", NULL };
        int argc = (int) ELEMENTSOF(argv) - 1;
        Args a = { 0 };
        char *msg = NULL;
        const OptionSpec *tables[] = { g_opts, c_opts };
        size_t sizes[] = { ELEMENTSOF(g_opts), ELEMENTSOF(c_opts) };
        /* The global parse stops at the command. */
        CHECK_INTEQ(args_parse(tables, sizes, 1, argc, argv, true, &a, &msg), 0);
        CHECK_STREQ(a.url, "http://x:1");
        CHECK_INTEQ(a.n_positional, 9);
        CHECK_STREQ(a.positional[0], "create");
        /* The command's parse takes its options and the global ones anywhere. */
        CHECK_INTEQ(args_parse(tables, sizes, 2, (int) a.n_positional, a.positional, false, &a, &msg), 0);
        CHECK_INTEQ(a.disks.n, 2);
        CHECK_STREQ(a.disks.items[0], "/a");
        CHECK_STREQ(a.disks.items[1], "/b,ro");
        CHECK_STREQ(a.json, "");
        CHECK_STREQ(a.file, "c.json");
        CHECK(a.force);
        CHECK(!a.help);
        CHECK_INTEQ(a.n_positional, 1);
        CHECK_STREQ(a.positional[0], "vm1");
        args_done(&a);

        static const struct {
                const char *word;
                const char *message;
        } bad[] = {
                { "--nope", "unknown option --nope" },
                { "-x", "unknown option -x" },
                { "--disk", "--disk needs a value" },
                { "-f", "-f needs a value" },
                { "--force=yes", "unknown option --force=yes" },
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                char *v[] = { "create", (char *) bad[i].word, NULL };
                Args b = { 0 };
                msg = NULL;
                CHECK_INTEQ(args_parse(tables, sizes, 2, 2, v, false, &b, &msg), -EINVAL);
                CHECK_STREQ(msg, bad[i].message);
                free(msg);
                args_done(&b);
        }
        char *v[] = { "list", "--json=compact", "--", "--not-an-option", NULL };
        Args c = { 0 };
        msg = NULL;
        CHECK_INTEQ(args_parse(tables, sizes, 2, 4, v, false, &c, &msg), 0);
        CHECK_STREQ(c.json, "compact");
        CHECK_INTEQ(c.n_positional, 1);
        CHECK_STREQ(c.positional[0], "--not-an-option");
        args_done(&c);
}

int main(void) {
        test_size_parse();
        test_uint_arg();
        test_disk_parse();
        test_state_from_name();
        test_create_from_flags();
        test_create_from_file();
        test_other_requests();
        test_format_size();
        test_format_duration();
        test_metrics_table();
        test_state_label_and_time();
        test_table();
        test_vm_list_table();
        test_history_table();
        test_vm_info_text();
        test_console_skip();
        test_exit_status();
        test_args();
        return test_done("test-metalctl");
}
