"""The load generator: raw-socket SSE and WebSocket clients in worker processes."""
