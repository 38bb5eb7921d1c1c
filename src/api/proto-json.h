/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Between protobuf-c messages and JSON, following the protobuf JSON mapping,
 * driven by protobuf-c's descriptors alone (so it knows nothing of VMs and
 * serves every message of every schema):
 *
 *   - names: lowerCamelCase out; lowerCamelCase or the proto name in
 *   - int32/uint32 family, float, double, bool: JSON numbers/booleans out;
 *     NaN and the infinities as "NaN", "Infinity", "-Infinity"
 *   - int64/uint64 family: decimal strings out; a string or a number in
 *   - enums: the value's name out (its number when the name is unknown);
 *     the name or the number in
 *   - bytes: standard base64 out; standard or URL-safe, padded or not, in
 *   - nested messages: objects; repeated fields: arrays; maps: objects keyed
 *     by the key's JSON string form
 *   - fields at their default (proto3 implicit presence: 0, "", false, empty,
 *     absent message) are left out; a field with explicit presence (oneof
 *     member, proto3 `optional`) is written when set
 *   - in: unknown fields and fields given twice (both spellings) are refused,
 *     null means the default
 *
 * protobuf-c keeps no map flag in its descriptors: a repeated message field
 * whose message is named <FieldInCamelCase>Entry with exactly the fields
 * key = 1 and value = 2 is a map, which is what protoc generates for map<>.
 *
 * Pure functions; unit-tested in tests/test-proto-json.c.
 */

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

/*
 * The JSON object for message m, as a new reference in *ret. A string that
 * is not UTF-8: -EINVAL with a message naming the field in err; -ENOMEM.
 */
int proto_to_json(const ProtobufCMessage *m, json_t **ret, char *err, size_t err_size);

/*
 * A new message of type d from the JSON object obj, in *ret (free it with
 * protobuf_c_message_free_unpacked(m, NULL)). A value of the wrong type,
 * out of range, an unknown field or enum name: -EINVAL (-ERANGE for numbers
 * out of range) with a message naming the field's path in err; -ENOMEM.
 * Nothing is allocated on error.
 */
int proto_from_json(const ProtobufCMessageDescriptor *d, const json_t *obj, ProtobufCMessage **ret,
                    char *err, size_t err_size);

/* Decode standard or URL-safe base64, padded or not, into a malloc'ed buffer
 * (*ret, *ret_size). -EINVAL on a character outside both alphabets or bad
 * length; -ENOMEM. */
int base64_decode_any(const char *s, size_t len, uint8_t **ret, size_t *ret_size);
/* Standard base64 with padding, NUL-terminated, malloc'ed; NULL on OOM. */
char *base64_encode(const uint8_t *data, size_t size);

/*
 * The Connect binary codec on top of the converter, for the HTTP server:
 * a serialized message of type d -> its JSON object (*ret, new reference);
 * and a JSON object -> the serialized message of type d (*ret malloc'ed,
 * *ret_size bytes). -EINVAL with err filled for a malformed message or a
 * JSON value the schema refuses; -ENOMEM.
 */
int proto_unpack_json(const ProtobufCMessageDescriptor *d, const uint8_t *data, size_t size, json_t **ret,
                      char *err, size_t err_size);
int proto_pack_json(const ProtobufCMessageDescriptor *d, const json_t *obj, uint8_t **ret, size_t *ret_size,
                    char *err, size_t err_size);
