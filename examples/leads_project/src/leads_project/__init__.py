"""An example ``dg`` project whose searches are declared in ``defs/leads/defs.yaml``."""
