# ScenarioForge: the GitHub App server (`scenarioforge serve`).
#
# The working directory /app holds app.yml and is where the process writes
# its state on the embedded defaults: `.env` and the App's private key (setup
# mode), the SQLite database and the git workdir. Mount a volume on /app/data
# and point SCENARIOFORGE_DATABASE_URL / SCENARIOFORGE_WORKDIR at it to keep
# them across containers.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# git: mirror clones and worktrees of the repositories the App works on.
RUN apt-get update \
    && apt-get install -y --no-install-recommends git ca-certificates \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system scenarioforge \
    && useradd --system --gid scenarioforge --home-dir /app --shell /usr/sbin/nologin scenarioforge

WORKDIR /app
COPY . /app
RUN pip install . \
    && mkdir -p /app/data \
    && chown -R scenarioforge:scenarioforge /app

USER scenarioforge

EXPOSE 3000

# /healthz answers 200 while the database is reachable; urllib raises on
# anything else, so the exit status is non-zero (no curl in the image).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:3000/healthz', timeout=4)"]

CMD ["scenarioforge", "serve", "--host", "0.0.0.0", "--port", "3000"]
