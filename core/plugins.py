"""The plugin manager: the only place that knows which plugins exist.

Every plugin, built-in or third-party, is an entry point in the
``registry_image`` group. Each entry point is loaded in our own loop so a
broken one fails with an error naming it and its distribution. Plugins listed
in ``REGISTRY_IMAGE_DISABLED_PLUGINS`` (comma or space separated entry-point
names) are blocked.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from importlib.metadata import EntryPoint, entry_points
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import attrs
import pluggy

from . import hookspecs
from .converter import check_declared_keys
from .errors import PluginError
from .formats import format_params_type
from .markers import PROJECT_NAME
from .models import Source

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .auth import Authenticator, Challenge, Credentials, Scope
    from .formats import ImageFormat
    from .transport import Transport, TransportSettings, TransportWrapper


class _HasSource(Protocol):
    @property
    def source(self) -> Source: ...


R = TypeVar("R", bound=_HasSource)

ENTRY_POINT_GROUP = PROJECT_NAME
DISABLED_ENV = "REGISTRY_IMAGE_DISABLED_PLUGINS"


def disabled_plugins() -> set[str]:
    """Names blocked through ``REGISTRY_IMAGE_DISABLED_PLUGINS``."""
    return set(os.environ.get(DISABLED_ENV, "").replace(",", " ").split())


def _distribution_name(entry_point: EntryPoint) -> str:
    dist = getattr(entry_point, "dist", None)
    return f"{dist.name} {dist.version}" if dist else "unknown distribution"


class _Origins(Mapping[str, str]):
    """Entry-point name -> "distribution version", read only when asked:
    a distribution's name and version come from parsing its whole metadata
    file (for ours, the README too), which no command needs."""

    def __init__(self) -> None:
        self._entry_points: dict[str, EntryPoint] = {}

    def add(self, entry_point: EntryPoint) -> None:
        self._entry_points[entry_point.name] = entry_point

    def __getitem__(self, name: str) -> str:
        return _distribution_name(self._entry_points[name])

    def __iter__(self) -> Iterator[str]:
        return iter(self._entry_points)

    def __len__(self) -> int:
        return len(self._entry_points)


def _load_entry_points(manager: pluggy.PluginManager) -> Mapping[str, str]:
    """Register every entry point of our group; return name -> distribution."""
    origins = _Origins()
    blocked = disabled_plugins()
    for name in blocked:
        manager.set_blocked(name)
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        if entry_point.name in blocked or manager.get_plugin(entry_point.name):
            continue
        try:
            plugin = entry_point.load()
            manager.register(plugin, name=entry_point.name)
        except Exception as exc:
            raise PluginError(
                f"plugin {entry_point.name!r} ({entry_point.value}, from "
                f"{_distribution_name(entry_point)}) failed to load: {exc}"
            ) from exc
        origins.add(entry_point)
    return origins


class Plugins:
    """The loaded plugins, looked up by name or scheme."""

    def __init__(
        self, manager: pluggy.PluginManager, origins: Mapping[str, str] | None = None
    ) -> None:
        self.manager = manager
        #: entry-point name -> "distribution version", for plugins from entry points
        self.origins: Mapping[str, str] = origins or {}
        self.formats: dict[str, type[ImageFormat]] = self._by_key(
            manager.hook.registry_image_register_formats(), "name", "format"
        )
        self.transports: dict[str, type[Transport]] = {}
        for transport in self._flatten(manager.hook.registry_image_register_transports()):
            for scheme in transport.schemes:
                self._claim(self.transports, scheme, transport, "transport for scheme")
        #: attrs classes of the ``source`` keys plugins own
        self.source_fields: tuple[type, ...] = tuple(
            dict.fromkeys(
                found for found in manager.hook.registry_image_source_fields() if found is not None
            )
        )
        declared = [format_params_type(each) for each in self.formats.values()]
        for fields_class in (*self.source_fields, *declared):
            if fields_class is not None and not attrs.has(fields_class):
                raise PluginError(
                    f"{fields_class.__module__}.{fields_class.__qualname__} declares "
                    "configuration keys but is not an attrs class"
                )
        check_declared_keys(self.source_fields, Source, "source")
        for params_class in declared:
            if params_class is not None:
                from .steps import GetParams

                check_declared_keys([params_class], GetParams, "params")

    def request_keys(self) -> dict[str, Any]:
        """What ``parse_request`` needs to validate the keys plugins own."""
        return {"source_fields": self.source_fields, "format_params": self.format_params}

    def format_params(self, name: str) -> type | None:
        """The params class of the format called ``name``, if it declares one."""
        found = self.formats.get(name)
        return format_params_type(found) if found is not None else None

    @staticmethod
    def _flatten(results: Iterable[Iterable[Any]]) -> list[Any]:
        return [item for result in results for item in result]

    def _by_key(
        self, results: Iterable[Iterable[Any]], attribute: str, what: str
    ) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for item in self._flatten(results):
            self._claim(found, getattr(item, attribute), item, what)
        return found

    @staticmethod
    def _claim(found: dict[str, Any], key: str, item: Any, what: str) -> None:
        if key in found and found[key] is not item:
            raise PluginError(
                f"two plugins provide the {what} {key!r}: "
                f"{found[key].__module__}.{found[key].__qualname__} and "
                f"{item.__module__}.{item.__qualname__}"
            )
        found[key] = item

    def format(self, name: str) -> type[ImageFormat]:
        """The format class for ``params.format``; unknown names list those installed."""
        try:
            return self.formats[name]
        except KeyError:
            installed = ", ".join(sorted(self.formats)) or "none"
            raise PluginError(
                f"params.format: unknown format {name!r} (installed: {installed})"
            ) from None

    def transport(self, scheme: str) -> type[Transport]:
        try:
            return self.transports[scheme]
        except KeyError:
            raise PluginError(f"no transport plugin handles {scheme!r} URLs") from None

    def credentials(
        self, registry: str, source: Source, settings: TransportSettings | None = None
    ) -> Credentials | None:
        """The credentials for ``registry``, from the first plugin that has any.

        A plugin that must ask the registry itself (a token exchange) gets
        ``connect``: transports with ``settings`` (by default the source's
        ``insecure``, ``ca_certs`` and ``debug``), closed when the hook returns.
        """
        if settings is None:
            from .transport import TransportSettings

            settings = TransportSettings(
                insecure=source.insecure, ca_certs=source.ca_certs, debug=source.debug
            )
        connector = _Connector(self, settings)
        try:
            found: Credentials | None = self.manager.hook.registry_image_credentials(
                registry=registry, source=source, connect=connector
            )
        finally:
            connector.close()
        return found

    def resolve_source(self, source: Source) -> Source:
        """``source`` with the repository the first resolving plugin names,
        or unchanged when none does."""
        found: str | None = self.manager.hook.registry_image_resolve_repository(
            repository=source.repository, source=source
        )
        if found is None or found == source.repository:
            return source
        return attrs.evolve(source, repository=found)

    def resolve_request(self, request: R) -> R:
        """``request`` with its ``source`` resolved (see ``resolve_source``)."""
        source = request.source
        resolved = self.resolve_source(source)
        if resolved is source:
            return request
        evolved: R = attrs.evolve(request, source=resolved)  # type: ignore[misc]
        return evolved

    def answer_challenge(
        self,
        challenges: Sequence[Challenge],
        registry: str,
        origin: str,
        scope: Scope,
        credentials: Credentials | None,
        transport: Transport,
    ) -> Authenticator | None:
        """An authenticator for one of ``challenges``, from the first answerer."""
        result: Authenticator | None = self.manager.hook.registry_image_answer_challenge(
            challenges=tuple(challenges),
            registry=registry,
            origin=origin,
            scope=scope,
            credentials=credentials,
            transport=transport,
        )
        return result

    def transport_wrappers(self, settings: TransportSettings) -> list[TransportWrapper]:
        """Every plugin's transport wrappers, outermost first."""
        wrappers: list[TransportWrapper] = self._flatten(
            self.manager.hook.registry_image_transport_wrappers(settings=settings)
        )
        return wrappers


class _Connector:
    """``connect`` of ``registry_image_credentials``: the transport for a URL
    scheme, stacked with every wrapper as a registry's is, opened on first use."""

    def __init__(self, plugins: Plugins, settings: TransportSettings) -> None:
        self._plugins = plugins
        self._settings = settings
        self._open: dict[str, Transport] = {}

    def __call__(self, scheme: str) -> Transport:
        from .transport import stack_transport

        if scheme not in self._open:
            base = self._plugins.transport(scheme)(self._settings)  # type: ignore[call-arg]
            wrappers = self._plugins.transport_wrappers(self._settings)
            self._open[scheme] = stack_transport(base, self._settings, wrappers)
        return self._open[scheme]

    def close(self) -> None:
        for transport in self._open.values():
            transport.close()
        self._open.clear()


def new_manager(
    plugins: Iterable[ModuleType | object] = (), *, entry_points: bool = True
) -> tuple[pluggy.PluginManager, Mapping[str, str]]:
    """A plugin manager with our hook specs, the given plugins and (unless
    ``entry_points=False``, as tests do) every installed entry point; and the
    distribution each entry-point plugin came from."""
    manager = pluggy.PluginManager(PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    for plugin in plugins:
        manager.register(plugin)
    origins: Mapping[str, str] = _load_entry_points(manager) if entry_points else {}
    try:
        manager.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"plugin {exc.plugin!r} is invalid: {exc}") from exc
    return manager, origins


def load_plugins() -> Plugins:
    """All installed plugins, as the resource commands use them."""
    return Plugins(*new_manager())
