# On the node: Debian's dnsmasq serving the plan's names. The file first, so the package's first start (on a node
# where installing starts services) already listens only where it says; a restart only when the file changed or
# dnsmasq is not running. Params: DNS_CONF (the file's text), DNS_CONF_PATH.
conf="$R$DNS_CONF_PATH"
changed=0
if printf '%s' "$DNS_CONF" | phx_write_if_changed "$conf" 0644; then changed=1; fi
phx_apt_install dnsmasq
if [ "$changed" = 1 ] || ! systemctl is-active --quiet dnsmasq; then
  systemctl restart dnsmasq
  phx_log "dnsmasq restarted"
fi
systemctl is-enabled --quiet dnsmasq || systemctl enable --quiet dnsmasq
