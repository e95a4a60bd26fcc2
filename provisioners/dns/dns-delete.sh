# On the node: the names go with the file. dnsmasq restarts on what else configures it, or stops when nothing does (its
# package's defaults would answer on every interface); the package stays (it may serve other things).
conf="$R$DNS_CONF_PATH"
[ -e "$conf" ] || exit 0
rm -f "$conf"
phx_log "removed $DNS_CONF_PATH"
phx_pkg_installed dnsmasq || exit 0
others=$(grep -hsvE '^[[:space:]]*(#|$)' "$R/etc/dnsmasq.conf" "$R"/etc/dnsmasq.d/*.conf || true)
if [ -n "$others" ]; then
  systemctl restart dnsmasq
  phx_log "dnsmasq restarted without Phoenix's names"
else
  systemctl stop dnsmasq || true
  systemctl disable --quiet dnsmasq || true
  phx_log "dnsmasq stopped and disabled: nothing else configures it"
fi
