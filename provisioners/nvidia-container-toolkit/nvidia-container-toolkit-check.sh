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
if [ "$NVIDIA_NO_CGROUPS" = 1 ]; then
  if grep -Eq '^[[:space:]]*no-cgroups[[:space:]]*=[[:space:]]*true' "$R/etc/nvidia-container-runtime/config.toml" 2>/dev/null; then
    echo "no-cgroups = true (unprivileged container)"
  else
    echo "no-cgroups not set, which an unprivileged container needs"
    exit 1
  fi
fi
if [ "$(cat "$R/etc/docker/daemon.json" 2>/dev/null || true)" != "$DOCKER_DAEMON_JSON_NVIDIA" ]; then
  echo "daemon.json differs from the definition"
  exit 1
fi
