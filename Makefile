# The two commands of the README: `make demo` (set up the project's environment, then
# run the demo on the embedded AWS: Python and git only) and `make test` (set up
# everything, then the whole suite). `make test-quick K=plan`: pytest alone, no linters.
.PHONY: setup setup-demo demo test test-quick
setup:
	scripts/setup.sh
setup-demo:
	scripts/setup.sh --demo
demo: setup-demo
	.venv/bin/ecs-gitops demo
test: setup
	scripts/test.sh
test-quick:
	scripts/test.sh --quick $(if $(K),-k "$(K)")
