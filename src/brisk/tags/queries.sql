-- name: list-tags
-- Tags that still label an article; each EXISTS is one probe of article_tags_tag_idx.
SELECT t.name FROM tags t
WHERE EXISTS (SELECT 1 FROM article_tags at WHERE at.tag_id = t.id)
ORDER BY t.name
LIMIT $1;
