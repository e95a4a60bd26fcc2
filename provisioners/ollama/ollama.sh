# Ollama as ollama.service. Params: OLLAMA_VERSION; the release from OLLAMA_URL (checked against OLLAMA_SHA256) or from
# OLLAMA_BASE_URL/v<version>/ollama-linux-<arch>.tgz (checked against that release's sha256sum.txt); OLLAMA_LISTEN,
# OLLAMA_API (where this script reaches it), OLLAMA_MODELS_DIR, OLLAMA_UNIT_ENV (the unit's Environment= lines, quoted
# by ollama.ts), OLLAMA_PULL (models to keep pulled), OLLAMA_PRUNE (1: remove the others), OLLAMA_INSECURE (pull
# over plain HTTP), OLLAMA_START_TIMEOUT.
phx_detect_os
phx_apt_install ca-certificates curl jq
arch=$(dpkg --print-architecture)
case $arch in amd64 | arm64) ;; *) phx_die "Ollama publishes no Linux release for $arch" ;; esac
dir="$R/opt/ollama/$OLLAMA_VERSION"
source_id="${OLLAMA_URL:-$OLLAMA_BASE_URL/v$OLLAMA_VERSION/ollama-linux-$arch.tgz}"
engine_changed=0
if [ "$(cat "$dir/.phoenix-source" 2>/dev/null || true)" != "$source_id" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  file="$tmp/ollama-linux-$arch.tgz"
  phx_log "downloading Ollama $OLLAMA_VERSION from $source_id"
  curl -fsSL "$source_id" -o "$file"
  if [ -n "${OLLAMA_URL:-}" ]; then
    want=$OLLAMA_SHA256
  else
    curl -fsSL "$OLLAMA_BASE_URL/v$OLLAMA_VERSION/sha256sum.txt" -o "$tmp/sha256sum.txt"
    want=$(awk -v f="ollama-linux-$arch.tgz" '{ n = $2; sub(/^[*.]?\/?/, "", n); if (n == f) print $1 }' "$tmp/sha256sum.txt" | head -n 1)
    [ -n "$want" ] || phx_die "sha256sum.txt of Ollama $OLLAMA_VERSION lists no ollama-linux-$arch.tgz"
  fi
  got=$(sha256sum "$file" | cut -d' ' -f1)
  [ "$got" = "$want" ] || phx_die "Ollama's download $source_id has sha256 $got, expected $want: not installed"
  rm -rf "$dir.new"
  mkdir -p "$dir.new"
  tar -xzf "$file" -C "$dir.new"
  [ -x "$dir.new/bin/ollama" ] || phx_die "$source_id holds no bin/ollama"
  printf '%s' "$source_id" >"$dir.new/.phoenix-source"
  rm -rf "$dir"
  mv "$dir.new" "$dir"
  engine_changed=1
fi
[ "$(phx_ollama_installed)" = "$OLLAMA_VERSION" ] || { ln -sfn "$OLLAMA_VERSION" "$R/opt/ollama/current"; engine_changed=1; }

id ollama >/dev/null 2>&1 || useradd --system --user-group --home-dir /var/lib/ollama --shell /usr/sbin/nologin ollama
mkdir -p "$R/var/lib/ollama" "$R$OLLAMA_MODELS_DIR"
chown ollama:ollama "$R/var/lib/ollama" "$R$OLLAMA_MODELS_DIR"

unit_changed=0
if phx_write_if_changed "$R/etc/systemd/system/ollama.service" 0644 <<UNIT; then unit_changed=1; fi
[Unit]
Description=Ollama on $OLLAMA_LISTEN (managed by Phoenix Hypervisor)
After=network-online.target
Wants=network-online.target

[Service]
User=ollama
Group=ollama
$OLLAMA_UNIT_ENV
ExecStart=/opt/ollama/$OLLAMA_VERSION/bin/ollama serve
Restart=always
RestartSec=3

[Install]
WantedBy=multi-user.target
UNIT

[ "$unit_changed" = 1 ] && systemctl daemon-reload
systemctl is-enabled --quiet ollama || systemctl enable ollama
if [ "$unit_changed" = 1 ] || [ "$engine_changed" = 1 ]; then
  phx_log "ollama.service or its release changed: restarting"
  systemctl restart ollama
elif ! systemctl is-active --quiet ollama; then
  systemctl start ollama
fi
deadline=$((SECONDS + ${OLLAMA_START_TIMEOUT:-120}))
until [ -n "$(phx_ollama_served)" ]; do
  systemctl is-active --quiet ollama || { systemctl status ollama --no-pager || true; phx_die "ollama.service stopped before answering on $OLLAMA_API"; }
  [ "$SECONDS" -lt "$deadline" ] || phx_die "Ollama did not answer on $OLLAMA_API/api/version within ${OLLAMA_START_TIMEOUT:-120}s"
  sleep "${PHX_POLL_DELAY:-2}"
done

# Models: pull what is declared and missing; with prune, remove what is not declared.
have=$(phx_ollama_models)
# shellcheck disable=SC2153 # a param of this script (ollama.ts), not a misspelling
for m in $OLLAMA_PULL; do
  grep -qxF "$m" <<<"$have" && continue
  phx_log "pulling model $m"
  r=$(jq -nc --arg m "$m" --argjson insecure "$OLLAMA_INSECURE" '{model: $m, insecure: $insecure, stream: false}' |
    curl -sS -X POST "$OLLAMA_API/api/pull" --data-binary @- || true)
  [ "$(jq -r '.status // empty' <<<"$r" 2>/dev/null)" = success ] || phx_die "pulling $m failed: ${r:-no answer from $OLLAMA_API}"
done
while IFS= read -r m; do
  [ -n "$m" ] || continue
  case " $OLLAMA_PULL " in *" $m "*) continue ;; esac
  if [ "$OLLAMA_PRUNE" = 1 ]; then
    phx_log "removing model $m (not declared; prune: true)"
    jq -nc --arg m "$m" '{model: $m}' | curl -fsS -X DELETE "$OLLAMA_API/api/delete" --data-binary @- >/dev/null
  else
    phx_log "model $m is not declared: kept (prune: true removes it)"
  fi
done <<<"$have"
phx_log "Ollama $OLLAMA_VERSION serves on $OLLAMA_LISTEN with ${OLLAMA_PULL:-no model}"
