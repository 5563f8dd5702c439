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

-- What shows this user as an author, for the cache invalidation after a profile edit: their
-- articles (slugs and ids) and the articles they commented on. A batch of 100 rows a
-- statement, each continuing after the last the previous one read (the repository repeats it
-- until none is left): each costs the same however much the user wrote (16,493 articles and
-- thousands of comments for the busiest author at M); the edit's total still grows with them.

-- name: list-user-articles-batch
-- Newest first, after the cursor ($2, $3) = (created_at, id) of the previous batch's last.
-- The batch comes from the author's index alone (an index-only scan in its order; a batch
-- that read the rows for their slugs was planned as a bitmap scan of every article of the
-- author, sorted), then a primary-key lookup per slug.
WITH batch AS (
    SELECT id, created_at FROM articles
    WHERE author_id = $1 AND (created_at, id) < ($2, $3)
    ORDER BY created_at DESC, id DESC LIMIT 100
)
SELECT last.created_at, last.id,
       ARRAY(SELECT slug FROM articles WHERE id = ANY(ARRAY(SELECT id FROM batch))) AS slugs,
       ARRAY(SELECT id FROM batch) AS ids
FROM (SELECT created_at, id FROM batch ORDER BY created_at, id LIMIT 1) last;

-- name: list-user-commented-batch
-- The slugs of the articles of their comments after comment $2, in id order, from the index
-- of migration 0016 alone (it carries the article).
WITH batch AS (
    SELECT id, article_id FROM comments WHERE author_id = $1 AND id > $2 ORDER BY id LIMIT 100
)
SELECT max(id), ARRAY(
    SELECT DISTINCT slug FROM articles WHERE id = ANY(ARRAY(SELECT article_id FROM batch))
) AS slugs
FROM batch;
