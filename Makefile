# The two commands of the README: `make demo` (set up, then run the demo on the
# embedded AWS) and `make test` (set up, then the whole suite).
.PHONY: setup demo test
setup:
	scripts/setup.sh
demo: setup
	.venv/bin/ecs-gitops demo
test: setup
	scripts/test.sh
