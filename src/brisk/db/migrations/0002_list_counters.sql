-- Totals that list pages show (articlesCount) kept in rows, changed in the same transaction as
-- the rows they count: a filtered total becomes one index lookup instead of a count(*) over
-- thousands of rows. `brisk.db.counters.recount` rebuilds them after a bulk load.

ALTER TABLE users
    ADD COLUMN articles_count integer NOT NULL DEFAULT 0 CHECK (articles_count >= 0),
    ADD COLUMN favorited_articles_count integer NOT NULL DEFAULT 0
        CHECK (favorited_articles_count >= 0);

ALTER TABLE tags
    ADD COLUMN articles_count integer NOT NULL DEFAULT 0 CHECK (articles_count >= 0);

-- Whole-table totals, one row each. The 'articles' row is updated by every article create and
-- delete, which serialises those writes on one row lock: cheap at a social site's write rate,
-- and what keeps GET /api/articles from counting the table on every request.
CREATE TABLE counters (
    name  text PRIMARY KEY,
    value bigint NOT NULL CHECK (value >= 0)
);
INSERT INTO counters (name, value) SELECT 'articles', count(*) FROM articles;

UPDATE users u SET
    articles_count = (SELECT count(*) FROM articles a WHERE a.author_id = u.id),
    favorited_articles_count = (SELECT count(*) FROM favorites f WHERE f.user_id = u.id);
UPDATE tags t SET articles_count = (SELECT count(*) FROM article_tags at WHERE at.tag_id = t.id);

-- Popular tags first, for GET /api/tags.
CREATE INDEX tags_popular_idx ON tags (articles_count DESC, name) WHERE articles_count > 0;
