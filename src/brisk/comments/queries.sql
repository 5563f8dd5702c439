-- name: list-comments
-- One round trip answers both "does the article exist" (a row with NULL comment) and its page.
-- The page's ids come from the article's index alone (index-only), then one lookup per id:
-- an offset skips index entries, not comment rows.
SELECT a.id AS article_id, c.id, c.body, c.author_id,
       iso_utc(c.created_at) AS created_at, iso_utc(c.updated_at) AS updated_at,
       u.username AS author_username, u.bio AS author_bio, u.image AS author_image,
       ($2::bigint IS NOT NULL AND EXISTS (
           SELECT 1 FROM follows fo WHERE fo.follower_id = $2 AND fo.followee_id = c.author_id
       )) AS author_following
FROM articles a
LEFT JOIN LATERAL (
    SELECT id FROM comments
    WHERE article_id = a.id ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4
) page ON true
LEFT JOIN comments c ON c.id = page.id
LEFT JOIN users u ON u.id = c.author_id
WHERE a.slug = $1
ORDER BY c.created_at DESC, c.id DESC;

-- name: create-comment
-- FOR KEY SHARE, the lock a foreign key to the article would take (migration 0019): held until
-- the comment and its notification commit, so the article's delete (which locks it FOR UPDATE
-- first) waits and then removes them; a comment that waited for a delete finds no article.
WITH added AS (
    INSERT INTO comments (article_id, author_id, body)
    SELECT a.id, $2, $3 FROM articles a WHERE a.slug = $1 FOR KEY SHARE
    RETURNING id, body, created_at, updated_at, author_id
)
SELECT added.id, added.body,
       iso_utc(added.created_at) AS created_at, iso_utc(added.updated_at) AS updated_at,
       u.username AS author_username, u.bio AS author_bio, u.image AS author_image,
       false AS author_following
FROM added JOIN users u ON u.id = added.author_id;

-- name: get-comment-for-delete
SELECT c.id, c.author_id, a.author_id AS article_author_id
FROM comments c JOIN articles a ON a.id = c.article_id
WHERE a.slug = $1 AND c.id = $2
FOR UPDATE OF c;

-- name: delete-comment-notifications
-- Before the comment goes: an unread notification of it releases its inbox counter.
WITH removed AS (DELETE FROM notifications WHERE comment_id = $1 RETURNING recipient_id, read_at)
UPDATE users u SET unread_notifications_count = u.unread_notifications_count - 1
FROM removed r
WHERE u.id = r.recipient_id AND r.read_at IS NULL;

-- name: delete-comment
DELETE FROM comments WHERE id = $1;
