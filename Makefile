# agentkeeper — `make run` checks this machine, `make test` runs everything.
SHELL := /bin/bash
export PATH := $(PATH):/usr/local/go/bin
GO ?= go
export AGENTKEEPER_CACHE ?= $(HOME)/.cache/agentkeeper
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
BIN := bin/agentkeeper
FUZZTIME ?= 4s
# go test's own limit is 10 minutes; on a loaded 2-core machine the e2e packages can take longer
# without anything being wrong, and a panic then hides which test was slow. Generous, not unlimited.
TESTTIMEOUT ?= 30m

.PHONY: all build run test deps vet cross unit fuzz e2e-debian e2e-rpm e2e-wine bench clean package package-test package-msi msi-test ansible-test packer-test

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/agentkeeper

# Build and check this machine. Prints the report, then agentkeeper's verdict and exit code
# (0 ready, 1 not ready, 2 error). make run itself fails only when the build fails or
# agentkeeper exits with an error (2 or other): a machine that is not ready is a result.
run: build
	@rc=0; ./$(BIN) check || rc=$$?; \
	case $$rc in 0) v="ready";; 1) v="not ready (see the FAIL lines above)";; 2) v="error (usage, configuration or internal; see above)";; *) v="unexpected";; esac; \
	echo; echo "make run: agentkeeper check exited $$rc: $$v"; \
	[ $$rc -le 1 ]

# The whole suite: what CI runs. Installs its Debian packages when missing.
test:
	@set -euo pipefail; t0=$$(date +%s); \
	step() { local s=$$(date +%s); echo "=== $$1"; shift; "$$@"; echo "=== done in $$(( $$(date +%s) - s ))s"; }; \
	step "deps (Debian packages)" $(MAKE) --no-print-directory deps; \
	step "vet and cross-compile (linux, windows, darwin)" $(MAKE) --no-print-directory vet cross; \
	step "Debian 12 roots (cached)" bash e2e/debian/mkroot.sh build; \
	step "unit and real-database tests" $(MAKE) --no-print-directory unit; \
	step "fuzz every parser ($(FUZZTIME) each)" $(MAKE) --no-print-directory fuzz; \
	step "Debian 12 image end-to-end" $(MAKE) --no-print-directory e2e-debian; \
	step "RPM distributions end-to-end (real RPM databases, real dnf and zypper)" $(MAKE) --no-print-directory e2e-rpm; \
	step "packages: build, install, upgrade, remove" $(MAKE) --no-print-directory package-test; \
	step "Ansible playbook and Packer provisioning in Debian 12 roots" $(MAKE) --no-print-directory ansible-test packer-test; \
	step "Windows under Wine" $(MAKE) --no-print-directory e2e-wine; \
	step "Windows MSI under Wine: install, upgrade, uninstall" $(MAKE) --no-print-directory msi-test; \
	echo "make test: all parts passed in $$(( $$(date +%s) - t0 ))s"

deps:
	bash scripts/deps.sh

# staticcheck (honnef.co/go/tools), pinned; built once from the module proxy into the cache.
STATICCHECK_VERSION := v0.8.2
STATICCHECK := $(AGENTKEEPER_CACHE)/tools/staticcheck-$(STATICCHECK_VERSION)/staticcheck

$(STATICCHECK):
	GOBIN=$(dir $(STATICCHECK)) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

vet: $(STATICCHECK)
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt would change: $$unformatted"; exit 1; fi
	GOOS=linux $(GO) vet ./...
	GOOS=windows $(GO) vet ./...
	GOOS=darwin $(GO) vet ./...
	GOOS=linux $(STATICCHECK) ./...
	GOOS=windows $(STATICCHECK) ./...
	GOOS=darwin $(STATICCHECK) ./...

cross:
	GOOS=linux GOARCH=amd64 $(GO) build ./...
	GOOS=linux GOARCH=arm64 $(GO) build ./...
	GOOS=windows GOARCH=amd64 $(GO) build ./...
	GOOS=darwin GOARCH=arm64 $(GO) build ./...
	GOOS=windows GOARCH=amd64 $(GO) test -c -o /dev/null ./... >/dev/null

# AGENTKEEPER_E2E=1: tests that use the cached Debian roots fail, never skip, when they are missing.
unit:
	AGENTKEEPER_E2E=1 AGENTKEEPER_DEBIAN_BASE_TAR=$(AGENTKEEPER_CACHE)/debian/base.tar $(GO) test -count=1 -timeout=$(TESTTIMEOUT) $$($(GO) list ./... | grep -v /e2e/)

fuzz:
	GO=$(GO) bash scripts/fuzz.sh $(FUZZTIME)

e2e-debian: build
	bash e2e/debian/mkroot.sh build
	AGENTKEEPER_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 -timeout=$(TESTTIMEOUT) -v ./e2e/debiantest/

e2e-rpm: build
	AGENTKEEPER_E2E=1 AGENTKEEPER_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 -timeout=$(TESTTIMEOUT) -v ./e2e/rpmtest/

e2e-wine:
	bash e2e/wine/run-tests.sh
	$(GO) test -count=1 -timeout=$(TESTTIMEOUT) -v ./e2e/winetest/

# Benchmarks report, they do not gate: check --root against dpkg-query, ensure against a plain
# apt-get install, boot.hyperv on a real initramfs against lsinitramfs, and the Go benchmarks (parsers, the service cycle, ...).
bench: build
	bash e2e/debian/mkroot.sh build
	bash e2e/debian/bench.sh $(CURDIR)/$(BIN)
	BENCH_RUNS=$${BENCH_RUNS:-5} bash e2e/debian/bench-ensure.sh $(CURDIR)/$(BIN)
	bash e2e/debian/bench-boot.sh $(CURDIR)/$(BIN)
	$(GO) test -run='^$$' -bench=. -benchmem $$($(GO) list ./... | grep -v /e2e/)

# Every package into dist/: .deb and .rpm for linux/amd64 and linux/arm64 (nfpm pinned in the
# script), with man pages, shell completions and the README, and the Windows .msi (wixl).
package:
	bash scripts/package.sh
	bash scripts/package-msi.sh

# Install, upgrade (config kept) and remove the .deb in a fresh Debian 12 root; fails, never skips.
package-test:
	bash e2e/debian/mkroot.sh build base
	bash scripts/package-test.sh

# The Windows MSI alone (wixl) into dist/.
package-msi:
	bash scripts/package-msi.sh

# Build the MSI and install, upgrade and uninstall it for real under Wine; fails, never skips.
msi-test:
	$(GO) test -count=1 -timeout=$(TESTTIMEOUT) -v ./e2e/msitest/

# The Ansible role and site.yml (packaging/ansible) against fresh Debian 12 roots over the chroot
# connection: check mode, first and second run, deferred (SafeFreeze lock held), failed. Fails, never skips.
ansible-test:
	bash e2e/debian/mkroot.sh build base
	bash scripts/ansible-test.sh

# packaging/packer/provision-linux.sh in fresh Debian 12 roots (ready, deferred, failed).
packer-test:
	bash e2e/debian/mkroot.sh build base
	bash scripts/packer-test.sh

clean:
	rm -rf bin dist
