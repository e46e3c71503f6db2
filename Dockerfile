# The images Docker mode builds (docker-compose.yml), every one FROM the same pinned Debian, with the
# same Debian packages (and so the same versions) that native mode runs from apt:
#
#   services     scalelab/services: PostgreSQL 15, PgBouncer, Redis, nginx, Prometheus and its three
#                exporters. One image, a different command per service (docker-compose.yml).
#   objectstore  scalelab/objectstore: s3rver on Debian's Node.js, as natively (infra/objectstore).
#   python       scalelab/python: Debian's Python with the project's dependencies, for Chirp (app1,
#                app2, the scale-out replicas), the Celery worker and Flower, the SMTP provider, the
#                seed, JupyterLab and Locust. The code is NOT in it: the containers mount the repo at
#                /repo, so `scalelab solve` and `reset` take effect at the next restart.
#
# The base: on a laptop, Docker pulls it. Where no registry is reachable (CI), `scalelab docker-base`
# makes it with debootstrap from Debian's archive and tags it with this name. No stage uses a
# binary of one architecture: everything comes from Debian's archive, PyPI or npm (Apple Silicon too).
# Builds with the classic builder (no BuildKit syntax): Debian's docker.io has no buildx.
ARG DEBIAN_BASE=debian:bookworm-20250520-slim

FROM ${DEBIAN_BASE} AS debian
# pip and npm trust the system's certificate authorities (Debian's, and any a debootstrapped base adds
# under /usr/local/share/ca-certificates), not bundles of their own.
ENV DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
RUN echo 'APT::Install-Recommends "false";' > /etc/apt/apt.conf.d/90scalelab-no-recommends

FROM debian AS services
# No default cluster: the postgres service makes its own on its volume (infra/postgres/start-in-docker.sh).
RUN mkdir -p /etc/postgresql-common && echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.conf \
    && apt-get update \
    && apt-get install -y postgresql-15 postgresql-contrib pgbouncer redis-server nginx prometheus \
       prometheus-postgres-exporter prometheus-redis-exporter prometheus-nginx-exporter wget ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    # The data folders are volumes: Docker gives a new volume the image's owner and mode of its folder.
    && install -d -o postgres -g postgres -m 0700 /var/lib/postgresql/data \
    && install -d -o redis -g redis /data \
    && install -d -o prometheus -g prometheus /prometheus
ENV PATH=/usr/lib/postgresql/15/bin:$PATH
COPY infra/postgres/start-in-docker.sh /usr/local/bin/start-postgres

FROM debian AS objectstore
RUN apt-get update && apt-get install -y nodejs npm ca-certificates && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/objectstore
COPY infra/objectstore/package.json infra/objectstore/package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund && install -d /data

FROM debian AS python
RUN apt-get update \
    && apt-get install -y python3 python3-venv ca-certificates curl postgresql-client \
    && rm -rf /var/lib/apt/lists/*
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv PATH=/opt/venv/bin:$PATH PYTHONPATH=/repo SCALELAB_REPO=/repo
# `pip install --group` (PEP 735 dependency groups) needs pip 25.1 or later.
RUN python3 -m venv /opt/venv && pip install "pip==25.1.1"
# The dependencies alone, from pyproject.toml: editing the code never rebuilds this layer.
# Flower (Celery's web UI) is Docker mode's only extra, pinned here.
WORKDIR /tmp/deps
COPY pyproject.toml ./
RUN python -c "import tomllib; deps = tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']; open('requirements.txt', 'w').write('\n'.join(deps) + '\n')" \
    && pip install -r requirements.txt --group notebooks "flower==2.0.1" \
    && cd / && rm -r /tmp/deps
WORKDIR /repo

# The dev container (.devcontainer/, for VS Code and GitHub Codespaces): the same Debian, and what the
# README asks of a machine (Python with venv, make). The stack runs inside it in native mode: `make up`
# makes the .venv and installs Debian's packages with apt-get (the container's user is root), as on
# any Debian machine.
FROM debian AS devcontainer
RUN apt-get update \
    && apt-get install -y python3 python3-venv make git procps ca-certificates curl \
    && rm -rf /var/lib/apt/lists/*
