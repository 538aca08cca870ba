# ModelDesk API / Slack worker / ingest job: one image, the command decides (see docker-compose.yml).
#   docker build -t modeldesk .
#   docker run --rm -p 8000:8000 -e MODELDESK_API_KEYS='{"change-me": {"principal": "alice"}}' modeldesk
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    # Everything runs offline: the embedding model ships as a Python package, never fetched from a hub.
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    ANONYMIZED_TELEMETRY=False \
    # Machine-local builds (the sentence model exported to ONNX) are made at image build time, here,
    # readable by the non-root user the container runs as.
    XDG_CACHE_HOME=/opt/modeldesk/cache

# The CPU build of torch, first and on its own layer: an unpinned torch from PyPI pulls the CUDA
# build (several GB). On the development machine the same wheel lies on disk (./dev installs it
# from there); an image build fetches it from the PyTorch CPU index.
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0

WORKDIR /opt/modeldesk
COPY pyproject.toml README.md ./
COPY assistant ./assistant
COPY knowledge ./knowledge
COPY adapters ./adapters
RUN pip install . \
    # The demo models, fitted deterministically (seeded) at build time; mount your own at /models
    # and set MODELDESK_MODELS_PATH=/models to serve them instead.
    && python -m assistant.demo --out /opt/modeldesk/demo-models \
    # The guardrails' learned judge, built offline from the bundled guard sets (under a minute); this
    # also exports the sentence model to ONNX (knowledge/onnx_encoder.py) into $XDG_CACHE_HOME.
    && modeldesk guard train --out /opt/modeldesk/guard-judge \
    # The planner's operation classifier, trained from the bundled schemas and templates (~2 minutes).
    && modeldesk understand train --out /opt/modeldesk/understanding

RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin modeldesk \
    && mkdir -p /var/lib/modeldesk && chown modeldesk:modeldesk /var/lib/modeldesk
USER modeldesk

# With MODELDESK_REDIS_URL and MODELDESK_CHROMA_URL set, the data directory holds nothing that must
# survive the container: sessions, guard state, monitoring, feedback and audit are in Redis,
# documents in Chroma.
ENV MODELDESK_DATA_DIR=/var/lib/modeldesk \
    MODELDESK_MODELS_PATH=/opt/modeldesk/demo-models \
    MODELDESK_GUARD_JUDGE=/opt/modeldesk/guard-judge \
    MODELDESK_UNDERSTANDING=/opt/modeldesk/understanding

EXPOSE 8000
# Liveness only (the process serves HTTP); /readyz is for the load balancer and operators.
HEALTHCHECK --interval=15s --timeout=3s --start-period=90s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"]

# One answering process per core the container may use (`--workers`, or MODELDESK_WORKERS).
CMD ["modeldesk", "serve", "--host", "0.0.0.0", "--port", "8000"]
