# The guest's side of an app Portainer deploys: its project directory (rendered files, root-only secret files) and
# volumes, which the compose file Portainer runs against this guest's agent refers to by absolute path. Services whose
# files changed are restarted. Params: see app-lib.sh.
command -v docker >/dev/null || phx_die "docker is not installed: the docker feature runs first"
phx_app_write_files
phx_app_volumes
phx_app_restart_changed
