-- Every article query has the same shape: a `page` CTE picks the ids (using the index that
-- matches its ORDER BY and LIMIT), then, per id, one lateral lookup reads the row and its
-- author and computes, for the viewer $1, `favorited` and `following`. A page of N costs one
-- query, whatever N is, and a list's total rides along as a `total` column read from the
-- counters kept in rows (its count-* query runs only when the page is empty).
-- Lists never read `body`.

-- fragment: card-columns
SELECT card.id, card.slug, card.title, card.description,
       iso_utc(card.created_at) AS created_at, iso_utc(card.updated_at) AS updated_at,
       card.favorites_count, card.tag_list, card.favorited, card.author_id, card.author_username,
       card.author_bio, card.author_image, card.author_following

-- fragment: article-columns
SELECT a.id, a.slug, a.title, a.description, a.created_at, a.updated_at, a.favorites_count,
       a.tag_list, a.author_id,
       ($1::bigint IS NOT NULL AND EXISTS (
           SELECT 1 FROM favorites f WHERE f.user_id = $1 AND f.article_id = a.id)) AS favorited,
       u.username AS author_username, u.bio AS author_bio, u.image AS author_image,
       ($1::bigint IS NOT NULL AND EXISTS (
           SELECT 1 FROM follows fo WHERE fo.follower_id = $1 AND fo.followee_id = a.author_id
       )) AS author_following

-- fragment: article-from-page
FROM articles a JOIN users u ON u.id = a.author_id
WHERE a.id = page.id
-- OFFSET 0 keeps this a per-row index lookup whatever PostgreSQL estimates for the page; the
-- page size itself is a literal ({limit}, see Query.with_limit) so the generic plan is kept.
OFFSET 0
) card
ORDER BY card.created_at DESC, card.id DESC;

-- name: get-article-by-slug
WITH page AS (SELECT id FROM articles WHERE slug = $2)
-- include: card-columns
     , card.body
FROM page CROSS JOIN LATERAL (
-- include: article-columns
     , a.body
-- include: article-from-page

-- name: list-articles
WITH page AS (
    SELECT id FROM articles ORDER BY created_at DESC, id DESC LIMIT {limit} OFFSET $2
)
-- include: card-columns
     , (SELECT value FROM counters WHERE name = 'articles') AS total
FROM page CROSS JOIN LATERAL (
-- include: article-columns
-- include: article-from-page

-- name: list-articles-by-author
WITH page AS (
    SELECT a.id FROM articles a
    WHERE a.author_id = (SELECT id FROM users WHERE username_key(username) = username_key($3))
    ORDER BY a.created_at DESC, a.id DESC LIMIT {limit} OFFSET $2
)
-- include: card-columns
     , (SELECT articles_count FROM users WHERE username_key(username) = username_key($3)) AS total
FROM page CROSS JOIN LATERAL (
-- include: article-columns
-- include: article-from-page

-- name: list-articles-by-author-id
-- The dashboard's own articles: by id, so that read need not wait for the user's row.
WITH page AS (
    SELECT id FROM articles WHERE author_id = $3
    ORDER BY created_at DESC, id DESC LIMIT {limit} OFFSET $2
)
-- include: card-columns
FROM page CROSS JOIN LATERAL (
-- include: article-columns
-- include: article-from-page

-- name: list-articles-by-tag
-- The links keep their article's created_at (migration 0006): the page is the head of one
-- index range in page order, not a sort of every article with the tag.
WITH page AS (
    SELECT at.article_id AS id FROM article_tags at
    WHERE at.tag_id = (SELECT id FROM tags WHERE name = $3)
    ORDER BY at.created_at DESC, at.article_id DESC LIMIT {limit} OFFSET $2
)
-- include: card-columns
     , (SELECT articles_count FROM tags WHERE name = $3) AS total
FROM page CROSS JOIN LATERAL (
-- include: article-columns
-- include: article-from-page

-- name: list-articles-favorited-by
-- Favorites keep their article's created_at (migration 0007): the head of one index range.
WITH page AS (
    SELECT f.article_id AS id FROM favorites f
    WHERE f.user_id = (SELECT id FROM users WHERE username_key(username) = username_key($3))
    ORDER BY f.article_created_at DESC, f.article_id DESC LIMIT {limit} OFFSET $2
)
-- include: card-columns
     , (SELECT favorited_articles_count FROM users WHERE username_key(username) = username_key($3)) AS total
FROM page CROSS JOIN LATERAL (
-- include: article-columns
-- include: article-from-page

-- name: list-articles-by-author-tagged
-- The links keep their article's author (migration 0014): an author's articles with a tag are
-- the head of one index range in page order, and their total a counter per (author, tag).
WITH page AS (
    SELECT at.article_id AS id FROM article_tags at
    WHERE at.tag_id = (SELECT id FROM tags WHERE name = $4)
      AND at.author_id = (SELECT id FROM users WHERE username_key(username) = username_key($3))
    ORDER BY at.created_at DESC, at.article_id DESC LIMIT {limit} OFFSET $2
)
-- include: card-columns
     , (
         SELECT c.articles_count FROM author_tag_counts c
         WHERE c.tag_id = (SELECT id FROM tags WHERE name = $4)
           AND c.author_id = (SELECT id FROM users WHERE username_key(username) = username_key($3))
     ) AS total
FROM page CROSS JOIN LATERAL (
-- include: article-columns
-- include: article-from-page

-- name: list-articles-by-author-filtered
-- The author and the favoriter, with or without a tag (rare). Favorites keep their article's
-- author (migration 0017): the favoriter's favorites of the author are the head of one index
-- range in page order, and the total counts that range from the index; the tag, when given,
-- is a probe per favorite of that range. `$4 IS NULL OR` only ever filters rows here, never
-- picks the scan, so the generic plan is the same index plan with or without a tag.
WITH page AS (
    SELECT f.article_id AS id FROM favorites f
    WHERE f.user_id = (SELECT id FROM users WHERE username_key(username) = username_key($5))
      AND f.author_id = (SELECT id FROM users WHERE username_key(username) = username_key($3))
      AND ($4::text IS NULL OR EXISTS (
          SELECT 1 FROM article_tags at
          WHERE at.article_id = f.article_id AND at.tag_id = (SELECT id FROM tags WHERE name = $4)))
    ORDER BY f.article_created_at DESC, f.article_id DESC LIMIT {limit} OFFSET $2
)
-- include: card-columns
     , (
         SELECT count(*) FROM favorites f
         WHERE f.user_id = (SELECT id FROM users WHERE username_key(username) = username_key($5))
           AND f.author_id = (SELECT id FROM users WHERE username_key(username) = username_key($3))
           AND ($4::text IS NULL OR EXISTS (
               SELECT 1 FROM article_tags at
               WHERE at.article_id = f.article_id
                 AND at.tag_id = (SELECT id FROM tags WHERE name = $4)))) AS total
FROM page CROSS JOIN LATERAL (
-- include: article-columns
-- include: article-from-page

-- name: list-articles-favorited-by-tagged
-- A favoriter's favorites keep their articles' tags (migration 0018): those with a tag are the
-- head of one index range in page order, and their total counts that range from the index.
WITH page AS (
    SELECT ft.article_id AS id FROM favorite_tags ft
    WHERE ft.user_id = (SELECT id FROM users WHERE username_key(username) = username_key($3))
      AND ft.tag_id = (SELECT id FROM tags WHERE name = $4)
    ORDER BY ft.article_created_at DESC, ft.article_id DESC LIMIT {limit} OFFSET $2
)
-- include: card-columns
     , (
         SELECT count(*) FROM favorite_tags ft
         WHERE ft.user_id = (SELECT id FROM users WHERE username_key(username) = username_key($3))
           AND ft.tag_id = (SELECT id FROM tags WHERE name = $4)) AS total
FROM page CROSS JOIN LATERAL (
-- include: article-columns
-- include: article-from-page

-- name: list-feed
-- Each followed author contributes at most the page's reach (limit + offset) of their newest
-- articles, read from their index: the sort sees followees x reach rows, not every article
-- they ever wrote (6,215 rows for a seeded user following 27 prolific authors).
WITH page AS (
    SELECT recent.id FROM follows fo CROSS JOIN LATERAL (
        SELECT a.id, a.created_at FROM articles a
        WHERE a.author_id = fo.followee_id
        ORDER BY a.created_at DESC, a.id DESC LIMIT {limit} + $2
    ) recent
    WHERE fo.follower_id = $1
    ORDER BY recent.created_at DESC, recent.id DESC LIMIT {limit} OFFSET $2
)
-- include: card-columns
     , (SELECT articles_count FROM feed_counts WHERE user_id = $1) AS total
FROM page CROSS JOIN LATERAL (
-- include: article-columns
-- include: article-from-page

-- Totals read the counters kept in rows (migration 0002): one index lookup each.
-- name: count-articles
SELECT value FROM counters WHERE name = 'articles';

-- name: count-articles-by-author
SELECT coalesce((SELECT articles_count FROM users WHERE username_key(username) = username_key($1)), 0);

-- name: count-articles-by-tag
SELECT coalesce((SELECT articles_count FROM tags WHERE name = $1), 0);

-- name: count-articles-favorited-by
SELECT coalesce((SELECT favorited_articles_count FROM users WHERE username_key(username) = username_key($1)), 0);

-- name: count-articles-by-author-tagged
SELECT coalesce((
    SELECT c.articles_count FROM author_tag_counts c
    WHERE c.tag_id = (SELECT id FROM tags WHERE name = $2)
      AND c.author_id = (SELECT id FROM users WHERE username_key(username) = username_key($1))
), 0);

-- name: count-articles-by-author-filtered
-- The favoriter's favorites of the author (migration 0017), counted from one index range.
SELECT count(*) FROM favorites f
WHERE f.user_id = (SELECT id FROM users WHERE username_key(username) = username_key($3))
  AND f.author_id = (SELECT id FROM users WHERE username_key(username) = username_key($1))
  AND ($2::text IS NULL OR EXISTS (
      SELECT 1 FROM article_tags at
      WHERE at.article_id = f.article_id AND at.tag_id = (SELECT id FROM tags WHERE name = $2)));

-- name: count-articles-favorited-by-tagged
-- The favoriter's links to the tag (migration 0018), counted from one index range.
SELECT count(*) FROM favorite_tags ft
WHERE ft.user_id = (SELECT id FROM users WHERE username_key(username) = username_key($1))
  AND ft.tag_id = (SELECT id FROM tags WHERE name = $2);

-- name: count-feed
-- The feed's total is a counter per reader (migration 0015), not a sum over their followees.
SELECT coalesce((SELECT articles_count FROM feed_counts WHERE user_id = $1), 0);

-- name: get-article-for-update
SELECT id, author_id, title FROM articles WHERE slug = $1 FOR UPDATE;

-- name: get-article-id-by-slug
-- A favorite's first statement. FOR KEY SHARE, the lock a foreign key to the article takes,
-- held until the favorite commits: the favorite, its tag links and its notification have no
-- such key (migrations 0018, 0019), so an article's retag or delete (which lock its row FOR
-- UPDATE first) either finishes before the favorite's next statements read the article and
-- its tags, or waits for the favorite's commit and then sees what it wrote.
SELECT id, author_id FROM articles WHERE slug = $1 FOR KEY SHARE;

-- name: create-article
-- The article and the totals that count it change in one statement. A slug already taken
-- (its random suffix met another's, service.py) inserts nothing and moves no total: no row
-- comes back and the service tries another suffix, without aborting the transaction.
WITH added AS (
    INSERT INTO articles (slug, author_id, title, description, body, tag_list)
    VALUES ($1, $2, $3, $4, $5, $6)
    ON CONFLICT (slug) DO NOTHING
    RETURNING id, author_id
), by_author AS (
    UPDATE users SET articles_count = articles_count + 1
    WHERE id = (SELECT author_id FROM added)
), total AS (
    UPDATE counters SET value = value + 1
    WHERE name = 'articles' AND EXISTS (SELECT 1 FROM added)
)
SELECT id FROM added;

-- name: move-feed-counts
-- An article of author $1 joins ($3 = 1) or leaves ($3 = -1) their followers' feed totals, a
-- batch of 50 followers after follower $2 (the repository repeats it until none is left):
-- each statement costs the same however many followers the author has. Run after the
-- statement that moved the author's articles_count, whose row lock a concurrent follow
-- waits for (create-follow): the follow then reads the count with this article in it.
-- Batches follow the followers' id order; within a batch the UPDATE locks in the order its
-- plan reads: ascending under the primary key (= ANY sorts its array), physical under a
-- sequential scan (a tiny table), where two fan-outs sharing readers can still deadlock
-- (40P01: a 503 with Retry-After). An ordered lock step doubled the work (reverted, 005e59e).
WITH readers AS (
    SELECT follower_id FROM follows WHERE followee_id = $1 AND follower_id > $2
    ORDER BY follower_id LIMIT 50
), moved AS (
    UPDATE feed_counts SET articles_count = articles_count + $3
    WHERE user_id = ANY(ARRAY(SELECT follower_id FROM readers))
)
SELECT max(follower_id) FROM readers;

-- name: update-article
UPDATE articles
SET slug = coalesce($2, slug),
    title = coalesce($3, title),
    description = coalesce($4, description),
    body = coalesce($5, body),
    tag_list = coalesce($6, tag_list),
    updated_at = now()
WHERE id = $1;

-- Deleting an article removes what hangs off it in batches of at most 100 rows a statement
-- (articles/repository.py repeats each until it removes nothing), each batch continuing after
-- the last key the previous one removed: a statement costs the same however popular the
-- article, and never re-reads the index entries its own transaction already deleted (they
-- stay in the index until VACUUM, invisible but visited); `= ANY(ARRAY(...))` keeps the batch
-- a primary-key lookup per row in every plan, never a hash join over the table. The
-- article's row goes last, and cascades only to its tag links (already unlinked): favorites,
-- notifications and comments hold it by its lock, not a foreign key (migration 0019), whose
-- cascade would walk again the index entries the batches deleted in this transaction.

-- name: delete-article-notifications
-- Its favorites' and comments' notifications. Returns the last id removed (NULL when none was
-- left) and the recipient of each unread one: the repository releases those inbox counters
-- once, after the last batch, in the same transaction (release-unread-notifications). Per
-- batch, the article's author's row (every one of these notifications is theirs) would get
-- a new version 1,000 times in one transaction.
WITH removed AS (
    DELETE FROM notifications WHERE id = ANY(ARRAY(
        SELECT id FROM notifications WHERE article_id = $1 AND id > $2 ORDER BY id LIMIT 100))
    RETURNING id, recipient_id, read_at
)
SELECT max(id), array_agg(recipient_id) FILTER (WHERE read_at IS NULL) FROM removed;

-- name: delete-article-comments
-- After delete-article-notifications (which removed the comments' notifications too, since
-- they carry the article). Returns the last (created_at, id) removed, no row when none was left.
WITH removed AS (
    DELETE FROM comments WHERE id = ANY(ARRAY(
        SELECT id FROM comments WHERE article_id = $1 AND (created_at, id) > ($2, $3)
        ORDER BY created_at, id LIMIT 100))
    RETURNING created_at, id
)
SELECT created_at, id FROM removed ORDER BY created_at DESC, id DESC LIMIT 1;

-- name: delete-article
-- Run after unlink-article-tags and the batched deletes above, which release their counters.
-- Returns the author when the article was there (their followers' feed totals move next).
WITH removed AS (
    DELETE FROM articles WHERE id = $1 RETURNING author_id
), by_author AS (
    UPDATE users SET articles_count = articles_count - 1
    WHERE id = (SELECT author_id FROM removed)
)
UPDATE counters SET value = value - 1
WHERE name = 'articles' AND EXISTS (SELECT 1 FROM removed)
RETURNING (SELECT author_id FROM removed);

-- name: delete-article-favorites
-- A batch (see delete-article-notifications) of 50, not 100: each favoriting user's counter
-- drops with it, a new version of a users row (~26 buffers at M) per favorite.
-- Returns the last user id removed, NULL when none was left.
-- The batch's rows are deleted by their row address (favorites are never updated, so it is
-- stable; a row deleted meanwhile is skipped and not counted): by `article_id = $1 AND
-- user_id = ANY(...)` a generic plan, which expects a few favorites per article, read every
-- favorite of the article and filtered them (950 at 4x XS).
WITH removed AS (
    DELETE FROM favorites WHERE ctid = ANY(ARRAY(
        SELECT ctid FROM favorites WHERE article_id = $1 AND user_id > $2
        ORDER BY user_id LIMIT 50))
    RETURNING user_id
), released AS (
    UPDATE users SET favorited_articles_count = favorited_articles_count - 1
    WHERE id = ANY(ARRAY(SELECT user_id FROM removed))
)
SELECT max(user_id) FROM removed;

-- name: unlink-favorite-tags
-- A retag or a delete, before unlink-article-tags: the links of a batch of 50 of the
-- article's favoriters (after user $2) to its tags (migration 0018), each found by its whole
-- key and deleted by row address (links are never updated; see delete-article-favorites).
-- Returns the last favoriter of the batch, NULL when none was left.
WITH fans AS (
    SELECT user_id FROM favorites WHERE article_id = $1 AND user_id > $2
    ORDER BY user_id LIMIT 50
), unlinked AS (
    DELETE FROM favorite_tags WHERE ctid = ANY(ARRAY(
        SELECT ft.ctid FROM fans f CROSS JOIN article_tags at
        JOIN favorite_tags ft ON ft.user_id = f.user_id AND ft.tag_id = at.tag_id
         AND ft.article_created_at = at.created_at AND ft.article_id = at.article_id
        WHERE at.article_id = $1))
)
SELECT max(user_id) FROM fans;

-- name: link-favorite-tags
-- A retag, after link-article-tags: a batch of 50 favoriters (after user $2) linked to the
-- article's new tags. Returns the last favoriter of the batch, NULL when none was left.
WITH fans AS (
    SELECT user_id FROM favorites WHERE article_id = $1 AND user_id > $2
    ORDER BY user_id LIMIT 50
), linked AS (
    INSERT INTO favorite_tags (user_id, tag_id, article_created_at, article_id)
    SELECT f.user_id, at.tag_id, at.created_at, at.article_id
    FROM fans f CROSS JOIN article_tags at WHERE at.article_id = $1
    ON CONFLICT DO NOTHING
)
SELECT max(user_id) FROM fans;

-- name: create-tags
-- A concurrent insert of the same new tag makes this wait, then skip; the next statement
-- (a new snapshot under READ COMMITTED) sees the committed row.
INSERT INTO tags (name) SELECT DISTINCT unnest($1::text[]) ON CONFLICT (name) DO NOTHING;

-- name: link-article-tags
-- The links copy their article's created_at and author (migrations 0006, 0014); the tag's and
-- the (author, tag) totals move with them.
WITH article AS (
    SELECT id, author_id, created_at FROM articles WHERE id = $1
), linked AS (
    INSERT INTO article_tags (article_id, tag_id, created_at, author_id)
    SELECT a.id, t.id, a.created_at, a.author_id
    FROM article a JOIN tags t ON t.name = ANY($2::text[])
    ON CONFLICT DO NOTHING
    RETURNING tag_id, author_id
), by_tag AS (
    UPDATE tags SET articles_count = articles_count + 1
    WHERE id = ANY(ARRAY(SELECT tag_id FROM linked))
)
INSERT INTO author_tag_counts (author_id, tag_id, articles_count)
SELECT author_id, tag_id, 1 FROM linked
ON CONFLICT (author_id, tag_id)
DO UPDATE SET articles_count = author_tag_counts.articles_count + 1;

-- name: unlink-article-tags
WITH unlinked AS (
    DELETE FROM article_tags WHERE article_id = $1 RETURNING tag_id, author_id
), by_tag AS (
    UPDATE tags SET articles_count = articles_count - 1
    WHERE id = ANY(ARRAY(SELECT tag_id FROM unlinked))
)
UPDATE author_tag_counts c SET articles_count = c.articles_count - 1
FROM unlinked u
WHERE c.author_id = u.author_id AND c.tag_id = u.tag_id;

-- name: create-favorite
-- The counters and the links to the article's tags (migration 0018) change in the same
-- statement as the row, and only when the row is new; a row comes back only then.
WITH added AS (
    INSERT INTO favorites (user_id, article_id, article_created_at, author_id)
    SELECT $1, a.id, a.created_at, a.author_id FROM articles a WHERE a.id = $2
    ON CONFLICT DO NOTHING RETURNING user_id, article_id
), tagged AS (
    INSERT INTO favorite_tags (user_id, tag_id, article_created_at, article_id)
    SELECT ad.user_id, at.tag_id, at.created_at, at.article_id
    FROM added ad JOIN article_tags at ON at.article_id = ad.article_id
    ON CONFLICT DO NOTHING
), by_user AS (
    UPDATE users SET favorited_articles_count = favorited_articles_count + 1
    WHERE id IN (SELECT user_id FROM added)
)
UPDATE articles SET favorites_count = favorites_count + 1
WHERE id IN (SELECT article_id FROM added)
RETURNING id;

-- name: delete-favorite
WITH removed AS (
    DELETE FROM favorites WHERE user_id = $1 AND article_id = $2 RETURNING user_id, article_id
), untagged AS (
    DELETE FROM favorite_tags ft
    USING removed r, article_tags at
    WHERE at.article_id = r.article_id AND ft.user_id = r.user_id AND ft.tag_id = at.tag_id
      AND ft.article_created_at = at.created_at AND ft.article_id = r.article_id
), by_user AS (
    UPDATE users SET favorited_articles_count = favorited_articles_count - 1
    WHERE id IN (SELECT user_id FROM removed)
)
UPDATE articles SET favorites_count = favorites_count - 1
WHERE id IN (SELECT article_id FROM removed);

-- name: get-article-cards
-- The cards of these articles, as everyone sees them ($1 NULL): a cached page's misses.
WITH page AS (SELECT unnest($2::bigint[]) AS id)
-- include: card-columns
FROM page CROSS JOIN LATERAL (
-- include: article-columns
-- include: article-from-page
