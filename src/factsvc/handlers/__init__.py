"""HTTP handlers: parse a request, call one service method, write the JSON envelope."""
