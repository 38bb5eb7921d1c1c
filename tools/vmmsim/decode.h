/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * decode: JSON request bodies decoded the way serde_json does it, shared by
 * the VMM simulators (tools/fcsim, tools/chsim).
 *
 * Firecracker and Cloud Hypervisor deserialize every body with serde_json into
 * a Rust struct. Firecracker's mostly deny unknown fields; Cloud Hypervisor's
 * parse and ignore them (DeType.allow_unknown). A client
 * sees serde's error text as the second element of the error array
 * (["Failed to deserialize JSON", "missing field `boot_vcpus` at line 1
 * column 30"]), so this module reproduces serde_json's streaming parser: the
 * same checks in the same order, the same messages and the same line/column
 * positions. A body is described by a static DeType table (one per Rust type);
 * decoding yields a jansson tree holding only what the body set, and
 * de_fill_defaults() then adds the fields serde would have defaulted, so the
 * tree serializes like the Rust struct does.
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
        DE_I32, /* i32 */
        DE_STRING, /* String ("a string") */
        DE_PATH, /* PathBuf ("path string") */
        DE_ENUM, /* enum of unit variants, possibly with aliases */
        DE_STRUCT, /* struct (see DeType.allow_unknown) */
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
        /* The value serde gives an absent field, as JSON text (NULL: null for
         * an Option, else left absent for the caller to fill). Only used by
         * de_fill_defaults(). */
        const char *def;
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
        /* DE_STRUCT: unknown keys are ignored (serde's default) instead of
         * failing with "unknown field" (#[serde(deny_unknown_fields)]). */
        bool allow_unknown;
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

/*
 * Add to a value decoded as t the fields the body left out, as serde fills
 * them (DeField.def, null for Options), recursing into structs and sequences.
 * Returns 0 or -ENOMEM.
 */
int de_fill_defaults(const DeType *t, json_t *v);

/* Rust's Debug formatting of a str (quotes, \" \\ \n \t \r \0, \u{..} for
 * other control characters). Returns a malloc'd string or NULL on OOM. */
char *de_debug_str(const char *s, size_t len);
