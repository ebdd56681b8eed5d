.PHONY: test typecheck lint build demo

# Extra vitest flags, e.g. VITEST_ARGS="test/e2e" or a reporter for CI.
VITEST_ARGS ?=

test: typecheck lint
	pnpm test $(VITEST_ARGS)

lint:
	pnpm lint

typecheck:
	pnpm typecheck

build:
	pnpm build

demo:
	bash scripts/demo.sh
