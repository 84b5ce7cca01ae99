"""Role actors, the supervisor and reducer actors, and their agent backends."""
