"""The HTML pages. Forms carry a CSRF token kept in the session."""

import hmac
import secrets

from flask import (
    Blueprint,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.exceptions import HTTPException

from . import auth, posts, uploads, users, validation
from .auth import login_required

bp = Blueprint("pages", __name__)

PAGE_SIZE = 50


@bp.app_template_global()
def csrf_token() -> str:
    if "csrf_token" not in session:
        session["csrf_token"] = secrets.token_urlsafe(32)
    return session["csrf_token"]


@bp.before_request
def check_csrf_token() -> None:
    if request.method != "POST":
        return
    expected = session.get("csrf_token", "").encode()
    sent = request.form.get("csrf_token", "").encode()
    if not expected or not hmac.compare_digest(expected, sent):
        abort(400, "the form has expired: reload the page and try again")


@bp.errorhandler(401)
def redirect_to_login(error):
    return redirect(url_for("pages.login"))


@bp.get("/")
def home():
    if g.user is None:
        return redirect(url_for("pages.feed"))
    timeline = posts.home_timeline(g.user.id, PAGE_SIZE)
    return render_template("feed.html", title="Home", posts=timeline)


@bp.get("/feed")
def feed():
    return render_template("feed.html", title="Everyone", posts=posts.global_feed(PAGE_SIZE))


@bp.route("/signup", methods=("GET", "POST"))
def signup():
    if request.method == "GET":
        return render_template("signup.html")
    try:
        name, email, password = validation.signup_fields(request.form)
        auth.start_session(auth.sign_up(name, email, password))
    except HTTPException as error:
        flash(error.description)
        return render_template("signup.html"), error.code
    return redirect(url_for("pages.home"))


@bp.route("/login", methods=("GET", "POST"))
def login():
    if request.method == "GET":
        return render_template("login.html")
    try:
        auth.log_in(*validation.login_fields(request.form))
    except HTTPException as error:
        flash(error.description)
        return render_template("login.html"), error.code
    return redirect(url_for("pages.home"))


@bp.post("/logout")
def logout():
    auth.log_out()
    return redirect(url_for("pages.feed"))


@bp.post("/posts")
@login_required
def create_post():
    try:
        posts.publish(g.user.id, validation.post_body(request.form))
    except HTTPException as error:
        flash(error.description)
    return redirect(url_for("pages.home"))


@bp.get("/users/<int:user_id>")
def profile(user_id: int):
    user = users.get_or_404(user_id)
    return render_template(
        "profile.html",
        user=user,
        stats=users.stats(user.id),
        following=g.user is not None and users.is_following(g.user.id, user.id),
        posts=posts.by_author(user.id, PAGE_SIZE),
    )


@bp.post("/users/<int:user_id>/follow")
@login_required
def follow(user_id: int):
    users.follow(g.user.id, users.get_or_404(user_id).id)
    return redirect(url_for("pages.profile", user_id=user_id))


@bp.post("/users/<int:user_id>/unfollow")
@login_required
def unfollow(user_id: int):
    users.unfollow(g.user.id, users.get_or_404(user_id).id)
    return redirect(url_for("pages.profile", user_id=user_id))


@bp.post("/avatar")
@login_required
def upload_avatar():
    try:
        uploads.save_avatar(g.user.id, validation.uploaded_file())
    except HTTPException as error:
        flash(error.description)
    return redirect(url_for("pages.profile", user_id=g.user.id))
