# Prints Ollama's state: the release it runs, each declared model (present or missing) and each model not declared;
# exits non-zero when it is down, runs another release or misses a model (health: /api/version and /api/tags).
state=$(systemctl is-active ollama 2>/dev/null || true)
if [ "$state" != active ]; then
  echo "ollama.service ${state:-missing}"
  exit 1
fi
served=$(phx_ollama_served)
echo "ollama ${served:-not answering} on $OLLAMA_LISTEN"
[ -n "$served" ] || exit 1
rc=0
if [ "$served" != "$OLLAMA_VERSION" ]; then
  echo "ollama $served runs, $OLLAMA_VERSION declared"
  rc=1
fi
have=$(phx_ollama_models) || { echo "/api/tags does not answer"; exit 1; }
for m in $OLLAMA_PULL; do
  if grep -qxF "$m" <<<"$have"; then echo "model $m present"; else echo "model $m missing"; rc=1; fi
done
while IFS= read -r m; do
  [ -n "$m" ] || continue
  case " $OLLAMA_PULL " in *" $m "*) ;; *) echo "model $m not declared" ;; esac
done <<<"$have"
exit "$rc"
