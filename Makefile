# vss — volume shadow copies for Linux.  One non-recursive GNU Makefile.
#
#   make                 build the library and the tools
#   make check           install missing packages, build, run every test
#   make demo            shadow copies of live volumes on scratch loop devices (root)
#   make help            all targets

VERSION      := 0.1.0
SOVERSION    := 1
# The real file name of the shared library: SONAME major, then minor and
# patch of the ABI (not the package version).
LIBVERSION   := $(SOVERSION).0.0

prefix       ?= /usr/local
exec_prefix  ?= $(prefix)
bindir       ?= $(exec_prefix)/bin
libdir       ?= $(exec_prefix)/lib
includedir   ?= $(prefix)/include
datarootdir  ?= $(prefix)/share
mandir       ?= $(datarootdir)/man
bashcompdir  ?= $(datarootdir)/bash-completion/completions
zshcompdir   ?= $(datarootdir)/zsh/vendor-completions
pkgconfigdir ?= $(libdir)/pkgconfig
schemadir    ?= $(datarootdir)/vss/schema
DESTDIR      ?=

CC           ?= cc
AR           ?= ar
PKG_CONFIG   ?= pkg-config
INSTALL      ?= install

# Sanitised builds live apart, so switching SANITIZE on or off never mixes
# objects built with different flags.
B := build$(if $(SANITIZE),-sanitize)

ifeq ($(V),1)
Q :=
else
Q := @
endif

LIB_PKGS  := libxml-2.0 blkid mount uuid
TOOL_PKGS := smartcols
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(LIB_PKGS) $(TOOL_PKGS) 2>/dev/null)
PKG_LIBS   := $(shell $(PKG_CONFIG) --libs $(LIB_PKGS) 2>/dev/null) -lbtrfsutil
TOOL_LIBS  := $(shell $(PKG_CONFIG) --libs $(TOOL_PKGS) 2>/dev/null)
CMOCKA_LIBS := $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null || echo -lcmocka)

WARNINGS := -Wall -Wextra -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes \
	    -Wold-style-definition -Wvla -Wwrite-strings -fno-common \
	    -Wno-missing-field-initializers
ifneq ($(CI),)
WARNINGS += -Werror
endif
ifneq ($(WERROR),)
WARNINGS += -Werror
endif

ifneq ($(SANITIZE),)
SAN_FLAGS := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
endif

BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -g -O2 $(WARNINGS) $(SAN_FLAGS) \
	       -Ilib/include -Ilib -MMD -MP $(PKG_CFLAGS)
ALL_CFLAGS  := $(BASE_CFLAGS) $(CFLAGS)
ALL_LDFLAGS := $(SAN_FLAGS) $(LDFLAGS)

# ---- sources -------------------------------------------------------------

UTIL_SRC := $(wildcard lib/util/*.c)
LIB_SRC  := $(wildcard lib/*.c)
SCHEMAS  := $(wildcard lib/schema/*.rng)
TOOLS    := vss-create vss-list vss-delete vss-meta vss-sample-writer vss-expose vss-revert vss-restore
COMMON_SRC := $(wildcard cmd/common/*.c)
UNIT_SRC := $(wildcard tests/unit/test-*.c)
TESTTOOL_SRC := $(wildcard tests/tools/*.c)

UTIL_OBJ  := $(UTIL_SRC:%.c=$(B)/pic/%.o)
LIB_PIC   := $(LIB_SRC:%.c=$(B)/pic/%.o) $(B)/pic/lib/schema-data.o
LIB_STATIC := $(LIB_SRC:%.c=$(B)/static/%.o) $(B)/static/lib/schema-data.o
UTIL_STATIC := $(UTIL_SRC:%.c=$(B)/static/%.o)
COMMON_OBJ := $(COMMON_SRC:%.c=$(B)/static/%.o)

SONAME   := libvss.so.$(SOVERSION)
LIB_SO   := $(B)/lib/libvss.so.$(LIBVERSION)
LIB_A    := $(B)/lib/libvss.a
UTIL_A   := $(B)/lib/libvss-util.a
TOOL_BIN := $(TOOLS:%=$(B)/bin/%)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
TESTTOOL_BIN := $(TESTTOOL_SRC:tests/tools/%.c=$(B)/tests/tools/%)

.PHONY: all lib tools tests deps check check-unit check-cli check-integration \
	check-docs demo bench install uninstall clean help fuzz
.DEFAULT_GOAL := all

all: lib tools

lib: $(LIB_SO) $(LIB_A) $(B)/lib/vss.pc
tools: $(TOOL_BIN)
tests: $(UNIT_BIN) $(TESTTOOL_BIN)

# ---- compile ---------------------------------------------------------------

$(B)/pic/lib/%.o: lib/%.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -fPIC -fvisibility=hidden -DVSS_BUILDING_LIBRARY -c -o $@ $<

$(B)/static/lib/%.o: lib/%.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $< (static)")
	$(Q)$(CC) $(ALL_CFLAGS) -fPIC -fvisibility=hidden -DVSS_BUILDING_LIBRARY -c -o $@ $<

$(B)/static/%.o: %.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

# Schemas are compiled into the library, so validation never depends on
# where (or whether) the data files were installed.
$(B)/gen/schema-data.c: $(SCHEMAS) scripts/embed-schemas.sh
	@mkdir -p $(@D)
	$(Q)sh scripts/embed-schemas.sh $(SCHEMAS) > $@.tmp && mv $@.tmp $@

$(B)/pic/lib/schema-data.o $(B)/static/lib/schema-data.o: $(B)/gen/schema-data.c
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -fPIC -fvisibility=hidden -DVSS_BUILDING_LIBRARY -c -o $@ $<

# ---- link ------------------------------------------------------------------

$(UTIL_A): $(UTIL_STATIC)
	@mkdir -p $(@D)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(LIB_SO): $(LIB_PIC) $(UTIL_STATIC) lib/libvss.sym
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=lib/libvss.sym \
		-Wl,--no-undefined $(ALL_LDFLAGS) -o $@ $(LIB_PIC) $(UTIL_STATIC) $(PKG_LIBS)
	$(Q)ln -sf libvss.so.$(LIBVERSION) $(B)/lib/$(SONAME)
	$(Q)ln -sf $(SONAME) $(B)/lib/libvss.so

$(LIB_A): $(LIB_STATIC) $(UTIL_STATIC)
	@mkdir -p $(@D)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

# Written again at install time, so it names the prefix of that install.
PC_SUBST = sed -e 's|@prefix@|$(prefix)|' -e 's|@libdir@|$(libdir)|' \
	-e 's|@includedir@|$(includedir)|' -e 's|@VERSION@|$(VERSION)|'
$(B)/lib/vss.pc: lib/libvss.pc.in Makefile
	@mkdir -p $(@D)
	$(Q)$(PC_SUBST) $< > $@

# Tools link the shared library; the rpath lets them run from the build tree
# and from any prefix whose lib/ sits beside bin/.
define tool_rule
$(B)/bin/$(1): $$(patsubst %.c,$(B)/static/%.o,$$(wildcard cmd/$(1)/*.c)) $(COMMON_OBJ) $(UTIL_A) $(LIB_SO)
	@mkdir -p $$(@D)
	@$$(if $(Q),echo "  LD      $$@")
	$(Q)$$(CC) $$(ALL_LDFLAGS) -o $$@ $$(patsubst %.c,$(B)/static/%.o,$$(wildcard cmd/$(1)/*.c)) \
		$(COMMON_OBJ) -L$(B)/lib -lvss $(UTIL_A) $(TOOL_LIBS) -Wl,-rpath,'$$$$ORIGIN/../lib'
endef
$(foreach t,$(TOOLS),$(eval $(call tool_rule,$(t))))

# Unit tests link the static library so internals can be tested.
$(B)/tests/test-%: $(B)/static/tests/unit/test-%.o $(LIB_A) $(UTIL_A)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIB_A) $(UTIL_A) $(PKG_LIBS) $(TOOL_LIBS) $(CMOCKA_LIBS)

$(B)/tests/tools/%: $(B)/static/tests/tools/%.o $(UTIL_A)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< $(UTIL_A)

# ---- tests -----------------------------------------------------------------

deps:
	@sh scripts/install-deps

# The test command of the README and of CI.
check: deps
	$(MAKE) --no-print-directory all tests
	@VSS_BUILD=$(CURDIR)/$(B) tests/run $(if $(VALGRIND),--valgrind)

check-unit: all tests
	@VSS_BUILD=$(CURDIR)/$(B) tests/run --only unit $(if $(VALGRIND),--valgrind)
check-cli: all tests
	@VSS_BUILD=$(CURDIR)/$(B) tests/run --only cli
check-docs: all
	@VSS_BUILD=$(CURDIR)/$(B) tests/run --only docs
check-integration: all tests
	@VSS_BUILD=$(CURDIR)/$(B) tests/run --only integration

demo: deps
	$(MAKE) --no-print-directory all tests
	@scripts/demo

bench: all tests
	@VSS_BUILD=$(CURDIR)/$(B) tests/bench/create.sh
	@VSS_BUILD=$(CURDIR)/$(B) tests/bench/bcd.sh
	@VSS_BUILD=$(CURDIR)/$(B) tests/bench/writers.sh
	@VSS_BUILD=$(CURDIR)/$(B) tests/bench/restore.sh

fuzz:
	@tests/fuzz/build.sh

# ---- install ---------------------------------------------------------------

MANPAGES := $(wildcard man/*.[1-8])

install: all
	$(INSTALL) -d $(DESTDIR)$(bindir) $(DESTDIR)$(libdir) $(DESTDIR)$(pkgconfigdir) \
		$(DESTDIR)$(includedir)/vss $(DESTDIR)$(bashcompdir) $(DESTDIR)$(zshcompdir) \
		$(DESTDIR)$(schemadir)
	$(INSTALL) -m 755 $(TOOL_BIN) $(DESTDIR)$(bindir)/
	$(INSTALL) -m 755 $(LIB_SO) $(DESTDIR)$(libdir)/
	ln -sf libvss.so.$(LIBVERSION) $(DESTDIR)$(libdir)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(libdir)/libvss.so
	$(INSTALL) -m 644 $(LIB_A) $(DESTDIR)$(libdir)/
	$(INSTALL) -m 644 lib/include/vss.h $(DESTDIR)$(includedir)/
	$(INSTALL) -m 644 lib/include/vss/*.h $(DESTDIR)$(includedir)/vss/
	$(PC_SUBST) lib/libvss.pc.in > $(DESTDIR)$(pkgconfigdir)/vss.pc
	$(INSTALL) -m 644 $(SCHEMAS) $(DESTDIR)$(schemadir)/
	$(INSTALL) -d $(DESTDIR)$(datarootdir)/vss/writers
	$(INSTALL) -m 755 scripts/vss-shell-snap $(DESTDIR)$(datarootdir)/vss/
	$(INSTALL) -m 755 scripts/writers/postgresql scripts/writers/mariadb scripts/writers/sqlite \
		$(DESTDIR)$(datarootdir)/vss/writers/
	for x in scripts/writers/*.xml; do \
		sed 's|/usr/share/vss/writers/|$(datarootdir)/vss/writers/|g' $$x \
			> $(DESTDIR)$(datarootdir)/vss/writers/$${x##*/} && \
		chmod 644 $(DESTDIR)$(datarootdir)/vss/writers/$${x##*/} || exit 1; done
	for m in $(MANPAGES); do \
		s=$${m##*.}; $(INSTALL) -d $(DESTDIR)$(mandir)/man$$s; \
		$(INSTALL) -m 644 $$m $(DESTDIR)$(mandir)/man$$s/; done
	for t in $(TOOLS); do \
		$(INSTALL) -m 644 completions/bash/$$t $(DESTDIR)$(bashcompdir)/$$t; \
		$(INSTALL) -m 644 completions/zsh/_$$t $(DESTDIR)$(zshcompdir)/_$$t; done

uninstall:
	rm -f $(TOOLS:%=$(DESTDIR)$(bindir)/%)
	rm -f $(DESTDIR)$(libdir)/libvss.so.$(LIBVERSION) $(DESTDIR)$(libdir)/$(SONAME) \
		$(DESTDIR)$(libdir)/libvss.so $(DESTDIR)$(libdir)/libvss.a \
		$(DESTDIR)$(pkgconfigdir)/vss.pc $(DESTDIR)$(includedir)/vss.h
	rm -rf $(DESTDIR)$(includedir)/vss $(DESTDIR)$(schemadir) $(DESTDIR)$(datarootdir)/vss/writers
	rm -f $(DESTDIR)$(datarootdir)/vss/vss-shell-snap
	-rmdir $(DESTDIR)$(datarootdir)/vss 2>/dev/null
	for m in $(MANPAGES); do s=$${m##*.}; rm -f $(DESTDIR)$(mandir)/man$$s/$${m##*/}; done
	rm -f $(TOOLS:%=$(DESTDIR)$(bashcompdir)/%) $(TOOLS:%=$(DESTDIR)$(zshcompdir)/_%)

clean:
	rm -rf $(B)

help:
	@echo 'Targets:'
	@echo '  all (default)     libvss.so.1, libvss.a, vss.pc and the tools, in $(B)/'
	@echo '  check             install missing packages, build, run all tests'
	@echo '                    (unit, tool, docs, integration; integration needs root)'
	@echo '  check-unit, check-cli, check-docs, check-integration   one kind of test'
	@echo '  demo              copies of live volumes on scratch loop devices (root)'
	@echo '  bench             tests/bench/: vss-create vs raw btrfs (root), BCD load/save, writers blackout, restore'
	@echo '  fuzz              build the fuzz targets (clang, libFuzzer)'
	@echo '  install           DESTDIR=... prefix=... (default prefix /usr/local)'
	@echo '  uninstall, clean, deps (install missing Debian packages)'
	@echo 'Variables: V=1 (show commands), SANITIZE=address,undefined, VALGRIND=1,'
	@echo '           WERROR=1 (also on when CI is set), CFLAGS, LDFLAGS'

-include $(shell find $(B) -name '*.d' 2>/dev/null)
