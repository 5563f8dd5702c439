-- name: get-profile-by-username
SELECT u.id, u.username, u.bio, u.image,
       ($2::bigint IS NOT NULL AND EXISTS (
           SELECT 1 FROM follows f WHERE f.follower_id = $2 AND f.followee_id = u.id
       )) AS following
FROM users u
WHERE username_key(u.username) = username_key($1);

-- name: create-follow
-- The follower's feed total (feed_counts, migration 0015) moves by the followee's article
-- count in the same statement as the follow. Locking the followee's row waits for an article
-- write of theirs in flight (it holds that row from its articles_count update until it
-- commits), so the count read includes that article, whose fan-out (move-feed-counts) could
-- not see this uncommitted follow; and an article write that starts later waits for this one,
-- and its fan-out then sees the follow. FOR NO KEY UPDATE, not FOR SHARE: the follow's
-- transaction goes on to update this row (its notification's inbox counter), and two follows
-- of one user that each held a share lock would each wait for the other's to go (deadlock);
-- those follows wait for each other at that update anyway. Returns whether the follow is new.
WITH followee AS (
    SELECT id, articles_count FROM users WHERE id = $2 FOR NO KEY UPDATE
), added AS (
    INSERT INTO follows (follower_id, followee_id) SELECT $1, id FROM followee
    ON CONFLICT DO NOTHING
    RETURNING follower_id
), counted AS (
    INSERT INTO feed_counts (user_id, articles_count)
    SELECT follower_id, (SELECT articles_count FROM followee) FROM added
    ON CONFLICT (user_id)
    DO UPDATE SET articles_count = feed_counts.articles_count + EXCLUDED.articles_count
)
SELECT EXISTS (SELECT 1 FROM added);

-- name: delete-follow
-- As create-follow, the other way. A share lock is enough here: an unfollow writes nothing
-- more to the followee's row. Returns whether there was a follow to remove.
WITH followee AS (
    SELECT id, articles_count FROM users WHERE id = $2 FOR SHARE
), removed AS (
    DELETE FROM follows WHERE follower_id = $1 AND followee_id = (SELECT id FROM followee)
    RETURNING follower_id
), counted AS (
    UPDATE feed_counts SET articles_count = articles_count - (SELECT articles_count FROM followee)
    WHERE user_id = ANY(ARRAY(SELECT follower_id FROM removed))
)
SELECT EXISTS (SELECT 1 FROM removed);
