"""The backup service: backups of every service's volumes and config, restore and verify."""
