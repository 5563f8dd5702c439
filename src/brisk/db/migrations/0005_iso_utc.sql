-- Timestamps leave PostgreSQL already in the API's format (RFC 3339, UTC, milliseconds, "Z"):
-- formatting 40 datetimes per article page in Python was ~8% of the request's CPU (py-spy),
-- and the app's core, not the database's, is what limits throughput. Milliseconds are
-- truncated. (A comment-only edit, later: this is now the API's only timestamp formatter.)
CREATE FUNCTION iso_utc(moment timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN to_char(moment AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');
