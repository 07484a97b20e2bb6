"""HTTP routers: parse, authenticate, call one service, shape the response."""
