"""The router: Caddy routes and DNS records of store services."""
