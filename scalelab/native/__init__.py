"""Native mode: the lab stack from system packages, as private processes under `.lab/`, no Docker."""
