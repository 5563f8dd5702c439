-- The "single" dashboard strategy: the whole response body built by PostgreSQL in one round
-- trip. Each part reads the rows its own endpoint's query reads, through the same indexes and
-- in the same order, and formats them the same way: timestamps by iso_utc() (migration 0005,
-- the one timestamp format), notification ids as strings. The JSON shapes are the views'
-- (articles/views.py, notifications/views.py, dashboard/views.py): tests/unit/test_views.py
-- checks every json_build_object here against them key by key, and an integration test holds
-- the three strategies to identical JSON.

-- fragment: article-card-json
SELECT a.id, a.created_at, json_build_object(
    'slug', a.slug,
    'title', a.title,
    'description', a.description,
    'tagList', a.tag_list,
    'createdAt', iso_utc(a.created_at),
    'updatedAt', iso_utc(a.updated_at),
    'favorited', EXISTS (
        SELECT 1 FROM favorites f WHERE f.user_id = $1 AND f.article_id = a.id),
    'favoritesCount', a.favorites_count,
    'author', json_build_object(
        'username', au.username,
        'bio', au.bio,
        'image', au.image,
        'following', EXISTS (
            SELECT 1 FROM follows fo WHERE fo.follower_id = $1 AND fo.followee_id = a.author_id)
    )
) AS body
FROM articles a JOIN users au ON au.id = a.author_id
WHERE a.id = page.id
-- Fenced, as in articles/queries.sql: a per-row lookup even in a generic plan.
OFFSET 0

-- name: get-dashboard
-- $1 the viewer. The list sizes are literals (dashboard/service.py's ARTICLES, FEED and
-- NOTIFICATIONS; the tests hold both to the same answer): with no parameter in a LIMIT,
-- PostgreSQL's generic plan knows the sizes, costs as little as a custom one and is kept, so
-- this statement is planned once per connection instead of on every call (measured: 0.75 ms
-- instead of 2.2 ms a round trip, most of the difference planning).
WITH mine AS (
    SELECT id FROM articles WHERE author_id = $1 ORDER BY created_at DESC, id DESC LIMIT 5
), feed AS (
    -- As list-feed: each followed author's 10 newest, then the 10 newest of those.
    SELECT recent.id FROM follows fo CROSS JOIN LATERAL (
        SELECT a.id, a.created_at FROM articles a
        WHERE a.author_id = fo.followee_id
        ORDER BY a.created_at DESC, a.id DESC LIMIT 10
    ) recent
    WHERE fo.follower_id = $1
    ORDER BY recent.created_at DESC, recent.id DESC LIMIT 10
), inbox AS (
    SELECT id FROM notifications WHERE recipient_id = $1 ORDER BY id DESC LIMIT 10
)
SELECT json_build_object('dashboard', json_build_object(
    'user', json_build_object(
        'username', u.username, 'email', u.email, 'bio', u.bio, 'image', u.image),
    'articles', (
        SELECT coalesce(json_agg(card.body ORDER BY card.created_at DESC, card.id DESC), '[]')
        FROM mine page CROSS JOIN LATERAL (
-- include: article-card-json
        ) card
    ),
    'feed', (
        SELECT coalesce(json_agg(card.body ORDER BY card.created_at DESC, card.id DESC), '[]')
        FROM feed page CROSS JOIN LATERAL (
-- include: article-card-json
        ) card
    ),
    'notifications', (
        SELECT coalesce(json_agg(item.body ORDER BY item.id DESC), '[]')
        FROM inbox page CROSS JOIN LATERAL (
            SELECT n.id, json_build_object(
                'id', n.id::text,
                'kind', n.kind,
                'actor', json_build_object(
                    'username', nu.username,
                    'bio', nu.bio,
                    'image', nu.image,
                    'following', EXISTS (
                        SELECT 1 FROM follows fo
                        WHERE fo.follower_id = $1 AND fo.followee_id = n.actor_id)
                ),
                'article', CASE WHEN na.id IS NOT NULL
                    THEN json_build_object('slug', na.slug, 'title', na.title) END,
                'createdAt', iso_utc(n.created_at),
                'read', n.read_at IS NOT NULL
            ) AS body
            FROM notifications n
            JOIN users nu ON nu.id = n.actor_id
            LEFT JOIN articles na ON na.id = n.article_id
            WHERE n.id = page.id
            OFFSET 0
        ) item
    ),
    -- The counter kept in the row (migration 0006), as count-unread-notifications reads it.
    'unreadCount', u.unread_notifications_count
))::text
FROM users u
WHERE u.id = $1;
