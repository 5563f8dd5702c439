-- A favoriter's favorites of one author (?author=x&favorited=y) scanned every article the
-- author wrote and probed the favoriter's favorites for each (at M, the busiest pair: 16,493
-- articles read for 58 matches), and its total counted them again. Favorites keep their
-- article's author too (it never changes), in an index in page order under (user, author):
-- the page is the head of one index range, and the total counts that range alone, from the
-- index (the pair's own matches, not either side's fan-out: 4.3M of M's 4.4M favorites are
-- the only favorite of their (user, author) pair, so a counter per pair would be a second
-- copy of the index).
ALTER TABLE favorites ADD COLUMN author_id bigint;
UPDATE favorites f SET author_id = a.author_id FROM articles a WHERE a.id = f.article_id;
ALTER TABLE favorites ALTER COLUMN author_id SET NOT NULL;
CREATE INDEX favorites_user_author_page_idx
    ON favorites (user_id, author_id, article_created_at DESC, article_id DESC);
