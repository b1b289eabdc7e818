"""Supabase, Deno and Stripe idioms every code rule needs, built on syntax.py.

Where a value comes from (database, request, literal, env), which environment variable
a secret is read from, and which calls are side effects (database writes, RPC, network)
are questions several audit areas ask; they are answered here once.
"""

from __future__ import annotations

from tree_sitter import Node

from .follow import (  # noqa: F401  (re-exported: rules import them from here)
    RANK,
    callers_in_file,
    combine_sources,
    follow_steps,
    from_callers,
    is_constant_lookup,
)
from .scope import local_function, resolve_value, this_member_value, trace
from .syntax import (
    FUNCTION_TYPES,
    ParsedFile,
    call_args,
    call_property,
    callee,
    contains,
    enclosing_function,
    member_parts,
    normalized,
    object_properties,
    property_value,
    root_identifier,
    string_value,
    text,
    unwrap,
)

MAX_DEPTH = 8  # hops when following a value through declarations
FOLLOW_DEPTH = 16  # ... and through wrappers, helpers and arithmetic (follow_calls)
ENV_GETTERS = frozenset({"Deno.env.get", "globalThis.Deno.env.get"})
ENV_OBJECTS = frozenset({"process.env", "import.meta.env", "Deno.env.toObject()"})
DB_WRITE_METHODS = frozenset({"insert", "update", "upsert", "delete"})
ITERATORS = frozenset({"map", "flatMap", "forEach", "filter", "find", "reduce"})


def side_effect_kind(call: Node) -> str | None:
    """'db_write' | 'rpc' | 'fetch' | 'invoke' for calls that change or reach other systems."""
    prop = call_property(call)
    fn = unwrap(callee(call))
    if fn is None:
        return None
    if fn.type == "identifier":
        return "fetch" if prop == "fetch" else None
    if fn.type != "member_expression":
        return None
    chain = normalized(fn)
    if prop in DB_WRITE_METHODS and ".from(" in chain:
        return "db_write"
    if prop == "rpc":
        return "rpc"
    if chain in {"globalThis.fetch", "window.fetch", "self.fetch"}:
        return "fetch"
    if chain.endswith("functions.invoke"):
        return "invoke"
    return None


def env_name_of(
    pf: ParsedFile, node: Node | None, accessors: dict[str, int], depth: int = 0
) -> str | None:
    """Env var a value comes from: `Deno.env.get('X')!`, `process.env.X`, a const of it."""
    node = unwrap(node)
    if node is None or depth > MAX_DEPTH:
        return None
    if node.type == "call_expression":
        args = call_args(node)
        fn = unwrap(callee(node))
        if normalized(fn) in ENV_GETTERS and args:
            return string_value(args[0])
        if fn is not None and fn.type == "identifier" and text(fn) in accessors:
            index = accessors[text(fn)]
            return string_value(args[index]) if index < len(args) else None
        return None
    if node.type == "binary_expression":
        return env_name_of(pf, node.child_by_field_name("left"), accessors, depth + 1)
    obj, prop = member_parts(node)
    if obj is not None and normalized(obj) in ENV_OBJECTS:
        return prop
    field_value = this_member_value(pf, node)
    if field_value is not None:
        return env_name_of(pf, field_value, accessors, depth + 1)
    if node.type == "identifier":
        binding = trace(pf, text(node), node)
        if binding is None or binding.value is None:
            return None
        if binding.key_path:
            source = normalized(unwrap(binding.value))
            if source in ENV_OBJECTS:
                return binding.key_path[0]
            return None
        return env_name_of(pf, binding.value, accessors, depth + 1)
    return None


class Effects:
    """Which same-file functions (transitively) write to the DB or reach the network."""

    def __init__(self, pf: ParsedFile) -> None:
        self.pf = pf
        self.calls = pf.nodes("call_expression")
        self.memo: dict[int, bool] = {}

    def call_is_effect(self, call: Node, stack: tuple[int, ...] = ()) -> bool:
        """A direct side effect, or a call of a same-file function that performs one."""
        if side_effect_kind(call):
            return True
        fn = local_function(self.pf, call)
        return fn is not None and self.function_has_effect(fn, stack)

    def function_has_effect(self, fn: Node, stack: tuple[int, ...] = ()) -> bool:
        key = fn.start_byte
        if key in stack or len(stack) > 5:
            return False
        if key not in self.memo:
            self.memo[key] = any(
                self.call_is_effect(c, stack + (key,)) for c in self.calls if contains(fn, c)
            )
        return self.memo[key]

    def first_before(self, scope: Node, position: int, exclude: Node | None) -> Node | None:
        """First effectful call inside `scope` that starts before `position`."""
        for call in self.calls:
            if call.start_byte >= position:
                break
            if (
                contains(scope, call)
                and (exclude is None or not contains(exclude, call))
                and self.call_is_effect(call)
            ):
                return call
        return None


def first_effect_before(pf: ParsedFile, node: Node, effects: Effects) -> Node | None:
    """First side effect that runs before `node`, climbing from a helper to its callers.

    Within the enclosing function, earlier calls count; when that function is a named
    helper called elsewhere in the file, effects before its first call site count too.
    """
    position_node, skip = node, None
    for _ in range(4):
        fn = enclosing_function(position_node)
        scope = fn if fn is not None else pf.root
        hit = effects.first_before(scope, position_node.start_byte, skip)
        if hit is not None:
            return hit
        callers = callers_in_file(pf, fn) if fn is not None else []
        if not callers:
            return None
        position_node, skip = callers[0], fn
    return None


def request_names(pf: ParsedFile) -> set[str]:
    """Names of the request object: `req`/`request` plus first parameters of handlers."""
    names = {"req", "request"}
    for call in pf.nodes("call_expression"):
        if call_property(call) in {"serve", "listen"}:
            for arg in call_args(call):
                fn = unwrap(arg)
                if fn is not None and fn.type in FUNCTION_TYPES:
                    names |= first_param_names(fn)
    for method in pf.nodes("method_definition"):
        if text(method.child_by_field_name("name")) == "fetch":
            names |= first_param_names(method)
    return names


def first_param_names(fn: Node) -> set[str]:
    """Name of a function's first parameter when it is a plain identifier."""
    single = fn.child_by_field_name("parameter")
    if single is not None:
        return {text(single)}
    params = fn.child_by_field_name("parameters")
    if params is None or not params.named_children:
        return set()
    pattern = params.named_children[0].child_by_field_name("pattern")
    return {text(pattern)} if pattern is not None and pattern.type == "identifier" else set()


def mentions_request(pf: ParsedFile, node: Node, names: set[str]) -> bool:
    """`req.json()`, `JSON.parse(await req.text())`, `new URL(req.url)`, `c.req.json()`."""
    for member in pf.nodes("member_expression"):
        if not contains(node, member):
            continue
        obj = unwrap(member.child_by_field_name("object"))
        prop = text(member.child_by_field_name("property"))
        if obj is not None and obj.type == "identifier" and text(obj) in names:
            return True
        if prop in {"req", "request"}:
            return True
    return False


def fn_is_member(call: Node) -> bool:
    fn = unwrap(callee(call))
    return fn is not None and fn.type == "member_expression"


def query_table(node: Node) -> tuple[bool, str | None]:
    """(is a database query, table) for `client.from('t')....` or `client.rpc('f')` chains."""
    node = unwrap(node)
    while node is not None:
        if node.type == "call_expression":
            prop = call_property(node)
            if prop in {"from", "rpc"}:
                args = call_args(node)
                name = string_value(args[0]) if args else None
                if fn_is_member(node) and normalized(callee(node)) != "Array.from":
                    return True, name if prop == "from" else None
            node = unwrap(callee(node))
        elif node.type in {"member_expression", "subscript_expression"}:
            node = unwrap(node.child_by_field_name("object"))
        else:
            return False, None
    return False, None


def value_source(
    pf: ParsedFile,
    node: Node | None,
    names: set[str],
    accessors: dict[str, int],
    depth: int = 0,
    key_path: tuple[str, ...] = (),
    follow_calls: bool = False,
) -> tuple[str, str | None]:
    """Where a value comes from: database (with table), request, literal, env or unknown.

    With `follow_calls` (amounts and price ids) the value is also followed through
    arithmetic with numeric constants, numeric wrappers (`Math.round`, `Number`), same-file
    functions' return values and parameters' call-site arguments, and a choice among
    several constants (`plan === 'year' ? 24000 : 2500`, `PRICES[plan]`) is 'constant_map'.
    """
    node = unwrap(node)
    if node is None or depth > (FOLLOW_DEPTH if follow_calls else MAX_DEPTH):
        return "unknown", None

    def again(n: Node | None, path: tuple[str, ...] = ()) -> tuple[str, str | None]:
        return value_source(pf, n, names, accessors, depth + 1, path, follow_calls)

    if string_value(node) is not None or (follow_calls and node.type == "number"):
        return "literal", None
    if follow_calls:
        followed = follow_steps(pf, node, again)
        if followed is not None:
            return followed
    if node.type == "template_string":
        subs = [
            again(s.named_children[0])
            for s in node.named_children
            if s.type == "template_substitution"
        ]
        return combine_sources([("literal", None), *subs])
    if node.type in {"binary_expression", "ternary_expression"}:
        fields = ("left", "right", "consequence", "alternative")
        parts = [node.child_by_field_name(f) for f in fields]
        return combine_sources([again(p) for p in parts if p])
    is_query, table = query_table(node)
    if is_query:
        return "database", table
    if env_name_of(pf, node, accessors):
        return "env", None
    if node.type == "call_expression" and normalized(callee(node)) == "Promise.all" and key_path:
        index = key_path[0].strip("[]")
        array = unwrap(call_args(node)[0]) if call_args(node) else None
        if index.isdigit() and array is not None and array.type == "array":
            elements = array.named_children
            if int(index) < len(elements):
                return again(elements[int(index)])
    if node.type in {"object", "member_expression", "subscript_expression"}:
        literal = _through_object_literal(pf, node, names, accessors, depth, key_path)
        if literal is not None:
            if follow_calls and literal[0] == "literal" and is_constant_lookup(node, key_path):
                return "constant_map", None
            return literal
    root = root_identifier(node)
    if root is None:
        return ("request", None) if mentions_request(pf, node, names) else ("unknown", None)
    binding = trace(pf, text(root), root)
    if binding is None or binding.kind in {"import", "function"}:
        return "unknown", None
    if binding.kind == "param":
        if text(root) in names or mentions_request(pf, node, names):
            return "request", None
        collection = callback_collection(binding.scope)
        if collection is not None:
            return again(collection)
        if follow_calls and root == node:
            return from_callers(pf, binding, again)
        return "unknown", None
    if binding.value is None:
        return "unknown", None
    return value_source(
        pf, binding.value, names, accessors, depth + 1, binding.key_path, follow_calls
    )


def _through_object_literal(
    pf: ParsedFile,
    node: Node,
    names: set[str],
    accessors: dict[str, int],
    depth: int,
    key_path: tuple[str, ...],
) -> tuple[str, str | None] | None:
    """Source of `obj.key` / `obj[k]` / `{ key } = obj` when obj is a same-file object literal.

    A static key follows that property; a dynamic key combines every property's source
    (a map of hard-coded price ids indexed by a request value is still 'literal').
    """
    if node.type == "object":
        obj, key = node, (key_path[0] if key_path else None)
        if key is None:
            return None
    else:
        obj = resolve_value(pf, node.child_by_field_name("object"))
        _, key = member_parts(node)
        if obj is None or obj.type != "object":
            return None
    if key is not None:
        value, _ = property_value(obj, key)
        return value_source(pf, value, names, accessors, depth + 1) if value is not None else None
    values = [v if v is not None else p for k, v, p in object_properties(obj) if k != "*spread*"]
    return combine_sources([value_source(pf, v, names, accessors, depth + 1) for v in values])


def callback_collection(fn: Node) -> Node | None:
    """`xs` when `fn` is the callback in `xs.map(fn)`: its parameter is an element of xs."""
    args = fn.parent
    call = args.parent if args is not None and args.type == "arguments" else None
    if call is None or call.type != "call_expression" or call_property(call) not in ITERATORS:
        return None
    target = unwrap(callee(call))
    return target.child_by_field_name("object") if target.type == "member_expression" else None
