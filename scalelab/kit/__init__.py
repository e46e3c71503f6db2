"""The kit: what notebooks and benchmarks use to drive the running lab and measure it from outside, as an
operator would (HTTP, SQL, PromQL, the stack's logs):
- load runs: `load` (Locust, in its own processes), `profiles` (the traffic shapes), `locustfile` (the
  simulated users);
- what a run says: `analysis` (levels, the knee, capacity), `plots`, `side_by_side` (two walls
  compared), `saturation` (which process ran out of CPU);
- clients of Chirp and of the stack's services: `clients`, `pg`, `prom`, `mailbox`, `objectstore`,
  `exposition` (an instance's /metrics), `dashboards` (Grafana's queries), `annotations`, `applogs`,
  `traces`;
- `faults`, which `scalelab fault` sets in the running stack; `verbs`, which runs `scalelab` verbs
  (solve, check, reset, the drill) as a learner types them.

Notebooks import from here only, and the kit never imports the course (scalelab/course). The lab's
settings, its running stack and the repository's folder (REPO) come with the kit, so that a notebook
needs nothing else:

    from scalelab.kit import load, settings, stack
    lab = settings.load()
    stack.current(lab).restart(["app1"], env={"WEB_CONCURRENCY": "1"})
"""

from scalelab import stack
from scalelab.paths import REPO
from scalelab.stack import settings

__all__ = ["REPO", "settings", "stack"]
