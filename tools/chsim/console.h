/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * console: the VM's output devices as pre_create_console_devices() sets
 * them up (vmm/src/console_devices.rs), for the legacy serial port (ttyS0)
 * and the virtio console (hvc0), from the VmConfig's "serial" and
 * "console" sections:
 *   Off     no device
 *   Null    device present, output discarded
 *   Tty     the VMM's stdout
 *   File    File::create(file): created, truncated
 *   Pty     a new pseudo terminal; its path is written back to the
 *           config's "file", as Cloud Hypervisor does
 *   Socket  a listening Unix socket at "socket" (output discarded: chsim
 *           does not accept console clients)
 * Cloud Hypervisor creates them at vm.create, again at vm.boot after a
 * vm.shutdown, and on every reboot, so a File console restarts empty.
 * Writes never block: output that does not fit is dropped.
 */

#include <jansson.h>
#include <stdbool.h>

#include "reply.h"

typedef struct ConsoleOut {
        bool present; /* mode is not Off */
        int fd; /* -1: discard */
        int listen_fd; /* Socket mode */
        char *socket_path;
} ConsoleOut;

typedef struct Consoles {
        ConsoleOut serial;
        ConsoleOut console;
} Consoles;

/* Create both from cfg (whose Pty "file" may be updated). Returns NULL, or
 * the chain from "Error creating console device". */
ChErr *consoles_create(json_t *cfg, Consoles **ret);
Consoles *consoles_free(Consoles *c);

/* Write text to one output (no-op without a device or fd). */
void console_write(ConsoleOut *o, const char *text);
