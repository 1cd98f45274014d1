# Thin wrapper over CMake. `make demo` and `make test` are the two set-up commands.
BUILD      ?= build
BUILD_SAN  ?= build-asan
JOBS       ?= $(shell nproc)
CMAKE_ARGS ?=

.PHONY: all deps configure build bin build-asan demo test unit e2e fuzz fuzz-short fuzz-long bench format format-check clean

all: build

deps:
	scripts/install-deps.sh

configure: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_ARGS) >/dev/null

# Everything (binary, unit tests, fuzz replays) with optimisation: some warnings only
# show at -O2, and -Werror makes them errors, so `make test` builds this too.
build: configure
	cmake --build $(BUILD) -j $(JOBS)

# Only the binary, for the demo.
bin: configure
	cmake --build $(BUILD) -j $(JOBS) --target kaifang

build-asan: deps
	cmake -S . -B $(BUILD_SAN) -DCMAKE_BUILD_TYPE=Debug -DKAIFANG_SANITIZE=ON $(CMAKE_ARGS) >/dev/null
	cmake --build $(BUILD_SAN) -j $(JOBS)

# Build, create ./kaifang-demo if missing, load the bundled catalog, serve on :8080.
demo: bin
	$(BUILD)/kaifang demo

# Every test, under AddressSanitizer + UndefinedBehaviorSanitizer, then every fuzz
# harness for a bounded time (libFuzzer, clang).
test: build build-asan
	scripts/check-format.sh
	cd $(BUILD_SAN) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	    LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    ctest --output-on-failure -j $(JOBS)
	FUZZ_SECONDS=10 scripts/fuzz-short.sh

fuzz-short: deps
	FUZZ_SECONDS=10 scripts/fuzz-short.sh

FUZZ_SECONDS ?= 600
fuzz-long: deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz-short.sh

fuzz: deps
	CC=clang cmake -S . -B build-fuzz -DKAIFANG_FUZZ=ON -DKAIFANG_SANITIZE=ON >/dev/null
	cmake --build build-fuzz -j $(JOBS)

bench: bin
	bench/api.sh

format:
	clang-format -i $$(git ls-files 'src/*.c' 'src/*.h' 'tests/*.c' 'tests/*.h')

clean:
	rm -rf $(BUILD) $(BUILD_SAN) build-fuzz
