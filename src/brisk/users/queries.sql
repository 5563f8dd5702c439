-- name: get-user-by-id
SELECT id, username, email, bio, image FROM users WHERE id = $1;

-- name: get-user-by-email
SELECT id, username, email, bio, image, password_hash FROM users WHERE email = $1;

-- name: create-user
INSERT INTO users (username, email, password_hash)
VALUES ($1, $2, $3)
RETURNING id, username, email, bio, image;

-- name: update-user
-- NULL leaves a field as it is; the service never passes NULL to mean "clear".
UPDATE users
SET username = coalesce($2, username),
    email = coalesce($3, email),
    password_hash = coalesce($4, password_hash),
    bio = coalesce($5, bio),
    image = coalesce($6, image),
    updated_at = now()
WHERE id = $1
RETURNING id, username, email, bio, image;
