"""Settings refuse weak secrets outside dev; tokens accept only what we issued."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import jwt
import pytest
from pydantic import ValidationError

from brisk.articles.repository import ArticleFilter
from brisk.articles.service import make_slug
from brisk.errors import AuthenticationRequiredError
from brisk.security import TokenCodec, hash_password, verify_password
from brisk.settings import DEV_SECRET, Settings

SECRET = "s" * 64  # long enough for HS512 too, so the wrong-algorithm case is the only fault
SECRET_REAL = "k3Vq9-zP0rT8wYb2mN6cLx4hJ1sD7fGa5eUi"  # what a random secret looks like


@pytest.mark.parametrize("secret", [None, "", "changeme", "secret", "short-but-real"])
def test_weak_secret_refused_outside_dev(secret: str | None) -> None:
    with pytest.raises(ValidationError, match="BRISK_SECRET_KEY"):
        Settings(secret_key=secret, dev=False)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "secret",
    [
        DEV_SECRET,  # published in the source: tokens forged with it must not be valid
        f"  {DEV_SECRET.upper()} ",
        "changeme-changeme-changeme-changeme",
        "please-change-me-to-a-long-random-value",
    ],
)
def test_published_and_placeholder_secrets_refused_outside_dev(secret: str) -> None:
    with pytest.raises(ValidationError, match="BRISK_SECRET_KEY"):
        Settings(secret_key=secret, dev=False)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="PREVIOUS_SECRET_KEYS"):
        Settings(secret_key=SECRET_REAL, auth={"previous_secret_keys": [secret]}, dev=False)  # type: ignore[arg-type]
    assert Settings(secret_key=secret, dev=True).secret == DEV_SECRET


def test_published_dev_secret_refused_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BRISK_SECRET_KEY", DEV_SECRET)
    monkeypatch.delenv("BRISK_DEV", raising=False)
    with pytest.raises(ValidationError, match="dev secret"):
        Settings()


def test_dev_mode_falls_back_to_the_dev_secret() -> None:
    assert Settings(secret_key=None, dev=True).secret == DEV_SECRET
    assert Settings(secret_key=SECRET, dev=False).secret == SECRET  # type: ignore[arg-type]


def test_nested_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRISK_SECRET_KEY", SECRET)
    monkeypatch.setenv("BRISK_DB__POOL_MAX_SIZE", "7")
    monkeypatch.setenv("BRISK_DATABASE_URL", "postgresql://u@h/db")
    settings = Settings()
    assert (settings.db.pool_max_size, settings.database_url) == (7, "postgresql://u@h/db")


def test_token_round_trip_and_rejections() -> None:
    codec = TokenCodec(SECRET, ttl_seconds=60)
    assert codec.user_id(codec.issue(42)) == 42
    now = int(time.time())
    bad = [
        "not-a-token",
        codec.issue(42)[:-2] + "xx",
        jwt.encode({"sub": "42", "iat": now, "exp": now - 1}, SECRET, algorithm="HS256"),
        jwt.encode({"sub": "42", "iat": now, "exp": now + 60}, SECRET, algorithm="HS512"),
        jwt.encode({"sub": "42", "iat": now, "exp": now + 60}, "o" * 64, algorithm="HS256"),
        jwt.encode({"sub": "42", "iat": now}, SECRET, algorithm="HS256"),
        jwt.encode({"sub": "x", "iat": now, "exp": now + 60}, SECRET, algorithm="HS256"),
    ]
    for token in bad:
        with pytest.raises(AuthenticationRequiredError):
            codec.user_id(token)


async def test_password_hash_verifies_only_the_password() -> None:
    hashed = await hash_password("correct horse")
    assert hashed.startswith("$argon2id$")
    assert await verify_password(hashed, "correct horse")
    assert not await verify_password(hashed, "wrong horse")
    assert not await verify_password(None, "correct horse")


def test_slug_is_readable_and_unique() -> None:
    first, second = make_slug("How to train your Dragon!"), make_slug("How to train your Dragon!")
    assert first.startswith("how-to-train-your-dragon-")
    assert first != second
    assert make_slug("!!!").startswith("article-")


@pytest.mark.parametrize(
    ("filters", "page_query", "count_query"),
    [
        (ArticleFilter(), "list-articles", "count-articles"),
        (ArticleFilter(tag="t"), "list-articles-by-tag", "count-articles-by-tag"),
        (ArticleFilter(author="a"), "list-articles-by-author", "count-articles-by-author"),
        (
            ArticleFilter(favorited_by="f"),
            "list-articles-favorited-by",
            "count-articles-favorited-by",
        ),
        (
            ArticleFilter(tag="t", author="a"),
            "list-articles-by-author-tagged",
            "count-articles-by-author-tagged",
        ),
        (
            ArticleFilter(author="a", favorited_by="f"),
            "list-articles-by-author-filtered",
            "count-articles-by-author-filtered",
        ),
        (
            ArticleFilter(tag="t", author="a", favorited_by="f"),
            "list-articles-by-author-filtered",
            "count-articles-by-author-filtered",
        ),
        (
            ArticleFilter(tag="t", favorited_by="f"),
            "list-articles-favorited-by-tagged",
            "count-articles-favorited-by-tagged",
        ),
    ],
)
def test_filter_picks_its_dedicated_query(
    filters: ArticleFilter, page_query: str, count_query: str
) -> None:
    page, count, _ = filters.queries()
    assert (page.name, count.name) == (page_query, count_query)


def test_previous_secrets_and_limits_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rotation: the old keys arrive as a JSON list; each must be as strong as the current one."""
    monkeypatch.setenv("BRISK_SECRET_KEY", SECRET)
    monkeypatch.setenv("BRISK_AUTH__PREVIOUS_SECRET_KEYS", f'["{"o" * 40}"]')
    monkeypatch.setenv("BRISK_AUTH__PREVIOUS_SECRETS_VALID_UNTIL", "2030-01-01T00:00:00Z")
    monkeypatch.setenv("BRISK_LIMITS__LOGIN_PER_ACCOUNT", "5/minute")
    settings = Settings()
    assert settings.previous_secrets == ["o" * 40]
    assert settings.auth.previous_secrets_valid_until == datetime(2030, 1, 1, tzinfo=UTC)
    assert settings.limits.login_per_account == "5/minute"
    monkeypatch.setenv("BRISK_AUTH__PREVIOUS_SECRET_KEYS", '["short"]')
    with pytest.raises(ValidationError, match="PREVIOUS_SECRET_KEYS"):
        Settings()
    monkeypatch.setenv("BRISK_AUTH__PREVIOUS_SECRET_KEYS", "[]")
    monkeypatch.setenv("BRISK_LIMITS__LOGIN_PER_ACCOUNT", "lots")
    with pytest.raises(ValidationError, match="rate limit"):
        Settings()


def test_token_of_a_previous_secret_is_valid_until_its_exp_or_the_cutoff() -> None:
    old = TokenCodec("o" * 40, 3600).issue(7)
    rotated = TokenCodec(SECRET, 3600, previous_secrets=["x" * 40, "o" * 40])
    assert rotated.user_id(old) == 7
    with pytest.raises(AuthenticationRequiredError, match="invalid"):
        TokenCodec("o" * 40, 3600).user_id(rotated.issue(7))  # new tokens use the new secret
    cut = TokenCodec(
        SECRET, 3600, previous_secrets=["o" * 40], previous_valid_until=datetime.now(UTC)
    )
    with pytest.raises(AuthenticationRequiredError, match="expired"):
        cut.user_id(old)
    with pytest.raises(AuthenticationRequiredError, match="invalid"):
        TokenCodec(SECRET, 3600).user_id(old)  # rotation over: the old key is gone


def test_a_remembered_token_still_expires_and_still_honours_the_cutoff(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    codec = TokenCodec(SECRET, ttl_seconds=60)
    token = codec.issue(7)
    assert codec.user_id(token) == 7
    assert codec.user_id(token) == 7  # the second check is the remembered one
    # Past its exp (as PyJWT sees time too), the remembered token is refused.
    later = time.time() + 120
    monkeypatch.setattr("brisk.security.time.time", lambda: later)
    monkeypatch.setattr("jwt.api_jwt.datetime", _FrozenDatetime(later))
    with pytest.raises(AuthenticationRequiredError, match="expired"):
        codec.user_id(token)

    old = TokenCodec("o" * 40, 3600).issue(8)
    cutoff = datetime.fromtimestamp(later + 10, UTC)
    rotated = TokenCodec(SECRET, 3600, previous_secrets=["o" * 40], previous_valid_until=cutoff)
    assert rotated.user_id(old) == 8
    monkeypatch.setattr("brisk.security.time.time", lambda: later + 20)
    monkeypatch.setattr("jwt.api_jwt.datetime", _FrozenDatetime(later + 20))
    with pytest.raises(AuthenticationRequiredError, match="expired"):
        rotated.user_id(old)  # remembered, but its secret's cutoff has passed


class _FrozenDatetime:
    """Stands in for datetime inside PyJWT, so its exp check sees the same moved clock."""

    def __init__(self, moment: float) -> None:
        self._moment = moment

    def now(self, tz: Any = None) -> datetime:
        return datetime.fromtimestamp(self._moment, tz)

    def __getattr__(self, name: str) -> Any:
        return getattr(datetime, name)
