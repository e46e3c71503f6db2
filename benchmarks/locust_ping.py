"""The users of benchmarks/loadgen.py: each asks nginx's trivial /loadgen/ping every 10-20 s.

Run by Locust in its own process (never imported: importing locust patches the caller with gevent).
"""

from locust import FastHttpUser, between, task


class Pinger(FastHttpUser):
    # The think time of Chirp's journeys (scalelab/kit/profiles.py), so the request rate is the same.
    wait_time = between(10, 20)

    @task
    def ping(self):
        self.client.get("/loadgen/ping")
