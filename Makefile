# tickd — see README.md. Build products go under $(BUILD).
#   make            build the daemon, plugins, examples
#   make check      install test deps, build, run unit + e2e tests, then both
#                   again with everything built with ASan+UBSan
#   make check-systemd  tickd under systemd 252 in a systemd-nspawn container
#   make run        install deps, build, run tickd with conf/tickd.ini
#   make bench      micro-benchmarks against libuv/libev, echo load test
#   make fuzz       libFuzzer harnesses of the parsers, FUZZ_SECS (60) each
#   make install    PREFIX=/usr/local DESTDIR=
VERSION   := 0.1.0
TICK_ABI_MAJOR := 3
TICK_ABI_MINOR := 1

BUILD     ?= build
CC        ?= cc
PREFIX    ?= /usr/local
DESTDIR   ?=
BINDIR    ?= $(PREFIX)/bin
LIBDIR    ?= $(PREFIX)/lib
INCDIR    ?= $(PREFIX)/include
PLUGINDIR ?= $(LIBDIR)/tickd/plugins
SYSCONFDIR ?= /etc
# the control socket's built-in default is RUNSTATEDIR/tickd/control
RUNSTATEDIR ?= /run
UNITDIR   ?= $(PREFIX)/lib/systemd/system
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
MANDIR    ?= $(PREFIX)/share/man
DOCDIR    ?= $(PREFIX)/share/doc/tickd
MAN_PAGES := man/tickd.8 $(BUILD)/man/tickd.ini.5 man/tick.3
# shipped modules whose keys are a table: their part of tickd.ini(5) is
# generated from it (echo joins when its keys are a table)
MAN_KEY_PLUGINS := echo heartbeat http exec statsd kv

OPT       ?= -O2
# DWARF 4: valgrind 3.19 (Debian 12) cannot read clang 14's default DWARF 5
DEBUG     ?= -g -gdwarf-4
WARN      := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CFLAGS_ALL := -std=gnu11 $(OPT) $(DEBUG) $(WARN) -D_GNU_SOURCE -fPIC \
              -fvisibility=hidden -Iinclude -Idaemon -Idaemon/engine \
              -DTICKD_VERSION='"$(VERSION)"' $(CFLAGS)
LDFLAGS_ALL := $(LDFLAGS)

ifeq ($(SAN),1)
CFLAGS_ALL  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS_ALL += -fsanitize=address,undefined
endif

INIH_CFLAGS  := $(shell pkg-config --cflags inih 2>/dev/null)
INIH_LIBS    := $(shell pkg-config --libs inih 2>/dev/null || echo -linih)
CHECK_CFLAGS := $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS   := $(shell pkg-config --libs check 2>/dev/null || echo -lcheck)

ENGINE_SRC := $(sort $(wildcard daemon/engine/*.c))
DAEMON_SRC := $(sort $(wildcard daemon/*.c))
PLUGINS    := $(notdir $(patsubst %/,%,$(sort $(dir $(wildcard plugins/*/*.c)))))
EXAMPLES   := $(basename $(notdir $(wildcard examples/*.c)))
UNIT_TESTS := $(basename $(notdir $(wildcard tests/unit/test_*.c)))
E2E_TESTS  := $(basename $(notdir $(wildcard tests/e2e/test_*.c)))
HEADERS    := $(wildcard include/tick/*.h) $(wildcard daemon/*.h) $(wildcard daemon/engine/*.h)

ENGINE_OBJ := $(ENGINE_SRC:%.c=$(BUILD)/obj/%.o)
DAEMON_OBJ := $(DAEMON_SRC:%.c=$(BUILD)/obj/%.o)
LIBTICK    := $(BUILD)/libtick.a
TICKD      := $(BUILD)/tickd
PLUGIN_SO  := $(PLUGINS:%=$(BUILD)/plugins/%.so)
EXAMPLE_BIN := $(EXAMPLES:%=$(BUILD)/examples/%)
UNIT_BIN   := $(UNIT_TESTS:%=$(BUILD)/tests/%)
E2E_BIN    := $(E2E_TESTS:%=$(BUILD)/tests/e2e_%)
SYS_LIBS   := -ldl -lpthread

.PHONY: all check check-systemd unit e2e san-unit san-e2e run bench bench-compare fuzz install uninstall clean deps-build deps-check deps-bench deps-fuzz
all: $(TICKD) $(PLUGIN_SO) $(EXAMPLE_BIN) $(BUILD)/man/tickd.ini.5

# tickd.ini(5): the template with the key tables of MAN_KEY_PLUGINS in
# place of its @MODULE_KEYS@ line, as `tickd --describe --man` prints them
$(BUILD)/man/tickd.ini.5: man/tickd.ini.5.in $(TICKD) $(MAN_KEY_PLUGINS:%=$(BUILD)/plugins/%.so)
	@mkdir -p $(dir $@)
	$(TICKD) --describe --man $(abspath $(MAN_KEY_PLUGINS:%=$(BUILD)/plugins/%.so)) > $@.keys
	awk -v keys='$@.keys' '/^\.\\" @MODULE_KEYS@$$/ { while ((getline l < keys) > 0) print l; next } { print }' \
	    man/tickd.ini.5.in > $@.tmp
	rm -f $@.keys && mv $@.tmp $@

# The built-in default configuration is $(SYSCONFDIR)/tickd/tickd.ini, as
# the unit's @SYSCONFDIR@. run.o depends on a stamp holding the value, so
# a build with another SYSCONFDIR recompiles it (and only it).
SYSCONF_STAMP := $(BUILD)/sysconfdir.stamp
$(shell mkdir -p '$(BUILD)' && { [ "$$(cat '$(SYSCONF_STAMP)' 2>/dev/null)" = '$(SYSCONFDIR)' ] || \
    printf '%s\n' '$(SYSCONFDIR)' > '$(SYSCONF_STAMP)'; })
# likewise PLUGINDIR, where `tickd --describe` looks without a config file
PLUGINDIR_STAMP := $(BUILD)/plugindir.stamp
$(shell { [ "$$(cat '$(PLUGINDIR_STAMP)' 2>/dev/null)" = '$(PLUGINDIR)' ] || \
    printf '%s\n' '$(PLUGINDIR)' > '$(PLUGINDIR_STAMP)'; })
$(BUILD)/obj/daemon/run.o: CFLAGS_ALL += -DTICKD_SYSCONFDIR='"$(SYSCONFDIR)"' \
    -DTICKD_DEFAULT_PLUGINDIR='"$(PLUGINDIR)"'
$(BUILD)/obj/daemon/run.o: $(SYSCONF_STAMP) $(PLUGINDIR_STAMP)
$(BUILD)/obj/daemon/run.o $(BUILD)/obj/daemon/control.o $(BUILD)/obj/daemon/ctl.o: \
    CFLAGS_ALL += -DTICKD_RUNSTATEDIR='"$(RUNSTATEDIR)"'

$(BUILD)/obj/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(INIH_CFLAGS) -c -o $@ $<

$(LIBTICK): $(ENGINE_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

# The daemon exports exactly the default-visibility tick_ symbols to
# plugins (-rdynamic + -fvisibility=hidden everywhere else).
$(TICKD): $(DAEMON_OBJ) $(LIBTICK)
	$(CC) $(LDFLAGS_ALL) -rdynamic -o $@ $(DAEMON_OBJ) -Wl,--whole-archive $(LIBTICK) -Wl,--no-whole-archive $(INIH_LIBS) $(SYS_LIBS)

# Plugins are built exactly as an outside author would: public headers
# only, symbols left undefined for the daemon to provide; libm is the
# plugin's own (the daemon does not link it: clang calls floor() where
# gcc inlines it, and the statsd plugin then failed to load).
$(BUILD)/plugins/%.so: $(wildcard plugins/*/*.c) $(wildcard plugins/*/*.h) $(wildcard include/tick/*.h)
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(OPT) $(DEBUG) $(WARN) -fPIC -shared -Iinclude $(CFLAGS) $(filter-out -fsanitize%,$(LDFLAGS)) \
	    -o $@ $(wildcard plugins/$*/*.c) -lm
	chmod 0755 $@

# Fixture plugins for the e2e error cases: tests/plugins/NAME/*.c built
# like real plugins into $(BUILD)/tests/plugins/NAME.so, plus notelf.so, a
# text file longer than an ELF header (so dlopen says "invalid ELF header",
# not "file too short"). Mode 0755 for files and directory alike: the
# daemon refuses modules writable by group or others.
TEST_PLUGINS   := $(notdir $(patsubst %/,%,$(sort $(dir $(wildcard tests/plugins/*/*.c)))))
TEST_PLUGIN_SO := $(TEST_PLUGINS:%=$(BUILD)/tests/plugins/%.so) $(BUILD)/tests/plugins/notelf.so

$(BUILD)/tests/plugins/notelf.so:
	@mkdir -p $(dir $@) && chmod 0755 $(dir $@)
	printf 'This is a text file named notelf.so, not a shared object.\nThe e2e tests expect dlopen to refuse it.\n' > $@
	chmod 0755 $@

$(BUILD)/tests/plugins/%.so: $(wildcard tests/plugins/*/*.c) $(wildcard include/tick/*.h)
	@mkdir -p $(dir $@) && chmod 0755 $(dir $@)
	$(CC) -std=gnu11 $(OPT) $(DEBUG) $(WARN) -fPIC -shared -Iinclude $(CFLAGS) $(filter-out -fsanitize%,$(LDFLAGS)) \
	    -o $@ $(wildcard tests/plugins/$*/*.c)
	chmod 0755 $@

$(BUILD)/examples/%: examples/%.c $(LIBTICK)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(LDFLAGS_ALL) $(LIBTICK) $(SYS_LIBS)

$(BUILD)/tests/%: tests/unit/%.c tests/unit/helpers.h $(LIBTICK)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(CHECK_CFLAGS) -Itests/unit -o $@ $< $(LDFLAGS_ALL) $(LIBTICK) $(CHECK_LIBS) $(SYS_LIBS)

# Unit tests of the daemon's own code (config, parsers, instances): linked
# like tickd (daemon objects except main.o, the whole engine, -rdynamic) so
# they can load the real plugins from $(BUILD)/plugins.
DAEMON_LIB_OBJ := $(filter-out $(BUILD)/obj/daemon/main.o,$(DAEMON_OBJ))
$(BUILD)/tests/test_daemon_%: tests/unit/test_daemon_%.c tests/unit/helpers.h $(DAEMON_LIB_OBJ) $(LIBTICK) $(PLUGIN_SO)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(CHECK_CFLAGS) -Itests/unit -DTICK_TEST_PLUGIN_DIR='"$(abspath $(BUILD))/plugins"' \
	    -rdynamic -o $@ $< $(LDFLAGS_ALL) $(DAEMON_LIB_OBJ) -Wl,--whole-archive $(LIBTICK) -Wl,--no-whole-archive \
	    $(INIH_LIBS) $(CHECK_LIBS) $(SYS_LIBS)

# The http plugin's request parser, alone: no tickd dependency, so it is
# linked with its source only (the generic rule above links libtick.a).
HTTP_PARSE := plugins/http/http_parse.c plugins/http/http_parse.h
$(BUILD)/tests/test_http_parse: tests/unit/test_http_parse.c tests/unit/helpers.h $(HTTP_PARSE)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(CHECK_CFLAGS) -Itests/unit -Iplugins/http -o $@ $< plugins/http/http_parse.c \
	    $(LDFLAGS_ALL) $(CHECK_LIBS) $(SYS_LIBS)

# The http plugin's pure parts (allow list, routes, replies): its own
# sources and libtick.a (the stream writes), not the daemon.
HTTP_PURE := plugins/http/allow.c plugins/http/routes.c plugins/http/reply.c
$(BUILD)/tests/test_http_plugin: tests/unit/test_http_plugin.c tests/unit/helpers.h $(HTTP_PURE) \
    plugins/http/http.h $(HTTP_PARSE) $(LIBTICK)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(CHECK_CFLAGS) -Itests/unit -Iplugins/http -o $@ $< $(HTTP_PURE) \
	    $(LDFLAGS_ALL) $(LIBTICK) $(CHECK_LIBS) $(SYS_LIBS)
# The exec plugin's Prometheus text parser, alone (as test_http_parse).
PROMTEXT := plugins/exec/promtext.c plugins/exec/promtext.h
$(BUILD)/tests/test_promtext: tests/unit/test_promtext.c tests/unit/helpers.h $(PROMTEXT)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(CHECK_CFLAGS) -Itests/unit -Iplugins/exec -o $@ $< plugins/exec/promtext.c \
	    $(LDFLAGS_ALL) $(CHECK_LIBS) $(SYS_LIBS) -lm

# The statsd plugin's line parser, alone (like http_parse).
STATSD_PARSE := plugins/statsd/statsd_parse.c plugins/statsd/statsd_parse.h
$(BUILD)/tests/test_statsd_parse: tests/unit/test_statsd_parse.c tests/unit/helpers.h $(STATSD_PARSE)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(CHECK_CFLAGS) -Itests/unit -Iplugins/statsd -o $@ $< plugins/statsd/statsd_parse.c \
	    $(LDFLAGS_ALL) $(CHECK_LIBS) $(SYS_LIBS) -lm

# Its series table, on the real metrics API: the parser, the table, libtick.a.
STATSD_AGG := plugins/statsd/statsd_agg.c plugins/statsd/statsd_agg.h $(STATSD_PARSE)
$(BUILD)/tests/test_statsd_agg: tests/unit/test_statsd_agg.c tests/unit/helpers.h $(STATSD_AGG) $(LIBTICK)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(CHECK_CFLAGS) -Itests/unit -Iplugins/statsd -o $@ $< plugins/statsd/statsd_agg.c \
	    plugins/statsd/statsd_parse.c $(LDFLAGS_ALL) $(LIBTICK) $(CHECK_LIBS) $(SYS_LIBS) -lm

# The kv plugin's keyspace (db.c, dict.c), alone: its memory accounting.
KV_DB := plugins/kv/db.c plugins/kv/dict.c plugins/kv/db.h plugins/kv/dict.h plugins/kv/mem.h
$(BUILD)/tests/test_kv_db: tests/unit/test_kv_db.c tests/unit/helpers.h $(KV_DB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(CHECK_CFLAGS) -Itests/unit -Iplugins/kv -o $@ $< plugins/kv/db.c \
	    plugins/kv/dict.c $(LDFLAGS_ALL) $(CHECK_LIBS) $(SYS_LIBS)

# the daemon OOM walk's reload also restarts a stateful instance
$(BUILD)/tests/test_daemon_oom_walk: $(BUILD)/tests/plugins/stateful.so

$(BUILD)/tests/e2e_%: tests/e2e/%.c $(wildcard tests/e2e/*.h) $(wildcard include/tick/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(CHECK_CFLAGS) -Itests/e2e -o $@ $< $(LDFLAGS_ALL) $(CHECK_LIBS) $(SYS_LIBS)

deps-build:
	@tools/deps.sh build
deps-check:
	@tools/deps.sh check
deps-bench:
	@tools/deps.sh bench
deps-fuzz:
	@tools/deps.sh fuzz

# Parsers are fuzzed: tests/fuzz/fuzz_NAME.c is a libFuzzer harness, built
# with clang (ASan+UBSan, every report fatal) together with the sources
# it needs (FUZZ_SRC_NAME, compiled straight in), then run FUZZ_SECS
# seconds from the seeds in tests/fuzz/corpus/NAME/ (read only: new
# inputs go to $(BUILD)/fuzz/corpus/NAME). A crash, a leak, a sanitizer
# report or a 10 s input fails the target and leaves the input in
# $(BUILD)/fuzz/ (rerun: $(BUILD)/fuzz/fuzz_NAME FILE). Not part of check.
FUZZ_SECS  ?= 60
FUZZ_CC    ?= clang
FUZZ_CFLAGS := -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
               $(WARN) -D_GNU_SOURCE -Iinclude -Idaemon -Idaemon/engine -Itests/fuzz \
               -DTICKD_VERSION='"$(VERSION)"'
FUZZERS    := $(basename $(notdir $(wildcard tests/fuzz/fuzz_*.c)))
FUZZ_BIN   := $(FUZZERS:%=$(BUILD)/fuzz/%)
FUZZ_LOG_SRC := daemon/log.c daemon/logbuf.c $(ENGINE_SRC)
FUZZ_SRC_fuzz_parse    := daemon/parse.c
FUZZ_SRC_fuzz_watchdog := daemon/notify.c $(FUZZ_LOG_SRC)
FUZZ_SRC_fuzz_elf      := daemon/elfcheck.c daemon/engine/alloc.c
FUZZ_SRC_fuzz_config   := daemon/config.c daemon/parse.c $(FUZZ_LOG_SRC)
FUZZ_LIBS_fuzz_config  := $(INIH_CFLAGS) $(INIH_LIBS)
FUZZ_SRC_fuzz_control  := daemon/ctlproto.c
FUZZ_SRC_fuzz_http     := plugins/http/http_parse.c
FUZZ_SRC_fuzz_http_allow := plugins/http/allow.c
FUZZ_SRC_fuzz_promtext := plugins/exec/promtext.c
FUZZ_SRC_fuzz_statsd   := plugins/statsd/statsd_parse.c
# kv: the RESP parser; the AOF loader with the commands (SDK calls stubbed)
FUZZ_SRC_fuzz_resp     := plugins/kv/resp.c
FUZZ_SRC_fuzz_aof      := plugins/kv/aof_replay.c plugins/kv/resp.c plugins/kv/dict.c \
                          plugins/kv/db.c plugins/kv/glob.c plugins/kv/out.c plugins/kv/cmd.c \
                          plugins/kv/cmd_str.c plugins/kv/cmd_keys.c plugins/kv/cmd_coll.c \
                          plugins/kv/cmd_server.c plugins/kv/cmd_table.c plugins/kv/cmd_command.c

define FUZZ_RULE
$(BUILD)/fuzz/$(1): tests/fuzz/$(1).c tests/fuzz/fuzz.h $(HEADERS) $(FUZZ_SRC_$(1))
	@mkdir -p $$(dir $$@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $$@ tests/fuzz/$(1).c $(FUZZ_SRC_$(1)) $(FUZZ_LIBS_$(1)) $(SYS_LIBS)
endef
$(foreach f,$(FUZZERS),$(eval $(call FUZZ_RULE,$(f))))
$(BUILD)/fuzz/fuzz_http: plugins/http/http_parse.h
$(BUILD)/fuzz/fuzz_http_allow: plugins/http/http.h
$(BUILD)/fuzz/fuzz_promtext: plugins/exec/promtext.h
$(BUILD)/fuzz/fuzz_statsd: plugins/statsd/statsd_parse.h
$(BUILD)/fuzz/fuzz_resp $(BUILD)/fuzz/fuzz_aof: $(wildcard plugins/kv/*.h)

fuzz: deps-fuzz $(FUZZ_BIN)
	@for f in $(FUZZERS); do \
	    name=$${f#fuzz_}; work='$(BUILD)/fuzz/corpus/'$$name; log='$(BUILD)/fuzz/'$$f.log; \
	    mkdir -p "$$work"; \
	    echo "fuzz: $$f, $(FUZZ_SECS) s (log: $$log)"; \
	    if ! '$(BUILD)/fuzz/'$$f -max_total_time=$(FUZZ_SECS) -timeout=10 -print_final_stats=1 \
	            -artifact_prefix='$(BUILD)/fuzz/'$$f- "$$work" tests/fuzz/corpus/$$name > "$$log" 2>&1; then \
	        tail -n 60 "$$log"; echo "fuzz: $$f FAILED (input saved as $(BUILD)/fuzz/$$f-*)"; exit 1; \
	    fi; \
	    grep -E '^#[0-9]+[[:space:]]+DONE |^Done [0-9]+ runs' "$$log" | sed "s/^/  $$f: /"; \
	done

# Each test binary is run on its own so one crash names its file.
unit: $(UNIT_BIN)
	@tools/run-tests.sh $(UNIT_BIN)

e2e: all $(E2E_BIN) $(TEST_PLUGIN_SO)
	@TICKD=$(abspath $(TICKD)) TICK_PLUGINS=$(abspath $(BUILD)/plugins) \
	    TICK_SRC=$(abspath .) \
	    TICKD_SYSCONFDIR='$(SYSCONFDIR)' tools/run-tests.sh $(E2E_BIN)

san-unit:
	$(MAKE) BUILD=build/san SAN=1 unit

# the real daemon built with ASan+UBSan, driven by the same e2e suites
san-e2e:
	$(MAKE) BUILD=build/san SAN=1 e2e

check: deps-check
	$(MAKE) all
	$(MAKE) unit
	$(MAKE) e2e
	$(MAKE) san-unit
	$(MAKE) san-e2e
ifneq ($(CHECK_SYSTEMD),no)
	$(MAKE) check-systemd
endif

# tickd under a real systemd 252: a Debian 12 container booted with
# systemd-nspawn (root only; skips with the reason otherwise). The last
# stage of `make check` (CHECK_SYSTEMD=no leaves it out): about 15 s, plus
# about a minute the first time, when debootstrap makes the container's
# root in /var/tmp/tickd-nspawn (TICKD_NSPAWN_ROOT).
check-systemd: all
	@tools/check-systemd.sh $(BUILD)

run: deps-build all
	@echo 'make run: http on http://127.0.0.1:7464/ (/metrics, /status, /healthz; conf/tickd.ini)'
	$(TICKD) -c conf/tickd.ini

bench: deps-bench all
	$(MAKE) -C bench BUILD=$(abspath $(BUILD))/bench TOP=$(abspath .)

# Before/after in interleaved pairs: BASE (a commit, default HEAD~1) is
# checked out and built under build/base, then bench/compare.sh runs both.
BASE ?= HEAD~1
bench-compare: deps-bench all
	$(MAKE) -C bench BUILD=$(abspath $(BUILD))/bench TOP=$(abspath .) build
	rm -rf build/base && git worktree prune && git worktree add --detach build/base $(BASE)
	$(MAKE) -C build/base all
	$(MAKE) -C build/base/bench BUILD=$(abspath build/base/build)/bench TOP=$(abspath build/base) build
	bench/compare.sh $(abspath build/base/build) $(abspath $(BUILD))
	git worktree remove --force build/base

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(PLUGINDIR) $(DESTDIR)$(INCDIR)/tick \
	    $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(SYSCONFDIR)/tickd/conf.d $(DESTDIR)$(UNITDIR)
	install -m 0755 $(TICKD) $(DESTDIR)$(BINDIR)/tickd
	install -m 0755 $(PLUGIN_SO) $(DESTDIR)$(PLUGINDIR)/
	install -m 0644 include/tick/*.h $(DESTDIR)$(INCDIR)/tick/
	# generated here, not at build time, so it always names this PREFIX
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@INCDIR@|$(INCDIR)|g' \
	    -e 's|@PLUGINDIR@|$(PLUGINDIR)|g' -e 's|@VERSION@|$(VERSION)|g' \
	    tickd.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/tickd.pc
	test -e $(DESTDIR)$(SYSCONFDIR)/tickd/tickd.ini || \
	    sed -e 's|^plugin_dir *=.*|plugin_dir = $(PLUGINDIR)|' conf/tickd.ini > $(DESTDIR)$(SYSCONFDIR)/tickd/tickd.ini
	sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' systemd/tickd.service.in \
	    > $(DESTDIR)$(UNITDIR)/tickd.service
	# socket activation: the socket unit (not enabled) and the sandbox
	# drop-in for it, to copy into /etc/systemd/system/tickd.service.d/
	install -m 0644 systemd/tickd.socket $(DESTDIR)$(UNITDIR)/tickd.socket
	install -D -m 0644 systemd/tickd-socket-activated.conf \
	    $(DESTDIR)$(DOCDIR)/systemd/tickd-socket-activated.conf
	# exec jobs: the drop-in that loosens the sandbox for common jobs
	install -D -m 0644 systemd/tickd-exec.conf $(DESTDIR)$(DOCDIR)/systemd/tickd-exec.conf
	# documentation: man pages, README.md and docs/
	install -d $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man3
	install -m 0644 man/tickd.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 $(BUILD)/man/tickd.ini.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 man/tick.3 $(DESTDIR)$(MANDIR)/man3/
	install -d $(DESTDIR)$(DOCDIR)
	install -m 0644 README.md $(DESTDIR)$(DOCDIR)/
	for f in $$(find docs -type f | sort); do \
	    install -D -m 0644 "$$f" "$(DESTDIR)$(DOCDIR)/$$f" || exit 1; done

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/tickd $(DESTDIR)$(PKGCONFIGDIR)/tickd.pc $(DESTDIR)$(UNITDIR)/tickd.service \
	    $(DESTDIR)$(UNITDIR)/tickd.socket
	rm -rf $(DESTDIR)$(PLUGINDIR) $(DESTDIR)$(INCDIR)/tick $(DESTDIR)$(DOCDIR)
	rm -f $(DESTDIR)$(MANDIR)/man8/tickd.8 $(DESTDIR)$(MANDIR)/man5/tickd.ini.5 \
	    $(DESTDIR)$(MANDIR)/man3/tick.3

clean:
	rm -rf build
