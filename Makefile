# make test: what CI and every developer run. Other targets are parts of
# CI (make ci) or tools. Every target covers the three modules of the
# workspace (go.work); the generators' module is vetted on its own.
GO ?= go
PKGS := ./... ./cluster/... ./cmd/...
GEN := cd kernel/gen && GOWORK=off $(GO)
STATICCHECK_PKG := honnef.co/go/tools/cmd/staticcheck@v0.8.2
STATICCHECK := $(GO) run $(STATICCHECK_PKG)
# The oldest Go the modules support; CI runs the suite on it too.
GO_MIN := go1.25.14
PLATFORMS := linux/amd64 linux/arm64 darwin/arm64 windows/amd64 linux/386 linux/riscv64

.PHONY: mca test suite fmt vet staticcheck test-race test-allocs test-purego test-generic test-go-min test-arm64 test-noavx generate-check cross ci bench fuzz fuzz-ci

test: fmt vet staticcheck suite

# The test suite proper: the part that must pass on every supported Go.
suite: test-race test-allocs test-purego test-generic

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)
	$(GEN) vet ./...

# staticcheck, pinned, through go run (it needs the current Go to build).
staticcheck:
	$(STATICCHECK) $(PKGS)
	$(GEN) run $(STATICCHECK_PKG) ./...

# The whole suite under the race detector, every implementation this CPU has.
test-race:
	$(GO) test -race $(PKGS)

# Allocation counts are meaningless under -race (sync.Pool drops items).
test-allocs:
	$(GO) test -count=1 -run 'Allocs' $(PKGS)

# No assembly at all.
test-purego:
	QUORUM_TEST_REQUIRE=generic $(GO) test -tags purego $(PKGS)

# QUORUM_KERNEL=generic must rule the assembly out.
test-generic:
	QUORUM_KERNEL=generic QUORUM_TEST_REQUIRE=generic $(GO) test -count=1 -run 'Required|Implementations' ./kernel/

# The suite again on the oldest supported Go, fetched by GOTOOLCHAIN.
test-go-min:
	GOTOOLCHAIN=$(GO_MIN) $(GO) version
	GOTOOLCHAIN=$(GO_MIN) $(MAKE) suite

# The arm64 suite under qemu-user (apt-get install qemu-user): NEON must be
# chosen; then once on a plain ARMv8.0 core. -short trims random rounds.
test-arm64:
	GOARCH=arm64 QUORUM_TEST_REQUIRE=neon $(GO) test -exec qemu-aarch64 -short -count=1 $(PKGS)
	GOARCH=arm64 QEMU_CPU=cortex-a53 QUORUM_TEST_REQUIRE=neon $(GO) test -exec qemu-aarch64 -short -count=1 ./kernel/...

# The kernel suite on x86-64 CPUs without AVX2 (Sandy Bridge) and without
# AVX at all (Nehalem), under qemu-user: generic must be chosen, and no
# AVX instruction may run on the way to it.
test-noavx:
	GOARCH=amd64 QUORUM_TEST_REQUIRE=generic $(GO) test -exec 'qemu-x86_64 -cpu SandyBridge' -short -count=1 ./kernel/...
	GOARCH=amd64 QUORUM_TEST_REQUIRE=generic $(GO) test -exec 'qemu-x86_64 -cpu Nehalem' -short -count=1 ./kernel/...

# Generated assembly must be what the generators write today.
generate-check:
	$(GO) generate ./kernel/...
	@git diff --exit-code -- kernel/internal/asm || (echo "go generate changed kernel/internal/asm: commit the regenerated files"; exit 1)

# go vet and go build on every platform, with and without purego.
cross:
	@for p in $(PLATFORMS); do \
		for tags in "" purego; do \
			echo "vet+build $$p tags=$$tags"; \
			GOOS=$${p%/*} GOARCH=$${p#*/} CGO_ENABLED=0 $(GO) vet -tags "$$tags" $(PKGS) || exit 1; \
			GOOS=$${p%/*} GOARCH=$${p#*/} CGO_ENABLED=0 $(GO) build -tags "$$tags" $(PKGS) || exit 1; \
		done; \
	done

ci: test test-go-min generate-check cross test-arm64 test-noavx fuzz-ci

bench:
	$(GO) run ./cmd/bench

# llvm-mca's cycles per iteration of the AVX2 hot loops on other CPUs
# (apt-get install llvm).
mca:
	bash kernel/gen/mca.sh

fuzz:
	$(GO) test -run XXX -fuzz FuzzImplementations -fuzztime 120s ./kernel/

# A short differential fuzz of every implementation and the slow path (CI).
fuzz-ci:
	$(GO) test -run XXX -fuzz FuzzImplementations -fuzztime 30s ./kernel/
