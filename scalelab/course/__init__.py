"""The course: what turns the stack and the kit into labs.
- `catalogue` reads labs/labs.toml, the one list of labs (id, title, modules, hints, check);
- `overlays` solves a lab (copies solutions/<id>/ over the broken modules) and resets it (git's HEAD);
- `hints`, `progress` (.lab/progress.json), `classroom` (the instructor's live grid);
- `checks` grade each lab on the running stack, under load; `drill` hides a fault for the learner to find;
- `notebooks` builds the learner notebooks from the solution notebooks.
The course uses the kit and the stack's interface (scalelab/stack/__init__.py); nothing below it
imports the course.
"""
