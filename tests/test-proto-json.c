/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The protobuf-c <-> JSON converter (src/api/proto-json.c), field type by
 * field type and both ways, on tests/proto/types.proto (every proto3 type,
 * maps, a oneof); then the API's own schema: every served method is in it,
 * and answers shaped like the handlers' survive the binary codec.
 */
#include <math.h>

#include "api/network-service.h"
#include "api/proto-json.h"
#include "manager.h"
#include "test.h"
#include "legacy.pb-c.h"
#include "types.pb-c.h"
#include "vm.pb-c.h"

/* Sorted, compact JSON text of the message m (NULL on failure). */
static char *to_text(const ProtobufCMessage *m) {
        json_t *j = NULL;
        char err[256];
        if (proto_to_json(m, &j, err, sizeof err) < 0) {
                fprintf(stderr, "proto_to_json: %s\n", err);
                return NULL;
        }
        char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(j);
        return s;
}

/* JSON text -> AllTypes -> binary -> AllTypes -> JSON text, sorted: what a
 * client sees after a trip through the binary codec. NULL (err filled) if the
 * JSON is refused. */
static char *round_trip(const char *json, char *err, size_t es) {
        json_t *in = json_loads(json, JSON_ALLOW_NUL, NULL);
        if (!in) {
                snprintf(err, es, "bad test JSON");
                return NULL;
        }
        uint8_t *bin = NULL;
        size_t n = 0;
        int r = proto_pack_json(&metaldtest__all_types__descriptor, in, &bin, &n, err, es);
        json_decref(in);
        if (r < 0)
                return NULL;
        json_t *out = NULL;
        r = proto_unpack_json(&metaldtest__all_types__descriptor, bin, n, &out, err, es);
        free(bin);
        if (r < 0)
                return NULL;
        char *s = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(out);
        return s;
}

#define CHECK_TRIP(in, want)                                                                                \
        do {                                                                                                \
                char err_[256] = "";                                                                        \
                char *got_ = round_trip(in, err_, sizeof err_);                                             \
                if (!got_)                                                                                  \
                        fprintf(stderr, "refused: %s\n", err_);                                             \
                CHECK_STREQ(got_, want);                                                                    \
                free(got_);                                                                                 \
        } while (0)

/* in must be refused with -EINVAL/-ERANGE and a message containing needle. */
#define CHECK_REFUSED(in, needle)                                                                           \
        do {                                                                                                \
                char err_[256] = "";                                                                        \
                char *got_ = round_trip(in, err_, sizeof err_);                                             \
                CHECK(got_ == NULL);                                                                        \
                free(got_);                                                                                 \
                if (!strstr(err_, needle))                                                                  \
                        fprintf(stderr, "error \"%s\" lacks \"%s\"\n", err_, needle);                       \
                CHECK(strstr(err_, needle) != NULL);                                                        \
        } while (0)

/* From C structs to JSON: names, int64 as strings, enums by name, defaults left out. */
static void test_to_json(void) {
        Metaldtest__AllTypes m = METALDTEST__ALL_TYPES__INIT;
        char *s = to_text(&m.base);
        CHECK_STREQ(s, "{}"); /* every field at its default */
        free(s);

        Metaldtest__Inner inner = METALDTEST__INNER__INIT;
        inner.name = (char *) "in";
        inner.big = -5;
        uint8_t bytes[] = { 0xfb, 0xff, 0x00 };
        int32_t r32[] = { 1, -2 };
        Metaldtest__Color colors[] = { METALDTEST__COLOR__COLOR_BLUE, (Metaldtest__Color) 7 };
        m.f_int32 = INT32_MIN;
        m.f_sint32 = -3;
        m.f_sfixed32 = INT32_MAX;
        m.f_uint32 = UINT32_MAX;
        m.f_fixed32 = 4;
        m.f_int64 = INT64_MIN;
        m.f_sint64 = -9007199254740993LL; /* beyond a double's exact integers */
        m.f_sfixed64 = 6;
        m.f_uint64 = UINT64_MAX;
        m.f_fixed64 = 8;
        m.f_float = 1.5f;
        m.f_double = -0.25;
        m.f_bool = 1;
        m.f_enum = METALDTEST__COLOR__COLOR_RED;
        m.f_string = (char *) "h\xc3\xa9";
        m.f_bytes = (ProtobufCBinaryData){ sizeof bytes, bytes };
        m.f_message = &inner;
        m.n_r_int32 = 2;
        m.r_int32 = r32;
        m.n_r_enum = 2;
        m.r_enum = colors;
        m.choice_case = METALDTEST__ALL_TYPES__CHOICE_CHOICE_NUMBER;
        m.choice_number = 0; /* a oneof member is written when set, even at 0 */
        s = to_text(&m.base);
        CHECK_STREQ(s,
                    "{\"choiceNumber\":0,\"fBool\":true,\"fBytes\":\"+/8A\",\"fDouble\":-0.25,"
                    "\"fEnum\":\"COLOR_RED\",\"fFixed32\":4,\"fFixed64\":\"8\",\"fFloat\":1.5,"
                    "\"fInt32\":-2147483648,\"fInt64\":\"-9223372036854775808\","
                    "\"fMessage\":{\"big\":\"-5\",\"name\":\"in\"},\"fSfixed32\":2147483647,"
                    "\"fSfixed64\":\"6\",\"fSint32\":-3,\"fSint64\":\"-9007199254740993\","
                    "\"fString\":\"h\xc3\xa9\",\"fUint32\":4294967295,\"fUint64\":\"18446744073709551615\","
                    "\"rEnum\":[\"COLOR_BLUE\",7],\"rInt32\":[1,-2]}");
        free(s);

        /* Floating point specials are strings in the mapping. */
        Metaldtest__AllTypes f = METALDTEST__ALL_TYPES__INIT;
        double ds[] = { NAN, INFINITY, -INFINITY };
        f.n_r_double = 3;
        f.r_double = ds;
        f.f_double = -0.0; /* not the default: its sign is kept */
        s = to_text(&f.base);
        CHECK_STREQ(s, "{\"fDouble\":-0.0,\"rDouble\":[\"NaN\",\"Infinity\",\"-Infinity\"]}");
        free(s);

        /* A string that is not UTF-8 (protobuf-c does not check) is refused, by path. */
        Metaldtest__Inner bad = METALDTEST__INNER__INIT;
        bad.name = (char *) "\xc3\x28";
        Metaldtest__AllTypes b = METALDTEST__ALL_TYPES__INIT;
        b.f_message = &bad;
        json_t *j = NULL;
        char err[256] = "";
        CHECK(proto_to_json(&b.base, &j, err, sizeof err) == -EINVAL);
        CHECK(strstr(err, "fMessage.name: not valid UTF-8") != NULL);
        CHECK(j == NULL);
        bad.name = (char *) "\xed\xa0\x80"; /* a surrogate */
        CHECK(proto_to_json(&b.base, &j, err, sizeof err) == -EINVAL);
        bad.name = (char *) "\xe0\x80\xaf"; /* overlong */
        CHECK(proto_to_json(&b.base, &j, err, sizeof err) == -EINVAL);
}

/* Both ways through the binary form, type by type. */
static void test_round_trips(void) {
        /* integers: numbers or strings in, numbers (32-bit) or strings (64-bit) out */
        CHECK_TRIP("{\"fInt32\":\"-7\",\"f_sint32\":-2147483648,\"fSfixed32\":5}",
                   "{\"fInt32\":-7,\"fSfixed32\":5,\"fSint32\":-2147483648}");
        CHECK_TRIP("{\"fUint32\":4294967295,\"fFixed32\":\"1\"}", "{\"fFixed32\":1,\"fUint32\":4294967295}");
        CHECK_TRIP("{\"fInt64\":-9223372036854775808,\"fSint64\":\"9223372036854775807\",\"fSfixed64\":1}",
                   "{\"fInt64\":\"-9223372036854775808\",\"fSfixed64\":\"1\",\"fSint64\":"
                   "\"9223372036854775807\"}");
        CHECK_TRIP("{\"fUint64\":\"18446744073709551615\",\"fFixed64\":3}",
                   "{\"fFixed64\":\"3\",\"fUint64\":\"18446744073709551615\"}");
        CHECK_TRIP("{\"fInt32\":3.0}", "{\"fInt32\":3}"); /* an integral number is an integer */
        /* floating point */
        CHECK_TRIP("{\"fFloat\":0.5,\"fDouble\":\"2.5e3\"}", "{\"fDouble\":2500.0,\"fFloat\":0.5}");
        CHECK_TRIP("{\"fFloat\":\"NaN\",\"fDouble\":\"-Infinity\"}",
                   "{\"fDouble\":\"-Infinity\",\"fFloat\":\"NaN\"}");
        CHECK_TRIP("{\"fDouble\":7}", "{\"fDouble\":7.0}");
        /* bool, enum (name or number), string */
        CHECK_TRIP("{\"fBool\":true,\"fEnum\":2,\"fString\":\"x y\"}",
                   "{\"fBool\":true,\"fEnum\":\"COLOR_BLUE\",\"fString\":\"x y\"}");
        CHECK_TRIP("{\"fEnum\":\"COLOR_RED\"}", "{\"fEnum\":\"COLOR_RED\"}");
        CHECK_TRIP("{\"fEnum\":9}", "{\"fEnum\":9}"); /* open enum: unknown numbers are kept */
        /* bytes: URL-safe and unpadded in, standard and padded out */
        CHECK_TRIP("{\"fBytes\":\"-_8\"}", "{\"fBytes\":\"+/8=\"}");
        CHECK_TRIP("{\"fBytes\":\"aGk=\"}", "{\"fBytes\":\"aGk=\"}");
        /* defaults are left out, null is the default */
        CHECK_TRIP("{\"fInt32\":0,\"fString\":\"\",\"fBool\":false,\"fEnum\":\"COLOR_UNSPECIFIED\","
                   "\"fBytes\":\"\","
                   "\"rInt32\":[],\"labels\":{},\"fMessage\":null,\"fDouble\":null}",
                   "{}");
        /* nested messages: an empty one is present */
        CHECK_TRIP("{\"fMessage\":{}}", "{\"fMessage\":{}}");
        CHECK_TRIP("{\"f_message\":{\"name\":\"a\",\"big\":\"12\"}}",
                   "{\"fMessage\":{\"big\":\"12\",\"name\":\"a\"}}");
        /* repeated, of each kind */
        CHECK_TRIP("{\"rInt32\":[1,\"2\",-3],\"rInt64\":[\"4\",5],\"rString\":[\"a\",\"\"],\"rEnum\":["
                   "\"COLOR_RED\",0],"
                   "\"rBytes\":[\"AA==\"],\"rDouble\":[1.5],\"rBool\":[true,false]}",
                   "{\"rBool\":[true,false],\"rBytes\":[\"AA==\"],\"rDouble\":[1.5],"
                   "\"rEnum\":[\"COLOR_RED\",\"COLOR_UNSPECIFIED\"],\"rInt32\":[1,2,-3],\"rInt64\":[\"4\","
                   "\"5\"],"
                   "\"rString\":[\"a\",\"\"]}");
        CHECK_TRIP("{\"rMessage\":[{\"name\":\"x\"},{}]}", "{\"rMessage\":[{\"name\":\"x\"},{}]}");
        /* maps: string, integer and bool keys */
        CHECK_TRIP("{\"labels\":{\"b\":\"2\",\"a\":\"\"}}", "{\"labels\":{\"a\":\"\",\"b\":\"2\"}}");
        CHECK_TRIP("{\"byNumber\":{\"-1\":{\"name\":\"neg\"},\"7\":{}}}",
                   "{\"byNumber\":{\"-1\":{\"name\":\"neg\"},\"7\":{}}}");
        CHECK_TRIP("{\"by_flag\":{\"true\":\"5\",\"false\":0}}",
                   "{\"byFlag\":{\"false\":\"0\",\"true\":\"5\"}}");
        /* oneof */
        CHECK_TRIP("{\"choiceText\":\"\"}", "{\"choiceText\":\"\"}");
        CHECK_TRIP("{\"choiceNumber\":3}", "{\"choiceNumber\":3}");
}

/* Every wrong input is refused, naming the field's path. */
static void test_refusals(void) {
        CHECK_REFUSED("{\"nope\":1}", "unknown field \"nope\"");
        CHECK_REFUSED("{\"fMessage\":{\"nope\":1}}", "fMessage: unknown field \"nope\"");
        CHECK_REFUSED("{\"fInt32\":1,\"f_int32\":2}", "given twice");
        CHECK_REFUSED("{\"fInt32\":2147483648}", "fInt32: out of range for int32");
        CHECK_REFUSED("{\"fInt32\":1.5}", "fInt32: int32: expected an integer");
        CHECK_REFUSED("{\"fInt32\":\"12abc\"}", "expected an integer");
        CHECK_REFUSED("{\"fInt64\":\"9223372036854775808\"}", "fInt64: out of range for int64");
        CHECK_REFUSED("{\"fUint32\":-1}", "fUint32");
        CHECK_REFUSED("{\"fUint32\":4294967296}", "out of range for uint32");
        CHECK_REFUSED("{\"fUint64\":\"-1\"}", "expected a non-negative integer");
        CHECK_REFUSED("{\"fUint64\":\"18446744073709551616\"}", "out of range for uint64");
        CHECK_REFUSED("{\"fFloat\":1e39}", "out of range for float");
        CHECK_REFUSED("{\"fDouble\":\"fast\"}", "fDouble: expected a number");
        CHECK_REFUSED("{\"fDouble\":true}", "expected a number");
        CHECK_REFUSED("{\"fBool\":\"true\"}", "fBool: expected true or false");
        CHECK_REFUSED("{\"fEnum\":\"COLOR_GREEN\"}", "\"COLOR_GREEN\" is not a value of metaldtest.Color");
        CHECK_REFUSED("{\"fEnum\":true}", "expected a metaldtest.Color name or number");
        CHECK_REFUSED("{\"fString\":5}", "fString: expected a string");
        CHECK_REFUSED("{\"fString\":\"a\\u0000b\"}", "must not contain NUL");
        CHECK_REFUSED("{\"fBytes\":\"a*b=\"}", "fBytes: not valid base64");
        CHECK_REFUSED("{\"fBytes\":\"a\"}", "not valid base64");
        CHECK_REFUSED("{\"fMessage\":[]}", "fMessage: expected an object (metaldtest.Inner)");
        CHECK_REFUSED("{\"fMessage\":{\"big\":\"x\"}}", "fMessage.big");
        CHECK_REFUSED("{\"rInt32\":5}", "rInt32: expected an array");
        CHECK_REFUSED("{\"rInt32\":[1,null]}", "rInt32[1]: null is not allowed");
        CHECK_REFUSED("{\"rString\":[\"a\",3]}", "rString[1]: expected a string");
        CHECK_REFUSED("{\"rMessage\":[{},{\"name\":1}]}", "rMessage[1].name: expected a string");
        CHECK_REFUSED("{\"labels\":[]}", "labels: expected an object (a map)");
        CHECK_REFUSED("{\"labels\":{\"a\":1}}", "labels[\"a\"]: expected a string");
        CHECK_REFUSED("{\"byNumber\":{\"x\":{}}}", "byNumber[\"x\"]");
        CHECK_REFUSED("{\"byNumber\":{\"3000000000\":{}}}", "out of range for int32");
        CHECK_REFUSED("{\"byFlag\":{\"yes\":1}}", "map key must be \"true\" or \"false\"");
        CHECK_REFUSED("{\"choiceText\":\"a\",\"choiceNumber\":1}", "another member of its oneof");

        /* Not an object at all. */
        ProtobufCMessage *m = NULL;
        char err[256] = "";
        json_t *arr = json_array();
        CHECK(proto_from_json(&metaldtest__all_types__descriptor, arr, &m, err, sizeof err) == -EINVAL);
        CHECK(m == NULL);
        CHECK(strstr(err, "expected an object (metaldtest.AllTypes)") != NULL);
        json_decref(arr);

        /* Malformed binary. */
        json_t *j = NULL;
        static const uint8_t junk[] = { 0x0a, 0x05, 'a' }; /* field 1, length 5, 1 byte */
        CHECK(proto_unpack_json(&metaldtest__inner__descriptor, junk, sizeof junk, &j, err, sizeof err) ==
              -EINVAL);
        CHECK(strstr(err, "malformed protobuf message (metaldtest.Inner, 3 bytes)") != NULL);
        /* An empty body is the empty message. */
        CHECK(proto_unpack_json(&metaldtest__inner__descriptor, junk, 0, &j, err, sizeof err) == 0);
        char *s = json_dumps(j, JSON_COMPACT);
        CHECK_STREQ(s, "{}");
        free(s);
        json_decref(j);
}

/* proto2 presence: has_ flags, defaults, required fields. */
static void test_proto2(void) {
        Metaldtest__Legacy m = METALDTEST__LEGACY__INIT;
        m.name = (char *) "n";
        m.count = 5; /* has_count not set: absent */
        char *s = to_text(&m.base);
        CHECK_STREQ(s, "{\"name\":\"n\"}"); /* the default label is not written either */
        free(s);
        Metaldtest__Legacy child = METALDTEST__LEGACY__INIT;
        child.name = (char *) "";
        m.has_count = 1;
        m.count = 0; /* present at zero: written */
        m.has_flag = 1;
        m.label = (char *) "x";
        m.child = &child;
        s = to_text(&m.base);
        CHECK_STREQ(s,
                    "{\"child\":{\"name\":\"\"},\"count\":0,\"flag\":false,\"label\":\"x\",\"name\":\"n\"}");
        free(s);

        char err[256] = "";
        json_t *in = json_loads("{\"name\":\"a\",\"count\":0,\"flag\":false}", 0, NULL);
        ProtobufCMessage *pm = NULL;
        CHECK(proto_from_json(&metaldtest__legacy__descriptor, in, &pm, err, sizeof err) == 0);
        Metaldtest__Legacy *l = (Metaldtest__Legacy *) pm;
        CHECK(l && l->has_count && l->count == 0 && l->has_flag && !l->flag);
        CHECK(l && l->label == metaldtest__legacy__label__default_value);
        CHECK(l && l->child == NULL);
        if (pm)
                protobuf_c_message_free_unpacked(pm, NULL);
        uint8_t *bin = NULL;
        size_t n = 0;
        CHECK(proto_pack_json(&metaldtest__legacy__descriptor, in, &bin, &n, err, sizeof err) == 0);
        json_decref(in);
        json_t *back = NULL;
        CHECK(proto_unpack_json(&metaldtest__legacy__descriptor, bin, n, &back, err, sizeof err) == 0);
        free(bin);
        s = json_dumps(back, JSON_COMPACT | JSON_SORT_KEYS);
        CHECK_STREQ(s, "{\"count\":0,\"flag\":false,\"name\":\"a\"}");
        free(s);
        json_decref(back);

        /* A required field left out cannot be packed. */
        in = json_loads("{\"count\":1,\"label\":\"y\"}", 0, NULL);
        CHECK(proto_pack_json(&metaldtest__legacy__descriptor, in, &bin, &n, err, sizeof err) == -EINVAL);
        CHECK(strstr(err, "metaldtest.Legacy: a required field is missing") != NULL);
        json_decref(in);
}

static void test_base64(void) {
        uint8_t *b = NULL;
        size_t n = 0;
        CHECK(base64_decode_any("", 0, &b, &n) == 0 && n == 0);
        free(b);
        CHECK(base64_decode_any("TWFu", 4, &b, &n) == 0 && n == 3 && memcmp(b, "Man", 3) == 0);
        free(b);
        CHECK(base64_decode_any("TWE", 3, &b, &n) == 0 && n == 2 && memcmp(b, "Ma", 2) == 0);
        free(b);
        CHECK(base64_decode_any("TQ==", 4, &b, &n) == 0 && n == 1 && b[0] == 'M');
        free(b);
        CHECK(base64_decode_any("T", 1, &b, &n) == -EINVAL);
        CHECK(base64_decode_any("T Q", 3, &b, &n) == -EINVAL);
        char *e = base64_encode((const uint8_t *) "Ma", 2);
        CHECK_STREQ(e, "TWE=");
        free(e);
}

/* The API's schema: every method metald serves is in it (the HTTP server
 * refuses to start otherwise), and answers shaped like the handlers' fit. */
static void test_vm_schema(void) {
        const ProtobufCServiceDescriptor *svc = &vmprovisioner__v1__vm_service__descriptor;
        CHECK_INTEQ(vm_service_n_methods + network_service_n_methods, svc->n_methods);
        for (size_t i = 0; i < vm_service_n_methods; i++)
                CHECK(protobuf_c_service_descriptor_get_method_by_name(svc, vm_service_methods[i].name) !=
                      NULL);
        for (size_t i = 0; i < network_service_n_methods; i++)
                CHECK(protobuf_c_service_descriptor_get_method_by_name(
                              svc, network_service_methods[i].name) != NULL);

        const char *info =
                "{\"vmId\":\"vm-1\",\"config\":{\"cpu\":{\"vcpuCount\":2},\"memory\":{\"sizeBytes\":"
                "134217728},\"boot\":{\"kernelPath\":\"/k\"},\"storage\":[{\"id\":\"rootfs\",\"path\":"
                "\"/d\",\"isRootDevice\":true}],\"metadata\":{\"team\":\"a\"}},\"state\":"
                "\"VM_STATE_RUNNING\",\"desiredState\":\"VM_STATE_RUNNING\",\"transitioning\":false,"
                "\"generation\":3,\"lastError\":\"\",\"attempts\":0,\"backendInfo\":{\"vmmPid\":42},"
                "\"metrics\":{\"cpuUsagePercent\":12.5,\"memoryBytes\":1000}}";
        json_t *in = json_loads(info, 0, NULL);
        uint8_t *bin = NULL;
        size_t n = 0;
        char err[256] = "";
        const ProtobufCMessageDescriptor *d = &vmprovisioner__v1__get_vm_info_response__descriptor;
        CHECK(proto_pack_json(d, in, &bin, &n, err, sizeof err) == 0);
        json_decref(in);
        Vmprovisioner__V1__GetVmInfoResponse *r =
                vmprovisioner__v1__get_vm_info_response__unpack(NULL, n, bin);
        CHECK(r != NULL);
        if (r) {
                CHECK_STREQ(r->vm_id, "vm-1");
                CHECK(r->config && r->config->cpu && r->config->cpu->vcpu_count == 2);
                CHECK(r->config && r->config->memory && r->config->memory->size_bytes == 134217728);
                CHECK(r->config && r->config->n_storage == 1 && r->config->storage[0]->is_root_device);
                CHECK(r->config && r->config->n_metadata == 1 &&
                      streq(r->config->metadata[0]->key, "team") &&
                      streq(r->config->metadata[0]->value, "a"));
                CHECK_INTEQ(r->state, VMPROVISIONER__V1__VM_STATE__VM_STATE_RUNNING);
                CHECK_INTEQ(r->generation, 3);
                CHECK(r->backend_info && r->backend_info->vmm_pid == 42);
                CHECK(r->metrics && r->metrics->cpu_usage_percent == 12.5 &&
                      r->metrics->memory_bytes == 1000);
                vmprovisioner__v1__get_vm_info_response__free_unpacked(r, NULL);
        }
        json_t *back = NULL;
        CHECK(proto_unpack_json(d, bin, n, &back, err, sizeof err) == 0);
        char *s = json_dumps(back, JSON_COMPACT | JSON_SORT_KEYS);
        CHECK_STREQ(
                s, "{\"backendInfo\":{\"vmmPid\":42},\"config\":{\"boot\":{\"kernelPath\":\"/k\"},\"cpu\":{"
                   "\"vcpuCount\":2},\"memory\":{\"sizeBytes\":\"134217728\"},\"metadata\":{\"team\":\"a\"},"
                   "\"storage\":[{\"id\":\"rootfs\",\"isRootDevice\":true,\"path\":\"/d\"}]},"
                   "\"desiredState\":\"VM_STATE_RUNNING\",\"generation\":\"3\",\"metrics\":{"
                   "\"cpuUsagePercent\":12.5,\"memoryBytes\":\"1000\"},\"state\":\"VM_STATE_RUNNING\","
                   "\"vmId\":\"vm-1\"}");
        free(s);
        json_decref(back);
        free(bin);

        /* A field the schema does not hold is refused, not dropped silently. */
        in = json_pack("{s:s, s:b}", "vmId", "x", "surprise", 1);
        CHECK(proto_pack_json(&vmprovisioner__v1__create_vm_response__descriptor, in, &bin, &n, err,
                              sizeof err) == -EINVAL);
        CHECK(strstr(err, "unknown field \"surprise\" (not in vmprovisioner.v1.CreateVmResponse)") != NULL);
        json_decref(in);
}

int main(void) {
        test_to_json();
        test_round_trips();
        test_refusals();
        test_proto2();
        test_base64();
        test_vm_schema();
        return test_done("test-proto-json");
}
