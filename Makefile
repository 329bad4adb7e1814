# diariemilter: one build for the daemon, the admin tool and the tests.
#
#   make            build diariemilter and diariectl
#   make check      install what is missing, build, run every test
#   make demo       install what is missing, run the demo on loopback
#   make corpus     grade against ../shared/corpus/dev (CORPUS=DIR for another)
#   make corpus-fit fit the rules' weights on every labelled set, print the
#                   leave-one-set-out figures (FIT=--write: into etc/rules.conf)
#   make bench      benchmarks (classification, memory, throughput)
#   make fuzz       a long libFuzzer run over parsing and extraction
#   make deb        the Debian package from a clean copy of the tree, its build
#                   dependencies installed when missing (build/deb/*.deb)
#   make install    install under $(DESTDIR)$(PREFIX); never overwrites a file
#                   under /etc (a new one that differs goes beside it as .dist)

PREFIX      ?= /usr/local
SYSCONFDIR  ?= /etc
SBINDIR     ?= $(PREFIX)/sbin
BINDIR      ?= $(PREFIX)/bin
MANDIR      ?= $(PREFIX)/share/man
# The attachment reader is looked for here by default ([mime] extractor):
# give the same PREFIX (or LIBEXECDIR) to the build and to "make install".
LIBEXECDIR  ?= $(PREFIX)/libexec
# The shipped rules, templates and schema; a file of the same name under
# SYSCONFDIR/diariemilter replaces the shipped one (common/dm_data.h).
DATADIR     ?= $(PREFIX)/share/diariemilter
VERSION     := 0.1.0
# The share of labelled corpus cases make check requires to pass: of the
# project's own sets, and of the shared sets (../shared/corpus/dev, dev2).
CORPUS_MIN_PASS ?= 1.0
CORPUS_SHARED_MIN_PASS ?= 0.98
export CORPUS_SHARED_MIN_PASS

BUILD       ?= build
V           ?= 0
ifeq ($(V),0)
Q           := @
SAY          = @printf '  %-6s %s\n'
else
Q           :=
SAY          = @true
endif
CC          ?= cc
PKGS        := gmime-3.0 glib-2.0 gio-2.0 json-glib-1.0 libcrypto ldap sqlite3 libxml-2.0 libpq \
               libcurl libsystemd

# Evaluated when used, so that a build started by "make check" after
# scripts/deps.sh installed the libraries finds them.
PKG_CFLAGS   = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS     = $(shell pkg-config --libs $(PKGS))
LIBS         = $(PKG_LIBS) -lmilter -lstemmer -lpthread -lm

WARN        := -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wstrict-prototypes \
               -Wmissing-prototypes -Wno-unused-parameter
CSTD        := -std=c11 -D_GNU_SOURCE
OPT         ?= -O2 -g
MODULES     := common model metrics policy mime ldap store deliver engine extract
INCLUDES    := $(addprefix -I,$(MODULES) milter)
CFLAGS_ALL   = $(CSTD) $(OPT) $(WARN) $(INCLUDES) $(PKG_CFLAGS) \
               -DDM_VERSION='"$(VERSION)"' -DDM_SYSCONFDIR='"$(SYSCONFDIR)"' \
               -DDM_LIBEXECDIR='"$(LIBEXECDIR)/diariemilter"' -DDM_DATADIR='"$(DATADIR)"' $(CFLAGS)

LIB_SRCS    := $(foreach m,$(MODULES),$(wildcard $(m)/*.c))
MILTER_SRCS := $(wildcard milter/*.c)
CTL_SRCS    := $(wildcard ctl/*.c)

LIB_OBJS    := $(LIB_SRCS:%.c=$(BUILD)/%.o)
MILTER_OBJS := $(MILTER_SRCS:%.c=$(BUILD)/%.o)
CTL_OBJS    := $(CTL_SRCS:%.c=$(BUILD)/%.o)
LIBDM       := $(BUILD)/libdiarie.a

# Unit tests: tests/unit/test_NAME.c, each its own program, built and
# run under AddressSanitizer and UndefinedBehaviorSanitizer.
SAN         := $(BUILD)/san
SANFLAGS    := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
UNIT_SRCS   := $(wildcard tests/unit/test_*.c)
UNIT_BINS   := $(UNIT_SRCS:tests/unit/%.c=$(SAN)/%)
SAN_LIB_OBJS := $(LIB_SRCS:%.c=$(SAN)/%.o)

HELPERS     := $(BUILD)/acceptall-milter
# The attachment reader, built beside the daemon (see below).
EXTRACTOR   := $(BUILD)/diariemilter-extract

# Keep the sanitizer objects between test links.
.SECONDARY:

.PHONY: all deps check check-run unit milter-test ldap-test e2e-test docs-test ops-test mime-test \
        attach-test fuzz-test corpus corpus-run demo demo-run bench bench-run bench-store fuzz \
        install deb deb-test clean distclean FORCE

all: $(BUILD)/diariemilter $(BUILD)/diariectl $(EXTRACTOR)

deps:
	@./scripts/deps.sh

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(SAY) CC $<
	$(Q)$(CC) $(CFLAGS_ALL) -MMD -MP -c -o $@ $<

# The reader's default path is compiled into the pool: rebuild it when
# LIBEXECDIR (or PREFIX) changes between builds.
$(BUILD)/.libexecdir: FORCE
	@mkdir -p $(BUILD)
	@echo '$(LIBEXECDIR)' | cmp -s - $@ || echo '$(LIBEXECDIR)' >$@
$(BUILD)/extract/dm_extract_pool.o: $(BUILD)/.libexecdir
# The same for the shipped directory (common/dm_data.c).
$(BUILD)/.datadir: FORCE
	@mkdir -p $(BUILD)
	@echo '$(DATADIR)' | cmp -s - $@ || echo '$(DATADIR)' >$@
$(BUILD)/common/dm_data.o: $(BUILD)/.datadir
FORCE:

$(LIBDM): $(LIB_OBJS)
	@rm -f $@
	$(SAY) AR $@
	$(Q)ar rcs $@ $^

$(BUILD)/diariemilter: $(MILTER_OBJS) $(LIBDM)
	$(SAY) LINK $@
	$(Q)$(CC) $(LDFLAGS) -o $@ $(MILTER_OBJS) $(LIBDM) $(LIBS)

$(BUILD)/diariectl: $(CTL_OBJS) $(LIBDM)
	$(SAY) LINK $@
	$(Q)$(CC) $(LDFLAGS) -o $@ $(CTL_OBJS) $(LIBDM) $(LIBS)

# The attachment reader (extract/worker/): a program of its own, the only
# one linked with the document libraries.  It shares with the daemon only
# the wire format, the format detection and the charset conversion.
WORKER_PKGS := poppler-glib libarchive libxml-2.0 libseccomp libytnef glib-2.0
WORKER_CFLAGS = $(shell pkg-config --cflags $(WORKER_PKGS)) -Iextract/worker
WORKER_LIBS  = $(shell pkg-config --libs $(WORKER_PKGS))
WORKER_SRCS := $(wildcard extract/worker/*.c)
WORKER_MAIN := extract/worker/dm_extract_main.c
WORKER_SHARED := common/dm_utf8.c extract/dm_extract_proto.c extract/dm_extract_detect.c
WORKER_OBJS := $(WORKER_SRCS:%.c=$(BUILD)/%.o) $(WORKER_SHARED:%.c=$(BUILD)/%.o)

$(BUILD)/extract/worker/%.o: extract/worker/%.c
	@mkdir -p $(dir $@)
	$(SAY) CC $<
	$(Q)$(CC) $(CFLAGS_ALL) $(WORKER_CFLAGS) -MMD -MP -c -o $@ $<

$(EXTRACTOR): $(WORKER_OBJS)
	$(SAY) LINK $@
	$(Q)$(CC) $(LDFLAGS) -o $@ $(WORKER_OBJS) $(WORKER_LIBS)

# The same worker without its seccomp filter: what tests/attach/run.sh
# traces to list the system calls reading needs.  Never installed.
$(BUILD)/diariemilter-extract-trace: $(WORKER_OBJS) extract/worker/dm_extract_main.c
	$(SAY) LINK $@
	$(Q)$(CC) $(CFLAGS_ALL) $(WORKER_CFLAGS) -DDM_EXTRACT_TRACE -o $@ $(WORKER_MAIN) \
	    $(filter-out $(BUILD)/$(WORKER_MAIN:.c=.o),$(WORKER_OBJS)) $(WORKER_LIBS)

# The benchmark's accept-everything baseline milter.
$(BUILD)/acceptall-milter: tests/lib/acceptall-milter.c
	$(SAY) LINK $@
	$(Q)$(CC) $(CSTD) $(OPT) $(WARN) -o $@ $< -lmilter -lpthread

# --- tests -----------------------------------------------------------------

$(SAN)/%.o: %.c
	@mkdir -p $(dir $@)
	$(SAY) CC-SAN $<
	$(Q)$(CC) $(CFLAGS_ALL) $(SANFLAGS) -MMD -MP -c -o $@ $<

$(SAN)/test_%: tests/unit/test_%.c $(wildcard tests/unit/dm_test*.h) $(SAN_LIB_OBJS)
	@mkdir -p $(dir $@)
	$(SAY) LINK $@
	$(Q)$(CC) $(CFLAGS_ALL) $(SANFLAGS) -Itests/unit -o $@ $< $(SAN_LIB_OBJS) $(LIBS) -lcmocka

# The attachment readers, in-process under the sanitizers (no sandbox).
SAN_WORKER_OBJS := $(filter-out $(SAN)/$(WORKER_MAIN:.c=.o),$(WORKER_OBJS:$(BUILD)/%=$(SAN)/%))

$(SAN)/extract/worker/%.o: extract/worker/%.c
	@mkdir -p $(dir $@)
	$(SAY) CC-SAN $<
	$(Q)$(CC) $(CFLAGS_ALL) $(WORKER_CFLAGS) $(SANFLAGS) -MMD -MP -c -o $@ $<

$(SAN)/test_extract_worker: tests/unit/test_extract_worker.c tests/unit/dm_test.h $(SAN_WORKER_OBJS)
	@mkdir -p $(dir $@)
	$(SAY) LINK $@
	$(Q)$(CC) $(CFLAGS_ALL) $(WORKER_CFLAGS) $(SANFLAGS) -Itests/unit -o $@ $< $(SAN_WORKER_OBJS) \
	    $(WORKER_LIBS) -lcmocka

# A stand-in for the reader that misbehaves on request (tests of the pool).
$(BUILD)/extract-fake: tests/unit/extract_fake.c $(BUILD)/extract/dm_extract_proto.o
	$(SAY) LINK $@
	$(Q)$(CC) $(CFLAGS_ALL) -o $@ $< $(BUILD)/extract/dm_extract_proto.o $(PKG_LIBS)

# Attachments made by tests/attach/make-fixtures.py (python3-cairo, qpdf):
# generated at test time, never committed.
PYTHON3     ?= /usr/bin/python3
ATTACH      := $(BUILD)/attach
$(ATTACH)/expect.tsv: tests/attach/make-fixtures.py tests/attach/cases.tsv tests/attach/affairs.tsv \
                     tests/heldout/attach/cases.tsv
	$(SAY) GEN $(ATTACH)
	$(Q)$(PYTHON3) tests/attach/make-fixtures.py $(ATTACH)

unit: $(UNIT_BINS) $(EXTRACTOR) $(BUILD)/extract-fake $(ATTACH)/expect.tsv
	@set -e; for t in $(UNIT_BINS); do \
	    echo "== $$t"; \
	    DM_SRCDIR=$(CURDIR) DM_BUILD=$(abspath $(BUILD)) ASAN_OPTIONS=detect_leaks=1 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    G_SLICE=always-malloc G_DEBUG=gc-friendly $$t; \
	done

milter-test: all
	@tests/milter/run.sh

# A long-lived dm_ldap driven by tests/ldap/lookup.sh.
$(BUILD)/ldaptest: tests/ldap/ldaptest.c $(LIBDM)
	$(SAY) LINK $@
	$(Q)$(CC) $(CFLAGS_ALL) -o $@ $< $(LIBDM) $(LIBS)

# A search that "succeeds" with no answer (LD_PRELOAD in lookup.sh).
$(BUILD)/search_incomplete.so: tests/ldap/search_incomplete.c
	$(SAY) LINK $@
	$(Q)$(CC) $(CFLAGS_ALL) -shared -fPIC -o $@ $<

ldap-test: all $(BUILD)/ldaptest $(BUILD)/search_incomplete.so
	@tests/ldap/run.sh

# Every message of a corpus through extraction (tests/mime/).
$(BUILD)/extract_all: tests/mime/extract_all.c $(LIBDM)
	$(SAY) LINK $@
	$(Q)$(CC) $(CFLAGS_ALL) -o $@ $< $(LIBDM) $(LIBS)

# What reading and copying a large spilled message costs (bench/memory.sh).
$(BUILD)/mime_memory: tests/mime/memory.c $(LIBDM)
	$(SAY) LINK $@
	$(Q)$(CC) $(CFLAGS_ALL) -o $@ $< $(LIBDM) $(LIBS)

# What the store costs one message (bench/store.c, make bench-store).
$(BUILD)/store_bench: bench/store.c $(LIBDM)
	$(SAY) LINK $@
	$(Q)$(CC) $(CFLAGS_ALL) -o $@ $< $(LIBDM) $(LIBS)

# What reading attachments costs beside GMime's parse (bench/attach.sh).
$(BUILD)/attach_bench: tests/attach/attach_bench.c $(LIBDM)
	$(SAY) LINK $@
	$(Q)$(CC) $(CFLAGS_ALL) -o $@ $< $(LIBDM) $(LIBS)

mime-test: all $(BUILD)/extract_all
	@tests/mime/run.sh

# Attachments: the sandbox's system calls, hostile files through
# classification, memory and deadlines (tests/attach/run.sh).
attach-test: all $(BUILD)/diariemilter-extract-trace $(ATTACH)/expect.tsv
	@tests/attach/run.sh

# libFuzzer over parsing and extraction (tests/fuzz/): the library again,
# built by clang with the fuzzer's coverage and ASan/UBSan.
FUZZ        := $(BUILD)/fuzz
FUZZ_CC     ?= clang
FUZZ_SAN    := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS  = $(CSTD) -g -O1 $(INCLUDES) $(PKG_CFLAGS) -DDM_VERSION='"$(VERSION)"' \
               -DDM_SYSCONFDIR='"$(SYSCONFDIR)"' $(FUZZ_SAN)
FUZZ_LIB_OBJS := $(LIB_SRCS:%.c=$(FUZZ)/obj/%.o)

$(FUZZ)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(SAY) CC-FUZZ $<
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

$(FUZZ)/libdiarie.a: $(FUZZ_LIB_OBJS)
	@rm -f $@
	$(Q)ar rcs $@ $^

$(FUZZ)/fuzz_extract: tests/fuzz/fuzz_extract.c $(FUZZ)/libdiarie.a
	$(SAY) LINK $@
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ)/libdiarie.a $(LIBS)

# The worker's request handling, in-process and without the sandbox.
FUZZ_WORKER_OBJS := $(filter-out $(FUZZ)/obj/$(WORKER_MAIN:.c=.o),$(WORKER_OBJS:$(BUILD)/%=$(FUZZ)/obj/%))

$(FUZZ)/obj/extract/worker/%.o: extract/worker/%.c
	@mkdir -p $(dir $@)
	$(SAY) CC-FUZZ $<
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) $(WORKER_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

$(FUZZ)/fuzz_worker: tests/fuzz/fuzz_worker.c $(FUZZ_WORKER_OBJS)
	$(SAY) LINK $@
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) $(WORKER_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_WORKER_OBJS) \
	    $(WORKER_LIBS)

# The metrics listener's request line (tests/fuzz/fuzz_metrics.c).
$(FUZZ)/fuzz_metrics: tests/fuzz/fuzz_metrics.c $(FUZZ)/libdiarie.a
	$(SAY) LINK $@
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ)/libdiarie.a $(LIBS)

fuzz-test: $(FUZZ)/fuzz_extract $(FUZZ)/fuzz_worker $(FUZZ)/fuzz_metrics $(ATTACH)/expect.tsv
	@tests/fuzz/run.sh short
	@mkdir -p $(FUZZ)/crashes-metrics
	@$(FUZZ)/fuzz_metrics -max_total_time=10 -max_len=1024 -artifact_prefix=$(FUZZ)/crashes-metrics/ \
	    -dict=tests/fuzz/metrics.dict 2>$(FUZZ)/fuzz_metrics.log || \
	    { tail -30 $(FUZZ)/fuzz_metrics.log; exit 1; }
	@echo "ok   fuzz_metrics: $$(grep -o 'Done [0-9]* runs' $(FUZZ)/fuzz_metrics.log)"

e2e-test: all $(ATTACH)/expect.tsv
	@tests/e2e/run.sh
	@tests/e2e/duties.sh
	@tests/e2e/answers.sh
	@tests/e2e/delivery.sh
	@tests/e2e/sendmail.sh
	@tests/e2e/privileges.sh
	@tests/e2e/directory.sh
	@tests/e2e/auth.sh
	@tests/e2e/readers.sh
	@tests/e2e/shared.sh
	@tests/e2e/metrics.sh
	@tests/e2e/attach.sh

# Operations (issue 18): -n's refusals, the sample from a checkout,
# make install beside an edited /etc, the log reopened after rotation,
# scripts/deps.sh quiet, the schema's need of misc said, diariectl as root.
ops-test: all
	@tests/ops/run.sh

# The Debian package built, linted, installed, run with Postfix and
# Sendmail, rotated and purged (tests/deb/install.sh; root, else a skip).
deb-test:
	@tests/deb/install.sh; rc=$$?; [ $$rc -eq 0 ] || [ $$rc -eq 77 ]

docs-test:
	@docs/check.sh
	@BUILD=$(BUILD) docs/layout.sh

corpus-run: all
	@tests/corpus/run.sh $(CORPUS)

check: deps
	@$(MAKE) --no-print-directory check-run

check-run: all $(BUILD)/store_bench unit milter-test ldap-test e2e-test docs-test ops-test mime-test \
           attach-test fuzz-test deb-test $(ATTACH)/expect.tsv
	@CORPUS_MIN_PASS=$(CORPUS_MIN_PASS) tests/corpus/run.sh --check
	@echo "== make check: all tests passed"

corpus: deps
	@$(MAKE) --no-print-directory corpus-run CORPUS=$(CORPUS)

.PHONY: corpus-fit corpus-fit-run
corpus-fit: deps
	@$(MAKE) --no-print-directory corpus-fit-run FIT="$(FIT)"

corpus-fit-run: all $(ATTACH)/expect.tsv
	@tests/corpus/fit.sh $(FIT)

demo: deps
	@$(MAKE) --no-print-directory demo-run

demo-run: all
	@scripts/demo.sh

bench: deps
	@$(MAKE) --no-print-directory bench-run

bench-run: all $(BUILD)/mime_memory $(BUILD)/attach_bench $(HELPERS) $(ATTACH)/expect.tsv
	@bench/run.sh

# The store alone, in memory (its CPU) and on disk (with the fsync).
bench-store: all $(BUILD)/store_bench
	@set -e; for dir in /dev/shm $${TMPDIR:-/tmp}; do \
	    db=$$(mktemp -u $$dir/store-bench.XXXXXX); \
	    printf '%-10s ' $$dir; $(BUILD)/store_bench $$db.db 5000; \
	    rm -f $$db.db $$db.db-wal $$db.db-shm; \
	done

fuzz: deps
	@$(MAKE) --no-print-directory $(FUZZ)/fuzz_extract $(FUZZ)/fuzz_worker $(ATTACH)/expect.tsv
	@tests/fuzz/run.sh long

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(SYSCONFDIR)/diariemilter \
	    $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5
	install -m 0755 $(BUILD)/diariemilter $(DESTDIR)$(SBINDIR)/diariemilter
	install -m 0755 $(BUILD)/diariectl $(DESTDIR)$(BINDIR)/diariectl
	install -d $(DESTDIR)$(LIBEXECDIR)/diariemilter
	install -m 0755 $(EXTRACTOR) $(DESTDIR)$(LIBEXECDIR)/diariemilter/diariemilter-extract
	@# /etc holds what a site overrides: the configuration, never over an
	@# admin's edit (a file that differs gets FILE.dist beside it).  The
	@# rules and templates are shipped under DATADIR; a site file of the
	@# same name under /etc/diariemilter replaces the shipped one.
	scripts/install-etc.sh etc/diariemilter.conf $(DESTDIR)$(SYSCONFDIR)/diariemilter
	install -d $(DESTDIR)$(DATADIR)
	cp -R --no-preserve=ownership etc/rules.conf etc/rules etc/templates etc/ldap \
	    $(DESTDIR)$(DATADIR)/
	chmod -R u=rwX,go=rX $(DESTDIR)$(DATADIR)
	install -m 0644 docs/diariemilter.8 docs/diariectl.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 docs/diariemilter.conf.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 etc/diarie.schema.json $(DESTDIR)$(DATADIR)/
	install -d $(DESTDIR)$(PREFIX)/share/doc/diariemilter/examples
	install -m 0644 packaging/diariemilter-reminders.service packaging/diariemilter-reminders.timer \
	    packaging/diariemilter-digest.service packaging/diariemilter-digest.timer \
	    $(DESTDIR)$(PREFIX)/share/doc/diariemilter/examples/
	install -m 0644 etc/diariemilter-openldap.conf etc/diariemilter-ad.conf \
	    packaging/diariemilter.service packaging/sendmail/diariemilter.m4 \
	    packaging/monitoring/diariemilter-alerts.yml \
	    packaging/monitoring/diariemilter-dashboard.json \
	    packaging/logrotate/diariemilter \
	    $(DESTDIR)$(PREFIX)/share/doc/diariemilter/examples/

# Never in this tree: scripts/deb.sh copies the tracked files into
# $(BUILD)/deb/src and runs dpkg-buildpackage there.
deb:
	@scripts/deb.sh $(BUILD)/deb

clean:
	rm -rf $(BUILD)

distclean: clean

-include $(LIB_OBJS:.o=.d) $(MILTER_OBJS:.o=.d) $(CTL_OBJS:.o=.d) $(SAN_LIB_OBJS:.o=.d) \
         $(FUZZ_LIB_OBJS:.o=.d) $(WORKER_OBJS:.o=.d) $(SAN_WORKER_OBJS:.o=.d) \
         $(FUZZ_WORKER_OBJS:.o=.d)
