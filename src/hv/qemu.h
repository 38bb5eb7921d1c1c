/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The QEMU backend (qemu.c): one qemu-system-x86_64 per VM, machine
 * "microvm", started paused (-S) with the whole VM on its command line, then
 * driven over QMP on <run_dir>/api.sock: boot and resume are `cont`, pause is
 * `stop`, the power button is `system_powerdown`, the state is
 * `query-status`.
 *
 * Exposed here for unit tests: the pure argv and kernel command line
 * builders, the QMP message decoders (no I/O, no state), and the QMP client
 * (qmp_call: one command per connection, bounded in time).
 *
 * Builders return malloc'ed results (or a new jansson reference), NULL on
 * OOM. They do not validate (vm_config_validate and the backend did).
 */

#include <jansson.h>

#include "hv/hypervisor.h"

/* Longest QMP message (one line) we accept from QEMU. */
#define QMP_MESSAGE_MAX (1u << 20)

/* The machine and its options (tools/mkassets.d/README.md, "the command line
 * that works"): ACPI on for the power button (GED) and for finding the
 * virtio-mmio devices; the PIT as a timer source; the CMOS RTC for the wall
 * clock; the 16550 at 0x3f8 as ttyS0; no option ROMs (PVH boot needs none). */
/* QEMU's seccomp sandbox (Debian 12's 7.2 has all of these): VMMs run with it on. */
#define QEMU_SANDBOX "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny"
#define QEMU_MACHINE "microvm,acpi=on,pic=off,pit=on,rtc=on,isa-serial=on,x-option-roms=off"

/* Under TCG the guest's TSC ticks at the host's rate, and on a busy host a
 * microvm guest hangs at random calibrating it against the PIT (QEMU-NOTES.md):
 * the backend tells it the rate (tsc_early_khz=). When the host's rate cannot
 * be measured, this one: it avoids the hang, only the guest's clock runs at
 * the wrong speed. */
#define QEMU_TSC_KHZ_FALLBACK 2000000u

/* What qemu_argv needs; every path absolute. */
typedef struct QemuLaunch {
        const char *binary;
        const char *vm_id; /* vm_id_is_valid(): no ',' or blanks */
        const char *socket_path; /* QMP; no ',' (it must appear whole, see qemu_argv) */
        const char *console_path; /* the guest's serial console, appended */
        const char *pid_path; /* -pidfile */
        const VmConfig *config;
        const VmmNic *nics; /* one -netdev tap + virtio-net-device each; TAP names are [a-z0-9] */
        size_t n_nics;
        bool kvm; /* -accel kvm -cpu host, else -accel tcg */
        unsigned tsc_khz; /* under TCG: tsc_early_khz= for the guest (0: none) */
} QemuLaunch;

/*
 * The guest kernel command line:
 *   [root=/dev/vda rw|ro]  with a root disk ("ro" when it is read-only),
 *                          unless the caller's kernel_args name a root=
 *   the caller's kernel_args before "--", as given (blanks normalised)
 *   metald.vm_id=<vm_id>   (the guest prints it in its banner)
 *   [tsc_early_khz=<tsc_khz>]  when tsc_khz > 0 (TCG), unless the caller set one
 *   [-- the rest]          init's arguments stay last
 * The root disk is the first virtio-blk device (qemu_argv puts it first),
 * hence vda.
 */
char *qemu_kernel_cmdline(const VmConfig *c, const char *vm_id, unsigned tsc_khz);

/* s with every ',' doubled: QEMU's escape inside an option list
 * ("file=/a,,b" is the file "/a,b"). */
char *qemu_opt_escape(const char *s);

/*
 * The NULL-terminated argv (free with qemu_argv_free):
 *   <binary> -name <vm_id> -machine QEMU_MACHINE -accel tcg|kvm [-cpu host]
 *   -nodefaults -no-user-config -nographic -no-reboot -sandbox QEMU_SANDBOX -S
 *   -m <MiB> -smp <vcpus>
 *   -kernel <path> [-initrd <path>] -append <qemu_kernel_cmdline> (tsc_khz under TCG)
 *   per disk, the root disk first:
 *     -drive id=drive-<id>,file=<path>,format=raw,if=none[,readonly=on]
 *     -device virtio-blk-device,drive=drive-<id>
 *   -chardev file,id=console,path=<console_path>,append=on -serial chardev:console
 *   -chardev socket,id=qmp,path=<socket_path>,server=on,wait=off -mon chardev=qmp,mode=control
 *   -pidfile <pid_path>
 * The QMP socket is the item "path=<socket_path>" of one argument, which
 * vmm_is_alive() recognises as naming it (as Cloud Hypervisor's
 * "path=<socket>"). No -daemonize: vmm_spawn detaches QEMU; no -no-shutdown:
 * QEMU exits when the guest powers off; -no-reboot: a guest reboot or panic
 * ends QEMU (as Firecracker), and metald's restart policy decides.
 */
char **qemu_argv(const QemuLaunch *l);
char **qemu_argv_free(char **argv);

/*
 * The errno for a QEMU that exited during startup, given its last words on
 * stderr (may be NULL): -EBADMSG when it refused its command line (a missing
 * kernel or disk, a bad option: the same command fails again), -EIO when the
 * words show a host shortage that may pass (out of memory, too many files,
 * EAGAIN), -ESRCH when it left no words (killed).
 */
int qemu_startup_errno(const char *words);

/* ---- QMP messages ---- */

typedef enum QmpKind {
        QMP_KIND_GREETING, /* {"QMP": {...}} */
        QMP_KIND_RETURN, /* {"return": ..., "id"?} */
        QMP_KIND_ERROR, /* {"error": {"class", "desc"}, "id"?} */
        QMP_KIND_EVENT, /* {"event": "...", "timestamp", "data"?} */
        QMP_KIND_OTHER,
} QmpKind;

/*
 * The next message in buf[0..len): QMP sends one JSON object per line
 * ("\r\n"-terminated). 1 with *ret_msg (a new reference) and *ret_used (bytes
 * consumed, including skipped blank lines); 0 when no complete line is there
 * yet; -EPROTO (with *ret_used past the bad line) for a line that is not a
 * JSON object; -EMSGSIZE when QMP_MESSAGE_MAX bytes hold no line end.
 */
int qmp_next_message(const char *buf, size_t len, size_t *ret_used, json_t **ret_msg);

QmpKind qmp_message_kind(const json_t *msg);

/* Is msg the answer (return or error) to the command sent with id? An error
 * without an id answers too: QEMU sends one when it could not parse a
 * command (and so could not read its id). */
bool qmp_message_answers(const json_t *msg, const char *id);

/* QEMU's words from an error answer: its "desc" (or its "class", or the
 * compact JSON when neither is there). malloc'ed, NULL on OOM. */
char *qmp_error_text(const json_t *msg);

/* {"execute": command, "arguments"?: arguments, "id": id}; arguments may be
 * NULL (not consumed). New reference, NULL on OOM. */
json_t *qmp_command_json(const char *command, const json_t *arguments, const char *id);

/*
 * What a query-status "return" ({"status": "running", "running": true, ...})
 * means for metald: "prelaunch" (started with -S, never cont'ed) is
 * NOT_STARTED; "running" and "suspended" (guest S3: from the host, running)
 * are RUNNING; "shutdown" is GONE (the guest powered off; QEMU exits);
 * every other state stops the vCPUs ("paused", "debug", "io-error",
 * "internal-error", "watchdog", "guest-panicked", migration states) and is
 * PAUSED. -EPROTO for anything else; *ret written only on success.
 */
int qemu_status_from_json(const json_t *status, VmmState *ret);

/* ---- the QMP client ---- */

/*
 * One QMP command on a fresh connection to socket_path: connect, read the
 * greeting, negotiate (qmp_capabilities), send command (arguments may be
 * NULL) and read its answer, skipping asynchronous events. Everything within
 * timeout_ms. 0 and, if ret_return is not NULL, the answer's "return" value
 * (a new reference). Errors, with "qemu: <command>: ..." in *ret_error:
 *   -EBADMSG       QEMU refused the command (its "desc" in the message)
 *   -ENOENT / -ECONNREFUSED  no socket / nobody listening
 *   -ETIMEDOUT     no answer in time (also: another client holds QMP,
 *                  which serves one connection at a time)
 *   -ECONNRESET    QEMU closed the connection (it is exiting)
 *   -EPROTO        the other end does not speak QMP
 *   -ENAMETOOLONG, -ENOMEM, other local errors
 * No state; safe from any thread. SIGPIPE is not raised (MSG_NOSIGNAL).
 */
int qmp_call(const char *socket_path, const char *command, const json_t *arguments, unsigned timeout_ms,
             json_t **ret_return, char **ret_error);
