/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Named crash points for the crash-point campaign (tests/crash/). When the
 * environment says METALD_CRASH_AT=<name>:<n>, the n-th time the process
 * passes crash_point("<name>") it dies at once with SIGKILL, exactly as a
 * `kill -9` at that instant would leave things. Without the variable a crash
 * point is one relaxed atomic load. Names in use are listed in crash_points[]
 * (crash-point.c), so a campaign can pick among them.
 */

void crash_point(const char *name);

/* NULL-terminated list of the names passed to crash_point() in the code. */
extern const char *const crash_points[];
