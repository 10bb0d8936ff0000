"""The old design, rebuilt minimally: Django Channels, channels_redis, WebSocket.

A vendor's browser opens `/ws/vendors/<vendor_id>/`; the consumer joins group
`vendor_orders_<vendor_id>`. A publish is an async Django view that does one
`group_send` to that group, as the old code did from its order signals, and
each consumer encodes the message to JSON and sends it on its socket.
"""
