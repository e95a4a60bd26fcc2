# Prints the toolkit's version and whether Docker lists the nvidia runtime; exits non-zero unless both hold and
# daemon.json is the one this feature writes.
if ! version=$(nvidia-ctk --version 2>&1 | head -n 1) || [ -z "$version" ]; then
  echo "nvidia-container-toolkit not installed"
  exit 1
fi
echo "$version"
if docker info --format '{{range $name, $_ := .Runtimes}}{{$name}} {{end}}' 2>/dev/null | grep -qw nvidia; then
  echo "docker runtime nvidia configured"
else
  echo "docker runtime nvidia missing"
  exit 1
fi
if [ "$(cat "$R/etc/docker/daemon.json" 2>/dev/null || true)" != "$DOCKER_DAEMON_JSON_NVIDIA" ]; then
  echo "daemon.json differs from the definition"
  exit 1
fi
