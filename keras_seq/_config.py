"""What keras_seq's small settings objects share: config round trips and `get` (private)."""


class ConfigObject:
    """A settings object made from and compared by its `get_config()`."""

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def get_config(self):
        return {}

    def __eq__(self, other):
        return type(self) is type(other) and self.get_config() == other.get_config()

    def __hash__(self):
        return hash((type(self).__name__, tuple(sorted(self.get_config().items()))))

    def __repr__(self):
        arguments = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({arguments})"


def resolve(identifier, base, registry, kind, expected):
    """`identifier` if it is a `base`, else the object its config dict describes.

    A config dict is `{"class_name": ..., "config": {...}}` as
    `keras.saving.serialize_keras_object` writes it; its class name may also be a
    short name from `registry` (`{name: class}`).

    Raises:
        ValueError: naming `identifier`, the `kind` of object and what is `expected`.
    """
    if isinstance(identifier, base):
        return identifier
    if isinstance(identifier, dict) and "class_name" in identifier:
        class_name = str(identifier["class_name"]).removeprefix("keras_seq>")
        by_class = {cls.__name__: cls for cls in registry.values()}
        cls = by_class.get(class_name) or registry.get(class_name)
        if cls is not None:
            return cls.from_config(dict(identifier.get("config") or {}))
    raise ValueError(f"Could not interpret the {kind} {identifier!r}. Expected {expected}.")
