/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * vm: one simulated VM (Cloud Hypervisor's Vm: its state machine, device
 * manager, CPU and memory managers) and the guest running in it.
 *
 * The VmConfig is shared with the Vmm (vmm.c) and updated in place, as in
 * Cloud Hypervisor: generated device ids ("_disk0", "_net1"), hot-added
 * devices and resized vCPUs/RAM show up in vm.info.
 *
 * The guest is simulated. On boot it prints a kernel-like log, including
 * its command line and "chsim: guest booted, id=<metald.vm_id>", to the
 * serial port when the command line has console=ttyS0 (or earlyprintk=ttyS0)
 * and to the virtio console with console=hvc0, then a heartbeat line every
 * heartbeat_ms. Its disks and NICs do I/O at a steady rate: the counters
 * (vm.counters) grow with guest time, which stops while the VM is paused.
 * It reacts to the ACPI power button by powering off after
 * shutdown_delay_ms (unless ignore_power_button) and may halt or reboot by
 * itself (halt_after_ms, reboot_after_ms). All guest timers run on guest
 * time. The owner polls vm_next_timeout_ms() and calls vm_tick(), which
 * reports a guest power-off or reset for the Vmm to act on.
 */

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "console.h"
#include "reply.h"

typedef enum VmState {
        VM_CREATED,
        VM_RUNNING,
        VM_SHUTDOWN,
        VM_PAUSED,
        VM_BREAKPOINT,
        _VM_STATE_MAX,
} VmState;

/* The guest knobs (CHSIM_* environment variables, see README.md). */
typedef struct SimSettings {
        long boot_delay_ms; /* vm.boot answers after this */
        long shutdown_delay_ms; /* power button to guest power-off */
        bool ignore_power_button; /* a guest without ACPI button handling */
        long halt_after_ms; /* guest powers off after this much uptime; <0 never */
        long reboot_after_ms; /* guest resets after this much uptime; <0 never */
        long heartbeat_ms; /* console heartbeat period; <=0 none */
        long vcpu_removal_ms; /* time the guest takes to eject removed vCPUs */
} SimSettings;

typedef enum VmEvent {
        VM_EVENT_NONE,
        VM_EVENT_POWEROFF, /* the guest powered off (GuestExit) */
        VM_EVENT_RESET, /* the guest reset itself (Reset) */
} VmEvent;

typedef struct Vm Vm;

const char *vm_state_name(VmState s);

/* VmState::valid_transition(): NULL, or the VmError text
 * "invalid VM state transition: Running to Running". */
ChErr *vm_state_transition(VmState from, VmState to);

/*
 * Vm::new(): validates the config (chain wrapped in "Failed to validate
 * config"), creates the devices (ids, PCI slots; opens the disk images:
 * "Error from device manager" / "Cannot open disk path"). cfg is shared
 * (referenced), consoles and s are borrowed and must outlive the Vm.
 * boot_count numbers the boots of this VMM (shown on the console).
 */
ChErr *vm_new(json_t *cfg, Consoles *consoles, const SimSettings *s, unsigned boot_count, Vm **ret);
Vm *vm_free(Vm *vm);

VmState vm_state(const Vm *vm);

/* Vm::boot(): Created -> Running; locks the disk images, loads the payload
 * ("Cannot open kernel file" ...), starts the guest. */
ChErr *vm_boot(Vm *vm);
/* Pausable for Vm: the errors are "Cannot pause VM" / "Cannot resume VM" chains. */
ChErr *vm_pause(Vm *vm);
ChErr *vm_resume(Vm *vm);
/* Vm::shutdown(): -> Shutdown; releases the disk locks, stops the guest. */
ChErr *vm_shutdown(Vm *vm);
ChErr *vm_power_button(Vm *vm);
ChErr *vm_nmi(Vm *vm);

/* Vm::resize(). Sets *ret_busy (HTTP 429) when a vCPU removal is pending. */
ChErr *vm_resize(Vm *vm, const json_t *desired_vcpus, const json_t *desired_ram,
                 const json_t *desired_balloon, bool *ret_busy);

/* Hotplug: dev (a filled DiskConfig / NetConfig, already appended to the
 * config by the caller on success) gets its id; *ret_info is {"id","bdf"}. */
ChErr *vm_add_disk(Vm *vm, json_t *disk, json_t **ret_info);
ChErr *vm_add_net(Vm *vm, json_t *net, json_t **ret_info);
/* Hot-unplug by id (the caller removes it from the config). */
ChErr *vm_remove_device(Vm *vm, const char *id);

/* {"<id>": {"read_bytes": ...}, ...} as serialized JSON text (u64 values). */
char *vm_counters(Vm *vm);
json_t *vm_device_tree(Vm *vm);
/* Guest RAM in bytes as vm.info reports it (memory_actual_size). */
uint64_t vm_memory_actual_size(Vm *vm);

/* Milliseconds until vm_tick() has work, or -1 for none. */
int vm_next_timeout_ms(Vm *vm);
VmEvent vm_tick(Vm *vm);

/* The console line a guest prints as it goes down ("reboot: Power down"). */
void vm_guest_say(Vm *vm, const char *line);
