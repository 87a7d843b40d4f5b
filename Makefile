# The two set-up commands of the README: `make run` and `make test`.
# Both install what is missing (scripts/setup.sh), configure and build with -j2.
BUILD ?= build
JOBS ?= 2
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=Release

.PHONY: all setup setup-test build run test test-fixtures bench fuzz clean format

all: build

setup:
	bash scripts/setup.sh

# The npm packages the tests need (package-lock.json): clients and oracles others wrote.
setup-test:
	bash scripts/setup.sh --test

$(BUILD)/Makefile:
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

build: setup $(BUILD)/Makefile
	cmake --build $(BUILD) -j$(JOBS)

# The most complete job so far (see README): version, BLAS check, encoders on the fixtures.
run: build
	bash scripts/run.sh $(BUILD)/elarin

test: build setup-test
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

test-fixtures: build
	cd $(BUILD) && ctest --output-on-failure -L fixtures

bench: build setup-test
	bash bench/run_all.sh $(BUILD)

fuzz:
	bash scripts/fuzz.sh 60

format:
	clang-format -i $$(git ls-files '*.cpp' '*.hpp')

clean:
	rm -rf $(BUILD)
