-- A favoriter's favorites with a tag (?favorited=x&tag=y) read the favoriter's favorites in
-- page order and probed each one's tags, and its total probed them all (at M, the busiest
-- favoriter and tag: 3,703 probes, 12k buffers, 7 ms). Each favorite is now also linked to
-- its article's tags, in page order under (user, tag): the page is the head of one index
-- range, and the total counts that range from the index (the pair's own matches, not the
-- favoriter's fan-out, as for favorites_user_author_page_idx in 0017). The links are kept by
-- the statements that favorite, unfavorite, retag and delete, in their transaction. A unique
-- index, not a primary key: `brisk seed` builds it after the load, like every index that
-- backs no constraint. No foreign keys: their checks and cascades would cost every favorite
-- and every article delete a probe per link; the article's row lock (FOR KEY SHARE, taken
-- before a favorite reads the article's tags) keeps a link from outliving its article.
-- Favorites and tag links are locked against writes while the links are built: one written
-- meanwhile would have none.
LOCK TABLE favorites, article_tags IN SHARE MODE;
CREATE TABLE favorite_tags (
    user_id            bigint NOT NULL,
    tag_id             bigint NOT NULL,
    article_created_at timestamptz NOT NULL,
    article_id         bigint NOT NULL
);
INSERT INTO favorite_tags (user_id, tag_id, article_created_at, article_id)
SELECT f.user_id, at.tag_id, f.article_created_at, f.article_id
FROM favorites f JOIN article_tags at ON at.article_id = f.article_id;
CREATE UNIQUE INDEX favorite_tags_page_idx
    ON favorite_tags (user_id, tag_id, article_created_at DESC, article_id DESC);
