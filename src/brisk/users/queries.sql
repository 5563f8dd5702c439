-- name: get-user-by-id
SELECT id, username, email, bio, image FROM users WHERE id = $1;

-- name: get-user-by-email
SELECT id, username, email, bio, image, password_hash, token_generation FROM users
WHERE email = $1;

-- name: create-user
INSERT INTO users (username, email, password_hash)
VALUES ($1, $2, $3)
RETURNING id, username, email, bio, image, token_generation;

-- name: update-user
-- NULL leaves a field as it is; the service never passes NULL to mean "clear".
-- The old username comes back too: the cache keys profiles by username.
WITH old AS (SELECT id, username FROM users WHERE id = $1 FOR UPDATE)
UPDATE users u
SET username = coalesce($2, u.username),
    email = coalesce($3, u.email),
    password_hash = coalesce($4, u.password_hash),
    -- A new password revokes every token issued before it.
    token_generation = u.token_generation + CASE WHEN $4 IS NULL THEN 0 ELSE 1 END,
    bio = coalesce($5, u.bio),
    image = coalesce($6, u.image),
    updated_at = now()
FROM old
WHERE u.id = old.id
RETURNING u.id, u.username, u.email, u.bio, u.image, u.token_generation,
    old.username AS old_username;

-- name: get-token-generation
-- The generation a token must carry to be accepted (cached; see UserService).
SELECT token_generation FROM users WHERE id = $1;

-- name: list-user-authored-slugs
-- What shows this user as an author: their articles (slugs and ids), and the articles they
-- commented on (for cache invalidation after a profile edit).
SELECT
    ARRAY(SELECT a.slug FROM articles a WHERE a.author_id = $1) AS articles,
    ARRAY(SELECT a.id FROM articles a WHERE a.author_id = $1) AS article_ids,
    ARRAY(
        SELECT DISTINCT a.slug FROM comments c JOIN articles a ON a.id = c.article_id
        WHERE c.author_id = $1
    ) AS commented;
