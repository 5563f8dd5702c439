-- Notifications: someone followed you, favorited your article or commented on it. Written by
-- the same transaction as their cause; never for your own actions (ADR 0005).

CREATE TABLE notifications (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    recipient_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind         text NOT NULL CHECK (kind IN ('follow', 'favorite', 'comment')),
    actor_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    article_id   bigint REFERENCES articles (id) ON DELETE CASCADE,
    comment_id   bigint REFERENCES comments (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    read_at      timestamptz,
    CHECK (recipient_id <> actor_id),
    CHECK ((kind = 'follow') = (article_id IS NULL)),
    CHECK ((kind = 'comment') = (comment_id IS NOT NULL))
);

-- The list, newest first, is a range scan from the top; the id is the keyset cursor.
CREATE INDEX notifications_recipient_idx ON notifications (recipient_id, id DESC);
-- Unread ones only: the unread list, the unread count (index-only) and "mark read up to".
-- It holds only what nobody has read yet, so it stays small however long the history grows.
CREATE INDEX notifications_unread_idx ON notifications (recipient_id, id DESC)
    WHERE read_at IS NULL;

-- No spam: one follow notification per (actor, recipient) and one favorite notification per
-- (actor, article), ever. Unfollow + follow again, or unfavorite + favorite again, hits these
-- and adds nothing (the writes use ON CONFLICT DO NOTHING).
CREATE UNIQUE INDEX notifications_follow_key ON notifications (actor_id, recipient_id)
    WHERE kind = 'follow';
CREATE UNIQUE INDEX notifications_favorite_key ON notifications (actor_id, article_id)
    WHERE kind = 'favorite';

-- The cascades from deleting an article, a comment or a user; without these each delete would
-- scan the whole table.
CREATE INDEX notifications_article_idx ON notifications (article_id)
    WHERE article_id IS NOT NULL;
CREATE INDEX notifications_comment_idx ON notifications (comment_id)
    WHERE comment_id IS NOT NULL;
CREATE INDEX notifications_actor_idx ON notifications (actor_id);
