# Benchmarks (see docs/benchmarks.md). Both targets install what they need
# into .venv first, so they work on a fresh clone.
PYTHON ?= .venv/bin/python
BENCH_IMPORTS := import tocsin, django, channels, channels_redis, matplotlib, psutil, uvloop

define bench_deps
	@test -x $(PYTHON) || python3 -m venv .venv
	@$(PYTHON) -c "$(BENCH_IMPORTS)" 2>/dev/null || $(PYTHON) -m pip install -q -e '.[bench]'
endef

.PHONY: bench bench-short faults

bench:
	$(bench_deps)
	$(PYTHON) -m bench --profile full

bench-short:
	$(bench_deps)
	$(PYTHON) -m bench --profile short

# The fault-injection suite (tests/faults, docs/reliability.md) with every fault
# repeated FAULT_REPEAT times: SIGKILLs while publishing, Redis and PostgreSQL
# restarts under load. The normal test run has FAULT_REPEAT=1.
FAULT_REPEAT ?= 5

faults:
	@test -x $(PYTHON) || (python3 -m venv .venv && .venv/bin/pip install -q -e '.[test]')
	TOCSIN_FAULT_REPEAT=$(FAULT_REPEAT) $(PYTHON) -m pytest tests/faults -q -s --timeout 1200
