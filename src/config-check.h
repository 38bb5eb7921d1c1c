/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * metald --check-config: validate the parsed options against this host
 * without starting anything (no socket bound, no directory created, no
 * database opened): the listen address parses and resolves, the data
 * directory is usable (or creatable), the asset roots are directories, the
 * default backend exists and its binary is present and executable, and the
 * limits fit together. Problems are printed to out, one a line, naming the
 * option; notes (another backend's binary missing, no /dev/kvm) do not count.
 */

#include <stdio.h>

#include "options.h"

/* The number of problems found (0: the configuration is valid). */
unsigned config_check(const Options *o, FILE *out);
