/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * event: the --event-monitor stream (Cloud Hypervisor's event_monitor crate).
 * Each event is serde_json's pretty form of
 *   {"timestamp": {"secs": S, "nanos": N}, "source": "...", "event": "...",
 *    "properties": null | {"key": "value", ...}}
 * followed by an empty line ("\n\n"); the timestamp counts from the moment the
 * monitor was set up. The file is opened write/create/truncate (path=) or
 * taken as given (fd=) and made non-blocking: a reader that falls behind
 * loses events. Without a monitor, events go nowhere. Single-threaded.
 */

/* Use fd (owned) as the monitor. Returns 0 or a negative errno. */
int event_monitor_set(int fd);

/* Emit one event. props: NULL, or "key", "value" pairs ending with NULL. */
void event_emit(const char *source, const char *event, ...) __attribute__((sentinel));

void event_monitor_close(void);
