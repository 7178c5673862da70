"""Route names for the request metrics, derived from the routing table."""

from __future__ import annotations

import pytest
from tornado.web import RequestHandler

from factsvc.observe import route_names


class FactHandler(RequestHandler):
    pass


class InfoHandler(RequestHandler):
    pass


def test_each_handler_class_is_named_by_its_route_pattern() -> None:
    names = route_names([("/fact", FactHandler, {}), ("/account/info", InfoHandler, {"a": 1})])
    assert names == {FactHandler: "/fact", InfoHandler: "/account/info"}


def test_a_handler_class_serving_two_routes_is_refused() -> None:
    with pytest.raises(ValueError, match="FactHandler serves both /fact and /factorial"):
        route_names([("/fact", FactHandler, {}), ("/factorial", FactHandler, {})])
