// The names of pve-firewall's macros (its $pve_fw_macros and IPv6-only ones), which Proxmox stores in this spelling.

/** Proxmox's macro names: a rule's macro is looked up case-insensitively and stored in this spelling. */
export const PROXMOX_MACROS: readonly string[] = [
  "Amanda", "Auth", "BGP", "BitTorrent", "BitTorrent32", "Ceph", "CVS", "Citrix", "DAAP", "DCC", "DHCPfwd", "DHCPv6",
  "DNS", "Distcc", "FTP", "Finger", "GNUnet", "GRE", "Git", "HKP", "HTTP", "HTTPS", "ICPV2", "ICQ", "IMAP", "IMAPS",
  "IPIP", "IPsec", "IPsecah", "IPsecnat", "IRC", "Jetdirect", "L2TP", "LDAP", "LDAPS", "MDNS", "MSNP", "MSSQL", "Mail",
  "Munin", "MySQL", "NNTP", "NNTPS", "NTP", "NeighborDiscovery", "OSPF", "OpenVPN", "PCA", "PMG", "POP3", "POP3S",
  "PPtP", "Ping", "PostgreSQL", "Printer", "RDP", "RIP", "RNDC", "Razor", "Rdate", "Rsync", "SANE", "SMB", "SMBswat",
  "SMTP", "SMTPS", "SNMP", "SPAMD", "SPICEproxy", "SSH", "SVN", "SixXS", "Squid", "Submission", "Syslog", "TFTP",
  "Telnet", "Telnets", "Time", "Trcrt", "VNC", "VNCL", "Web", "Webcache", "Webmin", "Whois",
];

const BY_LOWER = new Map(PROXMOX_MACROS.map((m) => [m.toLowerCase(), m]));

/** The macro's spelling in Proxmox, or undefined when Proxmox has no such macro. */
export function proxmoxMacro(name: string): string | undefined {
  return BY_LOWER.get(name.toLowerCase());
}

/** Protocols whose rules may name ports (pve-firewall refuses dport/sport with any other). */
export const PORT_PROTOCOLS: readonly string[] = ["tcp", "udp", "udplite", "sctp", "dccp", "6", "17", "136", "132", "33"];
