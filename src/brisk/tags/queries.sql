-- name: list-tags
-- Most used first, from the counter kept in the row; the partial index holds only tags in use.
SELECT name FROM tags
WHERE articles_count > 0
ORDER BY articles_count DESC, name
LIMIT $1;
