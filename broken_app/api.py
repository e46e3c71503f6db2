"""The JSON API: the same features as the HTML pages, for scripts and load tests."""

from flask import Blueprint, current_app, g

from . import auth, posts, uploads, users, validation
from .auth import login_required

bp = Blueprint("api", __name__, url_prefix="/api")


@bp.post("/signup")
def signup():
    """The account, and the newcomer logged in (as the signup page does): one password hash, where a
    signup followed by a login would make two."""
    name, email, password = validation.signup_fields(validation.json_object())
    user_id = auth.sign_up(name, email, password)
    auth.start_session(user_id)
    return {"id": user_id}, 201


@bp.post("/login")
def login():
    email, password = validation.login_fields(validation.json_object())
    return user_json(auth.log_in(email, password))


@bp.post("/logout")
def logout():
    auth.log_out()
    return "", 204


@bp.get("/me")
@login_required
def me():
    return user_json(g.user)


@bp.get("/feed")
def feed():
    return current_app.response_class(posts.global_feed_json(validation.limit_arg()), mimetype="application/json")


@bp.get("/timeline")
@login_required
def timeline():
    limit = validation.limit_arg()
    return {"posts": [posts.as_json(post) for post in posts.home_timeline(g.user.id, limit)]}


@bp.post("/posts")
@login_required
def create_post():
    body = validation.post_body(validation.json_object())
    return {"id": posts.publish(g.user.id, body)}, 201


@bp.post("/avatar")
@login_required
def upload_avatar():
    return {"url": uploads.save_avatar(g.user.id, validation.uploaded_file())}, 201


@bp.put("/users/<int:user_id>/follow")
@login_required
def follow(user_id: int):
    users.follow(g.user.id, users.get_or_404(user_id).id)
    return "", 204


@bp.delete("/users/<int:user_id>/follow")
@login_required
def unfollow(user_id: int):
    users.unfollow(g.user.id, users.get_or_404(user_id).id)
    return "", 204


def user_json(user) -> dict:
    return {"id": user.id, "name": user.name, "email": user.email, "avatar_url": user.avatar_url}

