"""The netpolicy: the iptables ACCEPT rules and the per-service outbound connection."""
