-- A viewer's own flags, read whole and cached per viewer (overlay/flags.py).

-- name: get-favorited-ids
-- The primary key (user_id, article_id) leads with the viewer: one index range.
SELECT ARRAY(SELECT article_id FROM favorites WHERE user_id = $1);

-- name: get-followed-ids
-- The primary key (follower_id, followee_id) leads with the viewer: one index range.
SELECT ARRAY(SELECT followee_id FROM follows WHERE follower_id = $1);
