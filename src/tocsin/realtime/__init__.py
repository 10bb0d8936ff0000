"""Real-time delivery: the wire format, the event log, the relay, the hub and the SSE response."""
