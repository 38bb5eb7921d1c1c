/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Guest isolation with nftables, driven through libnftables (never the nft
 * command). metald owns two tables, rebuilt whole and atomically (one nft
 * transaction) whenever networks or interfaces change:
 *
 *   table bridge metald   anti-spoofing, per TAP: only the interface's MAC as
 *                         Ethernet source, only its IPv4 (and IPv6, plus
 *                         link-local) as IP / ARP sender; only IPv4, ARP and
 *                         IPv6 frames; any other metald TAP ("mdt*") is
 *                         dropped. Hooked on bridge forward and input.
 *   table inet metald     from a metald bridge to the host: only ICMP echo and
 *                         DNS (udp/tcp 53) to that network's own gateway
 *                         address, IPv6 neighbour discovery, and replies to
 *                         connections the host opened; everything else dropped.
 *                         Routed traffic into or out of a metald bridge is
 *                         dropped (no inter-network or tenant-to-tenant path,
 *                         no egress: metald does no NAT).
 */

#include "store/network.h"

/* The ruleset text for these networks and interfaces (malloc'ed), or NULL on OOM. */
char *firewall_ruleset(const StoreNetwork *nets, size_t n_nets, const StoreNic *nics, size_t n_nics);

/* Build and apply the ruleset from the store's networks and interfaces. Serialised. */
int firewall_sync(Store *s, char **ret_error);

/* Remove metald's tables (at --network-firewall=no, and in tests). */
int firewall_remove(char **ret_error);
