# correu — the two commands a new user runs (README.md), plus the
# developer targets. Meson and ninja do the building.
#
#   make          build build/correu
#   make run      install missing packages, build, create ./var, serve
#   make test     install missing packages, build, run every test suite
#   make asan     build-asan (ASan+UBSan) and its unit tests
#   make fuzz     run every libFuzzer target for FUZZ_TIME seconds each

BUILD ?= build
FUZZ_TIME ?= 60

.PHONY: all build deps run test asan fuzz check-tls bench clean

all: build

build:
	@test -f $(BUILD)/build.ninja || meson setup $(BUILD) >$(BUILD).setup.log 2>&1 || \
		{ tail -20 $(BUILD).setup.log; rm -rf $(BUILD); exit 1; }
	ninja -C $(BUILD)
	@ln -sf correu $(BUILD)/sendmail

deps:
	@scripts/deps

run: deps build
	@scripts/run-demo

test: deps build
	@tests/run

asan: deps
	@test -f build-asan/build.ninja || \
		meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false >build-asan.setup.log 2>&1 || \
		{ tail -20 build-asan.setup.log; rm -rf build-asan; exit 1; }
	ninja -C build-asan
	meson test -C build-asan --suite unit --print-errorlogs

fuzz: deps
	@FUZZ_TIME=$(FUZZ_TIME) tests/fuzz/run

check-tls: deps build
	@tests/tls/run

clean:
	rm -rf build build-asan build-fuzz
