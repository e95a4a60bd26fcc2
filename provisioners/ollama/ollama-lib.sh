# Shared by ollama.sh and its check: Ollama's API on OLLAMA_API.
# The installed release's version directory, from /opt/ollama/current, or "".
phx_ollama_installed() {
  local target
  target=$(readlink "$R/opt/ollama/current" 2>/dev/null || true)
  printf '%s' "${target##*/}"
}
# The version the running server answers on /api/version, or "".
phx_ollama_served() {
  curl -fsS --max-time 5 "$OLLAMA_API/api/version" 2>/dev/null | jq -r '.version // empty' 2>/dev/null || true
}
# The models the server has pulled, one full name a line.
phx_ollama_models() {
  curl -fsS --max-time 30 "$OLLAMA_API/api/tags" | jq -r '.models[]?.name'
}
