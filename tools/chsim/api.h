/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * api: Cloud Hypervisor's HTTP routes (vmm/src/api/http/): an exact match
 * of the path against a table of /api/v1/<endpoint> entries, the method and
 * body checks of each handler kind, serde decoding of the body, then the VMM
 * action; errors become the JSON array of the error chain, headed by
 * "Error from API" and the endpoint's ApiError text. Depends on http.h,
 * vmm.h, schema.h and decode.h.
 */

#include "http.h"
#include "vmm.h"

typedef struct Api {
        Vmm *vmm;
        const char *hang_on; /* CHSIM_HANG_ON: the endpoint at which to stop answering */
} Api;

/* HttpHandler: userdata is an Api*. */
Reply api_handle(void *userdata, const HttpRequest *req);
