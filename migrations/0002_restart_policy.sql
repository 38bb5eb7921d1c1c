-- 0002_restart_policy: what to do when a VMM exits on its own, and facts the
-- daemon keeps about itself (the boot id, to tell a host reboot from a
-- daemon restart).

ALTER TABLE vms ADD COLUMN restart_policy TEXT NOT NULL DEFAULT 'on-failure'; -- never|on-failure|always
ALTER TABLE vms ADD COLUMN last_exit TEXT NOT NULL DEFAULT '';  -- how the last VMM ended, when it ended on its own
ALTER TABLE vms ADD COLUMN restarts INTEGER NOT NULL DEFAULT 0;  -- automatic restarts in a row (backoff)

CREATE TABLE daemon_state (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;
