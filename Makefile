# Thin wrapper over CMake. `make demo` and `make test` are the two set-up commands.
BUILD      ?= build
BUILD_SAN  ?= build-asan
JOBS       ?= $(shell nproc)
CMAKE_ARGS ?=

.PHONY: all deps build build-asan demo test unit e2e fuzz bench format format-check clean

all: build

deps:
	scripts/install-deps.sh

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_ARGS) >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

build-asan: deps
	cmake -S . -B $(BUILD_SAN) -DCMAKE_BUILD_TYPE=Debug -DKAIFANG_SANITIZE=ON $(CMAKE_ARGS) >/dev/null
	cmake --build $(BUILD_SAN) -j $(JOBS)

# Build, create ./kaifang-demo if missing, load the bundled catalog, serve on :8080.
demo: build
	$(BUILD)/kaifang demo

# Every test, under AddressSanitizer + UndefinedBehaviorSanitizer.
test: build-asan
	scripts/check-format.sh
	cd $(BUILD_SAN) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    ctest --output-on-failure -j $(JOBS)

fuzz: deps
	CC=clang cmake -S . -B build-fuzz -DKAIFANG_FUZZ=ON -DKAIFANG_SANITIZE=ON >/dev/null
	cmake --build build-fuzz -j $(JOBS)

bench: build
	bench/api.sh

format:
	clang-format -i $$(git ls-files 'src/*.c' 'src/*.h' 'tests/*.c' 'tests/*.h')

clean:
	rm -rf $(BUILD) $(BUILD_SAN) build-fuzz
