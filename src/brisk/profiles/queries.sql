-- name: get-profile-by-username
SELECT u.id, u.username, u.bio, u.image,
       ($2::bigint IS NOT NULL AND EXISTS (
           SELECT 1 FROM follows f WHERE f.follower_id = $2 AND f.followee_id = u.id
       )) AS following
FROM users u
WHERE username_key(u.username) = username_key($1);

-- name: create-follow
INSERT INTO follows (follower_id, followee_id) VALUES ($1, $2) ON CONFLICT DO NOTHING;

-- name: delete-follow
DELETE FROM follows WHERE follower_id = $1 AND followee_id = $2;
