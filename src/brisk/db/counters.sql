-- Rebuild every stored total from the rows it counts: after a bulk load (COPY bypasses the
-- write paths that keep them), or to repair. Each statement is one pass over its table, and
-- writes only the rows that differ (its row count is the drift it corrected).

-- name: recount-articles-total
INSERT INTO counters (name, value) SELECT 'articles', count(*) FROM articles
ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value
WHERE counters.value IS DISTINCT FROM EXCLUDED.value;

-- name: recount-user-counters
UPDATE users u SET articles_count = coalesce(a.n, 0), favorited_articles_count = coalesce(f.n, 0)
FROM users x
LEFT JOIN (SELECT author_id, count(*) AS n FROM articles GROUP BY author_id) a
    ON a.author_id = x.id
LEFT JOIN (SELECT user_id, count(*) AS n FROM favorites GROUP BY user_id) f ON f.user_id = x.id
WHERE u.id = x.id
  AND (u.articles_count, u.favorited_articles_count)
      IS DISTINCT FROM (coalesce(a.n, 0), coalesce(f.n, 0));

-- name: recount-tag-counters
UPDATE tags t SET articles_count = coalesce(c.n, 0)
FROM tags x
LEFT JOIN (SELECT tag_id, count(*) AS n FROM article_tags GROUP BY tag_id) c ON c.tag_id = x.id
WHERE t.id = x.id AND t.articles_count IS DISTINCT FROM coalesce(c.n, 0);

-- name: recount-article-favorites
UPDATE articles a SET favorites_count = coalesce(f.n, 0)
FROM articles x
LEFT JOIN (SELECT article_id, count(*) AS n FROM favorites GROUP BY article_id) f
    ON f.article_id = x.id
WHERE a.id = x.id AND a.favorites_count IS DISTINCT FROM coalesce(f.n, 0);

-- name: recount-article-tag-lists
UPDATE articles a SET tag_list = coalesce(x.names, '{}')
FROM (
    SELECT at.article_id, array_agg(t.name ORDER BY t.name COLLATE "C") AS names
    FROM article_tags at JOIN tags t ON t.id = at.tag_id
    GROUP BY at.article_id
) x
WHERE a.id = x.article_id AND a.tag_list IS DISTINCT FROM x.names;

-- name: recount-unread-notifications
UPDATE users u SET unread_notifications_count = coalesce(n.unread, 0)
FROM users x
LEFT JOIN (
    SELECT recipient_id, count(*) AS unread FROM notifications WHERE read_at IS NULL GROUP BY 1
) n ON n.recipient_id = x.id
WHERE u.id = x.id AND u.unread_notifications_count IS DISTINCT FROM coalesce(n.unread, 0);

-- name: recount-author-tag-counters
INSERT INTO author_tag_counts (author_id, tag_id, articles_count)
SELECT author_id, tag_id, count(*) FROM article_tags GROUP BY author_id, tag_id
ON CONFLICT (author_id, tag_id) DO UPDATE SET articles_count = EXCLUDED.articles_count
WHERE author_tag_counts.articles_count IS DISTINCT FROM EXCLUDED.articles_count;

-- name: recount-author-tag-counters-gone
UPDATE author_tag_counts c SET articles_count = 0
WHERE c.articles_count > 0 AND NOT EXISTS (
    SELECT FROM article_tags at WHERE at.tag_id = c.tag_id AND at.author_id = c.author_id);

-- name: recount-feed-counters
-- After recount-user-counters: a reader's feed total sums their followees' article counts.
INSERT INTO feed_counts (user_id, articles_count)
SELECT fo.follower_id, sum(u.articles_count)
FROM follows fo JOIN users u ON u.id = fo.followee_id
GROUP BY fo.follower_id
ON CONFLICT (user_id) DO UPDATE SET articles_count = EXCLUDED.articles_count
WHERE feed_counts.articles_count IS DISTINCT FROM EXCLUDED.articles_count;

-- name: recount-feed-counters-gone
UPDATE feed_counts c SET articles_count = 0
WHERE c.articles_count > 0
  AND NOT EXISTS (SELECT FROM follows fo WHERE fo.follower_id = c.user_id);
