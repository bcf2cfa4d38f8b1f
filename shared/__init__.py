"""pic-store's common code: the curated library every service builds on."""
