"""Server-side sessions: fixed in Lab 2 (stateless by default).

The sessions live in Redis, which every worker of every instance shares, through Flask-Session.
Any instance can serve any request, and restarting or replacing an instance logs nobody out.
- A session expires PERMANENT_SESSION_LIFETIME after the user's last request (config.py), give or
  take SESSION_REFRESH_AFTER: Redis's TTL forgets abandoned sessions. Flask-Session would push the
  expiry by writing the whole session back on every request (SESSION_REFRESH_EACH_REQUEST); at launch
  day that is a Redis write and a cookie for every page a member reads, for an expiry a week away.
  So a session is written when it changes, or when its expiry was last pushed SESSION_REFRESH_AFTER
  ago (an hour: a week's session that ends within the hour of its due time is none the worse).
  A visitor who never logs in, and reads no form, has no session at all: nothing is stored.
- Keys carry a prefix (SESSION_KEY_PREFIX, "chirp:session:"), so that the sessions can be told
  apart from the other data in the same Redis and counted: `SCAN MATCH chirp:session:*`.
- The cookie holds only the session id, 256 random bits that are worthless unless Redis knows
  them. Logging out deletes the key, so a cookie copied before cannot be replayed after.
- Redis keeps its data on disk (infra/redis/redis.conf: an append-only file, fsynced every
  second), so a Redis restart loses at most the last second of logins, not every session.
"""

import time

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
        if session and (session.modified or self._expiry_due(app, session)):
            session["refreshed_at"] = time.time()  # marks the session modified: written, cookie sent
        super().save_session(app, session, response)

    @staticmethod
    def _expiry_due(app, session) -> bool:
        return time.time() - session.get("refreshed_at", 0) >= app.config["SESSION_REFRESH_AFTER"].total_seconds()


def init_app(app) -> None:
    app.session_interface = ChirpSessionInterface(
        app,
        client=redis.Redis.from_url(app.config["REDIS_URL"]),
        key_prefix=app.config["SESSION_KEY_PREFIX"],
        permanent=True,
    )
