# actionbot: one process serving /healthz, /slack/events and /api/messages.
# Build: docker build -t actionbot .   Run: docker run -p 3978:3978 -v actionbot-data:/data actionbot

FROM python:3.11-slim AS build
WORKDIR /src
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY requirements.lock pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY storage ./storage
COPY cards ./cards
# Runtime dependencies only, at the versions the test suite ran with (the lock is a constraint).
RUN pip install -c requirements.lock .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 actionbot && mkdir /data && chown actionbot /data
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    HOST=0.0.0.0 \
    PORT=3978 \
    DATABASE_URL=sqlite:////data/actionbot.db
USER actionbot
WORKDIR /data
VOLUME ["/data"]
EXPOSE 3978
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import os,urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"PORT\",\"3978\")}/healthz', timeout=4)"
CMD ["actionbot", "serve"]
