"""Chirp's SECRET_KEY on this machine: SCALELAB_CHIRP_SECRET_KEY from .env, or else one generated once.

A secret belongs to the environment it runs in, never to the code or the repository (Lab 2). So the
stack hands the app CHIRP_SECRET_KEY, like a deployment platform would. Unless .env names one, it is
made up on first use and kept in .lab/chirp-secret-key, readable by its owner only, so that it stays
the same across restarts (a new key would invalidate everything signed with the old one).
"""

from __future__ import annotations

import os
import secrets

from scalelab.paths import STATE

GENERATED = STATE / "chirp-secret-key"


def chirp_secret_key(settings) -> str:
    configured = settings.values.get("SCALELAB_CHIRP_SECRET_KEY", "")
    if configured:
        return configured
    if not GENERATED.exists():
        GENERATED.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(GENERATED, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_urlsafe(32) + "\n")
    return GENERATED.read_text().strip()
