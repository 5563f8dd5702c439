-- The feed's total summed the articles_count of every author the reader follows: one index
-- descent per followee (207 for the busiest follower at M, 833 buffers). It is now a counter
-- per reader, moved by the statements that follow and unfollow (by the followee's count) and,
-- a batch of followers at a time, by those that create and delete an article (by one), in
-- their transaction. A table of its own, not a users column: an article's fan-out then
-- writes narrow rows, and it never locks a users row that a follow or an article write of
-- the same user may hold (two authors who follow each other publishing at once would
-- deadlock on each other's users rows). Half-full pages, so a counter's update finds room
-- beside its row and stays HOT (no new index entry): the fan-out is most of its writes.
CREATE TABLE feed_counts (
    user_id        bigint PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    articles_count bigint NOT NULL CHECK (articles_count >= 0)
) WITH (fillfactor = 50);
INSERT INTO feed_counts (user_id, articles_count)
SELECT fo.follower_id, sum(u.articles_count)
FROM follows fo JOIN users u ON u.id = fo.followee_id
GROUP BY fo.follower_id;
