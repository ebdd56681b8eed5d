.PHONY: test typecheck build demo

# Extra vitest flags, e.g. VITEST_ARGS="test/e2e" or a reporter for CI.
VITEST_ARGS ?=

test: typecheck
	pnpm test $(VITEST_ARGS)

typecheck:
	pnpm typecheck

build:
	pnpm build

demo:
	bash scripts/demo.sh
