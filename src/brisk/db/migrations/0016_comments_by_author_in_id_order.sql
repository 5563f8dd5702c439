-- A profile edit finds what shows the user as an author (their articles, and the articles they
-- commented on) a batch at a time, each continuing after the last comment id the previous one
-- read (users/queries.sql): the batch must be the head of an index range in id order, which
-- the author's index alone (no order within an author) could not give without reading every
-- comment the user wrote. It carries the article, so a batch reads no comment row; it serves
-- the foreign key's cascade as the old one did.
CREATE INDEX comments_author_id_idx ON comments (author_id, id) INCLUDE (article_id);
DROP INDEX comments_author_idx;
