"""The one config loader of vlm3: YAML + dotted overrides -> a typed dataclass (OmegaConf).

Every configurable part (world, data, train, eval, demo) declares its settings as
dataclasses (the schema); :func:`load` reads them the same way:

* a source: a YAML file, the name of a shipped config (``vlm3/configs/<kind>/<name>.yaml``,
  or ``<folder>/<name>`` under ``vlm3/configs/``), a mapping, or ``None`` (the defaults);
* environment interpolation in any string: ``${oc.env:VAR,default}`` (OmegaConf) or the
  shell spelling ``${VAR}`` / ``${VAR:-default}`` (an UPPER_CASE name; it is rewritten to
  ``oc.env``). ``variables`` (``--var NAME=VALUE`` on the CLI) take precedence over the
  environment. Lower-case ``${a.b}`` is OmegaConf's reference to another key;
* dotted overrides with YAML values, ``train.learning_rate=1e-4 model.lora.enabled=true``
  (OmegaConf.from_dotlist);
* type checks against the schema, then the schema's ``validate()`` (range checks).

Every mistake is one :class:`ConfigError` line naming the key, the value and what is
allowed, and where it came from, e.g.
``train.learning_rate: 'fast' is not a float (from tiny_cpu.yaml)``.
:func:`save` writes the resolved config (beside every artefact), :func:`help_text` lists
every key with its default and documentation (``--help-config``): the ``help`` metadata of
:func:`option` fields, else the ``name: text`` paragraph of the class docstring.
"""

from __future__ import annotations

import dataclasses
import os
import re
import typing
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import yaml
from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import (ConfigKeyError, InterpolationResolutionError, MissingMandatoryValue,
                              OmegaConfBaseException, ValidationError)

from vlm3.errors import Vlm3Error

#: shipped configs: ``vlm3/configs/<kind>/<name>.yaml``
CONFIG_DIR = Path(__file__).resolve().parent / "configs"

T = TypeVar("T")

_SHELL_VAR = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)(?::-([^}]*))?\}")
_TYPE_WORDS = {"Float": "a float", "Integer": "an integer", "String": "a string", "Boolean": "true or false"}


class ConfigError(Vlm3Error, ValueError):
    """A config file, value or override that is not valid; the message is one line naming the key."""


def option(default: Any, help: str, **kw: Any) -> Any:  # noqa: A002 - mirrors argparse naming
    """A dataclass field with its documentation (shown by ``--help-config``).

    Mutable defaults (lists, dicts) are copied per instance.
    """
    if isinstance(default, (list, dict)):
        return dataclasses.field(default_factory=lambda d=default: type(d)(d), metadata={"help": help}, **kw)
    return dataclasses.field(default=default, metadata={"help": help}, **kw)


# ----------------------------------------------------------------------------- finding files
def shipped_names(kind: str) -> list[str]:
    """Names of the shipped configs of one kind (``vlm3/configs/<kind>/*.yaml``)."""
    return sorted(p.stem for p in (CONFIG_DIR / kind).glob("*.yaml"))


def find_config(source: str | Path, kind: str | None = None) -> Path:
    """The YAML file of ``source``: an existing file, else a shipped name (see module doc)."""
    def is_file(p: Path) -> bool:
        try:
            return p.is_file()
        except (OSError, ValueError):  # a name too long for the filesystem, a NUL byte
            return False

    p = Path(source)
    if is_file(p):
        return p
    candidates = ([CONFIG_DIR / kind / f"{source}.yaml"] if kind else []) + [CONFIG_DIR / f"{source}.yaml"]
    for c in candidates:
        if is_file(c):
            return c
    if len(str(source)) > 200:
        source = f"{str(source)[:60]}...({len(str(source))} characters)"
    names = f" (shipped: {', '.join(shipped_names(kind))})" if kind else ""
    raise ConfigError(f"config {source} not found: neither a file nor a shipped config{names}")


# ----------------------------------------------------------------------------- reading
def _shell_to_oc_env(value: Any) -> Any:
    """``${VAR}`` / ``${VAR:-default}`` -> ``${oc.env:VAR}`` / ``${oc.env:VAR,'default'}`` everywhere."""
    if isinstance(value, str):
        def sub(m: re.Match) -> str:
            if m.group(2) is None:
                return f"${{oc.env:{m.group(1)}}}"
            default = m.group(2).replace("\\", "\\\\").replace("'", "\\'")
            return f"${{oc.env:{m.group(1)},'{default}'}}"
        return _SHELL_VAR.sub(sub, value)
    if isinstance(value, dict):
        return {k: _shell_to_oc_env(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shell_to_oc_env(v) for v in value]
    return value


def _read(source: str | Path | Mapping | None, kind: str | None) -> tuple[Any, str]:
    """(plain container with oc.env interpolations, a name for messages) of one source."""
    if source is None:
        return {}, "defaults"
    if isinstance(source, Mapping):
        return _shell_to_oc_env(_plain(source)), "the given mapping"
    path = find_config(source, kind)
    try:
        raw = OmegaConf.to_container(OmegaConf.create(path.read_text(encoding="utf-8")), resolve=False)
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a text file; give a YAML config") from None
    except OSError as err:
        raise ConfigError(f"{path}: cannot be read ({err.strerror or err})") from None
    except (yaml.YAMLError, OmegaConfBaseException) as err:
        raise ConfigError(f"{path}: malformed YAML ({str(err).splitlines()[0]})") from None
    if raw and not isinstance(raw, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of keys")
    return _shell_to_oc_env(raw or {}), path.name


def _plain(value: Any) -> Any:
    """Dicts / lists / tuples -> plain dicts and lists (dataclass instances -> dicts)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_dict(value)
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


@contextmanager
def _environment(variables: Mapping[str, str] | None) -> Iterator[None]:
    """``variables`` set in os.environ while interpolations resolve (restored afterwards)."""
    saved = {k: os.environ.get(k) for k in variables or {}}
    os.environ.update({k: str(v) for k, v in (variables or {}).items()})
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _one_line(err: OmegaConfBaseException, origin: str) -> ConfigError:
    """An OmegaConf error as one line: key, value, what is allowed, where it came from."""
    key = getattr(err, "full_key", None) or "config"
    first = str(err).splitlines()[0] if str(err) else type(err).__name__
    if isinstance(err, ConfigKeyError) and getattr(err, "object_type", None) is not None:
        allowed = [f.name for f in dataclasses.fields(err.object_type)] if dataclasses.is_dataclass(
            err.object_type) else []
        what = "unknown key" + (f"; allowed: {', '.join(allowed)}" if allowed else "")
    elif isinstance(err, MissingMandatoryValue):
        what = "missing (required)"
    elif isinstance(err, InterpolationResolutionError):
        m = re.search(r"Environment variable '([^']+)' not found", first)
        what = (f"environment variable {m.group(1)} is not set (set it, or pass --var {m.group(1)}=...)"
                if m else first)
    elif isinstance(err, ValidationError):
        m = re.match(r"Value '(.*?)'(?: of type '\w+')? could not be converted to (\w+)", first)
        if m:
            what = f"{m.group(1)!r} is not {_TYPE_WORDS.get(m.group(2), m.group(2))}"
        elif "is not Optional" in first or "Non optional field cannot be assigned None" in first:
            what = "may not be null"
        else:
            what = first
    else:
        what = first
    return ConfigError(f"{key}: {what} (from {origin})")


def _container_mismatch(base: DictConfig, raw: Mapping, origin: str) -> ConfigError:
    """The one-line error for a list given where a mapping belongs (or the reverse): the
    deepest key whose merge alone fails, found by merging the keys one at a time."""
    def fails(tree: Any) -> bool:
        try:
            OmegaConf.merge(base, tree)
        except (TypeError, OmegaConfBaseException):
            return True
        return False

    def wrap(path: list[str], value: Any) -> Any:
        for k in reversed(path):
            value = {k: value}
        return value

    path: list[str] = []
    value: Any = raw
    while isinstance(value, Mapping) and not isinstance(
            OmegaConf.select(base, ".".join(path)) if path else base, ListConfig):
        bad = next((k for k, v in value.items() if fails(wrap(path + [str(k)], v))), None)
        if bad is None:
            break
        path.append(str(bad))
        value = value[bad]
    key = ".".join(path) or "config"
    if isinstance(value, list):
        what = "a list is not allowed here; give a mapping (key: value), see --help-config"
    elif isinstance(value, Mapping):
        what = "a mapping is not allowed here; give a list, see --help-config"
    else:
        what = f"{value!r} does not fit the schema here, see --help-config"
    return ConfigError(f"{key}: {what} (from {origin})")


def _check_override(override: str) -> None:
    """ConfigError (one line naming the override) unless it is ``dotted.key=<one YAML value>``."""
    key, eq, value = override.partition("=")
    if not eq:
        raise ConfigError(f"override {override!r} must look like key=value (e.g. train.learning_rate=1e-4)")
    if not all(part.strip() for part in key.split(".")):
        raise ConfigError(f"override {override!r} has an empty key (or key part); write dotted.key=value")
    try:
        OmegaConf.from_dotlist([override])
    except yaml.YAMLError as err:
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ConfigError(f"override {override!r}: the value {value!r} is not valid YAML ({problem}); "
                          f"close its brackets and quotes, e.g. key={{a: 1}} or key='text'") from None


def load(schema: type[T], source: str | Path | Mapping | None = None, overrides: Sequence[str] = (), *,
         kind: str | None = None, variables: Mapping[str, str] | None = None) -> T:
    """Read ``source`` into ``schema``, apply ``overrides``, resolve, type-check and validate.

    Args:
        schema: the dataclass the config must fit (nested dataclasses, dicts and lists of
            them allowed); its ``validate()`` runs last, when it has one.
        source: YAML path, shipped name (looked up under ``configs/<kind>/``), mapping or None.
        overrides: ``dotted.key=value`` items (values parsed as YAML).
        variables: values for ``${VAR}`` / ``${oc.env:VAR}`` that win over the environment.
    Returns:
        An instance of ``schema`` with every interpolation resolved.
    Raises:
        ConfigError: one line naming the key, the value and what is allowed.
    """
    raw, origin = _read(source, kind)
    base = OmegaConf.structured(schema)
    OmegaConf.set_readonly(base, False)
    try:
        merged = OmegaConf.merge(base, raw)
    except OmegaConfBaseException as err:
        raise _one_line(err, origin) from None
    except TypeError:  # OmegaConf: "Cannot merge incompatible container types" (a list for a mapping)
        raise _container_mismatch(base, raw, origin) from None
    for o in overrides:
        _check_override(o)
    try:
        dotted = _shell_to_oc_env(OmegaConf.to_container(OmegaConf.from_dotlist(list(overrides)),
                                                         resolve=False))
        merged = OmegaConf.merge(merged, dotted)
    except OmegaConfBaseException as err:
        raise _one_line(err, "the command line") from None
    except TypeError:
        raise _container_mismatch(merged, dotted, "the command line") from None
    origin = origin + (" + overrides" if overrides else "")
    try:
        with _environment(variables):
            cfg = OmegaConf.to_object(merged)
        validate = getattr(cfg, "validate", None)
        if validate is not None:
            validate()
    except OmegaConfBaseException as err:
        raise _one_line(err, origin) from None
    except ConfigError as err:
        raise ConfigError(f"{err} (from {origin})") from None
    return cfg  # type: ignore[return-value]


# ----------------------------------------------------------------------------- writing
def to_dict(cfg: Any) -> dict[str, Any]:
    """A config dataclass as plain dicts and lists (tuples become lists): JSON and YAML safe."""
    def plain(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        return v
    return plain(dataclasses.asdict(cfg))


def to_yaml(cfg: Any) -> str:
    """The resolved config as YAML text (keys in schema order)."""
    return yaml.safe_dump(to_dict(cfg), sort_keys=False, allow_unicode=True)


def save(cfg: Any, path: str | Path) -> Path:
    """Write the resolved config to ``path`` (YAML; folders created); returns the path."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(to_yaml(cfg), encoding="utf-8")
    return p


# ----------------------------------------------------------------------------- documentation
def _docstring_fields(cls: type) -> dict[str, str]:
    """``name: text`` paragraphs of a class docstring (continuation lines indented deeper)."""
    out: dict[str, str] = {}
    current = None
    for line in (cls.__doc__ or "").splitlines():
        m = re.match(r"^(\s*)([A-Za-z_]\w*): (.+)$", line)
        if m:
            current = m.group(2)
            out[current] = m.group(3).strip()
        elif current and line.strip() and line.startswith(" " * 8):
            out[current] += " " + line.strip()
        else:
            current = None
    return out


def _nested(tp: Any) -> tuple[type | None, str]:
    """(dataclass inside a field type, key suffix): X -> (X, ""), dict[str, X] -> (X, ".<name>"),
    list[X] -> (X, "[i]")."""
    if dataclasses.is_dataclass(tp):
        return tp, ""
    args = typing.get_args(tp)
    origin = typing.get_origin(tp)
    if origin in (dict, Mapping) and len(args) == 2 and dataclasses.is_dataclass(args[1]):
        return args[1], ".<name>"
    if origin in (list, Sequence) and args and dataclasses.is_dataclass(args[0]):
        return args[0], "[i]"
    return None, ""


def help_text(schema: type, prefix: str = "") -> str:
    """Every key of ``schema`` (nested sections included) with its default and documentation."""
    lines: list[str] = []
    hints = typing.get_type_hints(schema)
    docs = _docstring_fields(schema)
    for f in dataclasses.fields(schema):
        sub, suffix = _nested(hints[f.name])
        if sub is not None:
            lines.append(help_text(sub, f"{prefix}{f.name}{suffix}."))
            continue
        if f.default is not dataclasses.MISSING and f.default != "???":
            default = repr(f.default)
        elif f.default_factory is not dataclasses.MISSING:
            default = repr(_plain(f.default_factory()))
        else:
            default = "(required)"
        doc = f.metadata.get("help") or docs.get(f.name, "")
        lines.append(f"{prefix}{f.name} = {default}" + (f"\n    {doc}" if doc else ""))
    return "\n".join(lines)


__all__ = ["CONFIG_DIR", "ConfigError", "option", "shipped_names", "find_config", "load", "to_dict",
           "to_yaml", "save", "help_text"]
