"""What every answered request leaves behind: its count in the metrics, then its access log."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from tornado.web import RequestHandler

from factsvc.handlers.client_address import ClientAddressResolver
from factsvc.logs import log_request

if TYPE_CHECKING:
    # Only a type here: prometheus_client must not load before the metrics directory is set.
    from factsvc.metrics import Metrics

# The route label of requests no route matched (the default handler's 404s): one value, so
# that probes of arbitrary paths cannot grow the metrics.
UNMATCHED = "unmatched"


def route_names(
    routes: Iterable[tuple[str, type[RequestHandler], Any]],
) -> dict[type[RequestHandler], str]:
    """Each handler class of a Tornado routing table (pattern, handler class, options) mapped
    to its route's name, the path pattern ("/fact", "/account/info").

    Raises ValueError when a handler class serves two routes, since its requests could then
    not be told apart."""
    names: dict[type[RequestHandler], str] = {}
    for pattern, handler_class, _ in routes:
        if handler_class in names:
            raise ValueError(
                f"{handler_class.__name__} serves both {names[handler_class]} and {pattern}"
            )
        names[handler_class] = pattern
    return names


def count_and_log(
    metrics: Metrics,
    routes: Mapping[type[RequestHandler], str],
    clients: ClientAddressResolver,
) -> Callable[[RequestHandler], None]:
    """Tornado's `log_function`: counts each answered request under the name `routes` gives
    its handler class (UNMATCHED for any other), then writes its access log line with the
    client's address as `clients` resolves it (the rate limits' own: behind a trusted proxy,
    the client's, not the proxy's)."""

    def answered(handler: RequestHandler) -> None:
        request = handler.request
        metrics.count_request(
            routes.get(type(handler), UNMATCHED),
            request.method or "",
            handler.get_status(),
            request.request_time(),
        )
        log_request(handler, clients.resolve(request))

    return answered
