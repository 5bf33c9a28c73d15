"""Which generator built the site, and the settings its own config gives.

`site.generator = "auto"` looks in the content folder and its parents (up to
the project root) for `_config.yml` (Jekyll), `hugo.toml|yaml|json` or a
`config.toml|yaml|json` with `baseURL` (Hugo), `astro.config.*` (Astro).
What citecast.toml sets explicitly wins over the generator's config.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from urllib.parse import urlsplit

GENERATORS = ("auto", "jekyll", "hugo", "astro", "plain")
HUGO_CONFIGS = ("hugo.toml", "hugo.yaml", "hugo.yml", "hugo.json", "config.toml", "config.yaml", "config.yml",
                "config.json", "config/_default/hugo.toml", "config/_default/config.toml",
                "config/_default/hugo.yaml", "config/_default/config.yaml")
ASTRO_CONFIGS = ("astro.config.mjs", "astro.config.ts", "astro.config.js", "astro.config.mts", "astro.config.cjs")
JEKYLL_CONFIGS = ("_config.yml", "_config.yaml", "_config.toml")


class ConfigError(ValueError):
    """A generator config that cannot be read; names the file and the fix."""


@dataclass(frozen=True)
class SiteProfile:
    generator: str
    root: Path                      # the site's source folder (where its config lives)
    config_file: Path | None
    base_url: str                   # scheme://host[/base], no trailing slash
    permalink: str                  # the rule for posts / regular pages ("" = generator default)
    permalinks: dict[str, str] = field(default_factory=dict)   # per collection / section
    future: bool = False
    collections: dict[str, dict] = field(default_factory=dict)  # Jekyll
    exclude: tuple[str, ...] = ()
    include: tuple[str, ...] = ()
    defaults: tuple[dict, ...] = ()  # Jekyll front matter defaults
    content_dir: Path | None = None  # Hugo contentDir
    ugly_urls: bool = False
    path_to_lower: bool = True
    build_expired: bool = False
    build_drafts: bool = False
    languages: tuple[str, ...] = ()  # Hugo: configured language codes (a multilingual site)
    default_language: str = "en"
    default_language_in_subdir: bool = False
    trailing_slash: str = "ignore"   # Astro
    build_format: str = "directory"  # Astro
    base_path: str = ""              # Astro `base`
    routes: dict[str, str] = field(default_factory=dict)  # Astro collection -> route folder
    collection_bases: dict[str, str] = field(default_factory=dict)  # Astro collection -> glob loader base
    starlight: bool = False          # Astro with Starlight: the `docs` collection is routed at the root
    sources: dict[str, str] = field(default_factory=dict)  # setting -> where it came from

    def describe(self) -> str:
        """One line for `citecast check`: generator, base URL, permalink rule and where they came from."""
        where = f" ({self.config_file.name})" if self.config_file else ""
        posts = self.collections.get("posts", {}).get("permalink") if self.generator == "jekyll" else None
        rule = posts or self.permalink or {"jekyll": "date", "hugo": "/:sections/:filename/",
                                  "astro": "/:collection/:slug/", "plain": "/:slug"}[self.generator]
        rules = {**self.routes, **self.permalinks} if self.generator == "astro" else self.permalinks
        extra = "".join(f", {k} {v}" for k, v in sorted(rules.items()))
        return (f"site: {self.generator}{where}, base URL {self.base_url} [{self.sources.get('base_url', 'default')}], "
                f"permalink {rule} [{self.sources.get('permalink', 'default')}]{extra}")


def find_config(content: Path, stop: Path) -> tuple[str, Path] | None:
    """The nearest generator config at or above the content folder (no higher than `stop`)."""
    folder = content.resolve()
    stop = stop.resolve()
    for _ in range(12):
        for name in JEKYLL_CONFIGS:
            if (folder / name).is_file():
                return "jekyll", folder / name
        for name in HUGO_CONFIGS:
            candidate = folder / name
            if candidate.is_file() and (name.startswith(("hugo", "config/_default/")) or _has_base_url(candidate)):
                return "hugo", candidate
        for name in ASTRO_CONFIGS:
            if (folder / name).is_file():
                return "astro", folder / name
        if folder == stop or folder.parent == folder or not folder.is_relative_to(stop):
            return None
        folder = folder.parent
    return None


def _with_config_dir(config: dict[str, Any], main: Path) -> dict[str, Any]:
    """Hugo's config directory: each other file in config/_default is the key it is named after.

    `languages.de.toml` is `languages.de`, `permalinks.toml` is `permalinks`, `module.toml` is
    `module` (https://gohugo.io/configuration/introduction/#configuration-directory). Congo's
    example site keeps its five languages there: unread, its translations lost their /de/ folders.
    """
    merged = dict(config)
    for path in sorted(main.parent.iterdir()):
        if path == main or path.suffix not in (".toml", ".yaml", ".yml", ".json") or not path.is_file():
            continue
        key, _, sub = path.stem.partition(".")
        if key.lower() in ("hugo", "config"):
            continue
        data = read_config(path)
        existing = next((k for k in merged if str(k).lower() == key.lower()), key)
        target = merged.setdefault(existing, {})
        if not isinstance(target, dict):
            continue
        if sub:
            target = target.setdefault(sub, {})
        if isinstance(target, dict):
            target.update(data)
    return merged


def _has_base_url(path: Path) -> bool:
    try:
        return re.search(r"(?im)^\s*[\"']?baseurl[\"']?\s*[:=]", path.read_text("utf-8")) is not None
    except OSError:
        return False


def read_config(path: Path) -> dict[str, Any]:
    """A YAML, TOML or JSON config file as a mapping; a clear error when it does not read."""
    try:
        text = path.read_text("utf-8")
        if path.suffix == ".toml":
            data = tomllib.loads(text)
        elif path.suffix == ".json":
            data = json.loads(text)
        else:
            data = yaml.safe_load(text)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read ({exc})") from exc
    except (yaml.YAMLError, tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: is not valid {path.suffix.lstrip('.').upper() or 'YAML'}: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: is not a mapping of settings")
    return data


def jekyll_settings(config: dict[str, Any]) -> dict[str, Any]:
    url = str(config.get("url") or "").rstrip("/")
    baseurl = str(config.get("baseurl") or "").rstrip("/")
    if baseurl and not baseurl.startswith("/"):
        baseurl = "/" + baseurl
    collections = config.get("collections") or {}
    if isinstance(collections, list):
        collections = {str(c): {} for c in collections}
    collections = {str(k): (v if isinstance(v, dict) else {}) for k, v in collections.items()}
    posts = dict(collections.get("posts", {}))
    posts["output"] = True
    collections["posts"] = posts
    exclude = config.get("exclude") or []
    include = config.get("include") or []
    defaults = config.get("defaults") or []
    return {
        "defaults": tuple(d for d in defaults if isinstance(d, dict)) if isinstance(defaults, list) else (),
        "include": tuple(str(e) for e in include) if isinstance(include, list) else (),
        "base_url": url + baseurl if url else "",
        "permalink": str(config.get("permalink") or "date"),
        "future": bool(config.get("future", False)),
        "collections": collections,
        "exclude": tuple(str(e) for e in exclude) if isinstance(exclude, list) else (),
    }


def hugo_settings(config: dict[str, Any], root: Path) -> dict[str, Any]:
    lower = {str(k).lower(): v for k, v in config.items()}
    permalinks = lower.get("permalinks") or {}
    flat: dict[str, str] = {}
    if isinstance(permalinks, dict):
        page = permalinks.get("page")
        if isinstance(page, dict):  # map form keyed by page kind
            flat.update({str(k): str(v) for k, v in page.items()})
        flat.update({str(k): str(v) for k, v in permalinks.items() if isinstance(v, str)})
    return {
        "base_url": str(lower.get("baseurl") or "").rstrip("/"),
        "permalinks": flat,
        "future": bool(lower.get("buildfuture", False)),
        "ugly_urls": bool(lower.get("uglyurls", False)),
        "path_to_lower": not bool(lower.get("disablepathtolower", False)),
        "build_expired": bool(lower.get("buildexpired", False)),
        "build_drafts": bool(lower.get("builddrafts", False)),
        "content_dir": _hugo_content_dir(lower, root),
        "languages": tuple(str(k).lower() for k in (lower.get("languages") or {}) if isinstance(lower.get("languages"), dict)),
        "default_language": str(lower.get("defaultcontentlanguage") or "en").lower(),
        "default_language_in_subdir": bool(lower.get("defaultcontentlanguageinsubdir", False)),
    }


def _hugo_content_dir(lower: dict[str, Any], root: Path) -> Path:
    """Where Hugo's content comes from: a `[[module.mounts]]` with target "content" replaces `contentDir`.

    gohugo.io's own docs mount `content/en` at `content`; read as `content/`, every page
    got an `/en/` Hugo does not serve (https://gohugo.io/configuration/module/#mounts:
    a mount for a component replaces that component's default). With one mount per
    language, the default language's (or one without a language) is the one read.
    """
    module = lower.get("module")
    mounts = module.get("mounts") if isinstance(module, dict) else None
    content_mounts = [m for m in mounts or [] if isinstance(m, dict) and str(m.get("target", "")).strip("/") == "content"
                      and m.get("source")] if isinstance(mounts, list) else []
    default = str(lower.get("defaultcontentlanguage") or "en").lower()

    def languages(mount: dict) -> list[str]:
        matrix = (mount.get("sites") or {}).get("matrix") if isinstance(mount.get("sites"), dict) else None
        found = (matrix or {}).get("languages") if isinstance(matrix, dict) else None
        found = found if isinstance(found, list) else ([mount["lang"]] if mount.get("lang") else [])
        return [str(lang).lower() for lang in found]

    for mount in sorted(content_mounts, key=lambda m: 0 if default in languages(m) else 1 if not languages(m) else 2):
        return root / str(mount["source"])
    return root / str(lower.get("contentdir") or "content")


_ASTRO_STRING = r"""\s*:\s*(['"`])([^'"`]*)\1"""


def astro_settings(text: str, root: Path) -> dict[str, Any]:
    """`site`, `base`, `trailingSlash` and `build.format` from astro.config.* (string literals only)."""
    def literal(key: str) -> str:
        found = re.search(rf"(?m)^\s*{key}{_ASTRO_STRING}", text)
        return found.group(2) if found else ""
    site = literal("site")
    base = literal("base")
    parsed = {
        "base_url": site.rstrip("/"),
        "base_path": base,
        "trailing_slash": literal("trailingSlash") or "ignore",
        "build_format": literal("format") or "directory",
        "routes": astro_routes(root),
        "collection_bases": _astro_bases(root),
    }
    if re.search(r"""from\s+['"]@astrojs/starlight['"]""", text):
        # Starlight injects its own route for the `docs` collection: `/[...slug]`, the entry
        # `index` at `/` (https://starlight.astro.build/guides/pages/): no src/pages file says so.
        parsed["starlight"] = True
        parsed["routes"] = {"docs": "/:slug", **parsed["routes"]}
    return parsed


def _astro_bases(root: Path) -> dict[str, str]:
    from citecast.pages.astro import collection_bases

    for name in ("src/content.config.ts", "src/content.config.mjs", "src/content.config.js", "src/content/config.ts"):
        try:
            return collection_bases((root / name).read_text("utf-8"))
        except (OSError, UnicodeDecodeError):
            continue
    return {}


_COLLECTION_CALL = re.compile(r"getCollection\(\s*['\"]([\w-]+)['\"]")
# A route that renders one entry per page: `[...slug].astro`, `[slug].astro`, `[...id].astro`.
_ENTRY_PARAM = re.compile(r"\[(?:\.\.\.)?(?:slug|id)\]\.astro$")
_LOCAL_IMPORT = re.compile(r"""from\s+['"]((?:@/|~/|\.{1,2}/)[^'"]+)['"]""")


def _collection_in_helpers(text: str, folder: Path, root: Path) -> re.Match[str] | None:
    """getCollection('<name>') one import away: templates such as astro-theme-cactus call
    `getAllPosts()` from `@/data/post`, which calls getCollection("post"). `@/` and `~/` are
    the templates' alias for src/ (tsconfig `paths`)."""
    for spec in _LOCAL_IMPORT.findall(text):
        base = root / "src" / spec[2:] if spec.startswith(("@/", "~/")) else folder / spec
        for candidate in (base, *(base.with_name(base.name + ext) for ext in (".ts", ".js", ".mjs", ".mts"))):
            try:
                found = _COLLECTION_CALL.search(candidate.read_text("utf-8")) if candidate.is_file() else None
            except (OSError, UnicodeDecodeError):
                found = None
            if found:
                return found
    return None


def astro_routes(root: Path) -> dict[str, str]:
    """Collection -> route pattern, from the dynamic routes that call getCollection('<name>')."""
    pages = root / "src" / "pages"
    routes: dict[str, str] = {}
    if not pages.is_dir():
        return routes
    for route in sorted(pages.rglob("[[]*[]].astro")):
        try:
            text = route.read_text("utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        found = _COLLECTION_CALL.search(text)
        if not found and _ENTRY_PARAM.match(route.name):
            found = _collection_in_helpers(text, route.parent, root)
        if found and found.group(1) not in routes:
            folder = route.parent.relative_to(pages).as_posix()
            prefix = "" if folder == "." else "/" + folder
            routes[found.group(1)] = f"{prefix}/:slug"
    return routes


def detect(settings: Any) -> tuple[SiteProfile, list[str]]:
    """The site profile for the settings, and any config problems (as messages naming the file)."""
    content = settings.path("content")
    wanted = settings.site.generator
    found = find_config(content, settings.root) if wanted != "plain" else None
    if found and wanted not in ("auto", found[0]):
        found = None
    generator = found[0] if found else ("plain" if wanted == "auto" else wanted)
    config_file = found[1] if found else None
    root = config_file.parent if config_file else content
    if config_file and config_file.parent.name == "_default":  # Hugo's config/_default/
        root = config_file.parent.parent.parent
    problems: list[str] = []
    # Hugo's contentDir even when its config does not read: the default, or the folder given.
    values: dict[str, Any] = {"content_dir": root / "content" if config_file else root} if generator == "hugo" else {}
    try:
        if generator == "jekyll" and config_file:
            values = jekyll_settings(read_config(config_file))
        elif generator == "hugo" and config_file:
            config = read_config(config_file)
            if config_file.parent.name == "_default":
                config = _with_config_dir(config, config_file)
            values = hugo_settings(config, root)
        elif generator == "astro":
            text = config_file.read_text("utf-8") if config_file else ""
            values = astro_settings(text, root)
    except (ConfigError, OSError, UnicodeDecodeError) as exc:
        problems.append(str(exc))
    return _merge(settings.site, generator, root, config_file, values), problems


def _jekyll_rules(collections: dict[str, dict], posts_rule: str | None, rules: dict[str, str]) -> dict[str, dict]:
    """citecast.toml's rules over _config.yml's: `permalink` for posts, `permalinks` per collection."""
    merged = {label: dict(options) for label, options in collections.items()}
    if posts_rule:
        merged.setdefault("posts", {"output": True})["permalink"] = posts_rule
    for label, rule in rules.items():
        merged.setdefault(label, {"output": True})["permalink"] = rule
    return merged


def _merge(site: Any, generator: str, root: Path, config_file: Path | None, values: dict[str, Any]) -> SiteProfile:
    """citecast.toml's explicit settings win over the generator's config, which wins over defaults."""
    explicit = site.model_fields_set
    sources: dict[str, str] = {}
    origin = config_file.name if config_file else "default"

    def pick(name: str, default: Any) -> Any:
        if name in explicit:
            sources[name] = "citecast.toml"
            return getattr(site, name)
        if values.get(name) not in (None, "", {}):
            sources[name] = origin
            return values[name]
        sources[name] = "default"
        return default

    base_url = str(pick("base_url", site.base_url)).rstrip("/")
    permalink = str(pick("permalink", "date" if generator == "jekyll" else ""))
    permalinks = dict(values.get("permalinks") or {})
    permalinks.update(site.permalinks)
    future = pick("future", False)
    extra = {k: v for k, v in values.items() if k not in ("base_url", "permalink", "permalinks", "future")}
    if generator == "jekyll":
        extra["collections"] = _jekyll_rules(extra.get("collections") or {"posts": {"output": True}},
                                             permalink if sources["permalink"] == "citecast.toml" else None,
                                             site.permalinks)
    if generator == "astro":
        if sources["base_url"] == "citecast.toml":
            extra["base_path"] = ""  # citecast's base_url is the full base, `base` included
        else:  # Astro's canonical is new URL(pathname, site): site's own path is dropped, base is in pathname
            parts = urlsplit(base_url)
            base_url = f"{parts.scheme}://{parts.netloc}" if parts.netloc else base_url
    return SiteProfile(generator=generator, root=root, config_file=config_file, base_url=base_url,
                       permalink=permalink, permalinks=permalinks, future=bool(future), sources=sources, **extra)
