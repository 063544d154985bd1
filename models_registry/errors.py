"""The registry's errors (services.RegistryError and services.PromotionError are these)."""


class RegistryError(Exception):
    """A registry operation was refused; the message says why and what to do."""


class PromotionError(RegistryError):
    pass
