/* SPDX-License-Identifier: Apache-2.0 */
/* Fallback-only placeholder: replaced by the sd-bus implementation. */
#include "sys/scope.h"

#include <stdio.h>

#include "util/log.h"

struct ScopeManager {
        bool active;
};

int scope_manager_new(ScopeManager **ret) {
        ScopeManager *m = calloc(1, sizeof *m);
        if (!m)
                return -ENOMEM;
        log_info("systemd scopes not used: VMMs run in detached sessions only");
        *ret = m;
        return 0;
}

ScopeManager *scope_manager_free(ScopeManager *m) {
        return mfree(m);
}

bool scope_manager_active(const ScopeManager *m) {
        return m && m->active;
}

void scope_unit_name(const char *vm_id, char *buf, size_t size) {
        snprintf(buf, size, "metald-vm-%s.scope", vm_id);
}

int scope_manager_adopt(ScopeManager *m, const char *vm_id, pid_t pid, uint64_t memory_max,
                        unsigned cpu_quota_percent, char **ret_error) {
        return 0;
}
