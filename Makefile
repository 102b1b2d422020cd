# One command each: `make demo` runs the demo, `make test` runs the tests.
# Both install what they need first (Debian packages, ./.venv).
.PHONY: setup demo test lint bench clean

setup:
	@scripts/setup.sh

demo: setup
	.venv/bin/python -m demo

test: setup
	.venv/bin/python -m pytest

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	scripts/typecheck.sh

bench: setup
	.venv/bin/python -m bench

clean:
	rm -rf .venv build *.egg-info .pytest_cache .hypothesis
