"""The JSON API's posts: POST /api/posts, GET /api/feed and /api/timeline, and following."""

from datetime import datetime

import pytest

POST_KEYS = {"id", "author_id", "author_name", "body", "created_at"}


def publish(client, body: str) -> int:
    response = client.post("/api/posts", json={"body": body})
    assert response.status_code == 201, response.json
    return response.json["id"]


def test_post_is_201_with_the_id_and_shows_in_the_feed(client, user_client, user):
    post_id = publish(user_client, "  Hello, Chirp!  ")

    [post] = client.get("/api/feed").json["posts"]
    assert post["id"] == post_id
    assert post["author_id"] == user["id"]
    assert post["author_name"] == "Ada Lovelace"
    assert post["body"] == "Hello, Chirp!"
    assert datetime.fromisoformat(post["created_at"]).tzinfo is not None
    assert set(post) == POST_KEYS


def test_post_keeps_line_breaks_and_unicode(client, user_client):
    publish(user_client, "Line one\nline two 🐦 ünïcødé")

    assert client.get("/api/feed").json["posts"][0]["body"] == "Line one\nline two 🐦 ünïcødé"


def test_post_without_logging_in_is_401(client):
    response = client.post("/api/posts", json={"body": "hello"})

    assert response.status_code == 401
    assert response.json == {"error": "log in first"}


@pytest.mark.parametrize("body", [{}, {"body": ""}, {"body": " \n "}, {"body": "x" * 281}, {"body": 42}, {"body": "nul\x00"}])
def test_post_with_a_bad_body_is_400(user_client, body):
    response = user_client.post("/api/posts", json=body)

    assert response.status_code == 400
    assert response.json["error"]


def test_post_of_280_characters_is_fine(user_client):
    publish(user_client, "x" * 280)


def test_post_that_is_not_json_is_415(user_client):
    assert user_client.post("/api/posts", data={"body": "hello"}).status_code == 415


def test_feed_is_public_newest_first_and_20_by_default(client, user_client):
    ids = [publish(user_client, f"post {number}") for number in range(25)]

    response = client.get("/api/feed")

    assert response.status_code == 200
    assert [post["id"] for post in response.json["posts"]] == ids[::-1][:20]


@pytest.mark.parametrize("limit", [1, 3, 100])
def test_feed_honours_the_limit(client, user_client, limit):
    for number in range(4):
        publish(user_client, f"post {number}")

    posts = client.get(f"/api/feed?limit={limit}").json["posts"]

    assert len(posts) == min(limit, 4)


@pytest.mark.parametrize("limit", ["0", "101", "-1", "ten", "2.5", ""])
def test_feed_refuses_a_bad_limit_with_400(client, limit):
    response = client.get(f"/api/feed?limit={limit}")

    assert response.status_code == 400
    assert response.json == {"error": "limit must be a whole number from 1 to 100"}


def test_timeline_has_own_and_followed_posts_only(accounts, user, user_client):
    followed, stranger = accounts.sign_up("Grace Hopper"), accounts.sign_up("Alan Turing")
    followed_post = publish(accounts.logged_in_client(followed), "from Grace")
    publish(accounts.logged_in_client(stranger), "from Alan")
    own_post = publish(user_client, "from Ada")
    assert user_client.put(f"/api/users/{followed['id']}/follow").status_code == 204

    response = user_client.get("/api/timeline")

    assert response.status_code == 200
    assert [post["id"] for post in response.json["posts"]] == [own_post, followed_post]
    assert set(response.json["posts"][0]) == POST_KEYS


def test_timeline_honours_the_limit(user_client):
    for number in range(3):
        publish(user_client, f"post {number}")

    assert len(user_client.get("/api/timeline?limit=2").json["posts"]) == 2
    assert user_client.get("/api/timeline?limit=0").status_code == 400


def test_timeline_without_logging_in_is_401(client):
    assert client.get("/api/timeline").status_code == 401


def test_unfollow_removes_their_posts_from_the_timeline(accounts, user_client):
    followed = accounts.sign_up("Grace Hopper")
    publish(accounts.logged_in_client(followed), "from Grace")
    user_client.put(f"/api/users/{followed['id']}/follow")

    response = user_client.delete(f"/api/users/{followed['id']}/follow")

    assert response.status_code == 204
    assert user_client.get("/api/timeline").json["posts"] == []


def test_following_twice_is_fine(accounts, user_client):
    followed = accounts.sign_up("Grace Hopper")

    assert user_client.put(f"/api/users/{followed['id']}/follow").status_code == 204
    assert user_client.put(f"/api/users/{followed['id']}/follow").status_code == 204


def test_following_yourself_is_400(user_client, user):
    assert user_client.put(f"/api/users/{user['id']}/follow").status_code == 400


@pytest.mark.parametrize("user_id", [999, 0, 2**64])
def test_following_nobody_is_404(user_client, user_id):
    assert user_client.put(f"/api/users/{user_id}/follow").status_code == 404
    assert user_client.delete(f"/api/users/{user_id}/follow").status_code == 404


def test_following_without_logging_in_is_401(client, user):
    assert client.put(f"/api/users/{user['id']}/follow").status_code == 401
