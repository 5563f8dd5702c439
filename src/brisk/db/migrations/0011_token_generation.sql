-- A per-user token generation: every token carries the generation it was issued in, and only
-- the current one is accepted, so a password change (which bumps it) revokes every token issued
-- before it. Tokens issued before this column existed carry none and count as generation 0.
ALTER TABLE users ADD COLUMN token_generation integer NOT NULL DEFAULT 0;
