# The registry-image resource: /opt/resource/{check,in,out} for Concourse.
#
# Any base image with `python3` (>= 3.11, with the venv module) on PATH works:
# the official python slim image (the default) or e.g. Debian with python3 and
# python3-venv. Both stages use the same base, so the venv built in the first
# stage runs unchanged in the second.
#
#   docker build -t registry-image-resource .
#   docker build --build-arg BASE_IMAGE=python:3.12-slim-bookworm -t registry-image-resource .
ARG BASE_IMAGE=python:3.12-slim

FROM ${BASE_IMAGE} AS builder
# Only for pip in this stage (nothing here reaches the final image): e.g. a
# mirror (PIP_INDEX_URL) or a CA bundle mounted at build time (PIP_CERT).
ARG PIP_INDEX_URL
ARG PIP_EXTRA_INDEX_URL
ARG PIP_CERT
# Which extras: every cloud provider's SDK by default (`cloud`); e.g.
# `--build-arg EXTRAS=ecr` for ECR's alone, or `EXTRAS=` for none.
ARG EXTRAS=cloud
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY api/ api/
COPY core/ core/
COPY plugins/ plugins/
COPY resource/ resource/
COPY testing/ testing/
# Build our wheel and the wheels of its dependencies, then install them into
# a venv that holds nothing else: no pip, no setuptools, no sources. The
# [cloud] extra brings the cloud SDKs' credential chains: botocore for ECR and
# azure-identity for ACR, as the Go image has them, and google-auth for GCR.
# zstandard's wheel also carries a cffi backend (12 MB) that cannot load
# without cffi, which is not installed; its C extension is the one in use.
RUN python3 -m venv /build/venv \
    && /build/venv/bin/pip wheel --quiet --wheel-dir /build/wheels ".${EXTRAS:+[$EXTRAS]}" \
    && python3 -m venv --without-pip /opt/venv \
    && /build/venv/bin/pip --python /opt/venv/bin/python install --quiet \
        --no-index --find-links /build/wheels "registry-image-resource${EXTRAS:+[$EXTRAS]}" \
    && rm -f /opt/venv/bin/activate* /opt/venv/bin/Activate.ps1 \
    && for cffi in /opt/venv/lib/python3*/site-packages/zstandard/_cffi.*.so; do \
        [ -e "$cffi" ] || continue; \
        rm "$cffi"; \
        /opt/venv/bin/python -c 'import zstandard; assert zstandard.backend == "cext"'; \
    done \
    && /opt/venv/bin/registry-image plugins >/dev/null
# The Concourse contract: an executable per command; in/out get DEST/SRC as $1.
RUN mkdir -p /opt/resource \
    && for command in check in out; do \
        printf '#!/bin/sh\nexec /opt/venv/bin/registry-image %s "$@"\n' "$command" \
            > "/opt/resource/$command"; \
    done \
    && chmod -R u=rwX,go=rX /opt/venv /opt/resource \
    && chmod 0755 /opt/resource/check /opt/resource/in /opt/resource/out

FROM ${BASE_IMAGE}
LABEL org.opencontainers.image.title="registry-image-resource" \
      org.opencontainers.image.description="Concourse resource type for OCI/Docker registry images, in Python" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
COPY --from=builder /opt/venv /opt/venv
COPY --from=builder /opt/resource /opt/resource
