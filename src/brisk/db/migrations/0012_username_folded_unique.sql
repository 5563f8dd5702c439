-- Usernames are unique as people read them, not as bytes: `Alice`, `ALICE` and fullwidth
-- `Alice` are one name (NFKC, then lower case), and a lookup by username in a URL matches the
-- same way (ADR 0015). The stored name keeps the case it was registered with. lower() follows
-- the database's collation: Unicode-aware under C.UTF-8 or any libc/ICU locale (under plain "C"
-- only ASCII letters fold; NFKC still applies).
CREATE FUNCTION username_key(name text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN lower(normalize(name, NFKC));

-- Existing rows that collide under the new rule cannot be merged automatically (whose account
-- keeps the name is a decision): say which, instead of failing on the index with no names.
DO $$
DECLARE
    clashes text;
BEGIN
    SELECT string_agg(names, '; ') INTO clashes FROM (
        SELECT string_agg(username, ', ' ORDER BY id) AS names
        FROM users GROUP BY username_key(username) HAVING count(*) > 1
    ) AS c;
    IF clashes IS NOT NULL THEN
        RAISE EXCEPTION 'usernames that differ only in case or width: %; rename all but one '
            'of each group, then migrate again', clashes;
    END IF;
END
$$;

CREATE UNIQUE INDEX users_username_folded_key ON users (username_key(username));
