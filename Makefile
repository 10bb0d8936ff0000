# Benchmarks (see docs/benchmarks.md). Both targets install what they need
# into .venv first, so they work on a fresh clone.
PYTHON ?= .venv/bin/python
BENCH_IMPORTS := import tocsin, django, channels, channels_redis, matplotlib, psutil, uvloop

define bench_deps
	@test -x $(PYTHON) || python3 -m venv .venv
	@$(PYTHON) -c "$(BENCH_IMPORTS)" 2>/dev/null || $(PYTHON) -m pip install -q -e '.[bench]'
endef

.PHONY: bench bench-short

bench:
	$(bench_deps)
	$(PYTHON) -m bench --profile full

bench-short:
	$(bench_deps)
	$(PYTHON) -m bench --profile short
