-- An author's articles with a tag (?author=x&tag=y) scanned every article the author wrote and
-- probed its tags (at M, the busiest author: 12,958 rows read and removed, 131 ms), and its
-- total counted them again. The links keep their article's author too (it never changes), in
-- an index in page order under (tag, author), so the page is the head of one index range;
-- the total is a counter per (author, tag), changed by the statements that link and unlink,
-- in their transaction.
ALTER TABLE article_tags ADD COLUMN author_id bigint;
UPDATE article_tags at SET author_id = a.author_id FROM articles a WHERE a.id = at.article_id;
ALTER TABLE article_tags ALTER COLUMN author_id SET NOT NULL;
CREATE INDEX article_tags_tag_author_created_idx
    ON article_tags (tag_id, author_id, created_at DESC, article_id DESC);

CREATE TABLE author_tag_counts (
    author_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    tag_id         bigint NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    articles_count integer NOT NULL CHECK (articles_count >= 0),
    PRIMARY KEY (author_id, tag_id)
);
-- A tag's deletion cascades here; without this that would read the whole table.
CREATE INDEX author_tag_counts_tag_idx ON author_tag_counts (tag_id);
INSERT INTO author_tag_counts (author_id, tag_id, articles_count)
SELECT author_id, tag_id, count(*) FROM article_tags GROUP BY author_id, tag_id;
