# loom - top-level wrapper around CMake.  Every target installs the Debian
# packages it needs first (scripts/deps.sh; apt-get as root).
#
#   make             release build (build/release)
#   make demo        the main demo on the embedded local servers
#   make test        Debug + AddressSanitizer + UBSan, all of CTest
#   make test-tsan   the threaded tests under ThreadSanitizer
#   make test-valgrind  a fixed subset under valgrind memcheck (not in CI)
#   make bench       every workload of ../shared/BENCH.md, peers side by side
#   make bench-quick one reduced run of each workload (CI smoke)
#   make install     PREFIX=/usr/local: headers, libraries, pkg-config, CMake package

PREFIX ?= /usr/local
JOBS ?= $(shell nproc)
CTEST_ARGS ?=
DEPS = scripts/deps.sh

.PHONY: all build demo test test-tsan test-valgrind valgrind bench bench-quick install clean

all: build

build:
	@$(DEPS) build
	cmake -S . -B build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLOOM_BUILD_TESTS=OFF >/dev/null
	cmake --build build/release -j$(JOBS)

# The demo's packages go in before the build, so the examples that need
# them (ex16_cities: http-parser, libcurl, jansson) are built.
demo:
	@$(DEPS) build $(shell cat scripts/deps/demo.groups 2>/dev/null)
	@$(MAKE) --no-print-directory build
	bash examples/demo.sh build/release

test:
	@$(DEPS) build test $(shell cat scripts/deps/test.groups 2>/dev/null)
	cmake -S . -B build/asan -DCMAKE_BUILD_TYPE=Debug -DLOOM_WERROR=ON \
	  -DLOOM_SANITIZE=address,undefined -DLOOM_BUILD_BENCH=OFF >/dev/null
	cmake --build build/asan -j$(JOBS)
	cd build/asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=0 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j$(JOBS) $(CTEST_ARGS)

# ThreadSanitizer runs with ASLR off (setarch -R), which its memory layout
# prefers on kernels with high mmap randomisation, and one test program at a
# time (TSan slows everything ~10x; timing-sensitive multi-process tests are
# steadier without a second TSan program competing for the two cores).
test-tsan:
	@$(DEPS) build test $(shell cat scripts/deps/test.groups 2>/dev/null)
	cmake -S . -B build/tsan -DCMAKE_BUILD_TYPE=Debug -DLOOM_WERROR=ON \
	  -DLOOM_SANITIZE=thread -DLOOM_BUILD_BENCH=OFF -DLOOM_BUILD_EXAMPLES=OFF >/dev/null
	cmake --build build/tsan -j$(JOBS)
	cd build/tsan && TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 atexit_sleep_ms=0 suppressions=$(CURDIR)/tests/tsan.supp" \
	  setarch -R ctest --output-on-failure -j1 -LE "no-tsan|script" $(CTEST_ARGS)

# A non-sanitized Debug build under memcheck; scripts/test-valgrind.sh says
# which programs are left out and why.  A few minutes; not part of CI.
valgrind: test-valgrind
test-valgrind:
	@$(DEPS) build test $(shell cat scripts/deps/test.groups 2>/dev/null)
	cmake -S . -B build/valgrind -DCMAKE_BUILD_TYPE=Debug -DLOOM_WERROR=ON \
	  -DLOOM_BUILD_BENCH=OFF >/dev/null
	cmake --build build/valgrind -j$(JOBS)
	bash scripts/test-valgrind.sh build/valgrind

# ../shared/BENCH.md: benchmarks are built with -O2 (CMake's Release would be -O3),
# with link-time optimisation (cmake/lto.cmake) and no sanitizers.
BENCH_CMAKE = -DCMAKE_BUILD_TYPE=Release -DLOOM_BUILD_TESTS=OFF \
  -DCMAKE_C_FLAGS_RELEASE="-O2 -DNDEBUG" -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG"

bench:
	@$(DEPS) build bench
	cmake -S . -B build/bench $(BENCH_CMAKE) >/dev/null
	cmake --build build/bench -j$(JOBS)
	/usr/bin/python3 bench/run.py --build build/bench

bench-quick:
	@$(DEPS) build bench
	cmake -S . -B build/bench $(BENCH_CMAKE) >/dev/null
	cmake --build build/bench -j$(JOBS)
	/usr/bin/python3 bench/run.py --build build/bench --quick

install: build
	cmake --install build/release --prefix $(PREFIX)

clean:
	rm -rf build
