.PHONY: setup test typecheck lint build demo
# `make -j` must not start the type check before setup has installed pnpm and node_modules.
.NOTPARALLEL:
SHELL := /bin/bash

# Extra vitest flags, e.g. VITEST_ARGS="test/e2e" or a reporter for CI.
VITEST_ARGS ?=

# Go-installed servers (nats-server) live in $(go env GOPATH)/bin and Go often in /usr/local/go/bin;
# neither is on a non-login shell's PATH, so make puts both there for setup, the tests and the demo.
GO_BIN_DIR := $(shell PATH="$$PATH:/usr/local/go/bin"; gopath=$$(go env GOPATH 2>/dev/null </dev/null | cut -d: -f1); echo "$${gopath:-$$HOME/go}/bin")
export PATH := $(PATH):/usr/local/go/bin:$(GO_BIN_DIR)

# $(call timed,<name>,<command>): runs the command and says how long it took, keeping its exit status.
timed = @s=$$(date +%s); $(2); rc=$$?; echo "=== $(1) took $$(($$(date +%s) - s))s"; exit $$rc

# Installs what is missing (pnpm, node_modules, system packages, nats-server, the Keycloak
# distribution, the schemathesis venv); a few seconds when everything is there.
setup:
	$(call timed,setup,bash scripts/setup.sh </dev/null)

test: setup typecheck lint
	$(call timed,vitest,pnpm test $(VITEST_ARGS) </dev/null)

lint:
	$(call timed,lint,pnpm lint)

typecheck:
	$(call timed,typecheck,pnpm typecheck)

build:
	pnpm build

demo: setup
	KEYFLEET_SETUP_DONE=1 bash scripts/demo.sh
