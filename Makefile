# pooldns -- one Makefile for build, run, test and bench.
#
#   make            build build/dnsd
#   make run        install missing Debian packages, build, run dnsd in the
#                   foreground on 127.0.0.1:5353 with configs/dnsd.conf
#   make test       same set-up, then unit and integration tests, once with
#                   the normal build and once under AddressSanitizer + UBSan
#   make bench      dnsperf against dnsd on loopback (see tools/bench.sh)
#
# BUILD names the output folder; SAN=1 builds with the sanitizers.  Every
# object, library and test binary goes under $(BUILD).

BUILD ?= build
SAN ?=
CC ?= cc

# Debian packages: what the daemon needs to build and run, what the tests
# add, what the benchmark adds.
RUN_PKGS   := gcc make pkg-config libldns-dev libmaxminddb-dev liburcu-dev libevent-dev \
              curl ca-certificates
TEST_PKGS  := $(RUN_PKGS) libcmocka-dev dnsutils
BENCH_PKGS := $(TEST_PKGS) dnsperf util-linux valgrind

PKG_LIBS := liburcu ldns libmaxminddb libevent_core libevent_pthreads
PKG_CFLAGS = $(shell pkg-config --cflags $(PKG_LIBS) 2>/dev/null)
PKG_LDLIBS = $(shell pkg-config --libs $(PKG_LIBS) 2>/dev/null)

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wvla
CFLAGS_ALL = -std=c11 -D_GNU_SOURCE -g $(WARN) -I. $(PKG_CFLAGS) -MMD -MP
ifeq ($(SAN),1)
CFLAGS_ALL += -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDFLAGS_ALL := -fsanitize=address,undefined
else
CFLAGS_ALL += -O2
LDFLAGS_ALL :=
endif
CFLAGS_ALL += $(CFLAGS)
LDLIBS_ALL = $(PKG_LDLIBS) -lpthread $(LDLIBS)

LIB_SRCS := $(sort $(wildcard dnsd/base/*.c zones/*.c geo/*.c weights/*.c) \
                   $(filter-out dnsd/main.c,$(wildcard dnsd/*.c)))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
LIB      := $(BUILD)/libpooldns.a

UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
TOOL_SRCS := $(sort $(wildcard tools/*.c))
TOOL_BINS := $(TOOL_SRCS:tools/%.c=$(BUILD)/tools/%)

.PHONY: all run test check unit integ bench deps deps-test deps-bench clean codes geodb

all: $(BUILD)/dnsd

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c $< -o $@

$(LIB): $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/dnsd: $(BUILD)/obj/dnsd/main.o $(LIB)
	$(CC) $(LDFLAGS_ALL) $^ $(LDLIBS_ALL) -o $@

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) $^ $(LDLIBS_ALL) -lcmocka -lm -o $@

$(BUILD)/tools/%: $(BUILD)/obj/tools/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) $^ $(LDLIBS_ALL) -lm -o $@

deps:
	@tools/deps.sh $(RUN_PKGS)
deps-test:
	@tools/deps.sh $(TEST_PKGS)
deps-bench:
	@tools/deps.sh $(BENCH_PKGS)

# The default configuration's country database (CC0, npm registry, pinned).
geodb:
	@tools/fetch-geodb.sh configs/geo

run: deps
	@$(MAKE) --no-print-directory all geodb
	exec $(BUILD)/dnsd -c configs/dnsd.conf

# Unit and integration tests for one build ($(BUILD), $(SAN)).
check: $(BUILD)/dnsd $(UNIT_BINS) $(TOOL_BINS)
	@tools/run-unit.sh $(UNIT_BINS)
	@tests/integ/run.sh $(BUILD)

test: deps-test
	@$(MAKE) --no-print-directory check
	@$(MAKE) --no-print-directory check BUILD=build/asan SAN=1
	@echo "make test: all tests passed (normal build and ASan+UBSan build)"

unit: $(UNIT_BINS)
	@tools/run-unit.sh $(UNIT_BINS)

integ: $(BUILD)/dnsd $(TOOL_BINS)
	@tests/integ/run.sh $(BUILD)

bench: deps-bench
	@$(MAKE) --no-print-directory all $(TOOL_BINS)
	tools/bench.sh $(BUILD)

codes:
	tools/gen-codes.sh geo/country-continent.tsv > geo/codes_table.inc

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
