"""Accounts and who follows whom."""

from flask import abort
from sqlalchemy import Row, text

from .db import get_db

# Ids are PostgreSQL bigints: a larger number from a URL cannot be anybody's id.
MAX_ID = 2**63 - 1


def create(name: str, email: str, password_hash: str) -> int | None:
    """Insert a user and return the id, or None if the email is taken. The caller commits."""
    return get_db().scalar(
        text(
            "INSERT INTO users (name, email, password_hash) VALUES (:name, :email, :password_hash)"
            " ON CONFLICT (email) DO NOTHING RETURNING id"
        ),
        {"name": name, "email": email, "password_hash": password_hash},
    )


def get(user_id: int) -> Row | None:
    if not 0 < user_id <= MAX_ID:
        return None
    return (
        get_db()
        .execute(
            text("SELECT id, name, email, avatar_url, created_at FROM users WHERE id = :id"),
            {"id": user_id},
        )
        .one_or_none()
    )


def get_or_404(user_id: int) -> Row:
    user = get(user_id)
    if user is None:
        abort(404, "no such user")
    return user


def get_by_email(email: str) -> Row | None:
    """The user with that email, with their password hash."""
    return (
        get_db()
        .execute(
            text("SELECT id, name, email, avatar_url, password_hash FROM users WHERE email = :email"),
            {"email": email},
        )
        .one_or_none()
    )


def set_avatar_url(user_id: int, url: str) -> None:
    db = get_db()
    db.execute(text("UPDATE users SET avatar_url = :url WHERE id = :id"), {"url": url, "id": user_id})
    db.commit()


def follow(follower_id: int, followee_id: int) -> None:
    if follower_id == followee_id:
        abort(400, "you cannot follow yourself")
    db = get_db()
    db.execute(
        text(
            "INSERT INTO follows (follower_id, followee_id) VALUES (:follower_id, :followee_id)"
            " ON CONFLICT DO NOTHING"
        ),
        {"follower_id": follower_id, "followee_id": followee_id},
    )
    db.commit()


def unfollow(follower_id: int, followee_id: int) -> None:
    db = get_db()
    db.execute(
        text("DELETE FROM follows WHERE follower_id = :follower_id AND followee_id = :followee_id"),
        {"follower_id": follower_id, "followee_id": followee_id},
    )
    db.commit()


def is_following(follower_id: int, followee_id: int) -> bool:
    return (
        get_db().scalar(
            text(
                "SELECT 1 FROM follows WHERE follower_id = :follower_id AND followee_id = :followee_id"
            ),
            {"follower_id": follower_id, "followee_id": followee_id},
        )
        is not None
    )


def stats(user_id: int) -> Row:
    """How many posts the user wrote, how many people follow them and they follow."""
    return (
        get_db()
        .execute(
            text(
                "SELECT (SELECT count(*) FROM posts WHERE author_id = :id) AS posts,"
                " (SELECT count(*) FROM follows WHERE followee_id = :id) AS followers,"
                " (SELECT count(*) FROM follows WHERE follower_id = :id) AS following"
            ),
            {"id": user_id},
        )
        .one()
    )
