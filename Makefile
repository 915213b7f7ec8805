# mpcd — top-level build.  `make` builds bin/ and lib/; `make test` runs every test;
# `make asan` does both under AddressSanitizer + UndefinedBehaviorSanitizer in build/asan/.
#
# Sources are found by globbing, so adding a module is adding a file:
#   <dir>/*.c            -> the directory's library (circuits, protocols, client-sdk, mpcd)
#   <dir>/<name>_main.c  -> program bin/<name>
#   tests/check_*.c      -> one Check test binary each (bin/tests/check_*), linked with everything
#   tests/*.c (others)   -> shared test helpers linked into every test binary

OUT      ?= .
OBJ      := $(OUT)/obj
BIN      := $(OUT)/bin
LIB      := $(OUT)/lib
CC       ?= cc
OPT      ?= -O2 -g
SAN      ?=
PREFIX   ?= /usr/local

PKGS     := libsodium libzmq msgpack inih libsystemd libmicrohttpd libcrypto
DEPS_DEB := build-essential pkg-config libsodium-dev libzmq3-dev libmsgpack-dev check libinih-dev libsystemd-dev libmicrohttpd-dev libssl-dev python3 curl

PKG_CONFIG   ?= pkg-config
INSTALL_DEPS ?= scripts/install-deps

# pkg-config runs once, when make reads this file.  So a target that installs packages first
# (test, demo, bench, valgrind, ...) never builds in the same make process: it runs check-deps,
# then a new $(MAKE) that reads this file again with the packages in place.  A build with
# packages pkg-config did not find stops at its first compile with a message saying so
# (.ci/check-fresh-deps proves both with a pkg-config that finds nothing until the install).
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
CHECK_LIBS := $(shell $(PKG_CONFIG) --libs check 2>/dev/null)
PKGS_OK    := $(shell $(PKG_CONFIG) --exists $(PKGS) check 2>/dev/null && echo yes)
need_pkgs   = $(if $(PKGS_OK),,$(error $(PKG_CONFIG) does not find all of: $(PKGS) check; \
                run `make deps` first (make demo, make test and make bench install them themselves)))

# The build inside those targets runs in parallel on every core unless make was given -j.
SUBMAKE := $(MAKE) --no-print-directory $(if $(filter -j%,$(MAKEFLAGS)),,-j$(shell nproc 2>/dev/null || echo 2))

CPPFLAGS += -D_GNU_SOURCE -Icircuits -Iprotocols -Iclient-sdk -Impcd -Itests $(PKG_CFLAGS)
CFLAGS   += -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -fPIC $(OPT) $(SAN) -MMD -MP
LDFLAGS  += $(SAN)
LDLIBS   += $(PKG_LIBS) -lpthread -lm

MODULES  := circuits protocols client-sdk mpcd
MAIN_SRC := $(wildcard $(addsuffix /*_main.c,$(MODULES)))
PROGRAMS := $(patsubst %_main.c,$(BIN)/%,$(notdir $(MAIN_SRC)))

# Library sources per module (everything but *_main.c).
lib_src   = $(filter-out %_main.c,$(wildcard $(1)/*.c))
lib_obj   = $(patsubst %.c,$(OBJ)/%.o,$(call lib_src,$(1)))
CIRC_OBJ  := $(call lib_obj,circuits)
PROTO_OBJ := $(call lib_obj,protocols)
SDK_OBJ   := $(call lib_obj,client-sdk)
MPCD_OBJ  := $(call lib_obj,mpcd)
ALL_LIB_OBJ := $(MPCD_OBJ) $(SDK_OBJ) $(PROTO_OBJ) $(CIRC_OBJ)

TEST_SRC    := $(wildcard tests/check_*.c)
TEST_HELPER := $(patsubst %.c,$(OBJ)/%.o,$(filter-out $(TEST_SRC),$(wildcard tests/*.c)))
TESTS       := $(patsubst tests/%.c,$(BIN)/tests/%,$(TEST_SRC))

# The shared client SDK's ABI version (docs/client.md, "Installing the SDK"): the SONAME's number
# changes when an exported function is removed or changes its signature, or a public struct its
# layout; the second number of the file's when functions are added.  The Python binding loads the
# library by this SONAME (_SONAME in client-sdk/python/mpcclient.py; tests/sdk_install.test.sh
# checks that the two agree).
SDK_ABI     := 1
SDK_SONAME  := libmpcclient.so.$(SDK_ABI)
SDK_REAL    := libmpcclient.so.$(SDK_ABI).5.0

# The Python binding's error names, generated from the one list of codes (MPC_ERR_LIST in
# protocols/mpc_err.h); committed, and regenerated whenever that list changes.
PY_ERRORS := client-sdk/python/mpc_errors.py

.PHONY: all test asan clean deps install demo bench bench-build bench-quick check-deps fuzz valgrind accuracy soak
.SECONDARY:
all: $(PROGRAMS) $(if $(SDK_OBJ),$(LIB)/libmpcclient.a $(LIB)/$(SDK_REAL) $(LIB)/libmpcclient.so) $(PY_ERRORS)

$(PY_ERRORS): protocols/mpc_err.h scripts/gen-errors-py
	python3 scripts/gen-errors-py $< > $@.tmp && mv $@.tmp $@

# One archive of everything internal keeps link lines short and order-independent.
$(LIB)/libmpcinternal.a: $(ALL_LIB_OBJ)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

# The client SDK: what applications link (circuits + protocols pieces it needs + the SDK).
$(LIB)/libmpcclient.a: $(SDK_OBJ) $(PROTO_OBJ) $(CIRC_OBJ)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^
# The shared library exports exactly the functions of its public headers (client-sdk/mpcclient.h,
# protocols/mpc_err.h), which carry MPC_API: every object linked into it is compiled with
# -fvisibility=hidden.  The static archives and the programs and tests linked with
# libmpcinternal.a are unaffected (hidden symbols still link within one program).
$(SDK_OBJ) $(PROTO_OBJ) $(CIRC_OBJ): CFLAGS += -fvisibility=hidden
$(LIB)/$(SDK_REAL): $(SDK_OBJ) $(PROTO_OBJ) $(CIRC_OBJ)
	@mkdir -p $(@D)
	$(CC) -shared $(LDFLAGS) -Wl,-soname,$(SDK_SONAME) -o $@ $^ $(LDLIBS)
$(LIB)/$(SDK_SONAME): $(LIB)/$(SDK_REAL)
	ln -sf $(SDK_REAL) $@
$(LIB)/libmpcclient.so: $(LIB)/$(SDK_SONAME)
	ln -sf $(SDK_SONAME) $@

$(BIN)/%: $(OBJ)/circuits/%_main.o $(LIB)/libmpcinternal.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BIN)/%: $(OBJ)/protocols/%_main.o $(LIB)/libmpcinternal.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BIN)/%: $(OBJ)/client-sdk/%_main.o $(LIB)/libmpcinternal.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BIN)/%: $(OBJ)/mpcd/%_main.o $(LIB)/libmpcinternal.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BIN)/tests/%: $(OBJ)/tests/%.o $(TEST_HELPER) $(LIB)/libmpcinternal.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(CHECK_LIBS)

$(OBJ)/%.o: %.c
	@mkdir -p $(@D)$(need_pkgs)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

# `make test` installs missing Debian packages first (no-op when present), then builds and runs.
test: check-deps
	@$(SUBMAKE) all tests-build
	@OUT=$(OUT) scripts/run-tests

.PHONY: tests-build
tests-build: $(TESTS) $(BIN)/tests/mpcd-faults

# The test-only cheating daemon (protocols/fault.h; docs/security.md, "Testing a cheating
# daemon"): the sources that include fault.h compiled again with -DMPC_TEST_FAULTS into
# $(OUT)/obj-faults, linked with the release objects of everything else.  The release objects,
# bin/mpcd and the libraries never hold a fault hook (tests/daemon_malicious_faults.test.sh
# checks `nm bin/mpcd`).
FAULT_OBJDIR := $(OUT)/obj-faults
FAULT_SRC    := protocols/fault.c $(shell grep -l '^\#include "fault.h"' $(foreach m,$(MODULES),$(call lib_src,$(m))))
FAULT_OBJ    := $(patsubst %.c,$(FAULT_OBJDIR)/%.o,$(sort $(FAULT_SRC)))
FAULT_LINKED := $(filter-out $(patsubst %.c,$(OBJ)/%.o,$(FAULT_SRC)),$(ALL_LIB_OBJ)) $(FAULT_OBJ)
$(FAULT_OBJDIR)/%.o: %.c
	@mkdir -p $(@D)$(need_pkgs)
	$(CC) $(CPPFLAGS) -DMPC_TEST_FAULTS $(CFLAGS) -c -o $@ $<
$(BIN)/tests/mpcd-faults: $(OBJ)/mpcd/mpcd_main.o $(FAULT_LINKED)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The full matrix of cheating daemons (`make test` runs a quick part of it).
.PHONY: faults-mal
faults-mal: check-deps
	@$(SUBMAKE) all tests-build
	@MPC_BIN=$(abspath $(BIN)) MPC_FAULTS_FULL=1 sh tests/daemon_malicious_faults.test.sh

asan:
	@SAN_BUILD=1 $(MAKE) --no-print-directory OUT=build/asan OPT="-O1 -g -fno-omit-frame-pointer" \
	    SAN="-fsanitize=address,undefined -fno-sanitize-recover=all" test

deps:
	@$(INSTALL_DEPS) $(DEPS_DEB)

check-deps:
	@$(INSTALL_DEPS) --if-missing $(DEPS_DEB)

demo: check-deps
	@$(SUBMAKE) all
	@MPC_BIN=$(abspath $(BIN)) scripts/demo

# Benchmarks (bench/run: real daemons on this machine, CURVE on; writes bench/results.json).
# Built separately with full optimisation so the numbers are not those of a debug build.
BENCH_OUT := build/bench
# bench-build alone is what CI runs: gcc's -O3 analyses warn where -O2's do not.
bench-build: check-deps
	@$(SUBMAKE) OUT=$(BENCH_OUT) OPT="-O3 -march=native -g" all tests-build
	@MPC_BIN=$(abspath $(BENCH_OUT))/bin bench/run --build-only
bench: bench-build
	@MPC_BIN=$(abspath $(BENCH_OUT))/bin bench/run
bench-quick: bench-build
	@MPC_BIN=$(abspath $(BENCH_OUT))/bin bench/run --quick

# libFuzzer targets (tests/fuzz/run), FUZZ_SECONDS each.
FUZZ_SECONDS ?= 30
fuzz: check-deps
	@FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run

# The table of measured errors of the numeric functions (docs/accuracy.md).
accuracy: check-deps
	@scripts/accuracy

# Long end-to-end runs kept out of `make test`: the contribution collection with 1,000
# contributors of 1,000 values each (tests/daemon_contrib.test.sh, which `make test` runs with
# 400; about 1 minute alone on 2 cores).
SOAK_CONTRIB_N ?= 1000
soak: check-deps
	@$(SUBMAKE) all tests-build
	@MPC_BIN=$(abspath $(BIN)) MPC_CONTRIB_N=$(SOAK_CONTRIB_N) sh tests/daemon_contrib.test.sh

# The unit tests under valgrind memcheck.
valgrind: check-deps
	@$(SUBMAKE) all tests-build
	@OUT=$(OUT) scripts/valgrind

# The systemd unit (configs/mpcd@.service), its ExecStart pointing at $(PREFIX)/bin/mpcd;
# `make install` runs it too.  Alone it builds nothing (tests/daemon_service.test.sh uses it).
.PHONY: install-unit
install-unit:
	install -d $(DESTDIR)$(PREFIX)/lib/systemd/system
	sed 's|^ExecStart=/usr/bin/mpcd |ExecStart=$(PREFIX)/bin/mpcd |' configs/mpcd@.service > $(DESTDIR)$(PREFIX)/lib/systemd/system/mpcd@.service.tmp
	chmod 0644 $(DESTDIR)$(PREFIX)/lib/systemd/system/mpcd@.service.tmp
	mv $(DESTDIR)$(PREFIX)/lib/systemd/system/mpcd@.service.tmp $(DESTDIR)$(PREFIX)/lib/systemd/system/mpcd@.service

# make install [PREFIX=/usr/local] [DESTDIR=staging]: programs, the unit, and the client SDK (headers, the
# static and shared library, mpcclient.pc, the Python binding).  A prefix other than /usr (which
# the dynamic linker searches by default) gets an rpath in mpcclient.pc's Libs, so a program linked
# with `pkg-config --libs mpcclient` runs without LD_LIBRARY_PATH; PC_RPATH= (empty) leaves it out
# (then register the library directory with ldconfig).  The Python modules go where $(PYTHON) looks
# for that prefix's modules (scripts/python-site-dir; PYTHON_SITE=DIR overrides), and the installed
# mpcclient.py names the installed library, so it needs no MPCCLIENT_LIB.
PYTHON      ?= python3
PYTHON_SITE ?= $(shell $(PYTHON) -E scripts/python-site-dir $(PREFIX))
comma       := ,
PC_RPATH    ?= $(if $(filter /usr,$(patsubst %/,%,$(PREFIX))),,-Wl$(comma)-rpath$(comma)$${libdir})
.PHONY: install-sdk
install: all install-unit $(if $(SDK_OBJ),install-sdk)
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(PROGRAMS) $(DESTDIR)$(PREFIX)/bin/
install-sdk: all
	@test -n "$(PYTHON_SITE)" || { echo "make install: no Python site directory for $(PREFIX) (set PYTHON_SITE=DIR)" >&2; exit 1; }
	install -d $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PYTHON_SITE)
	install -m 0644 $(LIB)/libmpcclient.a $(LIB)/$(SDK_REAL) $(DESTDIR)$(PREFIX)/lib/
	ln -sf $(SDK_REAL) $(DESTDIR)$(PREFIX)/lib/$(SDK_SONAME)
	ln -sf $(SDK_SONAME) $(DESTDIR)$(PREFIX)/lib/libmpcclient.so
	install -m 0644 client-sdk/mpcclient.h protocols/mpc_err.h $(DESTDIR)$(PREFIX)/include/
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@RPATH@|$(PC_RPATH)|' client-sdk/mpcclient.pc.in \
	    > $(DESTDIR)$(PREFIX)/lib/pkgconfig/mpcclient.pc
	install -m 0644 $(PY_ERRORS) $(DESTDIR)$(PYTHON_SITE)/
	sed 's|^_INSTALLED_LIBRARY = None$$|_INSTALLED_LIBRARY = "$(PREFIX)/lib/$(SDK_SONAME)"|' \
	    client-sdk/python/mpcclient.py > $(DESTDIR)$(PYTHON_SITE)/mpcclient.py
	chmod 0644 $(DESTDIR)$(PYTHON_SITE)/mpcclient.py

clean:
	rm -rf obj obj-faults bin lib build

-include $(shell find $(OBJ) $(FAULT_OBJDIR) -name '*.d' 2>/dev/null)
