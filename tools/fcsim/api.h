/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * api: Firecracker's request routing and body parsing (api_server's
 * parsed_request.rs and request/ modules). Routes on the method, the first path
 * segment and whether there is a body, in Firecracker's order; checks path
 * ids; decodes bodies like serde_json; then calls the VMM action (vmm.c).
 * Paths fcsim does not simulate (balloon, snapshot, cpu-config, pmem,
 * hotplug) answer like unknown paths.
 */

#include "http.h"
#include "metrics.h"
#include "vmm.h"

typedef struct Api {
        Vmm *vmm;
        Metrics *metrics;
} Api;

/* HttpHandler: userdata is an Api*. */
Reply api_handle(void *userdata, const HttpRequest *req);
