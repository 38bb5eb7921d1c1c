/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * vmm: the simulated microVM and its VMM actions (Firecracker's VmResources,
 * PrebootApiController and RuntimeApiController).
 *
 * Each vmm_* action takes a body already decoded by decode.c (a jansson
 * object), checks the phase (pre-boot / post-boot, from one table), validates
 * like Firecracker (files and TAPs are opened at PUT time) and returns the
 * Reply Firecracker would send. The guest is simulated: it "boots" on
 * InstanceStart, prints to the serial console, generates device activity
 * counted in the metrics while running (not while paused), and shuts down on
 * Ctrl-Alt-Del or when an environment knob says so (see README.md).
 *
 * Guest timers run on guest time (they stop while paused). The owner polls
 * vmm_next_timeout_ms() and calls vmm_tick(); once vmm_exited() the process
 * should exit with the code it returns.
 */

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "metrics.h"
#include "reply.h"

#define FC_VERSION "1.17.0-dev"

typedef struct VmmSettings {
        const char *id;
        bool boot_timer;
        bool enable_pci;
        size_t mmds_size_limit;
        long boot_delay_ms; /* InstanceStart answers after this */
        long shutdown_delay_ms; /* Ctrl-Alt-Del to guest power-off */
        bool ignore_ctrl_alt_del; /* guest without i8042/atkbd */
        long halt_after_ms; /* guest powers off after this much run time; <0 never */
        long reboot_after_ms; /* guest reboots after this much run time; <0 never */
        long metrics_period_ms; /* periodic metrics flush */
        uint64_t start_time_us; /* process start (api_server.process_startup_time_us) */
} VmmSettings;

typedef struct Vmm Vmm;

/* metrics is borrowed and must outlive the Vmm. Returns 0 or -ENOMEM. */
int vmm_new(const VmmSettings *settings, Metrics *metrics, Vmm **ret);
Vmm *vmm_free(Vmm *v);

/* GET handlers (any phase). */
Reply vmm_describe_instance(Vmm *v);
Reply vmm_get_version(Vmm *v);
Reply vmm_get_full_config(Vmm *v);
Reply vmm_get_machine_config(Vmm *v);
Reply vmm_get_mmds(Vmm *v);

/* Configuration actions. `put` selects PUT (MachineConfig, defaults
 * applied) or PATCH (MachineConfigUpdate) semantics. */
Reply vmm_update_machine_config(Vmm *v, json_t *cfg, bool put);
Reply vmm_set_boot_source(Vmm *v, json_t *cfg);
Reply vmm_insert_drive(Vmm *v, json_t *cfg);
Reply vmm_update_drive(Vmm *v, json_t *cfg);
Reply vmm_insert_net(Vmm *v, json_t *cfg);
Reply vmm_update_net(Vmm *v, json_t *cfg);
Reply vmm_configure_logger(Vmm *v, json_t *cfg);
Reply vmm_configure_metrics(Vmm *v, json_t *cfg);
Reply vmm_configure_serial(Vmm *v, json_t *cfg);
Reply vmm_set_vsock(Vmm *v, json_t *cfg);
Reply vmm_set_entropy(Vmm *v, json_t *cfg);
Reply vmm_set_mmds_config(Vmm *v, json_t *cfg);
Reply vmm_put_mmds(Vmm *v, json_t *data);
Reply vmm_patch_mmds(Vmm *v, json_t *patch);

/* PUT /actions: "InstanceStart", "SendCtrlAltDel" or "FlushMetrics". */
Reply vmm_action(Vmm *v, const char *action_type);

/* PATCH /vm: "Paused" or "Resumed". */
Reply vmm_set_state(Vmm *v, const char *state);

/* Milliseconds until vmm_tick() has work, or -1 for none. */
int vmm_next_timeout_ms(Vmm *v);
void vmm_tick(Vmm *v);

/* True once the guest is gone; *ret_code is the process exit code. */
bool vmm_exited(Vmm *v, int *ret_code);

/* A signal Firecracker counts in the metrics ("sighup", "sigpipe" ...). */
void vmm_count_signal(Vmm *v, const char *name);

/* Flush the metrics (on exit and on fatal signals). */
void vmm_flush_metrics(Vmm *v);

/* --config-file: configure from VmmConfig JSON and boot. Returns 0, or
 * -EINVAL with the error text in *ret_error (malloc'd). */
int vmm_boot_from_json(Vmm *v, json_t *config, char **ret_error);
