"""Tool namespaces as gpt-oss was trained to read them: `# Tools` sections with TypeScript-like types.

A function's JSON schema becomes `type name = (_: {...}) => any;` inside `namespace functions { ... }`. This is
a line-by-line port of openai-harmony's `json_schema_to_typescript` and `template_tools_section`
(src/encoding.rs), quirks included (e.g. a nested object's closing brace is indented one level deeper than its
properties, and `integer` becomes `number`), because a prompt that differs by one character is not the prompt
the model saw in training. Two Rust details matter for exactness: `str::lines()` (not Python's splitlines,
which also breaks on \\x0b, \\x1c, U+2028, ...) and serde_json's number formatting for defaults (ryu: `1e20`,
`1.5e-7`, `20.0`).
"""

from __future__ import annotations

import decimal
import functools
import json
from collections.abc import Mapping
from importlib import resources
from typing import Any

from app.engine.harmony.conversation import ToolNamespaceConfig


def rust_lines(text: str) -> list[str]:
    """Rust's `str::lines()`: split on \\n, drop one trailing \\r per line, no empty line after a final \\n."""
    if not text:
        return []
    parts = text.split("\n")
    if parts[-1] == "":
        parts.pop()
    return [p[:-1] if p.endswith("\r") else p for p in parts]


def _format_float(value: float) -> str:
    """serde_json's (ryu's) shortest round-trip float text: `20.0`, `0.001`, `1e20`, `1.5e-7`."""
    if value != value or value in (float("inf"), float("-inf")):
        return "null"  # serde_json cannot hold these; it would have refused the JSON
    if value == 0:
        return "-0.0" if str(value).startswith("-") else "0.0"
    sign = "-" if value < 0 else ""
    # repr() gives the shortest round-trip digits, the same digits ryu picks; only the layout differs.
    _, digit_tuple, exponent = decimal.Decimal(repr(abs(value))).as_tuple()
    digits = "".join(map(str, digit_tuple)).rstrip("0")
    exponent += len(digit_tuple) - len(digits)
    assert isinstance(exponent, int) and digits, f"unexpected float {value!r}"
    length = len(digits)
    kk = length + exponent  # 10^(kk-1) <= value < 10^kk
    if 0 <= exponent and kk <= 16:
        text = digits + "0" * exponent + ".0"
    elif 0 < kk <= 16:
        text = digits[:kk] + "." + digits[kk:]
    elif -5 < kk <= 0:
        text = "0." + "0" * -kk + digits
    elif length == 1:
        text = f"{digits}e{kk - 1}"
    else:
        text = f"{digits[0]}.{digits[1:]}e{kk - 1}"
    return sign + text


def json_display(value: Any) -> str:
    """A JSON value written the way serde_json's `Display` writes it (compact, non-ASCII unescaped)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _format_float(value)
    if isinstance(value, list):
        return "[" + ",".join(json_display(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{json_display(str(k))}:{json_display(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"{type(value).__name__} is not a JSON value")


def _get(schema: Any, key: str) -> Any:
    """`serde_json::Value::get`: None unless `schema` is an object holding `key`."""
    return schema.get(key) if isinstance(schema, dict) else None


def _is_enum(schema: Any) -> bool:
    values = _get(schema, "enum")
    return isinstance(values, list) and len(values) > 0


def _is_nullable(schema: Any) -> bool:
    return _get(schema, "nullable") is True


def _nullable_type(schema: Any, indent: str) -> str:
    """The schema's type, with ` | null` added for `nullable: true` unless the type already says null."""
    type_str = json_schema_to_typescript(schema, indent)
    return type_str + " | null" if _is_nullable(schema) and "null" not in type_str else type_str


def _default_text(schema: Any, default: Any) -> str:
    """`default: "x"` for strings, bare `x` for an enum's string default, JSON text otherwise."""
    if isinstance(default, str):
        return f'default: "{default}"' if not _is_enum(schema) else f"default: {default}"
    return f"default: {json_display(default)}"


def _one_of_variants(variants: list[Any], indent: str) -> str:
    """A top-level `oneOf`: each variant on its own ` | ` line with its description/default as a comment."""
    out = ""
    for variant in variants:
        out += f"\n{indent} | " + _nullable_type(variant, f"{indent}   ")
        comments = []
        desc = _get(variant, "description")
        if isinstance(desc, str):
            comments.append(desc)
        if isinstance(variant, dict) and "default" in variant:
            default = variant["default"]
            # Unlike property defaults, an enum's string default is written here as quoted JSON.
            plain = isinstance(default, str) and not _is_enum(variant)
            comments.append(f'default: "{default}"' if plain else f"default: {json_display(default)}")
        if comments:
            out += " // " + " ".join(comments)
    return out


def _property_one_of(key: str, val: dict[str, Any], variants: list[Any], optional: str, indent: str) -> str:
    """A property whose schema is a `oneOf`: comments above the name, then one ` | variant` line each."""
    out = ""
    desc = val.get("description")
    prop_desc = desc if isinstance(desc, str) else None
    first_desc = _get(variants[0], "description") if variants else None
    skip_prop_desc = prop_desc is not None and isinstance(first_desc, str) and first_desc == prop_desc
    desc_above = False
    if not skip_prop_desc and prop_desc is not None:
        out += f"{indent}// {prop_desc}\n"
        desc_above = True
    if "default" in val:
        out += f"{indent}// {_default_text(val, val['default'])}\n"
    out += f"{indent}{key}{optional}:\n"
    for i, variant in enumerate(variants):
        out += f"{indent} | " + _nullable_type(variant, f"{indent}   ")
        comments = []
        variant_desc = _get(variant, "description")
        if not (i == 0 and desc_above) and isinstance(variant_desc, str) and variant_desc != prop_desc:
            comments.append(variant_desc)
        if isinstance(variant, dict) and "default" in variant:
            comments.append(_default_text(variant, variant["default"]))
        if comments:
            out += " // " + " ".join(comments)
        out += "\n"
    out += f"{indent},\n"
    return out


def _object_type(schema: dict[str, Any], indent: str) -> str:
    out = ""
    desc = schema.get("description")
    if isinstance(desc, str):
        out += f"{indent}// {desc}\n"
    out += "{\n"
    props = schema.get("properties")
    if isinstance(props, dict):
        required_raw = schema.get("required")
        required = {r for r in required_raw if isinstance(r, str)} if isinstance(required_raw, list) else set()
        for key, val in props.items():
            optional = "" if key in required else "?"
            title = _get(val, "title")
            if isinstance(title, str):
                out += f"{indent}// {title}\n{indent}//\n"
            one_of = _get(val, "oneOf")
            if one_of is None:
                prop_desc = _get(val, "description")
                if isinstance(prop_desc, str):
                    out += f"{indent}// {prop_desc}\n"
            examples = _get(val, "examples")
            if isinstance(examples, list) and examples:
                out += f"{indent}// Examples:\n"
                for example in examples:
                    if isinstance(example, str):
                        out += f'{indent}// - "{example}"\n'
            if isinstance(one_of, list):
                out += _property_one_of(key, val, one_of, optional, indent)
                continue
            out += f"{indent}{key}{optional}: " + _nullable_type(val, f"{indent}    ") + ","
            if one_of is None and isinstance(val, dict) and "default" in val:
                out += " // " + _default_text(val, val["default"])
            out += "\n"
    out += f"{indent}}}"
    return out


def json_schema_to_typescript(schema: Any, indent: str = "") -> str:
    """openai-harmony's rendering of a JSON schema as a TypeScript type (see module docstring)."""
    one_of = _get(schema, "oneOf")
    if isinstance(one_of, list):
        return _one_of_variants(one_of, indent)
    kind = _get(schema, "type")
    if isinstance(kind, list):
        names = ["number" if t == "integer" else t for t in kind if isinstance(t, str)]
        if names:
            return " | ".join(names)
    if isinstance(kind, str):
        if kind == "object":
            return _object_type(schema, indent)
        if kind == "string":
            values = schema.get("enum")
            if isinstance(values, list):
                quoted = [f'"{v}"' for v in values if isinstance(v, str)]
                if quoted:
                    return " | ".join(quoted)
            return "string"
        if kind in ("number", "integer"):
            return "number"
        if kind == "boolean":
            return "boolean"
        if kind == "array":
            items = schema.get("items")
            # serde's `get("items")` is Some even for `"items": null`, which then renders as `any`.
            return f"{json_schema_to_typescript(items, indent)}[]" if "items" in schema else "Array<any>"
        return "any"
    return "any"  # no usable type (a non-array oneOf included, as in openai-harmony's defensive branch)


def tools_section(tools: Mapping[str, ToolNamespaceConfig]) -> str:
    """The `# Tools` section: namespaces in key order (openai-harmony keeps them in a BTreeMap)."""
    sections = ["# Tools"]
    for key in sorted(tools):
        ns = tools[key]
        lines = [f"## {ns.name}\n"]
        if ns.description is not None:
            for line in rust_lines(ns.description):
                lines.append(f"// {line}" if ns.tools else line)
        if ns.tools:
            lines.append(f"namespace {ns.name} {{\n")
            for tool in ns.tools:
                lines.extend(f"// {line}" for line in rust_lines(tool.description))
                if tool.parameters is not None:
                    lines.append(f"type {tool.name} = (_: {json_schema_to_typescript(tool.parameters, '')}) => any;\n")
                else:
                    lines.append(f"type {tool.name} = () => any;\n")
            lines.append(f"}} // namespace {ns.name}")
        sections.append("\n".join(lines))
    return "\n\n".join(sections)


@functools.lru_cache(maxsize=1)
def _builtin_namespaces() -> dict[str, Any]:
    text = resources.files("app.engine.harmony").joinpath("builtin_tools.json").read_text(encoding="utf-8")
    return json.loads(text)


def builtin_namespace(name: str) -> ToolNamespaceConfig:
    """gpt-oss's built-in `browser` or `python` tool, worded exactly as openai-harmony (and training) has it."""
    known = _builtin_namespaces()
    if name not in known:
        raise KeyError(f"No built-in tool namespace {name!r}; known: {', '.join(sorted(known))}.")
    return ToolNamespaceConfig.from_dict(known[name])
