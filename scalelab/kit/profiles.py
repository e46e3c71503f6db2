"""Load profiles: who visits Chirp, how many, for how long. Plain data, read by the load runner and by
the locustfile (in Locust's own process).

A profile is a list of stages. Each stage ramps to `users` at `spawn_rate` users per second and
holds until `until_s`. The mix weights say which journeys (Locust user classes in locustfile.py)
those users follow. Think times are fixed ranges, drawn from a seeded random generator, so two runs
with the same seed send the same requests in the same order per user.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace

from scalelab.errors import LabError


@dataclass(frozen=True)
class Stage:
    until_s: float
    users: int
    spawn_rate: float


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    stages: tuple[Stage, ...]
    mix: dict[str, int]  # journey (Locust user class) -> weight
    think_s: tuple[float, float] = (10.0, 20.0)

    @property
    def duration_s(self) -> float:
        return self.stages[-1].until_s

    @property
    def peak_users(self) -> int:
        return max(stage.users for stage in self.stages)

    def scaled(self, users: int | None = None, duration_s: float | None = None) -> Profile:
        """The same shape with another peak user count and/or total duration."""
        user_factor = users / self.peak_users if users else 1.0
        time_factor = duration_s / self.duration_s if duration_s else 1.0
        stages = tuple(
            Stage(
                until_s=round(stage.until_s * time_factor, 1),
                users=max(1, round(stage.users * user_factor)),
                spawn_rate=max(1.0, stage.spawn_rate * user_factor / time_factor),
            )
            for stage in self.stages
        )
        return replace(self, stages=stages)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @staticmethod
    def from_json(text: str) -> Profile:
        data = json.loads(text)
        data["stages"] = tuple(Stage(**stage) for stage in data["stages"])
        data["think_s"] = tuple(data["think_s"])
        return Profile(**data)


# Launch day: mostly readers, a wave of newcomers signing up, members on their timelines, and a few
# exporting reports or uploading avatars.
LAUNCH_MIX = {"Reader": 60, "Member": 20, "Newcomer": 15, "Exporter": 3, "Uploader": 2}

PROFILES = {
    profile.name: profile
    for profile in (
        Profile(
            "baseline",
            "100 readers browsing the public feed: the traffic Chirp was built for",
            (Stage(until_s=60, users=100, spawn_rate=10),),
            {"Reader": 1},
        ),
        Profile(
            "launch-day",
            "launch day: a ramp to 10,000 users with a 10-20 s think time",
            (Stage(until_s=300, users=10_000, spawn_rate=40), Stage(until_s=360, users=10_000, spawn_rate=40)),
            LAUNCH_MIX,
        ),
        Profile(
            "spike",
            "a sudden spike: 2,000 users arrive within 20 s, stay a minute, and leave",
            (Stage(until_s=20, users=2_000, spawn_rate=100), Stage(until_s=80, users=2_000, spawn_rate=100)),
            LAUNCH_MIX,
        ),
        Profile(
            "login-storm",
            "a login storm: 2,400 users within 60 s, 6 in 10 of them members who log in as they arrive",
            (Stage(until_s=60, users=2_400, spawn_rate=40), Stage(until_s=180, users=2_400, spawn_rate=40)),
            {"Reader": 40, "Member": 60},
        ),
        Profile(
            "check",
            "the short load the lab checks use: 200 busy users (1-3 s think time) for 40 s",
            (Stage(until_s=10, users=200, spawn_rate=20), Stage(until_s=40, users=200, spawn_rate=20)),
            LAUNCH_MIX,
            think_s=(1.0, 3.0),
        ),
    )
}


def get(name: str) -> Profile:
    if name not in PROFILES:
        raise LabError(f"unknown load profile {name!r}: choose one of {', '.join(PROFILES)}")
    return PROFILES[name]
