"""The persistent, bitemporal read model that answers queries at scale (`model.ReadModel`)."""
