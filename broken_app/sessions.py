"""Server-side sessions: fixed in Lab 2 (stateless by default).

The sessions live in Redis, which every worker of every instance shares, through Flask-Session.
Any instance can serve any request, and restarting or replacing an instance logs nobody out.
- A session expires PERMANENT_SESSION_LIFETIME after the user's last request (config.py): each
  request sets Redis's TTL again, so Redis itself forgets abandoned sessions.
- Keys carry a prefix (SESSION_KEY_PREFIX, "chirp:session:"), so that the sessions can be told
  apart from the other data in the same Redis and counted: `SCAN MATCH chirp:session:*`.
- The cookie holds only the session id, 256 random bits that are worthless unless Redis knows
  them. Logging out deletes the key, so a cookie copied before cannot be replayed after.
- Redis keeps its data on disk (infra/redis/redis.conf: an append-only file, fsynced every
  second), so a Redis restart loses at most the last second of logins, not every session.
"""

import redis
from flask_session.redis import RedisSessionInterface


class ChirpSessionInterface(RedisSessionInterface):
    """Flask-Session's Redis sessions, with a new id whenever somebody logs in.

    Flask-Session leaves the new id to the login code (`session_interface.regenerate`); doing it
    here keeps the rule in the module that owns sessions: an id learnt before logging in (session
    fixation) is worth nothing after.
    """

    def open_session(self, app, request):
        session = super().open_session(app, request)
        session.user_id_when_opened = session.get("user_id")
        return session

    def save_session(self, app, session, response) -> None:
        if session and session.get("user_id") != session.user_id_when_opened:
            self.regenerate(session)
        super().save_session(app, session, response)


def init_app(app) -> None:
    app.session_interface = ChirpSessionInterface(
        app,
        client=redis.Redis.from_url(app.config["REDIS_URL"]),
        key_prefix=app.config["SESSION_KEY_PREFIX"],
        permanent=True,
    )
