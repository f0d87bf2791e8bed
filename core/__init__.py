"""The base every part shares: typed settings, paths, errors, the YAML loader, the published
topology, credentials, and the event and trail stores. It imports no other Borealis package."""
