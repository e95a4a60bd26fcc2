# Prints the app's services (state and image) and files as found on the guest; exits 1 on drift.
command -v docker >/dev/null || { echo "docker is not installed"; exit 1; }
containers=$(phx_app_containers) || { echo "docker does not answer"; exit 1; }
rc=0
phx_app_check_files || rc=1
phx_app_evaluate <<<"$containers" || rc=1
exit "$rc"
