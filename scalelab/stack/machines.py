"""Machine sizes: the lab at the scale a laptop's memory allows, every failure still reproducible.

`SCALELAB_MACHINE` in `.env` names one. A size sets defaults for a few settings (`.env` and the
environment still override each one), and below `full` it caps how many simulated users one load run
may start.

Where the memory goes (measured natively, 2 cores, PSS): the idle stack holds about 0.8 GiB. Under a
launch-day ramp the app instances grow most, not Locust: every login or signup hashes its password
with scrypt, which takes 32 MiB while it runs, and the broken app lets each of its 128 threads hash
at once. A ramp to 2,000 users peaked at 3.2 GiB for the whole stack (2.4 GiB in app1 and app2,
Locust 0.15 GiB). So the cap on users, which sets how many arrive each second, is the main lever;
a smaller seed, PostgreSQL cache and Celery pool trim the rest.

The failures do not need scale: each lab's check runs the same small load (tens of users) on every
size. CI runs the whole suite on a `4gib` stack, so every check fails on the broken app and passes
on its solution under `4gib`; tests/labs/test_small_machine.py proves that stack is `4gib` and judges
its memory through every check and a 500-user run (it prints the peak). Scale is what a smaller size
loses: at 500 users Lab 0's ramp does not reach the broken app's wall of latency, so its notebook runs
with `full`'s cap in CI (tests/notebooks/test_nbval.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from scalelab.errors import LabError

GIB = 1024**3


@dataclass(frozen=True)
class Machine:
    name: str
    memory_gib: int  # the smallest machine (total memory) it is meant for
    max_users: int | None  # the most simulated users one load run starts here; None: no cap
    description: str
    # SCALELAB_* defaults, without the prefix; .env and the environment override them.
    settings: dict[str, str] = field(default_factory=dict)

    def fit(self, profile):
        """A load profile (scalelab.kit.profiles.Profile) cut to this machine's users, and the line saying
        so (None when it fits).

        Users arrive faster in a bigger run, and each arrival's password hash is what fills memory.
        """
        if self.max_users is None or profile.peak_users <= self.max_users:
            return profile, None
        return profile.scaled(users=self.max_users), (
            f"{profile.peak_users:,} users is more than the {self.name} machine size's {self.max_users:,} "
            f"(SCALELAB_MACHINE in .env): running {self.max_users:,}"
        )


FULL_SCALE = {
    "SEED_USERS": "10000",
    "SEED_POSTS": "200000",
    "POSTGRES_SHARED_BUFFERS": "128MB",
    # The Celery worker's processes: the lab's jobs mostly wait on the email provider, not on the CPU.
    "WORKER_CONCURRENCY": "4",
}

MACHINES = {
    machine.name: machine
    for machine in (
        Machine(
            "full", 16, None,
            "16 GiB or more: the whole course, and the 10,000-user launch day of benchmarks/wall.py",
            FULL_SCALE,
        ),
        Machine(
            "8gib", 8, 2_000,
            "8 GiB: the same stack, load runs of up to 2,000 users (every notebook's own runs fit)",
            FULL_SCALE,
        ),
        Machine(
            "4gib", 4, 500,
            "4 GiB: a fifth of the seed data, a smaller PostgreSQL cache and Celery pool, load runs of up to 500 users",
            {
                "SEED_USERS": "2000",
                "SEED_POSTS": "40000",
                "POSTGRES_SHARED_BUFFERS": "32MB",
                "WORKER_CONCURRENCY": "2",
            },
        ),
    )
}


def get(name: str) -> Machine:
    if name not in MACHINES:
        raise LabError(
            f"unknown machine size SCALELAB_MACHINE={name!r} in .env: choose one of {', '.join(MACHINES)}"
        )
    return MACHINES[name]


# A laptop sold with 16 GB shows less: the firmware, the kernel and a graphics chip sharing the memory
# keep some (15.3 GiB and less are common). Judge it by this share of the size it was sold with.
SHOWN_SHARE = 0.85


def suggested(total_memory: int) -> Machine:
    """The largest size for this much memory (bytes, as the OS shows it); 4gib below that, since
    nothing is smaller."""
    fitting = [m for m in MACHINES.values() if total_memory >= SHOWN_SHARE * m.memory_gib * GIB]
    return max(fitting, key=lambda m: m.memory_gib, default=MACHINES["4gib"])
