# Helpers every in-guest feature script starts with (feature-script.ts prepends this file).
# PHX_ROOT prefixes every file path the scripts read or write: empty on real machines, a temp dir in tests.
set -euo pipefail
R="${PHX_ROOT:-}"
export DEBIAN_FRONTEND=noninteractive

phx_log() { printf '[phoenix] %s\n' "$*"; }
phx_die() { printf '[phoenix] error: %s\n' "$*" >&2; exit 1; }

# Sets PHX_OS_ID (debian|ubuntu), PHX_OS_VERSION (12, 22.04, 24.04) and PHX_OS_CODENAME; other systems stop here.
# shellcheck source=/dev/null # the guest's /etc/os-release (under its root $R), not this machine's
phx_detect_os() {
  [ -r "$R/etc/os-release" ] || phx_die "cannot identify the OS: $R/etc/os-release is missing"
  PHX_OS_ID=$(. "$R/etc/os-release" && printf '%s' "${ID:-}")
  PHX_OS_VERSION=$(. "$R/etc/os-release" && printf '%s' "${VERSION_ID:-}")
  # shellcheck disable=SC2034 # read by the feature scripts concatenated after this library
  PHX_OS_CODENAME=$(. "$R/etc/os-release" && printf '%s' "${VERSION_CODENAME:-}")
  case "$PHX_OS_ID:$PHX_OS_VERSION" in
    debian:12 | ubuntu:22.04 | ubuntu:24.04) ;;
    *) phx_die "unsupported OS '$PHX_OS_ID $PHX_OS_VERSION': the features support Debian 12 and Ubuntu 22.04/24.04" ;;
  esac
}

# apt-get, waiting while another apt or dpkg holds its locks (unattended-upgrades on a fresh guest, a parallel run),
# and retrying a download that failed (a proxy or mirror that did not answer, a connection reset) with apt's own
# back-off, as a first fetch of large packages through a cold proxy may need.
phx_apt_get() {
  local try out rc=0
  for try in $(seq 1 "${PHX_APT_LOCK_TRIES:-60}"); do
    rc=0
    out=$(apt-get -y -o DPkg::Lock::Timeout=60 -o Acquire::Retries="${PHX_APT_RETRIES:-5}" "$@" 2>&1) || rc=$?
    printf '%s\n' "$out"
    [ "$rc" -eq 0 ] && return 0
    case $out in
      *"Could not get lock"* | *"Unable to lock"* | *"Unable to acquire the dpkg frontend lock"*)
        phx_log "apt is locked by another process; waiting (attempt $try)"
        sleep "${PHX_APT_LOCK_DELAY:-10}"
        ;;
      *) return "$rc" ;;
    esac
  done
  return "$rc"
}

PHX_APT_UPDATED=0
PHX_APT_STALE=0
# Called after changing apt sources, so the next install refreshes the package lists first.
phx_apt_sources_changed() { PHX_APT_UPDATED=0; PHX_APT_STALE=1; }

phx_pkg_installed() { [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" = installed ]; }

# Installs the packages not installed yet; with all of them present, apt is not called at all.
phx_apt_install() {
  local p missing=()
  for p in "$@"; do phx_pkg_installed "${p%%=*}" || missing+=("$p"); done
  [ "${#missing[@]}" -eq 0 ] && return 0
  if [ "$PHX_APT_UPDATED" = 0 ]; then
    phx_apt_get update
    PHX_APT_UPDATED=1
    PHX_APT_STALE=0
  fi
  phx_log "installing ${missing[*]}"
  phx_apt_get install --no-install-recommends "${missing[@]}"
}

# apt-get update when sources changed since the last one, even if nothing is to be installed.
phx_apt_refresh_if_stale() {
  if [ "$PHX_APT_STALE" = 1 ]; then
    phx_apt_get update
    PHX_APT_UPDATED=1
    PHX_APT_STALE=0
  fi
}

# The candidate version apt would install ("" when none), e.g. 535.247.01-1~deb12u1.
phx_apt_candidate() { apt-cache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: *//p' | grep -v '^(none)$' || true; }

# Writes stdin to a file when its content differs. Returns 0 when the file changed, 1 when it already matched.
phx_write_if_changed() {
  local path="$1" mode="$2" tmp
  [ ! -d "$path" ] || phx_die "$path is a directory where a file is to be written: move it away"
  mkdir -p "$(dirname "$path")"
  tmp=$(umask 077 && mktemp "$path.phx.XXXXXX")
  cat >"$tmp"
  if [ -f "$path" ] && cmp -s "$tmp" "$path"; then
    rm -f "$tmp"
    chmod "$mode" "$path"
    return 1
  fi
  chmod "$mode" "$tmp"
  mv -f "$tmp" "$path"
  phx_log "wrote $path"
  return 0
}

# Writes the secret shell variable named $1 to a root-only file when its content differs (the value never
# reaches argv: printf is a builtin). Returns 0 when the file changed.
phx_secret_file_if_changed() {
  local name="$1" path="$2"
  printf '%s' "${!name}" | phx_write_if_changed "$path" 0600
}

# Waits for the Docker daemon to answer: a container that has just booted may still be starting it (an unprivileged
# one on Proxmox takes longer). Fails with $1 (or a generic message) after PHX_DOCKER_WAIT seconds (default 120).
phx_docker_ready() {
  local i
  for i in $(seq 1 "${PHX_DOCKER_WAIT:-120}"); do
    docker version >/dev/null 2>&1 && return 0
    [ "$i" = 1 ] && phx_log "waiting for the Docker daemon to answer"
    sleep 1
  done
  phx_die "${1:-the Docker daemon does not answer (systemctl status docker)}"
}
