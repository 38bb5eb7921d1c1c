/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * A set of strings (open addressing, linear probing, FNV-1a), for the
 * reconciler's queue bookkeeping: membership in O(1) where lists would make
 * a resync of 10,000 VMs quadratic. Not thread-safe; the set owns copies.
 */

#include "util/util.h"

typedef struct StrSet {
        char **slots; /* NULL: empty; TOMBSTONE: deleted */
        size_t cap; /* power of two */
        size_t n; /* live entries */
        size_t used; /* live + tombstones */
} StrSet;

/* 1 if added, 0 if already there, -ENOMEM. */
int strset_add(StrSet *s, const char *key);
bool strset_contains(const StrSet *s, const char *key);
/* true if it was there. */
bool strset_remove(StrSet *s, const char *key);
void strset_clear(StrSet *s);
