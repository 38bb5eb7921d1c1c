/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The request messages of vmprovisioner.v1.VmService as the handlers decode
 * them (src/api/vm-service.c): each RPC's field table and the size of its
 * request struct. For the decoder's fuzz target (tests/fuzz/); the handlers
 * themselves use the tables directly.
 */

#include "api/connect.h"

typedef struct RpcRequestSpec {
        const char *rpc; /* "CreateVm" */
        const FieldSpec *fields;
        size_t n_fields;
        size_t size; /* of the request struct connect_decode fills */
} RpcRequestSpec;

extern const RpcRequestSpec vm_service_requests[];
extern const size_t vm_service_n_requests;
