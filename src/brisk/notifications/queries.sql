-- A list's `page` CTE picks ids newest first from the index that matches its filter (ids are
-- the keyset: `id < $2` continues where the previous page ended, however many arrived since);
-- then, per id, one fenced lateral lookup reads the row, its actor and its article. The page
-- size is a literal (Query.with_limit), so each size keeps one generic plan. $1 is the
-- recipient: the only one whose notifications any of these queries reads or changes.

-- fragment: notification-from-page
SELECT card.id, card.kind, iso_utc(card.created_at) AS created_at, card.read,
       card.actor_username, card.actor_bio, card.actor_image, card.actor_following,
       card.article_slug, card.article_title
FROM page CROSS JOIN LATERAL (
    SELECT n.id, n.kind, n.created_at, n.read_at IS NOT NULL AS read,
           u.username AS actor_username, u.bio AS actor_bio, u.image AS actor_image,
           EXISTS (
               SELECT 1 FROM follows fo WHERE fo.follower_id = $1 AND fo.followee_id = n.actor_id
           ) AS actor_following,
           a.slug AS article_slug, a.title AS article_title
    FROM notifications n
    JOIN users u ON u.id = n.actor_id
    LEFT JOIN articles a ON a.id = n.article_id
    WHERE n.id = page.id
    -- A per-row lookup even in a generic plan, which cannot see the page's LIMIT.
    OFFSET 0
) card
ORDER BY card.id DESC;

-- name: list-notifications
WITH page AS (
    SELECT id FROM notifications WHERE recipient_id = $1 ORDER BY id DESC LIMIT {limit}
)
-- include: notification-from-page

-- name: list-notifications-before
WITH page AS (
    SELECT id FROM notifications WHERE recipient_id = $1 AND id < $2
    ORDER BY id DESC LIMIT {limit}
)
-- include: notification-from-page

-- name: list-unread-notifications
WITH page AS (
    SELECT id FROM notifications WHERE recipient_id = $1 AND read_at IS NULL
    ORDER BY id DESC LIMIT {limit}
)
-- include: notification-from-page

-- name: list-unread-notifications-before
WITH page AS (
    SELECT id FROM notifications WHERE recipient_id = $1 AND read_at IS NULL AND id < $2
    ORDER BY id DESC LIMIT {limit}
)
-- include: notification-from-page

-- name: count-unread-notifications
-- The counter kept in the recipient's row (migration 0006): one row, however long the backlog.
SELECT coalesce((SELECT unread_notifications_count FROM users WHERE id = $1), 0);

-- name: mark-notifications-read
-- Another user's ids match no row here: they change nothing, and the answer does not differ.
-- The inbox counter drops by the rows that changed, in the same statement.
WITH marked AS (
    UPDATE notifications SET read_at = now()
    WHERE recipient_id = $1 AND id = ANY($2::bigint[]) AND read_at IS NULL
    RETURNING 1
)
UPDATE users
SET unread_notifications_count = unread_notifications_count - (SELECT count(*) FROM marked)
WHERE id = $1 AND EXISTS (SELECT FROM marked);

-- name: mark-notifications-read-up-to
-- At most 50 a statement (a row marked read is a new row version in five or six indexes:
-- ~20 buffers), newest first from the unread index; the repository repeats it below the last
-- id it marked (a marked row's entry stays in the partial index until VACUUM, so restarting
-- from $2 would visit it again). Returns the next bound (NULL when none was left) and how many
-- it marked: the repository releases the inbox counter once, after the last batch, in the
-- same transaction (per batch, the recipient's row would get 2,000 versions at M).
WITH marked AS (
    UPDATE notifications SET read_at = now()
    WHERE id = ANY(ARRAY(
        SELECT id FROM notifications
        WHERE recipient_id = $1 AND id <= $2 AND read_at IS NULL
        ORDER BY id DESC LIMIT 50))
      AND read_at IS NULL
    RETURNING id
)
SELECT min(id) - 1, count(*) FROM marked;

-- name: release-unread-notifications
-- Inbox counters drop by what a batched statement marked read or deleted: $1 the recipients,
-- $2 how many each. One row version per recipient, whatever the number of batches.
UPDATE users u SET unread_notifications_count = u.unread_notifications_count - r.unread
FROM unnest($1::bigint[], $2::bigint[]) AS r (recipient_id, unread)
WHERE u.id = r.recipient_id AND r.unread > 0;

-- The writes run in their cause's transaction. Each decides in SQL whether there is anyone to
-- tell: nobody is notified of their own action, and the unique partial indexes of migration
-- 0004 make a repeated follow or favorite add nothing.
-- A notification about an article has no foreign key to it (migration 0019): each of these
-- runs after a statement of its transaction that holds FOR KEY SHARE on the article's row
-- (the favorite's get-article-id-by-slug, create-comment), so the article cannot go before
-- they commit, and its delete removes what they wrote.

-- fragment: count-unread
-- Ends a statement whose `added` CTE returns the recipient of a notification it wrote: that
-- inbox counter moves with the row, and only when a row was written.
), counted AS (
    UPDATE users SET unread_notifications_count = unread_notifications_count + 1
    WHERE id IN (SELECT recipient_id FROM added)
)
SELECT recipient_id FROM added;

-- name: create-follow-notification
WITH added AS (
    INSERT INTO notifications (recipient_id, kind, actor_id)
    SELECT $2::bigint, 'follow', $1::bigint WHERE $1::bigint <> $2::bigint
    ON CONFLICT (actor_id, recipient_id) WHERE kind = 'follow' DO NOTHING
    RETURNING recipient_id
-- include: count-unread

-- name: create-favorite-notification
WITH added AS (
    INSERT INTO notifications (recipient_id, kind, actor_id, article_id)
    SELECT a.author_id, 'favorite', $1, a.id FROM articles a
    WHERE a.id = $2 AND a.author_id <> $1
    ON CONFLICT (actor_id, article_id) WHERE kind = 'favorite' DO NOTHING
    RETURNING recipient_id
-- include: count-unread

-- name: create-comment-notification
WITH added AS (
    INSERT INTO notifications (recipient_id, kind, actor_id, article_id, comment_id)
    SELECT a.author_id, 'comment', c.author_id, c.article_id, c.id
    FROM comments c JOIN articles a ON a.id = c.article_id
    WHERE c.id = $1 AND a.author_id <> c.author_id
    RETURNING recipient_id
-- include: count-unread
