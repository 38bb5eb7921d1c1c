/* SPDX-License-Identifier: Apache-2.0 */
/* The table of compiled-in hypervisor backends (hypervisor.h). Adding a
 * backend is a file plus one line here. */
#include "hv/hypervisor.h"

#include <assert.h>

const Backend *const backend_table[] = {
        &backend_firecracker,
        &backend_cloud_hypervisor,
        &backend_qemu,
        NULL,
};

/* The backend called name, or NULL if there is none (name must not be NULL). */
const Backend *backend_find(const char *name) {
        assert(name);
        for (const Backend *const *b = backend_table; *b; b++)
                if (streq((*b)->name, name))
                        return *b;
        return NULL;
}
