# The images Docker mode builds (docker-compose.yml). Every base image is pinned to an exact version.
#
#   app (the default, last stage)  scalelab/chirp: Chirp (app1, app2), the seed, the SMTP provider,
#                                  JupyterLab and Locust. The project plus its `notebooks` group.
#   postgres-exporter              the upstream exporters' binaries on busybox: their own images have
#   nginx-exporter                 no shell and no wget (FROM scratch), so no healthcheck could run.
#
# Same versions as Debian bookworm's packages that native mode runs.

FROM prometheuscommunity/postgres-exporter:v0.11.1 AS postgres-exporter-upstream
FROM nginx/nginx-prometheus-exporter:0.11.0 AS nginx-exporter-upstream

FROM busybox:1.36.1 AS postgres-exporter
COPY --from=postgres-exporter-upstream /bin/postgres_exporter /bin/postgres_exporter
USER 65534:65534
EXPOSE 9187
ENTRYPOINT ["/bin/postgres_exporter"]

FROM busybox:1.36.1 AS nginx-exporter
COPY --from=nginx-exporter-upstream /usr/bin/nginx-prometheus-exporter /usr/bin/nginx-prometheus-exporter
USER 65534:65534
EXPOSE 9113
ENTRYPOINT ["/usr/bin/nginx-prometheus-exporter"]

FROM python:3.11.10-slim-bookworm AS app
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /opt/scalelab
# `pip install --group` (PEP 735 dependency groups) needs pip 25.1 or later.
RUN python -m pip install "pip==25.1.1"
# Dependencies first, from pyproject.toml alone, so that editing the code (`scalelab up` rebuilds)
# reuses this layer instead of reinstalling JupyterLab, pandas and Locust.
COPY pyproject.toml ./
RUN python -c "import tomllib; deps = tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']; open('/tmp/requirements.txt', 'w').write('\n'.join(deps) + '\n')" \
    && pip install -r /tmp/requirements.txt --group notebooks \
    && rm /tmp/requirements.txt
COPY . .
# The check runs from / so that it imports the installed copy, not this folder.
RUN pip install --no-deps . && cd / && python -c "import broken_app, scalelab.stack.smtp_provider"
