# The app's files on the guest, as declared; exits 1 when one differs.
phx_app_check_files
