/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for vm/vm-config.c: decoding (both name spellings, every type
 * error), validation (every rule, with the error's field checked exactly),
 * asset-root containment against real files, symlinks and "..", default
 * disk ids and root device, canonical JSON round trip, equality, VM ids.
 *
 * Test JSON is written with ` for " to stay readable; $A, $D and $T expand
 * to the asset root, a second root and the temporary directory.
 */
#include "vm/vm-config.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>

#define CHECK(expr)                                                                                         \
        do {                                                                                                \
                if (!(expr)) {                                                                              \
                        fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #expr);            \
                        exit(1);                                                                            \
                }                                                                                           \
        } while (0)

#define CHECK_STREQ(a, b)                                                                                   \
        do {                                                                                                \
                const char *_a = (a), *_b = (b);                                                            \
                if (!streq_ptr(_a, _b)) {                                                                   \
                        fprintf(stderr, "%s:%d: CHECK failed: %s == %s\n  got:      %s\n  expected: %s\n",  \
                                __FILE__, __LINE__, #a, #b, _a ? _a : "(null)", _b ? _b : "(null)");        \
                        exit(1);                                                                            \
                }                                                                                           \
        } while (0)

#define MIB (UINT64_C(1) << 20)
#define HOST_MEM (UINT64_C(8) << 30)

/* Short enough that paths built from them fit PATH_MAX buffers. */
static char tmp_dir[256], asset_dir[300], data_dir[300];
static char *roots_a[1];
static char *roots_ad[2];

/* A valid base config, and its pieces for building variants. */
#define CPU1 "`cpu`:{`vcpu_count`:1}"
#define MEM128 "`memory`:{`size_bytes`:134217728}"
#define BOOT "`boot`:{`kernel_path`:`$A/vmlinux`}"
#define DISK "`storage`:[{`path`:`$A/rootfs.ext4`}]"
#define BASE "{" CPU1 "," MEM128 "," BOOT "," DISK "}"
/* A config with the given memory sizes (JSON text). */
#define MEMHP(size, hotplug)                                                                                \
        "{" CPU1 ",`memory`:{`size_bytes`:" size ",`hotplug_size_bytes`:" hotplug "}," BOOT "}"
/* Everything but storage, to append `,"storage":[...]}` to. */
#define NO_DISKS "{" CPU1 "," MEM128 "," BOOT

/* Returns a malloc'ed copy of tmpl with $A/$D/$T expanded and, if
 * json_quotes, every ` turned into ". */
static char *expand(const char *tmpl, bool json_quotes) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        CHECK(f);
        for (const char *p = tmpl; *p; p++) {
                if (json_quotes && *p == '`')
                        fputc('"', f);
                else if (p[0] == '$' && p[1] == 'A') {
                        fputs(asset_dir, f);
                        p++;
                } else if (p[0] == '$' && p[1] == 'D') {
                        fputs(data_dir, f);
                        p++;
                } else if (p[0] == '$' && p[1] == 'T') {
                        fputs(tmp_dir, f);
                        p++;
                } else
                        fputc(*p, f);
        }
        CHECK(fclose(f) == 0);
        return buf;
}

/* Parses test JSON text (NUL escapes allowed, so their rejection can be
 * tested) or fails the test at line. */
static json_t *parse_json(int line, const char *text) {
        json_error_t e;
        json_t *j = json_loads(text, JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &e);
        if (!j) {
                fprintf(stderr, "line %d: bad test JSON (%s): %s\n", line, e.text, text);
                exit(1);
        }
        return j;
}

/* Checks that err names exactly `field` (or, if it ends in '*', starts with
 * it) and that its message contains msg (or, if msg starts with '=', is it),
 * and that both are printable ASCII. */
static void check_error(int line, const VmError *err, const char *field, const char *msg) {
        _cleanup_free_ char *efield = expand(field, false), *emsg = expand(msg, false);
        size_t flen = strlen(efield);
        bool ok_field, ok_msg;

        if (flen > 0 && efield[flen - 1] == '*')
                ok_field = strncmp(err->field, efield, flen - 1) == 0;
        else
                ok_field = streq(err->field, efield);
        if (emsg[0] == '=')
                ok_msg = streq(err->message, emsg + 1);
        else
                ok_msg = strstr(err->message, emsg) != NULL;
        if (!ok_field || !ok_msg) {
                fprintf(stderr, "line %d: wrong error\n  got:      %s: %s\n  expected: %s: %s\n", line,
                        err->field, err->message, efield, emsg);
                exit(1);
        }
        for (const char *s = err->message; *s; s++)
                if (*s < 0x20 || *s >= 0x7f) {
                        fprintf(stderr, "line %d: message not printable ASCII: %s\n", line, err->message);
                        exit(1);
                }
        for (const char *s = err->field; *s; s++)
                if (*s < 0x20 || *s >= 0x7f) {
                        fprintf(stderr, "line %d: field not printable ASCII: %s\n", line, err->field);
                        exit(1);
                }
}

/* Decodes tmpl with prefix "config"; fails the test at line unless it works. */
static VmConfig *decode_ok(int line, const char *tmpl) {
        _cleanup_free_ char *text = expand(tmpl, true);
        json_auto_t *j = parse_json(line, text);
        VmConfig *c = NULL;
        VmError err;
        int r = vm_config_from_json(j, "config", &c, &err);
        if (r < 0) {
                fprintf(stderr, "line %d: decode failed: %d %s: %s\n  for %s\n", line, r, err.field,
                        err.message, text);
                exit(1);
        }
        CHECK(c);
        return c;
}

/* Decodes tmpl and expects -EINVAL with the given error; *ret untouched. */
static void decode_fails(int line, const char *tmpl, const char *field, const char *msg) {
        _cleanup_free_ char *text = expand(tmpl, true);
        json_auto_t *j = parse_json(line, text);
        VmConfig sentinel, *c = &sentinel;
        VmError err;
        int r = vm_config_from_json(j, "config", &c, &err);
        if (r != -EINVAL) {
                fprintf(stderr, "line %d: decode returned %d, expected -EINVAL\n  for %s\n", line, r, text);
                exit(1);
        }
        if (c != &sentinel) {
                fprintf(stderr, "line %d: *ret written on failure\n", line);
                exit(1);
        }
        check_error(line, &err, field, msg);
}

/* Decodes and validates tmpl; fails the test at line unless both work. */
static VmConfig *validate_ok(int line, const char *tmpl, char *const *roots, size_t n_roots, uint64_t host) {
        VmConfig *c = decode_ok(line, tmpl);
        VmError err;
        int r = vm_config_validate(c, roots, n_roots, host, &err);
        if (r < 0) {
                fprintf(stderr, "line %d: validate failed: %d %s: %s\n  for %s\n", line, r, err.field,
                        err.message, tmpl);
                exit(1);
        }
        return c;
}

/* Decodes tmpl (must work) and expects validation to fail with the given error. */
static void validate_fails(int line, const char *tmpl, char *const *roots, size_t n_roots, uint64_t host,
                           const char *field, const char *msg) {
        _cleanup_(vm_config_freep) VmConfig *c = decode_ok(line, tmpl);
        VmError err;
        int r = vm_config_validate(c, roots, n_roots, host, &err);
        if (r != -EINVAL) {
                fprintf(stderr, "line %d: validate returned %d, expected -EINVAL\n  for %s\n", line, r,
                        tmpl);
                exit(1);
        }
        check_error(line, &err, field, msg);
}

#define DECODE_OK(tmpl) decode_ok(__LINE__, tmpl)
#define DECODE_FAILS(tmpl, field, msg) decode_fails(__LINE__, tmpl, field, msg)
#define VALIDATE_OK(tmpl) validate_ok(__LINE__, tmpl, roots_a, 1, HOST_MEM)
#define VALIDATE_FAILS(tmpl, field, msg) validate_fails(__LINE__, tmpl, roots_a, 1, HOST_MEM, field, msg)
#define VALIDATE_FAILS_WITH(tmpl, roots, n, host, field, msg)                                               \
        validate_fails(__LINE__, tmpl, roots, n, host, field, msg)

/* Decodes and validates tmpl and frees the result: for "this is accepted". */
#define ACCEPTED(tmpl)                                                                                      \
        do {                                                                                                \
                VmConfig *_c = VALIDATE_OK(tmpl);                                                           \
                vm_config_free(_c);                                                                         \
        } while (0)

/* ---- fixture ------------------------------------------------------------ */

/* Creates path (under tmp_dir) with a little content. */
static void make_file(const char *rel) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", tmp_dir, rel);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        CHECK(fd >= 0);
        CHECK(loop_write(fd, "data", 4) == 0);
        close(fd);
}

/* Creates the symlink rel (under tmp_dir) pointing at target. */
static void make_symlink(const char *target, const char *rel) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", tmp_dir, rel);
        CHECK(symlink(target, path) == 0);
}

static void make_dir(const char *rel) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", tmp_dir, rel);
        CHECK(mkdir(path, 0755) == 0);
}

static void fixture_remove(void) {
        if (tmp_dir[0])
                rm_rf(tmp_dir);
}

/*
 * $T/assets/        the asset root: vmlinux rootfs.ext4 initrd.img data.ext4
 *                   data2.ext4, sub/ (dir), fifo, link-in -> vmlinux,
 *                   link-out -> ../outside/secret, linkdir-out -> ../outside,
 *                   loop -> loop, dangling -> nonexistent
 * $T/assets-evil/x  shares the root's name as a prefix
 * $T/outside/secret
 * $T/data/app.ext4  a second root
 * $T/rootlink -> assets
 */
static void fixture_setup(void) {
        char tmpl[] = "/tmp/test-vm-config-XXXXXX";
        CHECK(mkdtemp(tmpl));
        char *real = realpath(tmpl, NULL); /* /tmp itself might be a symlink */
        CHECK(real && strlen(real) < sizeof tmp_dir);
        strcpy(tmp_dir, real);
        free(real);
        atexit(fixture_remove);

        snprintf(asset_dir, sizeof asset_dir, "%s/assets", tmp_dir);
        snprintf(data_dir, sizeof data_dir, "%s/data", tmp_dir);
        make_dir("assets");
        make_dir("assets/sub");
        make_dir("assets-evil");
        make_dir("outside");
        make_dir("data");
        make_file("assets/vmlinux");
        make_file("assets/rootfs.ext4");
        make_file("assets/initrd.img");
        make_file("assets/data.ext4");
        make_file("assets/data2.ext4");
        make_file("assets-evil/x");
        make_file("outside/secret");
        make_file("data/app.ext4");
        make_symlink("vmlinux", "assets/link-in");
        make_symlink("../outside/secret", "assets/link-out");
        make_symlink("../outside", "assets/linkdir-out");
        make_symlink("loop", "assets/loop");
        make_symlink("nonexistent", "assets/dangling");
        make_symlink("assets", "rootlink");

        char fifo[PATH_MAX];
        snprintf(fifo, sizeof fifo, "%s/fifo", asset_dir);
        CHECK(mkfifo(fifo, 0600) == 0);

        roots_a[0] = asset_dir;
        roots_ad[0] = asset_dir;
        roots_ad[1] = data_dir;
}

/* ---- tests -------------------------------------------------------------- */

/* Replaces every occurrence of from in s (malloc'ed) with to; frees s. */
static char *replace_all(char *s, const char *from, const char *to) {
        char *buf = NULL;
        size_t size = 0, n = strlen(from);
        FILE *f = open_memstream(&buf, &size);
        CHECK(f);
        for (const char *p = s; *p;) {
                if (strncmp(p, from, n) == 0) {
                        fputs(to, f);
                        p += n;
                } else
                        fputc(*p++, f);
        }
        CHECK(fclose(f) == 0);
        free(s);
        return buf;
}

/* Decodes the "config" of a CreateVm request body with the asset paths of the
 * seed moved into the fixture; validates with the given roots if n_roots > 0. */
static VmConfig *seed_decode(const char *body, bool move_paths) {
        char *text = strdup(body);
        CHECK(text);
        if (move_paths) {
                text = replace_all(text, "/opt/vm-assets", asset_dir);
                text = replace_all(text, "/data/", "$DATA/");
                text = replace_all(text, "$DATA", data_dir);
        }
        json_auto_t *req = parse_json(__LINE__, text);
        free(text);
        VmConfig *c = NULL;
        VmError err;
        CHECK(vm_config_from_json(json_object_get(req, "config"), "config", &c, &err) == 0);
        return c;
}

/* The request bodies of the seed's documentation (vm-configuration.md). */
static const char seed_basic[] = "{\n"
                                 "  \"config\": {\n"
                                 "    \"cpu\": {\n"
                                 "      \"vcpu_count\": 1\n"
                                 "    },\n"
                                 "    \"memory\": {\n"
                                 "      \"size_bytes\": 134217728\n"
                                 "    },\n"
                                 "    \"boot\": {\n"
                                 "      \"kernel_path\": \"/opt/vm-assets/vmlinux\",\n"
                                 "      \"kernel_args\": \"console=ttyS0 reboot=k panic=1 pci=off\"\n"
                                 "    },\n"
                                 "    \"storage\": [{\n"
                                 "      \"path\": \"/opt/vm-assets/rootfs.ext4\",\n"
                                 "      \"readonly\": false\n"
                                 "    }]\n"
                                 "  }\n"
                                 "}\n";
static const char seed_minimal[] =
        "{\"config\":{\"cpu\":{\"vcpu_count\":1},\"memory\":{\"size_bytes\":134217728},\"boot\":{"
        "\"kernel_path\":\"/opt/vm-assets/vmlinux\",\"kernel_args\":\"console=ttyS0 reboot=k "
        "panic=1 pci=off\"},\"storage\":[{\"path\":\"/opt/vm-assets/rootfs.ext4\",\"readonly\":"
        "false}]}}";
static const char seed_multi[] =
        "{\"config\":{\"cpu\":{\"vcpu_count\":2},\"memory\":{\"size_bytes\":536870912},\"boot\":{"
        "\"kernel_path\":\"/opt/vm-assets/vmlinux\",\"kernel_args\":\"console=ttyS0\"},\"storage\":"
        "[{\"path\":\"/opt/vm-assets/rootfs.ext4\",\"readonly\":false,\"is_root_device\":true},{"
        "\"path\":\"/data/app.ext4\",\"readonly\":true}]}}";

static void test_seed_examples(void) {
        VmError err;

        /* As documented, byte for byte. */
        VmConfig *c = seed_decode(seed_minimal, false);
        CHECK(c->vcpu_count == 1 && c->max_vcpu_count == 0);
        CHECK(c->memory_bytes == 134217728 && c->hotplug_bytes == 0);
        CHECK_STREQ(c->kernel_path, "/opt/vm-assets/vmlinux");
        CHECK_STREQ(c->kernel_args, "console=ttyS0 reboot=k panic=1 pci=off");
        CHECK(c->initrd_path == NULL);
        CHECK(c->n_disks == 1 && c->n_metadata == 0);
        CHECK_STREQ(c->disks[0].path, "/opt/vm-assets/rootfs.ext4");
        CHECK(c->disks[0].id == NULL && !c->disks[0].readonly && !c->disks[0].is_root_device);

        VmConfig *basic = seed_decode(seed_basic, false);
        CHECK(vm_config_equal(c, basic));
        vm_config_free(basic);
        vm_config_free(c);

        c = seed_decode(seed_multi, false);
        CHECK(c->vcpu_count == 2 && c->memory_bytes == 536870912);
        CHECK(c->n_disks == 2);
        CHECK(c->disks[0].is_root_device && !c->disks[0].readonly);
        CHECK_STREQ(c->disks[1].path, "/data/app.ext4");
        CHECK(c->disks[1].readonly && !c->disks[1].is_root_device);
        vm_config_free(c);

        /* Validated with the assets where the fixture has them. */
        c = seed_decode(seed_minimal, true);
        CHECK(vm_config_validate(c, roots_a, 1, HOST_MEM, &err) == 0);
        CHECK(c->max_vcpu_count == 1);
        CHECK_STREQ(c->disks[0].id, "rootfs");
        CHECK(c->disks[0].is_root_device);
        vm_config_free(c);

        /* The second example's data disk lives in /data: fine when that is an
         * asset root too, rejected when only the assets are. */
        c = seed_decode(seed_multi, true);
        CHECK(vm_config_validate(c, roots_ad, 2, HOST_MEM, &err) == 0);
        CHECK_STREQ(c->disks[0].id, "rootfs");
        CHECK_STREQ(c->disks[1].id, "disk1");
        vm_config_free(c);

        c = seed_decode(seed_multi, true);
        CHECK(vm_config_validate(c, roots_a, 1, HOST_MEM, &err) == -EINVAL);
        check_error(__LINE__, &err, "config.storage[1].path", "is outside the asset roots ($A)");
        vm_config_free(c);
}

static void test_field_names(void) {
        const char *snake = "{`cpu`:{`vcpu_count`:2,`max_vcpu_count`:4},"
                            "`memory`:{`size_bytes`:268435456,`hotplug_size_bytes`:1048576},"
                            "`boot`:{`kernel_path`:`/k`,`kernel_args`:`a b`,`initrd_path`:`/i`},"
                            "`storage`:[{`id`:`x`,`path`:`/p`,`readonly`:true,`is_root_device`:true}],"
                            "`metadata`:{`b`:`2`,`a`:`1`}}";
        const char *camel = "{`cpu`:{`vcpuCount`:2,`maxVcpuCount`:4},"
                            "`memory`:{`sizeBytes`:268435456,`hotplugSizeBytes`:1048576},"
                            "`boot`:{`kernelPath`:`/k`,`kernelArgs`:`a b`,`initrdPath`:`/i`},"
                            "`storage`:[{`id`:`x`,`path`:`/p`,`readonly`:true,`isRootDevice`:true}],"
                            "`metadata`:{`b`:`2`,`a`:`1`}}";
        const char *mixed = "{`cpu`:{`vcpuCount`:2,`max_vcpu_count`:4},"
                            "`memory`:{`size_bytes`:268435456,`hotplugSizeBytes`:1048576},"
                            "`boot`:{`kernel_path`:`/k`,`kernelArgs`:`a b`,`initrd_path`:`/i`},"
                            "`storage`:[{`id`:`x`,`path`:`/p`,`readonly`:true,`isRootDevice`:true}],"
                            "`metadata`:{`a`:`1`,`b`:`2`}}";

        _cleanup_(vm_config_freep) VmConfig *s = DECODE_OK(snake);
        _cleanup_(vm_config_freep) VmConfig *c = DECODE_OK(camel);
        _cleanup_(vm_config_freep) VmConfig *m = DECODE_OK(mixed);

        CHECK(s->vcpu_count == 2 && s->max_vcpu_count == 4);
        CHECK(s->memory_bytes == 268435456 && s->hotplug_bytes == 1048576);
        CHECK_STREQ(s->kernel_path, "/k");
        CHECK_STREQ(s->kernel_args, "a b");
        CHECK_STREQ(s->initrd_path, "/i");
        CHECK(s->n_disks == 1);
        CHECK_STREQ(s->disks[0].id, "x");
        CHECK_STREQ(s->disks[0].path, "/p");
        CHECK(s->disks[0].readonly && s->disks[0].is_root_device);
        /* metadata comes out sorted by key */
        CHECK(s->n_metadata == 2);
        CHECK_STREQ(s->metadata[0].key, "a");
        CHECK_STREQ(s->metadata[0].value, "1");
        CHECK_STREQ(s->metadata[1].key, "b");
        CHECK(vm_config_equal(s, c));
        CHECK(vm_config_equal(s, m));

        /* The same field under both spellings. */
        DECODE_FAILS("{`cpu`:{`vcpu_count`:1,`vcpuCount`:1}}", "config.cpu.vcpu_count",
                     "=given twice, as \"vcpu_count\" and \"vcpuCount\"");
        DECODE_FAILS("{`cpu`:{`vcpuCount`:null,`vcpu_count`:1}}", "config.cpu.vcpu_count", "given twice");
        DECODE_FAILS("{`cpu`:{`maxVcpuCount`:1,`max_vcpu_count`:1}}", "config.cpu.max_vcpu_count",
                     "given twice");
        DECODE_FAILS("{`memory`:{`sizeBytes`:1,`size_bytes`:1}}", "config.memory.size_bytes", "given twice");
        DECODE_FAILS("{`memory`:{`hotplugSizeBytes`:1,`hotplug_size_bytes`:1}}",
                     "config.memory.hotplug_size_bytes", "given twice");
        DECODE_FAILS("{`boot`:{`kernel_path`:`/a`,`kernelPath`:`/a`}}", "config.boot.kernel_path",
                     "given twice");
        DECODE_FAILS("{`boot`:{`kernel_args`:`a`,`kernelArgs`:`a`}}", "config.boot.kernel_args",
                     "given twice");
        DECODE_FAILS("{`boot`:{`initrd_path`:`/a`,`initrdPath`:`/a`}}", "config.boot.initrd_path",
                     "given twice");
        DECODE_FAILS("{`storage`:[{},{`is_root_device`:true,`isRootDevice`:true}]}",
                     "config.storage[1].is_root_device", "given twice");

        /* Errors name the field in snake_case whichever spelling was sent. */
        DECODE_FAILS("{`cpu`:{`vcpuCount`:`x`}}", "config.cpu.vcpu_count", "must be an int32");
        DECODE_FAILS("{`storage`:[{`isRootDevice`:1}]}", "config.storage[0].is_root_device",
                     "must be true or false");

        /* Other spellings are unknown. */
        DECODE_FAILS("{`cpu`:{`VcpuCount`:1}}", "config.cpu.VcpuCount", "=unknown field \"VcpuCount\"");
        DECODE_FAILS("{`cpu`:{`vcpu-count`:1}}", "config.cpu", "=unknown field \"vcpu-count\"");
        DECODE_FAILS("{`cpu`:{`vcpucount`:1}}", "config.cpu.vcpucount", "unknown field");
        DECODE_FAILS("{`Cpu`:{}}", "config.Cpu", "unknown field \"Cpu\"");
}

static void test_type_errors(void) {
        /* int32 */
        DECODE_FAILS("{`cpu`:{`vcpu_count`:`abc`}}", "config.cpu.vcpu_count",
                     "=must be an int32 (a JSON integer or a decimal string), got \"abc\"");
        DECODE_FAILS("{`cpu`:{`vcpu_count`:1.5}}", "config.cpu.vcpu_count",
                     "must be an int32 (a JSON integer or a decimal string), got 1.5");
        DECODE_FAILS("{`cpu`:{`vcpu_count`:true}}", "config.cpu.vcpu_count", "got true");
        DECODE_FAILS("{`cpu`:{`vcpu_count`:false}}", "config.cpu.vcpu_count", "got false");
        DECODE_FAILS("{`cpu`:{`vcpu_count`:{}}}", "config.cpu.vcpu_count", "got an object");
        DECODE_FAILS("{`cpu`:{`vcpu_count`:[1]}}", "config.cpu.vcpu_count", "got an array");
        DECODE_FAILS("{`cpu`:{`vcpu_count`:``}}", "config.cpu.vcpu_count", "must be an int32");
        DECODE_FAILS("{`cpu`:{`vcpu_count`:`-`}}", "config.cpu.vcpu_count", "must be an int32");
        DECODE_FAILS("{`cpu`:{`vcpu_count`:` 1`}}", "config.cpu.vcpu_count", "must be an int32");
        DECODE_FAILS("{`cpu`:{`vcpu_count`:`1 `}}", "config.cpu.vcpu_count", "must be an int32");
        DECODE_FAILS("{`cpu`:{`vcpu_count`:`+1`}}", "config.cpu.vcpu_count", "must be an int32");
        DECODE_FAILS("{`cpu`:{`vcpu_count`:`0x10`}}", "config.cpu.vcpu_count", "must be an int32");
        DECODE_FAILS("{`cpu`:{`vcpu_count`:`1.0`}}", "config.cpu.vcpu_count", "must be an int32");
        DECODE_FAILS("{`cpu`:{`vcpu_count`:`1e3`}}", "config.cpu.vcpu_count", "must be an int32");
        DECODE_FAILS("{`cpu`:{`vcpu_count`:`1\\u00002`}}", "config.cpu.vcpu_count", "got \"1\\x002\"");
        DECODE_FAILS("{`cpu`:{`max_vcpu_count`:0.5}}", "config.cpu.max_vcpu_count", "must be an int32");
        /* negative */
        DECODE_FAILS("{`cpu`:{`vcpu_count`:-1}}", "config.cpu.vcpu_count", "=must not be negative, got -1");
        DECODE_FAILS("{`cpu`:{`vcpu_count`:`-1`}}", "config.cpu.vcpu_count", "must not be negative");
        DECODE_FAILS("{`cpu`:{`vcpu_count`:-2.0}}", "config.cpu.vcpu_count", "must not be negative");
        DECODE_FAILS("{`cpu`:{`max_vcpu_count`:-1}}", "config.cpu.max_vcpu_count", "must not be negative");
        DECODE_FAILS("{`memory`:{`size_bytes`:-134217728}}", "config.memory.size_bytes",
                     "must not be negative");
        DECODE_FAILS("{`memory`:{`hotplug_size_bytes`:`-1`}}", "config.memory.hotplug_size_bytes",
                     "must not be negative");
        /* out of range */
        DECODE_FAILS("{`cpu`:{`vcpu_count`:2147483648}}", "config.cpu.vcpu_count",
                     "=out of range for int32 (at most 2147483647)");
        DECODE_FAILS("{`cpu`:{`vcpu_count`:`2147483648`}}", "config.cpu.vcpu_count",
                     "out of range for int32");
        DECODE_FAILS("{`cpu`:{`vcpu_count`:2147483648.0}}", "config.cpu.vcpu_count",
                     "out of range for int32");
        DECODE_FAILS("{`memory`:{`size_bytes`:`9223372036854775808`}}", "config.memory.size_bytes",
                     "=out of range for int64");
        DECODE_FAILS("{`memory`:{`size_bytes`:`99999999999999999999999`}}", "config.memory.size_bytes",
                     "out of range for int64");
        DECODE_FAILS("{`memory`:{`size_bytes`:`-9223372036854775809`}}", "config.memory.size_bytes",
                     "out of range for int64");
        DECODE_FAILS("{`memory`:{`size_bytes`:1e19}}", "config.memory.size_bytes", "out of range for int64");
        DECODE_FAILS("{`memory`:{`size_bytes`:9223372036854775808.0}}", "config.memory.size_bytes",
                     "out of range for int64");
        DECODE_FAILS("{`memory`:{`hotplug_size_bytes`:-1e300}}", "config.memory.hotplug_size_bytes",
                     "out of range for int64");
        DECODE_FAILS("{`memory`:{`size_bytes`:`12.5`}}", "config.memory.size_bytes",
                     "must be an int64 (a JSON integer or a decimal string), got \"12.5\"");
        DECODE_FAILS("{`memory`:{`size_bytes`:{`v`:1}}}", "config.memory.size_bytes", "must be an int64");

        /* accepted integer forms */
        VmConfig *c = DECODE_OK("{`cpu`:{`vcpu_count`:`3`,`max_vcpu_count`:4.0},"
                                "`memory`:{`size_bytes`:`134217728`,`hotplug_size_bytes`:2097152.0}}");
        CHECK(c->vcpu_count == 3 && c->max_vcpu_count == 4);
        CHECK(c->memory_bytes == 134217728 && c->hotplug_bytes == 2097152);
        vm_config_free(c);
        c = DECODE_OK("{`cpu`:{`vcpu_count`:`007`,`max_vcpu_count`:2147483647},"
                      "`memory`:{`size_bytes`:9223372036854775807,"
                      "`hotplug_size_bytes`:`9223372036854775807`}}");
        CHECK(c->vcpu_count == 7 && c->max_vcpu_count == 2147483647u);
        CHECK(c->memory_bytes == INT64_MAX && c->hotplug_bytes == INT64_MAX);
        vm_config_free(c);
        c = DECODE_OK("{`cpu`:{`vcpu_count`:-0.0,`max_vcpu_count`:`0`}}");
        CHECK(c->vcpu_count == 0 && c->max_vcpu_count == 0);
        vm_config_free(c);

        /* bool */
        DECODE_FAILS("{`storage`:[{`readonly`:`true`}]}", "config.storage[0].readonly",
                     "=must be true or false, got \"true\"");
        DECODE_FAILS("{`storage`:[{`readonly`:1}]}", "config.storage[0].readonly",
                     "must be true or false, got 1");
        DECODE_FAILS("{`storage`:[{`readonly`:0}]}", "config.storage[0].readonly", "must be true or false");
        DECODE_FAILS("{`storage`:[{},{`is_root_device`:{}}]}", "config.storage[1].is_root_device",
                     "must be true or false, got an object");

        /* string */
        DECODE_FAILS("{`boot`:{`kernel_path`:12}}", "config.boot.kernel_path", "=must be a string, got 12");
        DECODE_FAILS("{`boot`:{`kernel_args`:true}}", "config.boot.kernel_args",
                     "must be a string, got true");
        DECODE_FAILS("{`boot`:{`initrd_path`:[]}}", "config.boot.initrd_path",
                     "must be a string, got an array");
        DECODE_FAILS("{`storage`:[{`path`:{}}]}", "config.storage[0].path",
                     "must be a string, got an object");
        DECODE_FAILS("{`storage`:[{`id`:1.5}]}", "config.storage[0].id", "must be a string, got 1.5");
        DECODE_FAILS("{`boot`:{`kernel_path`:`/a\\u0000b`}}", "config.boot.kernel_path",
                     "=must not contain a NUL byte");
        DECODE_FAILS("{`storage`:[{`path`:`\\u0000`}]}", "config.storage[0].path",
                     "must not contain a NUL byte");

        /* messages and lists */
        DECODE_FAILS("{`cpu`:1}", "config.cpu", "=must be an object, got 1");
        DECODE_FAILS("{`memory`:[]}", "config.memory", "must be an object, got an array");
        DECODE_FAILS("{`boot`:`/vmlinux`}", "config.boot", "must be an object, got \"/vmlinux\"");
        DECODE_FAILS("{`storage`:{}}", "config.storage", "=must be an array, got an object");
        DECODE_FAILS("{`storage`:[{},1]}", "config.storage[1]", "=must be an object, got 1");
        DECODE_FAILS("{`storage`:[null]}", "config.storage[0]", "must be an object, got null");
        DECODE_FAILS("{`metadata`:[]}", "config.metadata", "must be an object of string values");
        DECODE_FAILS("{`metadata`:{`team`:1}}", "config.metadata[\"team\"]", "=must be a string, got 1");
        DECODE_FAILS("{`metadata`:{`team`:null}}", "config.metadata[\"team\"]",
                     "must be a string, got null");
        DECODE_FAILS("{`metadata`:{`team`:`a\\u0000`}}", "config.metadata[\"team\"]",
                     "must not contain a NUL byte");
        DECODE_FAILS("[]", "config", "=must be an object, got an array");
        DECODE_FAILS("`config`", "config", "must be an object, got \"config\"");

        /* null is absent, at every level */
        c = DECODE_OK("{`cpu`:null,`memory`:null,`boot`:null,`storage`:null,`metadata`:null}");
        CHECK(c->vcpu_count == 0 && c->memory_bytes == 0 && !c->kernel_path && c->n_disks == 0 &&
              c->n_metadata == 0);
        vm_config_free(c);
        c = DECODE_OK("{`cpu`:{`vcpu_count`:null},`boot`:{`kernel_path`:null,`kernel_args`:``},"
                      "`storage`:[{`id`:null,`path`:null,`readonly`:null,`is_root_device`:null}]}");
        CHECK(c->vcpu_count == 0 && !c->kernel_path && !c->kernel_args);
        CHECK(c->n_disks == 1 && !c->disks[0].id && !c->disks[0].path);
        vm_config_free(c);
        c = DECODE_OK("{}");
        CHECK(c->n_disks == 0 && c->disks == NULL);
        vm_config_free(c);
}

static void test_unknown_fields(void) {
        DECODE_FAILS("{`foo`:1}", "config.foo", "=unknown field \"foo\"");
        DECODE_FAILS("{`foo`:null}", "config.foo", "unknown field \"foo\"");
        DECODE_FAILS("{`cpu`:{`vcpus`:1}}", "config.cpu.vcpus", "=unknown field \"vcpus\"");
        DECODE_FAILS("{`memory`:{`size_mib`:1}}", "config.memory.size_mib", "unknown field");
        DECODE_FAILS("{`boot`:{`cmdline`:`x`}}", "config.boot.cmdline", "unknown field \"cmdline\"");
        DECODE_FAILS("{`storage`:[{},{`size`:1}]}", "config.storage[1].size", "=unknown field \"size\"");
        /* names that are not identifiers are quoted in the message only */
        DECODE_FAILS("{`a b`:1}", "config", "=unknown field \"a b\"");
        DECODE_FAILS("{`\\n\\\"`:1}", "config", "=unknown field \"\\x0a\\\"\"");
        DECODE_FAILS("{`\\u00e9`:1}", "config", "=unknown field \"\\xc3\\xa9\"");

        /* A key with a NUL in it (jansson keeps its length) is not "cpu". */
        json_auto_t *j = json_object();
        CHECK(json_object_setn_new(j, "cpu\0x", 5, json_object()) == 0);
        VmConfig *c = NULL;
        VmError err;
        CHECK(vm_config_from_json(j, "config", &c, &err) == -EINVAL && !c);
        check_error(__LINE__, &err, "config", "=unknown field \"cpu\\x00x\"");

        json_auto_t *m = json_pack("{s:{}}", "metadata");
        CHECK(m);
        CHECK(json_object_setn_new(json_object_get(m, "metadata"), "k\0", 2, json_string("v")) == 0);
        CHECK(vm_config_from_json(m, "config", &c, &err) == -EINVAL && !c);
        check_error(__LINE__, &err, "config.metadata[\"k\\x00\"]", "key must not contain a NUL byte");

        /* The prefix is optional. */
        json_auto_t *p = json_pack("{s:{s:s}}", "cpu", "vcpu_count", "x");
        CHECK(p);
        CHECK(vm_config_from_json(p, NULL, &c, &err) == -EINVAL);
        check_error(__LINE__, &err, "cpu.vcpu_count", "must be an int32");
        CHECK(vm_config_from_json(p, "", &c, &err) == -EINVAL);
        check_error(__LINE__, &err, "cpu.vcpu_count", "must be an int32");
        CHECK(vm_config_from_json(p, "request.config", &c, &err) == -EINVAL);
        check_error(__LINE__, &err, "request.config.cpu.vcpu_count", "must be an int32");
}

/* Builds `{"storage":[{},{},...]}` with n empty devices. */
static char *storage_n(size_t n) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);
        CHECK(f);
        fputs("{`storage`:[", f);
        for (size_t i = 0; i < n; i++)
                fputs(i ? ",{}" : "{}", f);
        fputs("]}", f);
        CHECK(fclose(f) == 0);
        return buf;
}

/* Builds `{"metadata":{"k0":"v",...}}` with n entries. */
static char *metadata_n(size_t n) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);
        CHECK(f);
        fputs("{`metadata`:{", f);
        for (size_t i = 0; i < n; i++)
                fprintf(f, "%s`k%zu`:`v`", i ? "," : "", i);
        fputs("}}", f);
        CHECK(fclose(f) == 0);
        return buf;
}

static void test_decode_limits(void) {
        _cleanup_free_ char *s16 = storage_n(VM_STORAGE_MAX), *s17 = storage_n(VM_STORAGE_MAX + 1);
        _cleanup_free_ char *m64 = metadata_n(VM_METADATA_MAX), *m65 = metadata_n(VM_METADATA_MAX + 1);

        VmConfig *c = DECODE_OK(s16);
        CHECK(c->n_disks == VM_STORAGE_MAX);
        vm_config_free(c);
        DECODE_FAILS(s17, "config.storage", "=at most 16 storage devices are allowed, got 17");

        c = DECODE_OK(m64);
        CHECK(c->n_metadata == VM_METADATA_MAX);
        for (size_t i = 1; i < c->n_metadata; i++)
                CHECK(strcmp(c->metadata[i - 1].key, c->metadata[i].key) < 0);
        vm_config_free(c);
        DECODE_FAILS(m65, "config.metadata", "=at most 64 entries are allowed, got 65");
}

static void test_validate_cpu_memory(void) {
        VmConfig *c;

        c = VALIDATE_OK(BASE);
        CHECK(c->vcpu_count == 1 && c->max_vcpu_count == 1); /* max filled in */
        vm_config_free(c);

        VALIDATE_FAILS("{" MEM128 "," BOOT "}", "config.cpu.vcpu_count",
                       "=required, must be between 1 and 32");
        VALIDATE_FAILS("{`cpu`:{}," MEM128 "," BOOT "}", "config.cpu.vcpu_count",
                       "=required, must be between 1 and 32");
        VALIDATE_FAILS("{`cpu`:{`vcpu_count`:0}," MEM128 "," BOOT "}", "config.cpu.vcpu_count",
                       "=required, must be between 1 and 32");
        VALIDATE_FAILS("{`cpu`:{`vcpu_count`:33}," MEM128 "," BOOT "}", "config.cpu.vcpu_count",
                       "=must be between 1 and 32, got 33");
        VALIDATE_FAILS("{`cpu`:{`vcpu_count`:2147483647}," MEM128 "," BOOT "}", "config.cpu.vcpu_count",
                       "must be between 1 and 32");
        ACCEPTED("{`cpu`:{`vcpu_count`:32}," MEM128 "," BOOT "}");

        c = VALIDATE_OK("{`cpu`:{`vcpu_count`:2,`max_vcpu_count`:0}," MEM128 "," BOOT "}");
        CHECK(c->max_vcpu_count == 2);
        vm_config_free(c);
        ACCEPTED("{`cpu`:{`vcpu_count`:2,`max_vcpu_count`:2}," MEM128 "," BOOT "}");
        ACCEPTED("{`cpu`:{`vcpu_count`:2,`max_vcpu_count`:32}," MEM128 "," BOOT "}");
        VALIDATE_FAILS("{`cpu`:{`vcpu_count`:2,`max_vcpu_count`:1}," MEM128 "," BOOT "}",
                       "config.cpu.max_vcpu_count",
                       "=must be 0 (same as vcpu_count) or between vcpu_count (2) and 32, got 1");
        VALIDATE_FAILS("{`cpu`:{`vcpu_count`:2,`max_vcpu_count`:33}," MEM128 "," BOOT "}",
                       "config.cpu.max_vcpu_count", "between vcpu_count (2) and 32, got 33");

        VALIDATE_FAILS("{" CPU1 "," BOOT "}", "config.memory.size_bytes",
                       "=required, must be at least 134217728 (128 MiB)");
        VALIDATE_FAILS("{" CPU1 ",`memory`:{`hotplug_size_bytes`:1048576}," BOOT "}",
                       "config.memory.size_bytes", "required");
        VALIDATE_FAILS(MEMHP("133169152", "0"), "config.memory.size_bytes",
                       "=must be at least 134217728 (128 MiB), got 133169152");
        VALIDATE_FAILS(MEMHP("1", "0"), "config.memory.size_bytes", "must be at least 134217728 (128 MiB)");
        VALIDATE_FAILS(MEMHP("134217729", "0"), "config.memory.size_bytes",
                       "=must be a whole number of MiB (multiple of 1048576), got 134217729");
        VALIDATE_FAILS(MEMHP("200000000", "0"), "config.memory.size_bytes",
                       "must be a whole number of MiB (multiple of 1048576)");
        ACCEPTED(MEMHP("135266304", "0")); /* 129 MiB */
        /* host memory: at most all of it */
        validate_fails(__LINE__, MEMHP("`2147483648`", "0"), roots_a, 1, UINT64_C(1) << 30,
                       "config.memory.size_bytes",
                       "=must be at most the host's memory (1073741824 bytes), got 2147483648");
        vm_config_free(validate_ok(__LINE__, MEMHP("1073741824", "0"), roots_a, 1, UINT64_C(1) << 30));
        VALIDATE_FAILS(MEMHP("`9223372036854775807`", "0"), "config.memory.size_bytes",
                       "must be a whole number of MiB");
        VALIDATE_FAILS(MEMHP("`9223372036853727232`", "0"), "config.memory.size_bytes",
                       "must be at most the host's memory");

        /* hotplug */
        c = VALIDATE_OK(MEMHP("134217728", "0"));
        CHECK(c->hotplug_bytes == 0);
        vm_config_free(c);
        ACCEPTED(MEMHP("134217728", "1048576"));
        VALIDATE_FAILS(MEMHP("134217728", "1"), "config.memory.hotplug_size_bytes",
                       "=must be a whole number of MiB (multiple of 1048576), got 1");
        validate_fails(__LINE__, MEMHP("536870912", "536870913"), roots_a, 1, UINT64_C(1) << 30,
                       "config.memory.hotplug_size_bytes", "whole number of MiB");
        validate_fails(__LINE__, MEMHP("536870912", "537919488"), roots_a, 1, UINT64_C(1) << 30,
                       "config.memory.hotplug_size_bytes",
                       "=size_bytes + hotplug_size_bytes must be at most the host's memory "
                       "(1073741824 bytes)");
        vm_config_free(
                validate_ok(__LINE__, MEMHP("536870912", "536870912"), roots_a, 1, UINT64_C(1) << 30));
        /* would wrap around uint64 if added naively */
        VALIDATE_FAILS("{" CPU1 ",`memory`:{`size_bytes`:134217728,"
                       "`hotplug_size_bytes`:`9223372036853727232`}," BOOT "}",
                       "config.memory.hotplug_size_bytes", "must be at most the host's memory");

        /* Programmatic configs beyond what decoding allows. */
        _cleanup_(vm_config_freep) VmConfig *p = DECODE_OK(BASE);
        VmError err;
        p->memory_bytes = UINT64_MAX - MIB + 1;
        CHECK(vm_config_validate(p, roots_a, 1, UINT64_MAX, &err) == 0);
        p->hotplug_bytes = UINT64_MAX - MIB + 1;
        CHECK(vm_config_validate(p, roots_a, 1, UINT64_MAX, &err) == -EINVAL);
        check_error(__LINE__, &err, "config.memory.hotplug_size_bytes", "host's memory");
}

static void test_validate_boot(void) {
        char args[VM_KERNEL_ARGS_MAX + 512];
        VmConfig *c;

        VALIDATE_FAILS("{" CPU1 "," MEM128 "}", "config.boot.kernel_path", "=required");
        VALIDATE_FAILS("{" CPU1 "," MEM128 ",`boot`:{}}", "config.boot.kernel_path", "=required");
        VALIDATE_FAILS("{" CPU1 "," MEM128 ",`boot`:{`kernel_path`:``}}", "config.boot.kernel_path",
                       "=required");
        VALIDATE_FAILS("{" CPU1 "," MEM128 ",`boot`:{`kernel_args`:`console=ttyS0`}}",
                       "config.boot.kernel_path", "=required");

        /* kernel_args: bounded, one line */
        snprintf(args, sizeof args,
                 "{" CPU1 "," MEM128 ",`boot`:{`kernel_path`:`$A/vmlinux`,`kernel_args`:`");
        size_t start = strlen(args);
        memset(args + start, 'a', VM_KERNEL_ARGS_MAX);
        strcpy(args + start + VM_KERNEL_ARGS_MAX, "`}}");
        c = VALIDATE_OK(args);
        CHECK(strlen(c->kernel_args) == VM_KERNEL_ARGS_MAX);
        vm_config_free(c);
        memset(args + start, 'a', VM_KERNEL_ARGS_MAX + 1);
        strcpy(args + start + VM_KERNEL_ARGS_MAX + 1, "`}}");
        VALIDATE_FAILS(args, "config.boot.kernel_args", "=must be at most 2000 bytes, got 2001");
        VALIDATE_FAILS("{" CPU1 "," MEM128 ",`boot`:{`kernel_path`:`$A/vmlinux`,"
                       "`kernel_args`:`console=ttyS0\\ninit=/bin/sh`}}",
                       "config.boot.kernel_args", "=must not contain a line break");
        VALIDATE_FAILS("{" CPU1 "," MEM128 ",`boot`:{`kernel_path`:`$A/vmlinux`,"
                       "`kernel_args`:`a\\rb`}}",
                       "config.boot.kernel_args", "line break");
        c = VALIDATE_OK("{" CPU1 "," MEM128 ",`boot`:{`kernel_path`:`$A/vmlinux`,`kernel_args`:``}}");
        CHECK(c->kernel_args == NULL);
        vm_config_free(c);

        /* initrd: optional, checked like the kernel */
        c = VALIDATE_OK("{" CPU1 "," MEM128 ",`boot`:{`kernel_path`:`$A/vmlinux`,"
                        "`initrd_path`:`$A/initrd.img`}}");
        _cleanup_free_ char *initrd = expand("$A/initrd.img", false);
        CHECK_STREQ(c->initrd_path, initrd);
        CHECK(c->n_disks == 0); /* no storage: boots from the initrd */
        vm_config_free(c);
        VALIDATE_FAILS("{" CPU1 "," MEM128 ",`boot`:{`kernel_path`:`$A/vmlinux`,"
                       "`initrd_path`:`$A/initrd.gz`}}",
                       "config.boot.initrd_path", "=no such file");
        VALIDATE_FAILS("{" CPU1 "," MEM128 ",`boot`:{`kernel_path`:`$A/vmlinux`,"
                       "`initrd_path`:`initrd.img`}}",
                       "config.boot.initrd_path", "=must be an absolute path, got \"initrd.img\"");
        VALIDATE_FAILS("{" CPU1 "," MEM128 ",`boot`:{`kernel_path`:`$A/vmlinux`,"
                       "`initrd_path`:`$A/link-out`}}",
                       "config.boot.initrd_path", "resolves through a symlink");
}

/* Validates a config whose kernel_path is `path` (a template) with roots. */
#define KERNEL(path) "{" CPU1 "," MEM128 ",`boot`:{`kernel_path`:`" path "`}}"
#define ROOTDISK(path) NO_DISKS ",`storage`:[{`path`:`" path "`}]}"

/* Finds some block device in /dev for the block-device case; false if none. */
static bool find_block_device(char *buf, size_t size) {
        DIR *d = opendir("/dev");
        struct dirent *de;

        if (!d)
                return false;
        while ((de = readdir(d))) {
                struct stat st;
                snprintf(buf, size, "/dev/%s", de->d_name);
                if (lstat(buf, &st) == 0 && S_ISBLK(st.st_mode)) {
                        closedir(d);
                        return true;
                }
        }
        closedir(d);
        return false;
}

static void test_asset_paths(void) {
        static char *dev_root[] = { (char *) "/dev" };
        static char *slash_root[] = { (char *) "/" };
        char *evil_root[1], *trailing_root[1], *asset_and_dev[] = { asset_dir, (char *) "/dev" };
        char evil[PATH_MAX], trailing[PATH_MAX], blk[PATH_MAX], text[PATH_MAX * 2];

        ACCEPTED(KERNEL("$A/vmlinux"));
        ACCEPTED(KERNEL("$A/./vmlinux"));
        ACCEPTED(KERNEL("$A//vmlinux"));
        ACCEPTED(KERNEL("$A/sub/../vmlinux")); /* ".." that stays inside */
        ACCEPTED(KERNEL("$A/link-in")); /* symlink that stays inside */
        ACCEPTED(KERNEL("$T/rootlink/vmlinux")); /* through a symlink to the root itself */

        /* The path is kept as the client gave it; only the checks resolve it. */
        VmConfig *c = VALIDATE_OK(KERNEL("$A/link-in"));
        CHECK(strstr(c->kernel_path, "/link-in"));
        vm_config_free(c);

        VALIDATE_FAILS(KERNEL("vmlinux"), "config.boot.kernel_path",
                       "=must be an absolute path, got \"vmlinux\"");
        VALIDATE_FAILS(KERNEL("./vmlinux"), "config.boot.kernel_path", "must be an absolute path");
        VALIDATE_FAILS(KERNEL("$A/missing"), "config.boot.kernel_path", "=no such file");
        VALIDATE_FAILS(KERNEL("$A/missing/deeper"), "config.boot.kernel_path", "=no such file");
        VALIDATE_FAILS(KERNEL("$A/vmlinux/x"), "config.boot.kernel_path", "=no such file");
        VALIDATE_FAILS(KERNEL("$A/dangling"), "config.boot.kernel_path", "=no such file");
        VALIDATE_FAILS(KERNEL("$A/loop"), "config.boot.kernel_path", "=too many levels of symbolic links");
        VALIDATE_FAILS(KERNEL("$A/sub"), "config.boot.kernel_path", "=not a regular file");
        VALIDATE_FAILS(KERNEL("$A"), "config.boot.kernel_path", "=not a regular file");
        VALIDATE_FAILS(KERNEL("$A/fifo"), "config.boot.kernel_path", "=not a regular file");

        /* outside, by every route */
        VALIDATE_FAILS(KERNEL("/etc/passwd"), "config.boot.kernel_path",
                       "=path \"/etc/passwd\" is outside the asset roots ($A)");
        /* a missing file outside gets the same answer: no probing the host */
        VALIDATE_FAILS(KERNEL("/etc/no-such-file-here"), "config.boot.kernel_path",
                       "=path \"/etc/no-such-file-here\" is outside the asset roots ($A)");
        VALIDATE_FAILS(KERNEL("$A/../outside/secret"), "config.boot.kernel_path",
                       "=path \"$A/../outside/secret\" is outside the asset roots ($A)");
        VALIDATE_FAILS(KERNEL("$A/../outside/missing"), "config.boot.kernel_path",
                       "=path \"$A/../outside/missing\" is outside the asset roots ($A)");
        VALIDATE_FAILS(KERNEL("$A/sub/../../outside/secret"), "config.boot.kernel_path",
                       "is outside the asset roots");
        VALIDATE_FAILS(KERNEL("$A/../../../../../../../../etc/passwd"), "config.boot.kernel_path",
                       "is outside the asset roots");
        VALIDATE_FAILS(KERNEL("$A/link-out"), "config.boot.kernel_path",
                       "=path \"$A/link-out\" resolves through a symlink to \"$T/outside/secret\" "
                       "outside the asset roots ($A)");
        VALIDATE_FAILS(KERNEL("$A/linkdir-out/secret"), "config.boot.kernel_path",
                       "=path \"$A/linkdir-out/secret\" resolves through a symlink to "
                       "\"$T/outside/secret\" outside the asset roots ($A)");
        /* prefix boundary: the root "/x/assets" does not admit "/x/assets-evil/x" */
        VALIDATE_FAILS(KERNEL("$A-evil/x"), "config.boot.kernel_path",
                       "=path \"$A-evil/x\" is outside the asset roots ($A)");
        VALIDATE_FAILS(KERNEL("$A/../assets-evil/x"), "config.boot.kernel_path",
                       "is outside the asset roots");
        snprintf(evil, sizeof evil, "%s-evil", asset_dir);
        evil_root[0] = evil;
        VALIDATE_FAILS_WITH(KERNEL("$A/vmlinux"), evil_root, 1, HOST_MEM, "config.boot.kernel_path",
                            "is outside the asset roots ($A-evil)");
        /* a root written with a trailing slash means the same */
        snprintf(trailing, sizeof trailing, "%s/", asset_dir);
        trailing_root[0] = trailing;
        vm_config_free(validate_ok(__LINE__, KERNEL("$A/vmlinux"), trailing_root, 1, HOST_MEM));
        VALIDATE_FAILS_WITH(KERNEL("$A-evil/x"), trailing_root, 1, HOST_MEM, "config.boot.kernel_path",
                            "is outside the asset roots");

        /* several roots; none; "/" */
        vm_config_free(validate_ok(__LINE__, ROOTDISK("$D/app.ext4"), roots_ad, 2, HOST_MEM));
        VALIDATE_FAILS(ROOTDISK("$D/app.ext4"), "config.storage[0].path",
                       "=path \"$D/app.ext4\" is outside the asset roots ($A)");
        VALIDATE_FAILS_WITH(KERNEL("/etc/passwd"), roots_ad, 2, HOST_MEM, "config.boot.kernel_path",
                            "=path \"/etc/passwd\" is outside the asset roots ($A, $D)");
        VALIDATE_FAILS_WITH(KERNEL("$A/vmlinux"), NULL, 0, HOST_MEM, "config.boot.kernel_path",
                            "=path \"$A/vmlinux\" is outside the asset roots (none configured)");
        vm_config_free(validate_ok(__LINE__, KERNEL("$T/outside/secret"), slash_root, 1, HOST_MEM));

        /* disks: regular files or block devices */
        VALIDATE_FAILS(ROOTDISK("$A/sub"), "config.storage[0].path", "=not a regular file or block device");
        VALIDATE_FAILS(ROOTDISK("$A/fifo"), "config.storage[0].path", "=not a regular file or block device");
        VALIDATE_FAILS_WITH(ROOTDISK("/dev/null"), asset_and_dev, 2, HOST_MEM, "config.storage[0].path",
                            "=not a regular file or block device");
        VALIDATE_FAILS(ROOTDISK("rootfs.ext4"), "config.storage[0].path", "must be an absolute path");
        VALIDATE_FAILS(ROOTDISK("$A/link-out"), "config.storage[0].path", "resolves through a symlink");
        VALIDATE_FAILS(ROOTDISK("$A/../outside/secret"), "config.storage[0].path",
                       "is outside the asset roots");
        VALIDATE_FAILS(ROOTDISK("$A/nope.ext4"), "config.storage[0].path", "=no such file");
        if (find_block_device(blk, sizeof blk)) {
                snprintf(text, sizeof text,
                         "{" CPU1 "," MEM128 "," BOOT ",`storage`:[{`path`:`%s`,`readonly`:true}]}", blk);
                vm_config_free(validate_ok(__LINE__, text, asset_and_dev, 2, HOST_MEM));
                snprintf(text, sizeof text, "{" CPU1 "," MEM128 ",`boot`:{`kernel_path`:`%s`}}", blk);
                VALIDATE_FAILS_WITH(text, dev_root, 1, HOST_MEM, "config.boot.kernel_path",
                                    "=not a regular file");
        } else
                fprintf(stderr, "(no block device in /dev: block-device case skipped)\n");

        /* client text in messages is escaped, and cut when long */
        VALIDATE_FAILS(KERNEL("/etc/we\\\"ird\\n"), "config.boot.kernel_path",
                       "=path \"/etc/we\\\"ird\\x0a\" is outside the asset roots ($A)");
        VALIDATE_FAILS(KERNEL("/tmp/\\u00e9"), "config.boot.kernel_path",
                       "path \"/tmp/\\xc3\\xa9\" is outside");
        VALIDATE_FAILS(KERNEL("relative\\u0001"), "config.boot.kernel_path", "got \"relative\\x01\"");
        {
                char longpath[600];
                memset(longpath, 'x', sizeof longpath - 1);
                longpath[0] = '/';
                longpath[sizeof longpath - 1] = 0;
                snprintf(text, sizeof text, KERNEL("%s"), longpath);
                VALIDATE_FAILS(text, "config.boot.kernel_path", "...\" is outside the asset roots");
        }
        {
                char *toolong = malloc(PATH_MAX + 64);
                CHECK(toolong);
                memset(toolong, 'y', PATH_MAX + 63);
                toolong[0] = '/';
                toolong[PATH_MAX + 63] = 0;
                char *t = malloc(PATH_MAX + 256);
                CHECK(t);
                snprintf(t, PATH_MAX + 256, KERNEL("%s"), toolong);
                VALIDATE_FAILS(t, "config.boot.kernel_path", "=must be shorter than 4096 bytes");
                free(t);
                free(toolong);
        }
}

static void test_validate_storage(void) {
        VmConfig *c;

        /* empty or absent storage: fine (initrd boot) */
        c = VALIDATE_OK(NO_DISKS ",`storage`:[]}");
        CHECK(c->n_disks == 0);
        vm_config_free(c);
        c = VALIDATE_OK(NO_DISKS "}");
        CHECK(c->n_disks == 0);
        vm_config_free(c);

        VALIDATE_FAILS(NO_DISKS ",`storage`:[{`readonly`:true}]}", "config.storage[0].path", "=required");
        VALIDATE_FAILS(NO_DISKS ",`storage`:[{`path`:`$A/rootfs.ext4`},{`path`:``}]}",
                       "config.storage[1].path", "=required");
        VALIDATE_FAILS(NO_DISKS ",`storage`:[{`path`:`$A/rootfs.ext4`,`is_root_device`:true},"
                                "{`path`:`$A/data.ext4`},{`path`:`$A/data2.ext4`,`is_root_device`:true}]}",
                       "config.storage[2].is_root_device",
                       "=only one storage device may be the root device (storage[0] already is)");

        /* ids */
        VALIDATE_FAILS(NO_DISKS ",`storage`:[{`id`:`bad-id`,`path`:`$A/rootfs.ext4`}]}",
                       "config.storage[0].id",
                       "=must be 1 to 32 characters of A-Z, a-z, 0-9 and _, got \"bad-id\"");
        VALIDATE_FAILS(NO_DISKS ",`storage`:[{`id`:`a b`,`path`:`$A/rootfs.ext4`}]}", "config.storage[0].id",
                       "must be 1 to 32 characters");
        VALIDATE_FAILS(NO_DISKS ",`storage`:[{`id`:`\\u00e9`,`path`:`$A/rootfs.ext4`}]}",
                       "config.storage[0].id", "got \"\\xc3\\xa9\"");
        VALIDATE_FAILS(NO_DISKS ",`storage`:[{`id`:`abcdefghijklmnopqrstuvwxyz0123456`,"
                                "`path`:`$A/rootfs.ext4`}]}",
                       "config.storage[0].id", "must be 1 to 32 characters");
        c = VALIDATE_OK(NO_DISKS ",`storage`:[{`id`:`abcdefghijklmnopqrstuvwxyz_ABC12`,"
                                 "`path`:`$A/rootfs.ext4`}]}");
        CHECK_STREQ(c->disks[0].id, "abcdefghijklmnopqrstuvwxyz_ABC12");
        vm_config_free(c);
        VALIDATE_FAILS(NO_DISKS ",`storage`:[{`id`:`d`,`path`:`$A/rootfs.ext4`},"
                                "{`path`:`$A/data.ext4`},{`id`:`d`,`path`:`$A/data2.ext4`}]}",
                       "config.storage[2].id", "=duplicate id \"d\", also used by storage[0]");

        /* one file twice: only readonly every time */
        VALIDATE_FAILS(NO_DISKS ",`storage`:[{`path`:`$A/rootfs.ext4`},{`path`:`$A/data.ext4`},"
                                "{`path`:`$A/data.ext4`,`readonly`:true}]}",
                       "config.storage[2].path",
                       "=same file as storage[1]; a file may be attached twice only if readonly "
                       "both times");
        VALIDATE_FAILS(NO_DISKS ",`storage`:[{`path`:`$A/vmlinux`,`readonly`:true},"
                                "{`path`:`$A/link-in`}]}",
                       "config.storage[1].path", "same file as storage[0]");
        ACCEPTED(NO_DISKS ",`storage`:[{`path`:`$A/rootfs.ext4`},{`path`:`$A/data.ext4`,`readonly`:true},"
                          "{`path`:`$A/data.ext4`,`readonly`:true}]}");

        /* at most VM_STORAGE_MAX, also for configs built in code */
        _cleanup_(vm_config_freep) VmConfig *p = DECODE_OK(BASE);
        VmError err;
        VmDisk *more = realloc(p->disks, (VM_STORAGE_MAX + 1) * sizeof *more);
        CHECK(more);
        p->disks = more;
        for (size_t i = 1; i <= VM_STORAGE_MAX; i++) {
                p->disks[i] = (VmDisk){ .readonly = true };
                p->disks[i].path = strdup(p->disks[0].path);
                CHECK(p->disks[i].path);
        }
        p->n_disks = VM_STORAGE_MAX + 1;
        CHECK(vm_config_validate(p, roots_a, 1, HOST_MEM, &err) == -EINVAL);
        check_error(__LINE__, &err, "config.storage", "=at most 16 storage devices are allowed, got 17");
        /* a disk without a path, built in code */
        free(p->disks[1].path);
        p->disks[1].path = NULL;
        p->n_disks = 2;
        CHECK(vm_config_validate(p, roots_a, 1, HOST_MEM, &err) == -EINVAL);
        check_error(__LINE__, &err, "config.storage[1].path", "=required");
        p->n_disks = VM_STORAGE_MAX + 1; /* so the rest is freed */
}

static void test_validate_metadata(void) {
        char key63[64], key64[65], value[VM_METADATA_VALUE_MAX + 2], text[2048];
        VmConfig *c;

        memset(key63, 'k', 63);
        key63[63] = 0;
        memset(key64, 'k', 64);
        key64[64] = 0;

        snprintf(text, sizeof text, NO_DISKS ",`metadata`:{`%s`:`v`,`a`:``}}", key63);
        c = VALIDATE_OK(text);
        CHECK(c->n_metadata == 2);
        CHECK_STREQ(c->metadata[0].key, "a");
        CHECK(c->metadata[0].value && c->metadata[0].value[0] == 0); /* "" is a value */
        vm_config_free(c);
        snprintf(text, sizeof text, NO_DISKS ",`metadata`:{`%s`:`v`}}", key64);
        VALIDATE_FAILS(text, "config.metadata[\"kkkk*", "=key must be at most 63 bytes, got 64");
        VALIDATE_FAILS(NO_DISKS ",`metadata`:{``:`v`}}", "config.metadata[\"\"]", "=key must not be empty");

        memset(value, 'v', VM_METADATA_VALUE_MAX);
        value[VM_METADATA_VALUE_MAX] = 0;
        snprintf(text, sizeof text, NO_DISKS ",`metadata`:{`team`:`%s`}}", value);
        vm_config_free(VALIDATE_OK(text));
        strcat(value, "v");
        snprintf(text, sizeof text, NO_DISKS ",`metadata`:{`team`:`%s`}}", value);
        VALIDATE_FAILS(text, "config.metadata[\"team\"]", "=value must be at most 1024 bytes, got 1025");

        /* Built in code: unsorted gets sorted, duplicates are refused, too many too. */
        _cleanup_(vm_config_freep) VmConfig *p = DECODE_OK(BASE);
        VmError err;
        p->metadata = calloc(VM_METADATA_MAX + 1, sizeof *p->metadata);
        CHECK(p->metadata);
        const char *keys[] = { "zeta", "alpha", "mid" };
        for (size_t i = 0; i < 3; i++) {
                p->metadata[i].key = strdup(keys[i]);
                p->metadata[i].value = strdup("v");
                CHECK(p->metadata[i].key && p->metadata[i].value);
        }
        p->n_metadata = 3;
        CHECK(vm_config_validate(p, roots_a, 1, HOST_MEM, &err) == 0);
        CHECK_STREQ(p->metadata[0].key, "alpha");
        CHECK_STREQ(p->metadata[1].key, "mid");
        CHECK_STREQ(p->metadata[2].key, "zeta");
        free(p->metadata[1].key);
        p->metadata[1].key = strdup("zeta");
        CHECK(p->metadata[1].key);
        CHECK(vm_config_validate(p, roots_a, 1, HOST_MEM, &err) == -EINVAL);
        check_error(__LINE__, &err, "config.metadata[\"zeta\"]", "=duplicate key");
        for (size_t i = 3; i <= VM_METADATA_MAX; i++) {
                p->metadata[i].key = strdup_printf("k%zu", i);
                p->metadata[i].value = strdup("v");
                CHECK(p->metadata[i].key && p->metadata[i].value);
        }
        p->n_metadata = VM_METADATA_MAX + 1;
        CHECK(vm_config_validate(p, roots_a, 1, HOST_MEM, &err) == -EINVAL);
        check_error(__LINE__, &err, "config.metadata", "=at most 64 entries are allowed, got 65");
}

/* Validates the storage list `disks` and checks the resulting ids (a
 * comma-separated list) and which disk is the root device. */
static void check_ids(int line, const char *disks, const char *ids, size_t root) {
        _cleanup_free_ char *tmpl = strdup_printf(NO_DISKS ",`storage`:[%s]}", disks);
        CHECK(tmpl);
        _cleanup_(vm_config_freep) VmConfig *c = validate_ok(line, tmpl, roots_a, 1, HOST_MEM);
        char got[512] = "";
        for (size_t i = 0; i < c->n_disks; i++) {
                strcat(got, i ? "," : "");
                strcat(got, c->disks[i].id ? c->disks[i].id : "(null)");
        }
        size_t got_root = SIZE_MAX, n_roots = 0;
        for (size_t i = 0; i < c->n_disks; i++)
                if (c->disks[i].is_root_device) {
                        got_root = i;
                        n_roots++;
                }
        if (!streq(got, ids) || got_root != root || n_roots != 1) {
                fprintf(stderr, "line %d: ids %s root %zu (%zu roots), expected %s root %zu\n", line, got,
                        got_root, n_roots, ids, root);
                exit(1);
        }
}
#define CHECK_IDS(disks, ids, root) check_ids(__LINE__, disks, ids, root)

#define D_ROOT "{`path`:`$A/rootfs.ext4`}"
#define D_ROOTM "{`path`:`$A/rootfs.ext4`,`is_root_device`:true}"
#define D1 "{`path`:`$A/data.ext4`,`readonly`:true}"
#define D2 "{`path`:`$A/data2.ext4`,`readonly`:true}"
#define D3 "{`path`:`$A/initrd.img`,`readonly`:true}"

static void test_default_ids(void) {
        /* one unmarked disk becomes the root device */
        CHECK_IDS(D_ROOT, "rootfs", 0);
        CHECK_IDS(D_ROOTM, "rootfs", 0);
        /* none marked: the first is the root device, the others disk1, disk2 */
        CHECK_IDS(D_ROOT "," D1 "," D2, "rootfs,disk1,disk2", 0);
        /* the root device anywhere: the others are numbered in order from 1 */
        CHECK_IDS(D1 "," D_ROOTM "," D2, "disk1,rootfs,disk2", 1);
        CHECK_IDS(D1 "," D2 "," D_ROOTM, "disk1,disk2,rootfs", 2);
        /* client ids are kept, and numbering stays positional */
        CHECK_IDS(D_ROOTM ",{`id`:`data`,`path`:`$A/data.ext4`}," D2, "rootfs,data,disk2", 0);
        CHECK_IDS("{`id`:`boot`,`path`:`$A/rootfs.ext4`}," D1, "boot,disk1", 0);
        /* generated ids never take a client's: next free number */
        CHECK_IDS(D_ROOT "," D1 ",{`id`:`disk1`,`path`:`$A/data2.ext4`}", "rootfs,disk2,disk1", 0);
        CHECK_IDS(D_ROOT "," D1 "," D2 ",{`id`:`disk2`,`path`:`$A/initrd.img`,`readonly`:true}",
                  "rootfs,disk1,disk3,disk2", 0);
        CHECK_IDS(D_ROOT ",{`id`:`disk2`,`path`:`$A/data.ext4`}," D2 "," D3, "rootfs,disk2,disk3,disk4", 0);
        CHECK_IDS(D_ROOT ",{`id`:`disk3`,`path`:`$A/data.ext4`}," D2 "," D3, "rootfs,disk3,disk2,disk4", 0);
        CHECK_IDS(D_ROOTM ",{`id`:`rootfs`,`path`:`$A/data.ext4`}", "rootfs1,rootfs", 0);
        CHECK_IDS(D_ROOTM ",{`id`:`rootfs`,`path`:`$A/data.ext4`},{`id`:`rootfs1`,`path`:`$A/data2.ext4`}",
                  "rootfs2,rootfs,rootfs1", 0);
        CHECK_IDS("{`id`:`disk1`,`path`:`$A/rootfs.ext4`}," D1, "disk1,disk2", 0);

        /* A failed validation fills in nothing. */
        _cleanup_(vm_config_freep) VmConfig *c = DECODE_OK("{`cpu`:{`vcpu_count`:2}," MEM128 "," BOOT
                                                           ",`storage`:[" D1 ",{`path`:`$A/missing`}]}");
        VmError err;
        CHECK(vm_config_validate(c, roots_a, 1, HOST_MEM, &err) == -EINVAL);
        check_error(__LINE__, &err, "config.storage[1].path", "=no such file");
        CHECK(!c->disks[0].id && !c->disks[1].id);
        CHECK(!c->disks[0].is_root_device && !c->disks[1].is_root_device);
        CHECK(c->max_vcpu_count == 0);

        /* Validating twice changes nothing the second time. */
        _cleanup_(vm_config_freep) VmConfig *a = VALIDATE_OK(NO_DISKS ",`storage`:[" D1 "," D_ROOT "]}");
        _cleanup_(vm_config_freep) VmConfig *b = VALIDATE_OK(NO_DISKS ",`storage`:[" D1 "," D_ROOT "]}");
        CHECK(vm_config_validate(b, roots_a, 1, HOST_MEM, &err) == 0);
        CHECK(vm_config_equal(a, b));
        CHECK_STREQ(a->disks[0].id, "rootfs");
        CHECK_STREQ(a->disks[1].id, "disk1");
}

/* Dumps j compactly (the canonical form's text) and releases j. */
static char *dump(json_t *j) {
        CHECK(j);
        char *s = json_dumps(j, JSON_COMPACT);
        CHECK(s);
        json_decref(j);
        return s;
}

static void test_canonical(void) {
        VmError err;

        _cleanup_(vm_config_freep) VmConfig *min = VALIDATE_OK(NO_DISKS "}");
        _cleanup_free_ char *min_text = dump(vm_config_to_json(min));
        _cleanup_free_ char *min_expected =
                expand("{`cpu`:{`vcpuCount`:1,`maxVcpuCount`:1},"
                       "`memory`:{`sizeBytes`:134217728,`hotplugSizeBytes`:0},"
                       "`boot`:{`kernelPath`:`$A/vmlinux`,`kernelArgs`:``,`initrdPath`:``},"
                       "`storage`:[],`metadata`:{}}",
                       true);
        CHECK_STREQ(min_text, min_expected);

        const char *full_tmpl = "{`metadata`:{`team`:`infra`,`env`:`prod \\\"x\\\"`},"
                                "`storage`:[{`path`:`$A/data.ext4`,`readonly`:true},"
                                "{`path`:`$A/rootfs.ext4`,`isRootDevice`:true}],"
                                "`boot`:{`initrd_path`:`$A/initrd.img`,`kernelArgs`:`console=ttyS0`,"
                                "`kernel_path`:`$A/vmlinux`},"
                                "`memory`:{`hotplug_size_bytes`:`1073741824`,`sizeBytes`:536870912},"
                                "`cpu`:{`max_vcpu_count`:8,`vcpuCount`:`2`}}";
        _cleanup_(vm_config_freep) VmConfig *full = VALIDATE_OK(full_tmpl);
        _cleanup_free_ char *full_text = dump(vm_config_to_json(full));
        _cleanup_free_ char *full_expected = expand(
                "{`cpu`:{`vcpuCount`:2,`maxVcpuCount`:8},"
                "`memory`:{`sizeBytes`:536870912,`hotplugSizeBytes`:1073741824},"
                "`boot`:{`kernelPath`:`$A/vmlinux`,`kernelArgs`:`console=ttyS0`,"
                "`initrdPath`:`$A/initrd.img`},"
                "`storage`:[{`id`:`disk1`,`path`:`$A/data.ext4`,`readonly`:true,`isRootDevice`:false},"
                "{`id`:`rootfs`,`path`:`$A/rootfs.ext4`,`readonly`:false,`isRootDevice`:true}],"
                "`metadata`:{`env`:`prod \\\"x\\\"`,`team`:`infra`}}",
                true);
        CHECK_STREQ(full_text, full_expected);

        /* round trip: text -> config -> same text, and equal configs */
        _cleanup_(vm_config_freep) VmConfig *back = NULL;
        CHECK(vm_config_from_canonical(full_text, &back) == 0);
        CHECK(vm_config_equal(full, back));
        _cleanup_free_ char *again = dump(vm_config_to_json(back));
        CHECK_STREQ(again, full_text);
        /* and the canonical form validates to itself */
        CHECK(vm_config_validate(back, roots_a, 1, HOST_MEM, &err) == 0);
        CHECK(vm_config_equal(full, back));

        _cleanup_(vm_config_freep) VmConfig *min_back = NULL;
        CHECK(vm_config_from_canonical(min_text, &min_back) == 0);
        CHECK(vm_config_equal(min, min_back));
        CHECK(min_back->kernel_args == NULL && min_back->initrd_path == NULL);

        /* Not yet validated: max_vcpu_count 0 is written as vcpu_count. */
        _cleanup_(vm_config_freep) VmConfig *raw = DECODE_OK("{`cpu`:{`vcpu_count`:3}}");
        _cleanup_free_ char *raw_text = dump(vm_config_to_json(raw));
        CHECK(strstr(raw_text, "\"cpu\":{\"vcpuCount\":3,\"maxVcpuCount\":3}"));
        CHECK(strstr(raw_text, "\"kernelPath\":\"\""));

        /* int64 extremes stay numbers and come back intact */
        _cleanup_(vm_config_freep) VmConfig *big =
                DECODE_OK("{`memory`:{`size_bytes`:`9223372036854775807`}}");
        _cleanup_free_ char *big_text = dump(vm_config_to_json(big));
        CHECK(strstr(big_text, "\"sizeBytes\":9223372036854775807"));
        _cleanup_(vm_config_freep) VmConfig *big_back = NULL;
        CHECK(vm_config_from_canonical(big_text, &big_back) == 0);
        CHECK(big_back->memory_bytes == INT64_MAX);

        /* Bad stored text. */
        VmConfig *sentinel = (VmConfig *) &err, *bad = sentinel;
        CHECK(vm_config_from_canonical("", &bad) == -EINVAL);
        CHECK(vm_config_from_canonical("{", &bad) == -EINVAL);
        CHECK(vm_config_from_canonical("[]", &bad) == -EINVAL);
        CHECK(vm_config_from_canonical("{\"cpu\":{},\"cpu\":{}}", &bad) == -EINVAL);
        CHECK(vm_config_from_canonical("{\"bogus\":1}", &bad) == -EINVAL);
        CHECK(vm_config_from_canonical("{\"cpu\":{\"vcpuCount\":-1}}", &bad) == -EINVAL);
        CHECK(bad == sentinel);
}

static void test_equal(void) {
        const char *base = "{`cpu`:{`vcpu_count`:2,`max_vcpu_count`:4},"
                           "`memory`:{`size_bytes`:268435456,`hotplug_size_bytes`:1048576},"
                           "`boot`:{`kernel_path`:`/k`,`kernel_args`:`a`,`initrd_path`:`/i`},"
                           "`storage`:[{`id`:`r`,`path`:`/p`,`readonly`:false,`is_root_device`:true}],"
                           "`metadata`:{`a`:`1`}}";
        /* Each one change to base that must make the configs differ. */
        static const struct {
                const char *from, *to;
        } changes[] = {
                { "`vcpu_count`:2", "`vcpu_count`:3" },
                { "`max_vcpu_count`:4", "`max_vcpu_count`:5" },
                { "`size_bytes`:268435456", "`size_bytes`:268435457" },
                { ",`hotplug_size_bytes`:1048576", "" },
                { "`kernel_path`:`/k`", "`kernel_path`:`/K`" },
                { "`kernel_args`:`a`,", "" },
                { ",`initrd_path`:`/i`", "" },
                { "[{`id`:`r`,`path`:`/p`,`readonly`:false,`is_root_device`:true}]", "[]" },
                { "`id`:`r`", "`id`:`s`" },
                { "`path`:`/p`", "`path`:`/q`" },
                { "`readonly`:false", "`readonly`:true" },
                { "`is_root_device`:true", "`is_root_device`:false" },
                { "true}]", "true},{`id`:`s`,`path`:`/p`,`readonly`:true}]" },
                { "{`a`:`1`}", "{`a`:`2`}" },
                { "{`a`:`1`}", "{`b`:`1`}" },
                { "{`a`:`1`}", "{}" },
                { "{`a`:`1`}", "{`a`:`1`,`b`:`1`}" },
        };
        _cleanup_(vm_config_freep) VmConfig *a = DECODE_OK(base), *b = DECODE_OK(base);

        CHECK(vm_config_equal(a, a));
        CHECK(vm_config_equal(a, b));
        for (size_t i = 0; i < ELEMENTSOF(changes); i++) {
                char *text = strdup(base);
                CHECK(text);
                CHECK(strstr(text, changes[i].from));
                text = replace_all(text, changes[i].from, changes[i].to);
                VmConfig *d = DECODE_OK(text);
                if (vm_config_equal(a, d) || vm_config_equal(d, a)) {
                        fprintf(stderr, "change %zu compares equal: %s\n", i, text);
                        exit(1);
                }
                vm_config_free(d);
                free(text);
        }

        /* After defaults: max_vcpu_count 0 equals vcpu_count; NULL equals "". */
        _cleanup_(vm_config_freep) VmConfig *x = DECODE_OK("{`cpu`:{`vcpu_count`:2}}");
        _cleanup_(vm_config_freep) VmConfig *y = DECODE_OK("{`cpu`:{`vcpu_count`:2,`max_vcpu_count`:2}}");
        _cleanup_(vm_config_freep) VmConfig *z = DECODE_OK("{`cpu`:{`vcpu_count`:2,`max_vcpu_count`:3}}");
        CHECK(vm_config_equal(x, y));
        CHECK(!vm_config_equal(x, z));
        y->kernel_args = strdup("");
        CHECK(y->kernel_args);
        CHECK(vm_config_equal(x, y));

        /* Spelling and order of the request do not matter. */
        _cleanup_(vm_config_freep) VmConfig *r1 =
                DECODE_OK("{`metadata`:{`b`:`2`,`a`:`1`},`cpu`:{`vcpuCount`:1}}");
        _cleanup_(vm_config_freep) VmConfig *r2 =
                DECODE_OK("{`cpu`:{`vcpu_count`:`1`},`metadata`:{`a`:`1`,`b`:`2`}}");
        CHECK(vm_config_equal(r1, r2));
}

static void test_vm_ids(void) {
        char id64[VM_ID_MAX + 2];

        CHECK(vm_id_is_valid("a"));
        CHECK(vm_id_is_valid("vm-abc"));
        CHECK(vm_id_is_valid("A-1"));
        CHECK(vm_id_is_valid("0"));
        CHECK(vm_id_is_valid("a-"));
        CHECK(vm_id_is_valid("a--b"));
        memset(id64, 'x', sizeof id64);
        id64[VM_ID_MAX] = 0;
        CHECK(vm_id_is_valid(id64));
        id64[VM_ID_MAX] = 'x';
        id64[VM_ID_MAX + 1] = 0;
        CHECK(!vm_id_is_valid(id64));
        CHECK(!vm_id_is_valid(NULL));
        CHECK(!vm_id_is_valid(""));
        CHECK(!vm_id_is_valid("-a"));
        CHECK(!vm_id_is_valid("-"));
        CHECK(!vm_id_is_valid("a_b"));
        CHECK(!vm_id_is_valid("a b"));
        CHECK(!vm_id_is_valid("a.b"));
        CHECK(!vm_id_is_valid("a/b"));
        CHECK(!vm_id_is_valid("../x"));
        CHECK(!vm_id_is_valid("a\n"));
        CHECK(!vm_id_is_valid("\xc3\xa9"));

        enum { N = 1000 };
        char *ids[N];
        for (size_t i = 0; i < N; i++) {
                CHECK(vm_id_generate(&ids[i]) == 0);
                CHECK(strlen(ids[i]) == 29);
                CHECK(strncmp(ids[i], "vm-", 3) == 0);
                CHECK(strspn(ids[i] + 3, "abcdefghijklmnopqrstuvwxyz234567") == 26);
                CHECK(vm_id_is_valid(ids[i]));
        }
        for (size_t i = 0; i < N; i++)
                for (size_t j = i + 1; j < N; j++)
                        CHECK(!streq(ids[i], ids[j]));
        for (size_t i = 0; i < N; i++)
                free(ids[i]);
}

int main(void) {
        fixture_setup();

        test_seed_examples();
        test_field_names();
        test_type_errors();
        test_unknown_fields();
        test_decode_limits();
        test_validate_cpu_memory();
        test_validate_boot();
        test_asset_paths();
        test_validate_storage();
        test_validate_metadata();
        test_default_ids();
        test_canonical();
        test_equal();
        test_vm_ids();

        printf("test-vm-config: all tests passed\n");
        return 0;
}
