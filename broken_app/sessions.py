"""Server-side sessions, kept in a dict in the memory of the process.

Fragile on purpose (Lab 2): the session data lives inside one gunicorn worker process. Another
worker, or another instance behind the load balancer, does not know the session id, so there
the user is logged out. A restart or a deploy logs everybody out, and the dict only grows.
Lab 2 moves the sessions to a store that every instance shares.

The cookie carries only a random session id, signed with the SECRET_KEY.
"""

import secrets

from flask.sessions import SessionInterface, SessionMixin
from itsdangerous import BadSignature, Signer
from werkzeug.datastructures import CallbackDict


class ServerSideSession(CallbackDict, SessionMixin):
    def __init__(self, session_id: str | None = None, data: dict | None = None):
        def on_update(session):
            session.modified = True

        super().__init__(data, on_update)
        self.session_id = session_id
        self.user_id_when_opened = self.get("user_id")
        self.modified = False


class ProcessMemorySessionInterface(SessionInterface):
    def __init__(self):
        self.sessions: dict[str, dict] = {}

    def open_session(self, app, request) -> ServerSideSession:
        session_id = self._unsign(app, request.cookies.get(self.get_cookie_name(app)))
        data = self.sessions.get(session_id)
        if data is None:
            return ServerSideSession()
        return ServerSideSession(session_id, data)

    def save_session(self, app, session: ServerSideSession, response) -> None:
        cookie = {
            "domain": self.get_cookie_domain(app),
            "path": self.get_cookie_path(app),
            "secure": self.get_cookie_secure(app),
            "httponly": self.get_cookie_httponly(app),
            "samesite": self.get_cookie_samesite(app),
        }
        if not session:
            if session.session_id is not None:  # emptied, as by logging out
                self.sessions.pop(session.session_id, None)
                response.delete_cookie(self.get_cookie_name(app), **cookie)
            return
        if not session.modified:
            return
        if session.session_id is None or session.get("user_id") != session.user_id_when_opened:
            # A new id whenever somebody logs in: an id learnt before (session fixation) is
            # worth nothing after.
            self.sessions.pop(session.session_id, None)
            session.session_id = secrets.token_urlsafe(32)
        self.sessions[session.session_id] = dict(session)
        response.set_cookie(
            self.get_cookie_name(app),
            self._signer(app).sign(session.session_id).decode(),
            expires=self.get_expiration_time(app, session),
            **cookie,
        )

    def _signer(self, app) -> Signer:
        return Signer(app.secret_key, salt="chirp-session")

    def _unsign(self, app, cookie_value: str | None) -> str | None:
        if not cookie_value:
            return None
        try:
            return self._signer(app).unsign(cookie_value).decode()
        except BadSignature:
            return None


def init_app(app) -> None:
    app.session_interface = ProcessMemorySessionInterface()
