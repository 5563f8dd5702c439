-- name: record-invalidation
-- In the write's own transaction: what it makes stale commits with it.
INSERT INTO cache_outbox (namespace, keys, versions) VALUES ($1, $2, $3) RETURNING id

-- name: forget-invalidations
-- Rows the writer applied itself right after its commit, deleted in one batch.
DELETE FROM cache_outbox WHERE id = ANY($1::bigint[])

-- name: claim-invalidations
-- Rows at least $2 seconds old (younger ones are being applied by their writer), oldest first;
-- SKIP LOCKED lets every instance relay at once without two applying the same row. Deleted in
-- the relay's transaction, which commits only after Redis took them.
DELETE FROM cache_outbox
WHERE id IN (
    SELECT id FROM cache_outbox
    WHERE namespace = $1 AND created_at <= now() - make_interval(secs => $2)
    ORDER BY id
    LIMIT $3
    FOR UPDATE SKIP LOCKED
)
RETURNING keys, versions
