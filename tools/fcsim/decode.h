/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * decode: JSON request bodies decoded the way Firecracker's serde_json does it.
 *
 * Firecracker deserializes every body with serde_json into a Rust struct, most
 * of them #[serde(deny_unknown_fields)]. Clients see serde's error text in the
 * fault message ("missing field `vcpu_count` at line 1 column 16"), so this
 * module reproduces serde_json's streaming parser: the same checks in the same
 * order, the same messages and the same line/column positions. A body is
 * described by a static DeType table (one per Rust type); decoding yields a
 * jansson tree holding only what the body set.
 *
 * Depends on jansson only.
 */

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef enum DeKind {
        DE_BOOL, /* bool */
        DE_U8, /* u8 */
        DE_U16, /* u16 */
        DE_U32, /* u32 */
        DE_U64, /* u64 */
        DE_USIZE, /* usize (64-bit) */
        DE_STRING, /* String ("a string") */
        DE_PATH, /* PathBuf ("path string") */
        DE_ENUM, /* enum of unit variants, possibly with aliases */
        DE_STRUCT, /* struct with deny_unknown_fields */
        DE_STRING_MAP, /* HashMap<String, String> */
        DE_SEQ, /* Vec<elem> */
        DE_ANY, /* serde_json::Value */
        DE_CUSTOM_STR, /* a String checked by a custom Deserialize impl */
} DeKind;

/* Field flags. */
enum {
        DE_OPTION = 1u << 0, /* Option<T>: null accepted, absent is None */
        DE_DEFAULT = 1u << 1, /* #[serde(default)]: absent is the default */
};

typedef struct DeType DeType;

typedef struct DeField {
        const char *name;
        const DeType *type;
        unsigned flags;
} DeField;

/* One accepted spelling of an enum variant (serde aliases) and the variant it names. */
typedef struct DeAlias {
        const char *spelling;
        const char *variant;
} DeAlias;

struct DeType {
        DeKind kind;
        /* DE_STRUCT: the serde "expecting" text, e.g. "struct MachineConfig". */
        const char *expecting;
        /* DE_STRUCT: fields in declaration order (their order is serde's order). */
        const DeField *fields;
        size_t n_fields;
        /* DE_ENUM: canonical variant names, as serde lists them in errors. */
        const char *const *variants;
        size_t n_variants;
        /* DE_ENUM: extra accepted spellings (NULL if none). */
        const DeAlias *aliases;
        size_t n_aliases;
        /* DE_SEQ: the element type. */
        const DeType *elem;
        /* DE_CUSTOM_STR: validates the decoded string; returns NULL if it is fine,
         * else a malloc'd custom error message (serde's D::Error::custom). */
        char *(*check)(const char *s);
};

/*
 * Decode buf[0..len) as serde_json::from_slice::<t>().
 *
 * On success returns 0 and stores the decoded value in *ret (owned by the caller;
 * for structs an object with only the fields present in the body, Option fields
 * set to null omitted). On a decoding error returns -EINVAL and stores serde's
 * message with its position ("... at line L column C") in *ret_error (malloc'd).
 * Returns -ENOMEM on allocation failure.
 */
int de_decode(const DeType *t, const char *buf, size_t len, json_t **ret, char **ret_error);

/* Rust's Debug formatting of a str (quotes, \" \\ \n \t \r \0, \u{..} for
 * other control characters). Returns a malloc'd string or NULL on OOM. */
char *de_debug_str(const char *s, size_t len);
