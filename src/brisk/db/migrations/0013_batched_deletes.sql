-- Deleting an article removes its notifications in batches, each continuing after the last id
-- the previous one removed (articles/queries.sql): the batch must be the head of an index
-- range in id order, which the article's index alone (no order within an article) could not
-- give without sorting every notification of the article (99,997 for the busiest at M) each
-- batch. The new index serves the foreign key's cascade as the old one did.
CREATE INDEX notifications_article_id_idx ON notifications (article_id, id)
    WHERE article_id IS NOT NULL;
DROP INDEX notifications_article_idx;
