"""Locust journeys against Chirp. Run by Locust in its own process (the stack's Locust web UI, and
`scalelab load`): never import this module from the toolkit or a notebook, because importing locust
patches the whole process with gevent.
"""

from locust import FastHttpUser, between, task


class Reader(FastHttpUser):
    """Someone browsing the public feed: the 100-users-a-day traffic Chirp was built for."""

    wait_time = between(10, 20)

    @task
    def read_feed(self):
        self.client.get("/api/feed?limit=20", name="/api/feed")
