#!/usr/bin/env bash
# oktasync demo: an emulated Okta org (oktasim) and `oktasync serve` on SQLite, wired
# both ways, walked through the sync loop. Run it with `make demo` (which builds bin/
# first). Both servers stay up at the end for you to poke at; Ctrl-C stops them.
#
# Ports and the working directory can be changed with OKTASYNC_DEMO_PORT (default 18080),
# OKTASIM_DEMO_PORT (default 18089) and DEMO_DIR (default: a new temporary directory).
set -euo pipefail

BIN=${BIN:-bin}
APP_PORT=${OKTASYNC_DEMO_PORT:-18080}
SIM_PORT=${OKTASIM_DEMO_PORT:-18089}
DEMO_DIR=${DEMO_DIR:-$(mktemp -d -t oktasync-demo.XXXXXX)}
APP_URL="http://127.0.0.1:$APP_PORT"
ORG_URL="http://127.0.0.1:$SIM_PORT"
APP_ID=0oademoapp000000000x

for b in "$BIN/oktasync" "$BIN/oktasim"; do
  [ -x "$b" ] || { echo "missing $b: run 'make build' first" >&2; exit 1; }
done
command -v curl >/dev/null || { echo "the demo needs curl" >&2; exit 1; }

OKTASYNC=$(cd "$(dirname "$BIN/oktasync")" && pwd)/oktasync
OKTASIM=$(cd "$(dirname "$BIN/oktasim")" && pwd)/oktasim

# Secrets of this demo only, generated afresh.
rand() { head -c "$1" /dev/urandom | base64 | tr -d '\n/+=' ; }
export OKTASYNC_DB="sqlite:$DEMO_DIR/oktasync.db"
export OKTASYNC_LISTEN="127.0.0.1:$APP_PORT"
export OKTASYNC_SECRET_KEY=$(head -c 32 /dev/urandom | base64)
export OKTASYNC_ADMIN_TOKEN="adm-$(rand 24)"
OKTA_API_TOKEN="00$(rand 30)"
export OKTASYNC_LOG_LEVEL=warn

bold() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
say() { printf '   %s\n' "$*"; }
run() { printf '\033[2m$ %s\033[0m\n' "$*"; "$@"; }
okta() { # okta METHOD PATH [JSON]: a call to the emulated org's management API
  local m=$1 p=$2; shift 2
  curl -fsS -X "$m" -H "Authorization: SSWS $OKTA_API_TOKEN" -H 'Content-Type: application/json' -H 'Accept: application/json' \
    "$ORG_URL$p" ${1:+-d "$1"}
}
json_field() { grep -o "\"$1\" *: *\"[^\"]*\"" | head -n 1 | sed 's/.*: *"\(.*\)"/\1/'; }
wait_idle() { okta POST "/_sim/wait-idle?timeout=30s" >/dev/null; }
appusers() {
  okta GET "/api/v1/apps/$APP_ID/users?limit=50" | tr '{' '\n' | grep -o '"userName":"[^"]*"' | sed 's/"userName":/   AppUser /' || true
  okta GET "/api/v1/apps/$APP_ID/users?limit=50" > "$DEMO_DIR/appusers.json"
}
appuser_profile() { # appuser_profile OKTA_ID
  okta GET "/api/v1/apps/$APP_ID/users/$1" | grep -o '"profile":{[^}]*}' | sed 's/^/   /'
}

PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo; echo "Stopped. Files of this demo are in $DEMO_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bold "Starting oktasync serve (SQLite at $DEMO_DIR/oktasync.db) on $APP_URL"
"$OKTASYNC" serve >"$DEMO_DIR/serve.out" 2>"$DEMO_DIR/serve.log" &
PIDS+=($!)
for _ in $(seq 100); do curl -fsS "$APP_URL/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
SCIM_TOKEN=$(sed -n 's/^ *API token: *//p' "$DEMO_DIR/serve.out")
[ -n "$SCIM_TOKEN" ] || { echo "serve did not print its first SCIM token; see $DEMO_DIR/serve.log" >&2; exit 1; }
say "First start printed the SCIM base URL $APP_URL/scim/v2 and a bearer token (kept in $DEMO_DIR/serve.out)."

bold "Starting oktasim, an emulated Okta org, on $ORG_URL, provisioning into oktasync"
"$OKTASIM" --listen "127.0.0.1:$SIM_PORT" --api-token "$OKTA_API_TOKEN" --app-id "$APP_ID" --app-label "Demo App" \
  --scim-url "$APP_URL/scim/v2" --scim-token "$SCIM_TOKEN" >"$DEMO_DIR/oktasim.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do okta GET /_sim/info >/dev/null 2>&1 && break; sleep 0.1; done
say "Its app $APP_ID pushes users to oktasync over SCIM, as Okta's Provisioning tab would."

bold "Connecting oktasync to the org (management API), token read from the environment"
OKTASYNC_OKTA_API_TOKEN=$OKTA_API_TOKEN run "$OKTASYNC" tenant okta set --org-url "$ORG_URL" --app-id "$APP_ID" --conflict okta-wins
run "$OKTASYNC" tenant okta test

bold "1. Okta assigns a user: it appears in the app"
ALICE=$(okta POST "/api/v1/users?activate=true" '{"profile":{"login":"alice@example.com","email":"alice@example.com","firstName":"Alice","lastName":"Archer"}}' | json_field id)
okta POST "/api/v1/apps/$APP_ID/users" "{\"id\":\"$ALICE\",\"scope\":\"USER\",\"credentials\":{\"userName\":\"alice@example.com\"}}" >/dev/null
wait_idle
say "Assigned alice@example.com ($ALICE) in Okta; Okta pushed her over SCIM:"
run "$OKTASYNC" users list
run "$OKTASYNC" sync --quiet
say "The sync linked the pushed user to her Okta user (OKTA USER column):"
run "$OKTASYNC" users list

bold "2. The app creates a user: it becomes an AppUser in Okta"
run "$OKTASYNC" users create bob@example.com --given-name Bob --family-name Baker --email bob@example.com --title Engineer
run "$OKTASYNC" sync --dry-run --quiet
run "$OKTASYNC" sync --quiet
wait_idle
say "Okta now has bob as an AppUser (found or created, then assigned with the app's profile):"
appusers
say "Okta's own push answered with an existence check and linked to the same user: still one bob."
run "$OKTASYNC" users list

BOB=$("$OKTASYNC" users list --json --filter 'userName eq "bob@example.com"' | json_field oktaUserId)
bold "3. Edits flow both ways"
run "$OKTASYNC" users update bob@example.com --title "Staff Engineer"
run "$OKTASYNC" sync --quiet
say "Bob's AppUser profile in Okta:"
appuser_profile "$BOB"
okta POST "/api/v1/apps/$APP_ID/users/$ALICE" '{"profile":{"givenName":"Alicia"}}' >/dev/null
wait_idle
say "Changed Alice's first name in Okta; Okta's push brought it to the app:"
run "$OKTASYNC" users list --filter 'userName eq "alice@example.com"'
run "$OKTASYNC" sync --quiet
say "(nothing was pushed back to Okta: the change came from Okta)"

bold "4. A conflict: the same attribute changed on both sides"
okta POST /_sim/scim "{\"baseUrl\":\"$APP_URL/scim/v2\",\"token\":\"$SCIM_TOKEN\",\"createUsers\":true,\"updateUsers\":false,\"deactivateUsers\":true}" >/dev/null
say "(Okta's update push paused, so both edits stand until the sync meets them)"
run "$OKTASYNC" users update bob@example.com --title "Manager"
okta POST "/api/v1/apps/$APP_ID/users/$BOB" '{"profile":{"title":"Director"}}' >/dev/null
say "App says Manager, Okta says Director; the tenant's policy is okta-wins:"
run "$OKTASYNC" sync --full --dry-run --quiet
run "$OKTASYNC" sync --full --quiet
appuser_profile "$BOB"
run "$OKTASYNC" audit list --limit 3
okta POST /_sim/scim "{\"baseUrl\":\"$APP_URL/scim/v2\",\"token\":\"$SCIM_TOKEN\",\"createUsers\":true,\"updateUsers\":true,\"deactivateUsers\":true}" >/dev/null

bold "5. The admin API: start a run and follow it"
say "curl -X POST -H 'Authorization: Bearer \$OKTASYNC_ADMIN_TOKEN' $APP_URL/admin/v1/tenants/default/sync?full=true"
LOC=$(curl -fsS -X POST -H "Authorization: Bearer $OKTASYNC_ADMIN_TOKEN" "$APP_URL/admin/v1/tenants/default/sync?full=true" | json_field location)
sleep 1
curl -fsS -H "Authorization: Bearer $OKTASYNC_ADMIN_TOKEN" "$APP_URL$LOC" | sed 's/^/   /'
run "$OKTASYNC" sync history

# From here on the scheduler syncs every minute, so pokes show up by themselves.
run "$OKTASYNC" tenant okta policy --schedule "* * * * *" --full-schedule "*/10 * * * *" >/dev/null

bold "Both servers keep running. Poke at them from another shell:"
cat <<EOF
   export OKTASYNC_DB='$OKTASYNC_DB' OKTASYNC_SECRET_KEY='$OKTASYNC_SECRET_KEY' OKTASYNC_ADMIN_TOKEN='$OKTASYNC_ADMIN_TOKEN'
   OKTA='$ORG_URL' TOKEN='$OKTA_API_TOKEN' APP='$APP_ID'

   # the app side
   $OKTASYNC users create carol@example.com --given-name Carol --family-name Cole --email carol@example.com
   $OKTASYNC users deactivate bob@example.com
   $OKTASYNC sync            # or wait: the scheduler now runs every minute (full check every 10)
   $OKTASYNC sync history

   # the Okta side (oktasim's management API)
   curl -s -H "Authorization: SSWS \$TOKEN" \$OKTA/api/v1/apps/\$APP/users | head -c 600
   curl -s -X POST -H "Authorization: SSWS \$TOKEN" -H 'Content-Type: application/json' \\
        -d '{"profile":{"title":"CTO"}}' \$OKTA/api/v1/apps/\$APP/users/$ALICE

   # the admin API
   curl -s -X POST -H "Authorization: Bearer \$OKTASYNC_ADMIN_TOKEN" $APP_URL/admin/v1/tenants/default/sync

   Logs: $DEMO_DIR/serve.log and $DEMO_DIR/oktasim.log. Press Ctrl-C here to stop both.
EOF
wait
