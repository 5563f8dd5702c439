-- Lists whose cost does not grow with the tables (measured at M, `brisk doctor`):
--
-- A tag's page sorted every article carrying the tag (221,380 for the busiest tag at M: 886k
-- buffers, 1.0-1.5 s) because article_tags had no order. The article's created_at, copied
-- into its links (it never changes after the insert that writes both), lets the page be the
-- first rows of one index range, newest first, whatever the tag's size.
ALTER TABLE article_tags ADD COLUMN created_at timestamptz;
UPDATE article_tags at SET created_at = a.created_at FROM articles a WHERE a.id = at.article_id;
ALTER TABLE article_tags ALTER COLUMN created_at SET NOT NULL;
CREATE INDEX article_tags_tag_created_idx
    ON article_tags (tag_id, created_at DESC, article_id DESC);
-- The new index leads with tag_id too: it serves the foreign key's cascade as the old one did.
DROP INDEX article_tags_tag_idx;

-- The unread count is a counter kept in the recipient's row, changed by the statements that
-- write, read or delete notifications, in their transaction: one row read, instead of an
-- index scan as long as the unread backlog (which the busiest inbox at M holds thousands of).
ALTER TABLE users ADD COLUMN unread_notifications_count integer NOT NULL DEFAULT 0
    CHECK (unread_notifications_count >= 0);
UPDATE users u SET unread_notifications_count = n.unread
FROM (
    SELECT recipient_id, count(*) AS unread FROM notifications WHERE read_at IS NULL GROUP BY 1
) n
WHERE u.id = n.recipient_id;
