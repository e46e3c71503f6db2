"""Scale Wall Lab toolkit: runs the lab stack and talks to it from outside, as an operator would."""
