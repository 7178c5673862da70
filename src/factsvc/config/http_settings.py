"""The settings of what HTTP clients meet: browsers' origins, proxies, and request limits."""

from __future__ import annotations

from typing import Annotated

from factsvc.config.addresses import NETWORKS, ORIGINS, Network
from factsvc.config.declaring import Area, setting
from factsvc.config.loading import DeclaredSettings
from factsvc.config.rules import HEADER_NAMES, Number, WholeNumber
from factsvc.config.setting_types import DAY

A = Area
HttpTimeout = Annotated[float, Number(1.0, 3600.0)]
API_REQUEST_HEADERS = ("Authorization", "Content-Type", "Idempotency-Key", "X-Request-ID")
TRACE_CONTEXT_HEADERS = ("traceparent", "tracestate")  # W3C Trace Context, sent by tracing SDKs


class ClientSettings(DeclaredSettings):
    """The area "browsers and proxies" of Settings: CORS and the trusted proxies."""

    cors_origins: Annotated[tuple[str, ...], ORIGINS] = setting("CORS_ORIGINS", (), A.CLIENTS)
    """browser origins trusted for CORS and cross-origin POSTs"""
    cors_allowed_headers: Annotated[tuple[str, ...], HEADER_NAMES] = setting(
        "CORS_ALLOWED_HEADERS", (*API_REQUEST_HEADERS, *TRACE_CONTEXT_HEADERS), A.CLIENTS
    )
    """request headers pages on CORS_ORIGINS may send (case-insensitive), tracing's included"""
    cors_max_age_seconds: Annotated[int, WholeNumber(0, DAY)] = setting(
        "CORS_MAX_AGE_SECONDS", 7200, A.CLIENTS
    )
    """how long a browser may reuse a preflight's answer (Chromium caps it at 7200)"""
    trusted_proxies: Annotated[tuple[Network, ...], NETWORKS] = setting(
        "TRUSTED_PROXIES", (), A.CLIENTS
    )
    """proxies whose X-Forwarded-For is believed"""


class HttpSettings(DeclaredSettings):
    """The area "HTTP limits" of Settings: request sizes and timeouts."""

    http_max_body_bytes: Annotated[int, WholeNumber(1024, 64 << 20)] = setting(
        "HTTP_MAX_BODY_BYTES", 64 << 10, A.HTTP
    )
    """largest request body; larger ones get 413"""
    http_max_header_bytes: Annotated[int, WholeNumber(1024, 1 << 20)] = setting(
        "HTTP_MAX_HEADER_BYTES", 16 << 10, A.HTTP
    )
    """largest request line and headers"""
    http_idle_timeout_seconds: HttpTimeout = setting("HTTP_IDLE_TIMEOUT_SECONDS", 60.0, A.HTTP)
    """how long an idle keep-alive connection stays open"""
    http_body_timeout_seconds: HttpTimeout = setting("HTTP_BODY_TIMEOUT_SECONDS", 10.0, A.HTTP)
    """how long a request body may take to arrive"""
