"""HTTP errors (400, 401, 404, 405, 409, 413, 415...) as JSON: {"error": "..."}."""

import json

from werkzeug.exceptions import HTTPException


def http_error_as_json(error: HTTPException):
    response = error.get_response()  # keeps headers such as Allow on a 405
    response.data = json.dumps({"error": error.description})
    response.content_type = "application/json"
    return response


def init_app(app) -> None:
    app.register_error_handler(HTTPException, http_error_as_json)
