"""pic-store's services: each one concern, talking to the others only over the bus."""
