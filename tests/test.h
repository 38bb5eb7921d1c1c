/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The smallest test harness that reports well: each CHECK that fails prints
 * where and what, the test goes on, and test_done() exits 1 if any failed. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_failures;
static int test_checks;

#define CHECK(cond)                                                                                         \
        do {                                                                                                \
                test_checks++;                                                                              \
                if (!(cond)) {                                                                              \
                        test_failures++;                                                                    \
                        fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);            \
                }                                                                                           \
        } while (0)

#define CHECK_STREQ(a, b)                                                                                   \
        do {                                                                                                \
                const char *a_ = (a), *b_ = (b);                                                            \
                test_checks++;                                                                              \
                if (!a_ || !b_ || strcmp(a_, b_) != 0) {                                                    \
                        test_failures++;                                                                    \
                        fprintf(stderr, "%s:%d: CHECK failed: %s == %s (\"%s\" vs \"%s\")\n", __FILE__,     \
                                __LINE__, #a, #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)");                  \
                }                                                                                           \
        } while (0)

#define CHECK_INTEQ(a, b)                                                                                   \
        do {                                                                                                \
                long long a_ = (long long) (a), b_ = (long long) (b);                                       \
                test_checks++;                                                                              \
                if (a_ != b_) {                                                                             \
                        test_failures++;                                                                    \
                        fprintf(stderr, "%s:%d: CHECK failed: %s == %s (%lld vs %lld)\n", __FILE__,         \
                                __LINE__, #a, #b, a_, b_);                                                  \
                }                                                                                           \
        } while (0)

/* For checks the rest of a test depends on: give up on this test function. */
#define REQUIRE(cond)                                                                                       \
        do {                                                                                                \
                test_checks++;                                                                              \
                if (!(cond)) {                                                                              \
                        test_failures++;                                                                    \
                        fprintf(stderr, "%s:%d: REQUIRE failed: %s\n", __FILE__, __LINE__, #cond);          \
                        return;                                                                             \
                }                                                                                           \
        } while (0)

/* An error message that starts with prefix and says something after it. */
#define CHECK_ERROR(err, prefix)                                                                            \
        do {                                                                                                \
                CHECK((err) != NULL);                                                                       \
                if (err) {                                                                                  \
                        CHECK(strncmp((err), (prefix), strlen(prefix)) == 0);                               \
                        CHECK(strlen(err) > strlen(prefix));                                                \
                        printf("  message: %s\n", (err));                                                   \
                }                                                                                           \
        } while (0)

static inline int test_done(const char *name) {
        fprintf(stderr, "%s: %d checks, %d failed\n", name, test_checks, test_failures);
        return test_failures ? 1 : 0;
}
