# make test: what CI and every developer run. Other targets are parts of
# CI (make ci) or tools.
GO ?= go
PLATFORMS := linux/amd64 linux/arm64 darwin/arm64 windows/amd64 linux/386 linux/riscv64

.PHONY: test fmt vet test-race test-allocs test-purego test-generic test-arm64 generate-check cross ci bench fuzz fuzz-ci

test: fmt vet test-race test-allocs test-purego test-generic

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

# The whole suite under the race detector, every implementation this CPU has.
test-race:
	$(GO) test -race ./...

# Allocation counts are meaningless under -race (sync.Pool drops items).
test-allocs:
	$(GO) test -count=1 -run 'Allocs' ./...

# No assembly at all.
test-purego:
	QUORUM_TEST_REQUIRE=generic $(GO) test -tags purego ./...

# QUORUM_KERNEL=generic must rule the assembly out.
test-generic:
	QUORUM_KERNEL=generic QUORUM_TEST_REQUIRE=generic $(GO) test -count=1 -run 'Required|Implementations' ./kernel/

# The arm64 suite under qemu-user (apt-get install qemu-user): NEON must be
# chosen; then once on a plain ARMv8.0 core. -short trims random rounds.
test-arm64:
	GOARCH=arm64 QUORUM_TEST_REQUIRE=neon $(GO) test -exec qemu-aarch64 -short -count=1 ./...
	GOARCH=arm64 QEMU_CPU=cortex-a53 QUORUM_TEST_REQUIRE=neon $(GO) test -exec qemu-aarch64 -short -count=1 ./kernel/ ./generic/

# Generated assembly must be what the generators write today.
generate-check:
	$(GO) generate ./...
	@git diff --exit-code -- kernel/asm || (echo "go generate changed kernel/asm: commit the regenerated files"; exit 1)

# go vet and go build on every platform, with and without purego.
cross:
	@for p in $(PLATFORMS); do \
		for tags in "" purego; do \
			echo "vet+build $$p tags=$$tags"; \
			GOOS=$${p%/*} GOARCH=$${p#*/} CGO_ENABLED=0 $(GO) vet -tags "$$tags" ./... || exit 1; \
			GOOS=$${p%/*} GOARCH=$${p#*/} CGO_ENABLED=0 $(GO) build -tags "$$tags" ./... || exit 1; \
		done; \
	done

ci: test generate-check cross test-arm64 fuzz-ci

bench:
	$(GO) run ./cmd/bench

fuzz:
	$(GO) test -run XXX -fuzz FuzzImplementations -fuzztime 60s ./kernel/
	$(GO) test -run XXX -fuzz FuzzCalculate -fuzztime 60s ./generic/

# A short differential fuzz of every implementation (CI).
fuzz-ci:
	$(GO) test -run XXX -fuzz FuzzImplementations -fuzztime 20s ./kernel/
	$(GO) test -run XXX -fuzz FuzzCalculate -fuzztime 10s ./generic/
