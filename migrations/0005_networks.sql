-- 0005_networks: host networks (bridges) and the interfaces of VMs on them,
-- with their addresses (README "Networks").

-- A named host network: one Linux bridge with the gateway address on it.
CREATE TABLE networks (
    name         TEXT PRIMARY KEY,              -- [a-z0-9][a-z0-9-]{0,31}
    bridge       TEXT    NOT NULL UNIQUE,       -- Linux interface name, <= 15 bytes
    ipv4_subnet  TEXT    NOT NULL UNIQUE,       -- canonical "10.0.0.0/24"
    ipv4_gateway TEXT    NOT NULL,              -- inside the subnet; on the bridge
    ipv6_subnet  TEXT    NOT NULL DEFAULT '',   -- optional, canonical, /64..../120
    dns          TEXT    NOT NULL DEFAULT '',   -- comma-separated IPv4 addresses given to guests
    tenant       TEXT    NOT NULL DEFAULT '',   -- '' = any tenant may attach VMs
    mtu          INTEGER NOT NULL DEFAULT 1500,
    source       TEXT    NOT NULL,              -- config|api
    created_at   INTEGER NOT NULL
) STRICT;

-- One row per interface of a live VM: its TAP, MAC and addresses. Inserted in
-- the CreateVm transaction, deleted in the transaction that records the VM
-- deleted. The UNIQUE constraints are what makes an address (or a TAP name,
-- or a MAC on one network) impossible to hand out twice.
CREATE TABLE vm_nics (
    vm_id      TEXT    NOT NULL,
    iface_id   TEXT    NOT NULL,
    idx        INTEGER NOT NULL,                -- position in config.network
    network    TEXT    NOT NULL REFERENCES networks (name),
    tap        TEXT    NOT NULL UNIQUE,
    mac        TEXT    NOT NULL,
    ipv4       TEXT    NOT NULL,
    ipv6       TEXT,                            -- NULL: the network has no IPv6
    PRIMARY KEY (vm_id, iface_id),
    UNIQUE (network, ipv4),
    UNIQUE (network, ipv6),
    UNIQUE (network, mac)
) STRICT;
CREATE INDEX vm_nics_by_network ON vm_nics (network);
