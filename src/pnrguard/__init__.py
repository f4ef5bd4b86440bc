"""pnrguard: a Passenger Information Unit node that protects by construction."""

__version__ = "0.1.0"
