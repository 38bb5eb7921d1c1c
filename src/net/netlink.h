/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Host interfaces over raw rtnetlink (and the TUN ioctls for TAPs): never
 * the `ip` command. Every function is idempotent: what already exists as
 * wanted is left alone (an existing TAP a VMM holds open is reused, not
 * recreated), so the reconciler can call them again after a crash or a
 * daemon restart. Errors: negative errno plus a malloc'ed message naming
 * the interface and the step.
 */

#include <netinet/in.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/util.h"

/* Create bridge `name` if missing, set its MTU, bring it up, and put
 * gw/prefix (host order) on it, plus gw6/prefix6 when gw6 is not NULL. */
int netlink_bridge_ensure(const char *name, unsigned mtu, uint32_t gw, unsigned prefix,
                          const struct in6_addr *gw6, unsigned prefix6, char **ret_error);

/* Create persistent TAP `name` (IFF_TAP|IFF_NO_PI, owner uid, group gid) if
 * missing, attach it to `bridge`, set its MTU and bring it up. An existing
 * interface of that name that is not a TAP is an error (-EEXIST). */
int netlink_tap_ensure(const char *name, uid_t uid, gid_t gid, const char *bridge, unsigned mtu,
                       char **ret_error);

/* Delete interface `name`; a missing one is a success. */
int netlink_link_delete(const char *name, char **ret_error);

/* True if an interface `name` exists. */
bool netlink_link_exists(const char *name);
