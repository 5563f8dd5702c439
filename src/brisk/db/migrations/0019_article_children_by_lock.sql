-- Deleting an article removes its favorites, notifications and comments in batches first
-- (ADR 0021); the article's own DELETE then still ran each foreign key's cascade, which walked
-- the index entries of every row the batches had deleted in the same transaction (dead, but
-- not yet removable): at M, for the most favorited article, 15.3 ms (99,997 notifications),
-- 5.1 ms (50,000 favorites) and 5.1 ms (23,159 comments) of the DELETE's 25.9 ms (84 ms on
-- another run). The keys are replaced by the lock they took (ADR 0025): every statement that
-- writes one of these rows runs in a transaction that holds FOR KEY SHARE on the article's row
-- (get-article-id-by-slug before a favorite and its notification, create-comment before a
-- comment's), so an article cannot be deleted between that check and the commit, and its
-- delete (which locks the row FOR UPDATE first) removes every row committed before it.
-- article_tags keeps its key: unlink-article-tags deletes a handful of links, not a batch.
ALTER TABLE notifications DROP CONSTRAINT notifications_article_id_fkey;
ALTER TABLE favorites DROP CONSTRAINT favorites_article_id_fkey;
ALTER TABLE comments DROP CONSTRAINT comments_article_id_fkey;
