"""Serve the Channels baseline with uvicorn (uvloop, httptools, websockets).

python -m bench.baselines.channels_app.serve --port 8122
"""

from __future__ import annotations

import argparse

from bench.limits import raise_nofile


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8122)
    args = parser.parse_args()
    raise_nofile()
    import uvicorn

    uvicorn.run(
        "bench.baselines.channels_app.asgi:application",
        host=args.host,
        port=args.port,
        loop="uvloop",
        http="httptools",
        ws="websockets-sansio",
        log_level="warning",
        backlog=4096,
        lifespan="off",
    )


if __name__ == "__main__":
    main()
