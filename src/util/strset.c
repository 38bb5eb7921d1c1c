/* SPDX-License-Identifier: Apache-2.0 */
#include "util/strset.h"

static char tombstone;
#define TOMBSTONE (&tombstone)

static uint64_t hash(const char *k) {
        uint64_t h = 1469598103934665603ull;
        for (; *k; k++)
                h = (h ^ (unsigned char) *k) * 1099511628211ull;
        return h;
}

/* The slot holding key, or SIZE_MAX. */
static size_t find(const StrSet *s, const char *key) {
        if (s->cap == 0)
                return SIZE_MAX;
        for (size_t i = hash(key) & (s->cap - 1), probes = 0; probes < s->cap;
             i = (i + 1) & (s->cap - 1), probes++) {
                if (!s->slots[i])
                        return SIZE_MAX;
                if (s->slots[i] != TOMBSTONE && streq(s->slots[i], key))
                        return i;
        }
        return SIZE_MAX;
}

static int grow(StrSet *s) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        /* Rehashing into the same size is enough when tombstones are the load. */
        if (s->n * 2 < s->cap)
                cap = s->cap;
        char **slots = calloc(cap, sizeof *slots);
        if (!slots)
                return -ENOMEM;
        for (size_t i = 0; i < s->cap; i++) {
                char *k = s->slots[i];
                if (!k || k == TOMBSTONE)
                        continue;
                size_t j = hash(k) & (cap - 1);
                while (slots[j])
                        j = (j + 1) & (cap - 1);
                slots[j] = k;
        }
        free(s->slots);
        s->slots = slots;
        s->cap = cap;
        s->used = s->n;
        return 0;
}

int strset_add(StrSet *s, const char *key) {
        if (find(s, key) != SIZE_MAX)
                return 0;
        if ((s->used + 1) * 4 > s->cap * 3) {
                int r = grow(s);
                if (r < 0)
                        return r;
        }
        char *copy = strdup(key);
        if (!copy)
                return -ENOMEM;
        size_t i = hash(key) & (s->cap - 1);
        while (s->slots[i] && s->slots[i] != TOMBSTONE)
                i = (i + 1) & (s->cap - 1);
        if (!s->slots[i])
                s->used++;
        s->slots[i] = copy;
        s->n++;
        return 1;
}

bool strset_contains(const StrSet *s, const char *key) {
        return find(s, key) != SIZE_MAX;
}

bool strset_remove(StrSet *s, const char *key) {
        size_t i = find(s, key);
        if (i == SIZE_MAX)
                return false;
        free(s->slots[i]);
        s->slots[i] = TOMBSTONE;
        s->n--;
        return true;
}

void strset_clear(StrSet *s) {
        for (size_t i = 0; i < s->cap; i++)
                if (s->slots[i] && s->slots[i] != TOMBSTONE)
                        free(s->slots[i]);
        free(s->slots);
        *s = (StrSet){ 0 };
}
