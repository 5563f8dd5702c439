-- Cache invalidations written by the write's own transaction, so they commit (or roll back)
-- with it and outlive the process that made it: any live instance relays them to Redis and
-- deletes them (ADR 0014). Rows normally live under a second; the table stays tiny.
CREATE TABLE cache_outbox (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- The cache namespace (several deployments or test sessions may share one database).
    namespace  text NOT NULL,
    -- Full Redis key names to delete, and version-token names to renew.
    keys       text[] NOT NULL,
    versions   text[] NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- The relay claims the oldest rows of its namespace.
CREATE INDEX cache_outbox_namespace_idx ON cache_outbox (namespace, id);
