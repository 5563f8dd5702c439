-- What a cached, viewer-independent response lacks for one signed-in viewer.

-- name: get-viewer-flags
-- Of these slugs, the articles the viewer favorited; of these usernames, whom they follow.
-- Both probe unique indexes (articles.slug, users.username) and then a primary key.
SELECT
    ARRAY(
        SELECT a.slug FROM articles a
        JOIN favorites f ON f.article_id = a.id AND f.user_id = $1
        WHERE a.slug = ANY($2::text[])
    ) AS favorited,
    ARRAY(
        SELECT u.username FROM users u
        JOIN follows fo ON fo.followee_id = u.id AND fo.follower_id = $1
        WHERE u.username = ANY($3::text[])
    ) AS following;
