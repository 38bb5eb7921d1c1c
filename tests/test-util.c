/* SPDX-License-Identifier: Apache-2.0 */
/* util/ helpers and the daemon's option parsing (command line over environment). */
#include <sys/stat.h>

#include "options.h"
#include "test.h"
#include "util/log.h"
#include "util/strset.h"

static void test_util(void) {
        char buf[40];
        CHECK_STREQ(format_rfc3339(1795700101123LL, buf, sizeof buf), "2026-11-26T13:35:01.123Z");
        CHECK(now_ms() > 1700000000000LL);
        uint64_t a = now_mono_us(), b = now_mono_us();
        CHECK(b >= a);

        char dir[] = "/tmp/test-util-XXXXXX";
        CHECK(mkdtemp(dir) != NULL);
        char *deep = strdup_printf("%s/a/b/c", dir);
        CHECK(mkdir_p(deep, 0700) == 0);
        CHECK(mkdir_p(deep, 0700) == 0); /* idempotent */
        struct stat st;
        CHECK(stat(deep, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700);
        char *f = strdup_printf("%s/file", deep);
        FILE *fp = fopen(f, "w");
        fputs("hello", fp);
        fclose(fp);
        char *text = NULL;
        size_t n;
        CHECK(read_full_file(f, 100, &text, &n) == 0);
        CHECK_STREQ(text, "hello");
        CHECK_INTEQ(n, 5);
        free(text);
        CHECK(read_full_file(f, 3, &text, &n) == -EFBIG);
        CHECK(read_full_file(f, 5, &text, &n) == 0 && n == 5);
        free(text);
        CHECK(read_full_file("/nonexistent/x", 100, &text, &n) == -ENOENT);
        CHECK(rm_rf(dir) == 0);
        CHECK(stat(dir, &st) < 0 && errno == ENOENT);
        CHECK(rm_rf(dir) == 0); /* missing is fine */
        free(deep);
        free(f);

        unsigned char r1[16] = { 0 }, r2[16] = { 0 };
        CHECK(random_bytes(r1, sizeof r1) == 0);
        CHECK(random_bytes(r2, sizeof r2) == 0);
        CHECK(memcmp(r1, r2, sizeof r1) != 0);

        CHECK_INTEQ(log_level_from_string("debug"), LOG_LEVEL_DEBUG);
        CHECK(log_level_from_string("loud") < 0);
}

static int parse(char **argv, Options *o, char **err) {
        int argc = 0;
        while (argv[argc])
                argc++;
        memset(o, 0, sizeof *o);
        *err = NULL;
        return options_parse(argc, argv, o, err);
}

static void test_options(void) {
        Options o;
        char *err;
        unsetenv("METALD_LISTEN");
        unsetenv("METALD_ASSET_ROOT");
        CHECK(parse((char *[]){ "metald", NULL }, &o, &err) == 0);
        CHECK_STREQ(o.listen, "127.0.0.1:8080");
        CHECK_STREQ(o.data_dir, "/var/lib/metald");
        CHECK_STREQ(o.default_backend, "firecracker");
        CHECK_INTEQ(o.n_asset_roots, 1);
        CHECK_STREQ(o.asset_roots[0], "/opt/vm-assets");
        CHECK_STREQ(o.vmm_user, "metald-vmm"); /* VMMs never run as root by default */
        CHECK(o.jailer_binary == NULL && o.jailer_chroot_base == NULL && o.jailer_cgroup_version == 0);
        options_done(&o);

        /* The VMM user and the jailer: from the environment, the command line wins. */
        setenv("METALD_VMM_USER", "vmm-env", 1);
        CHECK(parse((char *[]){ "metald", "--jailer-binary", "/usr/bin/jailer", "--jailer-chroot-base",
                                "/srv/j", "--jailer-cgroup-version", "2", NULL },
                    &o, &err) == 0);
        CHECK_STREQ(o.vmm_user, "vmm-env");
        CHECK_STREQ(o.jailer_binary, "/usr/bin/jailer");
        CHECK_STREQ(o.jailer_chroot_base, "/srv/j");
        CHECK_INTEQ(o.jailer_cgroup_version, 2);
        options_done(&o);
        CHECK(parse((char *[]){ "metald", "--vmm-user", "root", NULL }, &o, &err) == 0);
        CHECK_STREQ(o.vmm_user, "root");
        options_done(&o);
        unsetenv("METALD_VMM_USER");
        CHECK(parse((char *[]){ "metald", "--vmm-user", "", NULL }, &o, &err) == -EINVAL);
        CHECK(err && strstr(err, "--vmm-user"));
        err = mfree(err);
        options_done(&o);
        CHECK(parse((char *[]){ "metald", "--jailer-cgroup-version", "3", NULL }, &o, &err) == -EINVAL);
        CHECK(err && strstr(err, "--jailer-cgroup-version"));
        err = mfree(err);
        options_done(&o);
        CHECK(parse((char *[]){ "metald", "--jailer-chroot-base", "rel", NULL }, &o, &err) == -EINVAL);
        CHECK(err && strstr(err, "absolute"));
        err = mfree(err);
        options_done(&o);

        setenv("METALD_LISTEN", "127.0.0.1:9999", 1);
        setenv("METALD_ASSET_ROOT", "/a:/b", 1);
        CHECK(parse((char *[]){ "metald", NULL }, &o, &err) == 0);
        CHECK_STREQ(o.listen, "127.0.0.1:9999");
        CHECK_INTEQ(o.n_asset_roots, 2);
        options_done(&o);
        /* The command line wins, and replaces the environment's asset roots. */
        CHECK(parse((char *[]){ "metald", "--listen", "[::1]:1", "--asset-root", "/c", "--asset-root", "/d",
                                "--data-dir", "/tmp/x", NULL },
                    &o, &err) == 0);
        CHECK_STREQ(o.listen, "[::1]:1");
        CHECK_INTEQ(o.n_asset_roots, 2);
        CHECK_STREQ(o.asset_roots[0], "/c");
        CHECK_STREQ(o.asset_roots[1], "/d");
        options_done(&o);
        unsetenv("METALD_LISTEN");
        unsetenv("METALD_ASSET_ROOT");

        CHECK(parse((char *[]){ "metald", "--asset-root", "relative", NULL }, &o, &err) == -EINVAL);
        CHECK(err && strstr(err, "absolute"));
        free(err);
        options_done(&o);
        CHECK(parse((char *[]){ "metald", "--workers", "0", NULL }, &o, &err) == -EINVAL);
        CHECK(err && strstr(err, "--workers"));
        free(err);
        options_done(&o);
        CHECK(parse((char *[]){ "metald", "--bogus", NULL }, &o, &err) == -EINVAL);
        CHECK(err && strstr(err, "--bogus"));
        free(err);
        options_done(&o);
        CHECK(parse((char *[]){ "metald", "--log-level", "loud", NULL }, &o, &err) == -EINVAL);
        free(err);
        options_done(&o);
        CHECK(parse((char *[]){ "metald", "extra", NULL }, &o, &err) == -EINVAL);
        free(err);
        options_done(&o);
        CHECK(parse((char *[]){ "metald", "--help", NULL }, &o, &err) == 0 && o.help);
        options_done(&o);
}

static void test_strset(void) {
        StrSet s = { 0 };
        char key[32];
        for (int i = 0; i < 5000; i++) {
                snprintf(key, sizeof key, "vm-%d", i);
                CHECK(strset_add(&s, key) == 1);
        }
        CHECK(strset_add(&s, "vm-7") == 0);
        CHECK_INTEQ(s.n, 5000);
        CHECK(strset_contains(&s, "vm-4999"));
        CHECK(!strset_contains(&s, "vm-5000"));
        for (int i = 0; i < 5000; i += 2) {
                snprintf(key, sizeof key, "vm-%d", i);
                CHECK(strset_remove(&s, key));
        }
        CHECK(!strset_remove(&s, "vm-0"));
        CHECK_INTEQ(s.n, 2500);
        int found = 0;
        for (int i = 0; i < 5000; i++) {
                snprintf(key, sizeof key, "vm-%d", i);
                found += strset_contains(&s, key);
        }
        CHECK_INTEQ(found, 2500);
        /* Churn: tombstones must not fill the table. */
        for (int round = 0; round < 20; round++)
                for (int i = 0; i < 1000; i++) {
                        snprintf(key, sizeof key, "churn-%d-%d", round, i);
                        CHECK(strset_add(&s, key) == 1);
                        CHECK(strset_remove(&s, key));
                }
        CHECK_INTEQ(s.n, 2500);
        CHECK(s.cap <= 16384);
        strset_clear(&s);
        CHECK(!strset_contains(&s, "vm-1"));
}

/* Sources are recorded per option; every usage error is reported, one a line. */
static void test_option_sources(void) {
        Options o;
        char *err = NULL;
        setenv("METALD_WORKERS", "8", 1);
        setenv("METALD_MAX_VMS", "7", 1);
        CHECK(parse((char *[]){ "metald", "--workers", "3", "--check-config", NULL }, &o, &err) == 0);
        CHECK(o.check_config);
        CHECK_INTEQ(o.workers, 3);
        CHECK_INTEQ(o.max_vms, 7);
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);
        options_dump(&o, f);
        fclose(f);
        CHECK(strstr(text, "(flag --workers)") != NULL);
        CHECK(strstr(text, "(env METALD_MAX_VMS)") != NULL);
        CHECK(strstr(text, "127.0.0.1:8080") != NULL);
        free(text);
        options_done(&o);
        setenv("METALD_WORKERS", "100", 1);
        CHECK(parse((char *[]){ "metald", "--bogus", "--max-vms", "x", NULL }, &o, &err) == -EINVAL);
        CHECK(err && strstr(err, "METALD_WORKERS: --workers: \"100\""));
        CHECK(err && strstr(err, "\nunknown option or missing value: --bogus"));
        CHECK(err && strstr(err, "\n--max-vms: \"x\""));
        free(err);
        options_done(&o);
        unsetenv("METALD_WORKERS");
        unsetenv("METALD_MAX_VMS");
}

/* The journal is stderr only when JOURNAL_STREAM names stderr's device and inode. */
static void test_log_target(void) {
        struct stat st;
        CHECK(fstat(STDERR_FILENO, &st) == 0);
        char v[64];
        snprintf(v, sizeof v, "%llu:%llu", (unsigned long long) st.st_dev, (unsigned long long) st.st_ino);
        setenv("JOURNAL_STREAM", v, 1);
        CHECK(log_open());
        CHECK(log_to_journal());
        snprintf(v, sizeof v, "%llu:%llu", (unsigned long long) st.st_dev,
                 (unsigned long long) st.st_ino + 1);
        setenv("JOURNAL_STREAM", v, 1); /* another stream: stderr was redirected */
        CHECK(!log_open());
        setenv("JOURNAL_STREAM", "garbage", 1);
        CHECK(!log_open());
        unsetenv("JOURNAL_STREAM");
        CHECK(!log_open());
        CHECK(!log_to_journal());
        CHECK_STREQ(log_level_to_string(LOG_LEVEL_WARNING), "warning");
        CHECK(log_level_to_string(99) == NULL);
}

/* grow_array: doubles only when full, keeps what is there, refuses overflow. */
static void test_grow_array(void) {
        int *a = NULL;
        size_t cap = 0;
        for (size_t n = 0; n < 100; n++) {
                CHECK(GROW_ARRAY(a, cap, n, 4) == 0);
                CHECK(cap > n);
                a[n] = (int) n;
        }
        CHECK(cap == 128);
        bool same = true;
        for (size_t n = 0; n < 100; n++)
                same = same && a[n] == (int) n;
        CHECK(same);
        size_t before = cap;
        CHECK(GROW_ARRAY(a, cap, 5, 4) == 0 && cap == before); /* room already */
        free(a);
        void *big = NULL;
        size_t bigcap = SIZE_MAX / 2;
        CHECK(grow_array(&big, &bigcap, bigcap, 16, 1) == -ENOMEM && big == NULL);
        CHECK(unhexchar('0') == 0 && unhexchar('a') == 10 && unhexchar('F') == 15 && unhexchar('g') == -1);
}

int main(void) {
        test_grow_array();
        test_strset();
        test_util();
        test_options();
        test_option_sources();
        test_log_target();
        return test_done("test-util");
}
