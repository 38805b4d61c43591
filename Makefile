# oktasync: `make run` serves on SQLite with nothing else installed; `make test` runs every
# test (PostgreSQL ones need OKTASYNC_TEST_POSTGRES_URL; see README.md).
GO        ?= go
BIN       ?= bin
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X main.version=$(VERSION)
PKGS      := ./...
FUZZTIME  ?= 15s

.PHONY: build run test test-race lint bench bench-scim fuzz demo clean

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/oktasync ./cmd/oktasync
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/oktasim ./cmd/oktasim
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/scimload ./cmd/scimload

run: build
	OKTASYNC_CONSOLE_LINK=true $(BIN)/oktasync serve

test:
	$(GO) test -count=1 $(GOTESTFLAGS) $(PKGS)

test-race:
	$(GO) test -count=1 -race $(PKGS)

lint:
	$(GO) vet $(PKGS)
	$(GO) mod tidy -diff
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

# Okta's SCIM load (cmd/scimload) against serve on a fresh PostgreSQL database, on SQLite
# and against two in-memory SCIM peers (a bare map, and one on github.com/elimity-com/scim),
# with the ratios to both; see scripts/bench-scim.sh.
bench-scim: build
	BIN=$(BIN) ./scripts/bench-scim.sh

# Short fuzzing runs of the parsers; CI runs these too.
fuzz:
	$(GO) test ./scimfilter -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME)
	$(GO) test ./scimfilter -run '^$$' -fuzz '^FuzzParsePath$$' -fuzztime $(FUZZTIME)
	$(GO) test ./scim -run '^$$' -fuzz '^FuzzPatch$$' -fuzztime $(FUZZTIME)

# The sync loop end to end: oktasim and oktasync serve on SQLite, wired both ways; both
# stay up afterwards (Ctrl-C stops them). See scripts/demo.sh.
demo: build
	BIN=$(BIN) ./scripts/demo.sh

clean:
	rm -rf $(BIN) oktasync.db oktasync.db-wal oktasync.db-shm
