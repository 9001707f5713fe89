# The C port of MIT 6.5840 Lab 2 (Raft).
#
#   make test [RUN=regex] [COUNT=n] [FAILFAST=1]
#                           build and run the tests (as go test -run -count -failfast;
#                           RUN is a POSIX ERE, \\d \\w \\s accepted)
#   make tsan [RUN=regex]   the same under ThreadSanitizer
#   make asan [RUN=regex]   the same under AddressSanitizer + UBSan
#   make sim [RUN=regex]    the same tests in deterministic simulation (dsim/):
#                           virtual time, one thread at a time; SEED=s replays
#   make stress RUN=regex [N=100] [P=2] [SAN=tsan|asan | SIM=1 [SEED=s] [SCHED=pct|random]]
#                           run the tests N times, P at a time (tools/dstest)
#   make bench [ARGS="--seconds S --peers N --clients W"]
#                           throughput and latency (bench/bench.c), optimized
#   make profile [ARGS=...]  perf record -g on a bench row, the top of it
#   make run [ARGS="--peers 5 --seconds 30 --seed 7 ..."]
#                           a live cluster with faults, and a safety verdict
#   make handout DIR=path   write a student's starting tree (raft.c a skeleton)
#   make lincheck           the linearizability checker's command line
#                           (build/plain/lincheck; tools/lincheck runs it)
#   make notes              build/notes.html: the course notes beside the code
#                           that carries them out (tools/mknotes)
#   make fuzz [FUZZ_SECONDS=30]
#                           run each libFuzzer target that long (clang)
#   make deps               install what a fresh Debian machine lacks
#
# Each build lives in its own folder (build/plain, build/tsan, build/asan).

CC      ?= gcc
CSTD    := -std=c11 -D_POSIX_C_SOURCE=200809L -I.
WARN    := -Wall -Wextra -Werror -Wshadow -Wformat=2
# In a student's tree (make handout: no handout/ folder) what is unused is
# shown but not fatal: code commented out while working still builds.
STUDENT_WARN := -Wno-error=unused-function -Wno-error=unused-variable \
                -Wno-error=unused-parameter -Wno-error=unused-but-set-variable
WARN    += $(if $(wildcard handout/raft.c),,$(STUDENT_WARN))
CHECK_CFLAGS = $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS   = $(shell pkg-config --libs check 2>/dev/null)

# (raft_fast.c, raft_log.c, raft_rpc.c and raftstate.c are our Raft's: a
# student's tree has none of them.)
LIB_SRCS  := $(wildcard util.c chan.c goroutine.c persister.c labgob/labgob.c labrpc/labrpc.c \
             raft_harness.c raft.c raft_fast.c raft_log.c raft_rpc.c raftstate.c)
# Lab 3: the key/value service on our Raft (kvraft/).
KV_SRCS   := kvraft/common.c kvraft/client.c kvraft/server.c
TEST_SRCS := labtest/main.c labtest/config.c labtest/report.c labtest/test_test.c labtest/kill_test.c \
             labtest/chan_test.c labtest/goroutine_test.c labtest/persister_test.c labtest/raft_persist_test.c labtest/hardening_test.c \
             labtest/scripted.c labtest/paper_test.c \
             labtest/tester_test.c labtest/tools_test.c \
             labgob/test_test.c labrpc/test_test.c porcupine/checker_test.c \
             kvraft/config.c kvraft/test_test.c
# Lab 3's linearizability checker (porcupine/) and its models (models/).
PORC_SRCS := porcupine/checker.c porcupine/visualization.c porcupine/history.c \
             models/kv.c models/etcd.c
SRCS := $(wildcard $(LIB_SRCS) $(KV_SRCS) $(PORC_SRCS) $(TEST_SRCS))
# The tests of our raft.c's own decoder, of the bugs it was hardened
# against, and of the tester's holes (they need a working Raft) are not in
# a student's tree.
TEST_DEFS := $(if $(wildcard labtest/raft_persist_test.c),-DWITH_RAFT_PERSIST_TEST) \
             $(if $(wildcard labtest/hardening_test.c),-DWITH_HARDENING_TEST) \
             $(if $(wildcard labtest/tester_test.c),-DWITH_TESTER_TEST)

FLAGS_plain := -O2 -g
FLAGS_tsan  := -O1 -g -fsanitize=thread
FLAGS_asan  := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FLAGS_sim   := -O2 -g -DLAB_SIM

# The sim build: the same code, every pthread call, clock read and sleep
# redirected to the deterministic simulator (dsim/dsim.c) at link time;
# the blocking calls of chan.c and labrpc.c too, for the lock rule's check,
# and the waits it does not model, to name them.
SIM_WRAPS := pthread_create pthread_join pthread_detach pthread_exit pthread_self \
             pthread_setname_np pthread_getname_np pthread_mutex_init pthread_mutex_destroy pthread_mutex_lock \
             pthread_mutex_trylock pthread_mutex_unlock pthread_cond_init pthread_cond_destroy \
             pthread_cond_wait pthread_cond_timedwait pthread_cond_signal pthread_cond_broadcast \
             pthread_barrier_init pthread_barrier_wait pthread_barrier_destroy \
             clock_gettime nanosleep clock_nanosleep usleep sleep sched_yield getrandom \
             chan_send chan_send_unless chan_send_all_unless chan_recv labrpc_call \
             sem_wait sem_timedwait pthread_rwlock_rdlock pthread_rwlock_wrlock pthread_spin_lock
LDFLAGS_sim := $(foreach s,$(SIM_WRAPS),-Wl,--wrap=$(s))
EXTRA_SRCS_sim := dsim/dsim.c dsim/test_test.c

# How each build runs.  Sanitized builds are slower: Check's per-test
# limits are doubled (the tester's own 120 s check stays as it is).
# setarch -R avoids TSan's "unexpected memory mapping" on kernels with
# vm.mmap_rnd_bits=32.
RUN_plain :=
RUN_tsan  := TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" CK_TIMEOUT_MULTIPLIER=2 setarch $$(uname -m) -R
RUN_asan  := ASAN_OPTIONS="detect_leaks=1" UBSAN_OPTIONS="halt_on_error=1 print_stacktrace=1" CK_TIMEOUT_MULTIPLIER=2
RUN_sim   :=

RUN ?=
export RUN
# go test's -count and -failfast (labtest/main.c reads them).
export COUNT FAILFAST

# raftsim's binary sits next to its object (build/plain/raftsim/ is a folder).
RAFTSIM := build/plain/raftsim/raftsim

.PHONY: all test tsan asan sim stress bench profile run handout notes fuzz deps fuzz-deps clean lincheck
all: build/plain/tests

define variant
build/$(1)/%.o: %.c | deps-quiet
	@mkdir -p $$(dir $$@)
	$$(CC) $$(CSTD) $$(WARN) $$(FLAGS_$(1)) $$(TEST_DEFS) $$(CHECK_CFLAGS) -pthread -MMD -MP -c $$< -o $$@

build/$(1)/tests: $$(patsubst %.c,build/$(1)/%.o,$$(SRCS) $$(EXTRA_SRCS_$(1)))
	$$(CC) $$(FLAGS_$(1)) -pthread -o $$@ $$^ $$(CHECK_LIBS) $$(LDFLAGS_$(1))

-include $$(patsubst %.c,build/$(1)/%.d,$$(SRCS) $$(EXTRA_SRCS_$(1)))
endef
$(foreach v,plain tsan asan sim,$(eval $(call variant,$(v))))

# The simulator's own test programs: planted deadlocks and lock bugs, a
# spin, a hang with a timer pending, and waits it does not model.
DSIM_DEMOS := deadlock spin relock rpc_lock timeout unmodeled
.SECONDARY: $(patsubst %,build/sim/dsim/%_demo.o,$(DSIM_DEMOS))
build/sim/tests: | $(patsubst %,build/sim/dsim_%_demo,$(DSIM_DEMOS))
build/sim/dsim_%: build/sim/dsim/%.o build/sim/dsim/dsim.o build/sim/chan.o build/sim/util.o \
                  build/sim/labrpc/labrpc.o build/sim/labgob/labgob.o
	$(CC) $(FLAGS_sim) -pthread -o $@ $^ $(LDFLAGS_sim)

# Without RUN, the tools' own tests run too.
test: deps build/plain/tests $(RAFTSIM)
	$(RUN_plain) ./build/plain/tests '$(value RUN)'
	@if [ -z '$(value RUN)' ]; then echo "Running the tools' tests"; \
	  /usr/bin/python3 -m unittest discover -s tools -p 'test_*.py'; fi

tsan: deps build/tsan/tests
	$(RUN_tsan) ./build/tsan/tests '$(value RUN)'

asan: deps build/asan/tests
	$(RUN_asan) ./build/asan/tests '$(value RUN)'

# Every test in deterministic simulation (see dsim/dsim.h); SEED=s replays.
# Then the seeds that once failed (dsim/regressions.txt) that RUN selects.
sim: deps build/sim/tests
	$(RUN_sim) ./build/sim/tests '$(value RUN)'
	@dsim/regress ./build/sim/tests '$(value RUN)'

# The benchmark: the library built again with full optimization.
BENCH_SRCS := $(LIB_SRCS) bench/bench.c
build/bench/bench: $(BENCH_SRCS) $(wildcard *.h */*.h) | deps-quiet
	@mkdir -p build/bench
	$(CC) $(CSTD) $(WARN) -O3 -DNDEBUG -pthread -o $@ $(BENCH_SRCS)

RAFTSIM_OBJS := $(patsubst %.c,build/plain/%.o,$(LIB_SRCS) labtest/config.c labtest/report.c raftsim/raftsim.c)
$(RAFTSIM): $(RAFTSIM_OBJS)
	$(CC) $(FLAGS_plain) -pthread -o $@ $^ $(CHECK_LIBS)

# The linearizability checker on the command line (tools/lincheck runs it).
LINCHECK := build/plain/lincheck
$(LINCHECK): $(patsubst %.c,build/plain/%.o,$(PORC_SRCS) porcupine/lincheck.c)
	$(CC) $(FLAGS_plain) -o $@ $^
lincheck: $(LINCHECK)
-include build/plain/porcupine/lincheck.d

run: deps $(RAFTSIM)
	./$(RAFTSIM) $(ARGS)

ARGS ?=
bench: deps build/bench/bench
	./build/bench/bench $(ARGS)

# Where a bench row's CPU goes (notes.md, "Where the CPU goes"): perf from
# Debian's linux-perf, call graphs from frame pointers, the top of the
# profile by symbol.  ARGS as for make bench; by default the busiest row.
PROFILE_ARGS = $(or $(ARGS),--peers 3 --clients 64)
build/profile/bench: $(BENCH_SRCS) $(wildcard *.h */*.h) | deps-quiet
	@mkdir -p build/profile
	$(CC) $(CSTD) $(WARN) -O3 -g -fno-omit-frame-pointer -DNDEBUG -pthread -o $@ $(BENCH_SRCS)

profile: deps build/profile/bench
	@command -v perf >/dev/null || { SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq linux-perf >/dev/null; }
	perf record -g -o build/profile/perf.data ./build/profile/bench $(PROFILE_ARGS)
	perf report -i build/profile/perf.data --children --sort sym --stdio -g none 2>/dev/null | grep -v '^#' | grep -v '^$$' | head -40

N ?= 100
P ?= 2
SAN ?=
SIM ?=
# make stress SIM=1's scheduler: pct (found the planted older-term commit
# first, notes.md "The simulator searches harder") or random.
SCHED ?= pct
stress: deps
	@if [ -z '$(value RUN)' ]; then echo "make stress needs RUN=regex"; exit 2; fi
	/usr/bin/python3 tools/dstest -n $(N) -p $(P) $(if $(SAN),--sanitizer $(SAN)) \
	  $(if $(SIM),--sim --sched $(SCHED) $(if $(SEED),--seed $(SEED))) '$(value RUN)'

# The notes beside the code: each section of notes.md with the functions
# it names, taken from the sources now (in a student's tree, theirs).
notes:
	@/usr/bin/python3 tools/mknotes -o build/notes.html notes.md

DIR ?=
handout:
	@sh tools/mkhandout "$(DIR)"

# Fuzzing: clang's libFuzzer under ASan+UBSan, one binary per target
# (fuzz/*.c; the RPC targets are fuzz_rpc.c built once per method).
# Seeds in fuzz/corpus/T; fuzz/run.sh runs each target in turn and fails
# on a crash, a sanitizer report, a leak or a timeout.
FUZZ_SECONDS ?= 30
FUZZ_TARGETS := labgob decode_state request_vote append_entries install_snapshot history
FUZZ_CC      := clang
# FUZZ_CHECK_STATE: the RPC targets also check that whatever the peer
# persisted reads back (issue 15, item 7).
FUZZ_FLAGS   := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
                -fno-omit-frame-pointer -DFUZZ_CHECK_STATE
FUZZ_HDRS    := $(wildcard *.h */*.h)
FUZZ_RPC     := request_vote=RequestVote append_entries=AppendEntries \
                install_snapshot=InstallSnapshot

build/fuzz/labgob: fuzz/fuzz_labgob.c labgob/labgob.c util.c $(FUZZ_HDRS) | fuzz-deps
	@mkdir -p build/fuzz
	$(FUZZ_CC) $(CSTD) $(WARN) $(FUZZ_FLAGS) -pthread -o $@ $(filter %.c,$^)

build/fuzz/decode_state: fuzz/fuzz_decode_state.c $(LIB_SRCS) $(FUZZ_HDRS) | fuzz-deps
	@mkdir -p build/fuzz
	$(FUZZ_CC) $(CSTD) $(WARN) $(FUZZ_FLAGS) -pthread -o $@ $(filter %.c,$^)

build/fuzz/history: fuzz/fuzz_history.c $(PORC_SRCS) $(FUZZ_HDRS) | fuzz-deps
	@mkdir -p build/fuzz
	$(FUZZ_CC) $(CSTD) $(WARN) $(FUZZ_FLAGS) -o $@ $(filter %.c,$^)

define fuzz_rpc
build/fuzz/$(1): fuzz/fuzz_rpc.c $$(LIB_SRCS) $$(FUZZ_HDRS) | fuzz-deps
	@mkdir -p build/fuzz
	$$(FUZZ_CC) $$(CSTD) $$(WARN) $$(FUZZ_FLAGS) -DRPC_METHOD='"Raft.$(2)"' -pthread -o $$@ $$(filter %.c,$$^)
endef
$(foreach t,$(FUZZ_RPC),$(eval $(call fuzz_rpc,$(word 1,$(subst =, ,$(t))),$(word 2,$(subst =, ,$(t))))))

fuzz: $(addprefix build/fuzz/,$(FUZZ_TARGETS))
	fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# Debian packages we need: Check (and pkg-config to find it), and rich for
# the Python tools; clang and its libFuzzer runtime only for make fuzz.
# Installs only what is missing.
DEBS := check pkg-config python3-rich
FUZZ_DEBS := clang libclang-rt-dev
define install_missing
	@missing=""; for p in $(1); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi
endef
deps:
	$(call install_missing,$(DEBS))

fuzz-deps:
	$(call install_missing,$(FUZZ_DEBS))

.PHONY: deps-quiet
deps-quiet: deps

clean:
	rm -rf build
